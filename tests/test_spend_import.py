"""Spend per source, campaign and month: from a CSV file (page and command) or one entry on the
page; bad rows named by line and column, good rows stored, a month booked again replaced."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from leadflow.leads.models import Campaign, Source, Spend
from leadflow.reports import sources
from leadflow.reports.periods import Span
from leadflow.transfer import spend

FILE = """month,source,campaign,amount,currency
2026-01,Webinars,Pricing webinar,1000.00,USD
2026-01,webinars,,250

2026-13,Webinars,,10
2026-02,Nowhere,,10
2026-02,Webinars,Spring gala,10
2026-02,Webinars,,-5
2026-02,Webinars,,"1,000"
2026-01,Webinars,Pricing webinar,999
2026-02,Webinars,,10,USD,extra
2026-02-15,Webinars,Pricing webinar,400.5,usd
"""


@pytest.fixture
def webinars(world):
    source = Source.objects.create(name="Webinars")
    Campaign.objects.create(source=source, name="Pricing webinar")
    return source


def booked():
    return {
        (s.source.name, s.campaign.name if s.campaign else None, f"{s.month:%Y-%m}"): s.amount
        for s in Spend.objects.select_related("source", "campaign")
    }


def test_good_rows_are_stored_and_each_bad_one_named_by_line_and_column(webinars):
    result = spend.import_spend(*spend.read_csv(FILE))
    assert booked() == {
        ("Webinars", "Pricing webinar", "2026-01"): Decimal("1000.00"),
        ("Webinars", None, "2026-01"): Decimal("250.00"),
        ("Webinars", "Pricing webinar", "2026-02"): Decimal("400.50"),
    }
    assert (result.added, result.replaced) == (3, 0)
    assert [(b.line, b.column) for b in result.bad] == [
        (5, "month"), (6, "source"), (7, "campaign"), (8, "amount"), (9, "amount"),
        (10, "month"), (11, ""),
    ]
    reasons = {b.line: b.reason for b in result.bad}
    assert reasons[6] == "unknown source 'Nowhere'"
    assert reasons[7] == "'Webinars' has no campaign 'Spring gala'"
    assert reasons[10] == "same source, campaign and month as line 2"
    assert reasons[11] == "6 fields where the header has 5"


def test_a_month_booked_again_is_replaced_and_the_source_table_divides_by_it(webinars):
    spend.import_spend(*spend.read_csv("month,source,amount\n2026-01,Webinars,100\n"))
    result = spend.import_spend(*spend.read_csv("month,source,amount\n2026-01,Webinars,300\n"))
    assert (result.added, result.replaced) == (0, 1)
    table = sources.source_table(Span.parse("2026-01"))
    assert {r.group: r.spend for r in table.rows}["Webinars"] == Decimal("300.00")


def test_a_file_without_the_needed_columns_is_refused_saying_which(webinars):
    with pytest.raises(spend.SpendFileError, match="no amount column"):
        spend.read_csv("month,source\n2026-01,Webinars\n")


def test_marketing_imports_a_file_and_books_a_month_on_the_page(webinars, client, world):
    client.force_login(world.marketing)
    page = client.get(reverse("spend"))
    assert page.status_code == 200 and b"Book one month" in page.content
    upload = SimpleUploadedFile("spend.csv", FILE.encode(), content_type="text/csv")
    answer = client.post(reverse("spend"), {"file": upload})
    assert answer.status_code == 422  # some rows were bad: the page says which
    text = answer.content.decode()
    assert "3 added, 0 replaced, 7 bad rows not stored" in text
    assert "unknown source &#x27;Nowhere&#x27;" in text
    answer = client.post(reverse("spend"), {
        "month": "2026-03", "source": "Webinars", "campaign": "", "amount": "75",
        "currency": "USD",
    })
    assert answer.status_code == 200 and "1 added, 0 replaced" in answer.content.decode()
    assert booked()[("Webinars", None, "2026-03")] == Decimal("75.00")


def test_reps_may_not_book_spend(world, client):
    client.force_login(world.sdr)
    assert client.get(reverse("spend")).status_code == 403


def test_the_command_imports_and_lists_bad_rows(webinars, tmp_path, capsys):
    path = tmp_path / "spend.csv"
    path.write_text(FILE)
    with pytest.raises(CommandError, match="some rows were not stored"):
        call_command("spend", str(path))
    out = capsys.readouterr()
    assert "3 added, 0 replaced, 7 bad rows not stored" in out.out
    assert "line 6, column source: unknown source 'Nowhere'" in out.err
    assert len(booked()) == 3
