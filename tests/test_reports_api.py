"""The reports through the API: the same figures as the report functions, as JSON and CSV,
for anyone signed in; bad filters are problems that name the field."""

import csv
import io
from decimal import Decimal

import pytest
from django.test import Client

from leadflow.api.testing import client_for
from leadflow.leads.models import Source, Spend
from leadflow.reports import funnel, handoffs, pipeline, sources
from leadflow.reports.grouping import Filters
from leadflow.reports.output import jsonable
from leadflow.reports.periods import Span
from leadflow.reports.testing import Journeys, utc

JANUARY = Span.parse("2026-01")


@pytest.fixture
def journeys(world):
    """Organic Web: 3 leads in January 2026, 2 MQLs, one accepted, one rejected; $300 spent.
    Webinars: 1 lead, no spend."""
    j = Journeys(world)
    webinars = Source.objects.create(name="Webinars")
    Spend.objects.create(source=world.source, month=JANUARY.first, amount=Decimal("300"))
    j.walk(j.lead(utc(2026, 1, 5)), ("qualify", utc(2026, 1, 5, 10)),
           ("accept", utc(2026, 1, 5, 11)))
    j.walk(j.lead(utc(2026, 1, 6)), ("qualify", utc(2026, 1, 6, 10)),
           ("reject", utc(2026, 1, 6, 12), {"reason": "below-fit"}))
    j.lead(utc(2026, 1, 7))
    j.lead(utc(2026, 1, 8), webinars)
    return j


def get(user, url, **params):
    response = client_for(user).get(url, params)
    assert response.status_code == 200, response.content
    return response


def csv_rows(response):
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_waterfall_json_is_the_report_functions_figures(journeys, world):
    body = get(world.sdr, "/api/reports/waterfall", period="2026-01", by="source").json()
    expected = jsonable(funnel.waterfall(JANUARY, by="source"))
    assert {k: body[k] for k in expected} == expected
    assert body["periods"] == {"current": "2026-01", "previous": "2025-12", "last_year": "2025-01"}
    organic = body["current"]["rows"][1]
    assert organic["group"] == "Organic Web"
    assert organic["reached"]["mql"] == 2
    assert organic["conversion"]["sal"] == 0.5
    assert body["previous"]["rows"][1]["conversion"]["mql"] is None


def test_the_waterfall_as_csv(journeys, world):
    rows = csv_rows(
        get(world.marketing, "/api/reports/waterfall", period="2026-01", by="source",
            format="csv")
    )
    assert [(r["comparison"], r["period"], r["group"]) for r in rows] == [
        (c, p, g)
        for c, p in (("current", "2026-01"), ("previous", "2025-12"), ("last_year", "2025-01"))
        for g in ("All", "Organic Web", "Webinars")
    ]
    organic = rows[1]
    assert (organic["reached_inquiry"], organic["reached_mql"], organic["conversion_sal"]) == (
        "3", "2", "0.5",
    )
    assert organic["hours_from_previous_sal_median"] == "1.0"
    assert rows[4]["conversion_mql"] == ""  # no leads in December: no rate


def test_the_flow_view_by_month(journeys, world):
    body = get(world.ae, "/api/reports/waterfall", period="2026-01", view="flow",
               by="month").json()
    assert body["report"] == "waterfall-flow"
    assert [r["group"] for r in body["current"]["rows"]] == ["All", "2026-01"]
    assert [r["group"] for r in body["last_year"]["rows"]] == ["All", "2025-01"]


def test_the_source_table(journeys, world):
    body = get(world.marketing, "/api/reports/sources", period="2026-01").json()
    assert body == jsonable(sources.report(JANUARY))
    organic = next(r for r in body["current"]["rows"] if r["group"] == "Organic Web")
    assert (organic["spend"], organic["cost_per_raw_lead"], organic["cost_per"]["mql"]) == (
        300.0, 100.0, 150.0,
    )
    assert organic["rejection_rate"] == 0.5
    assert [r["code"] for r in organic["top_rejection_reasons"]] == ["below-fit"]


def test_the_source_table_as_csv_filtered_by_source_name(journeys, world):
    rows = csv_rows(
        get(world.marketing, "/api/reports/sources", period="2026-01", source="Webinars",
            format="csv")
    )
    current = [r for r in rows if r["comparison"] == "current"]
    assert [r["group"] for r in current] == ["All", "Webinars", "Webinars › (no campaign)"]
    assert current[1]["raw_leads"] == "1"
    assert current[1]["cost_per_raw_lead"] == "0.00"
    assert current[1]["roi"] == ""


def test_hand_off_health_and_its_pareto_as_csv(journeys, world):
    body = get(world.sales_manager, "/api/reports/handoffs", period="2026-01", by="rep").json()
    assert body == jsonable(handoffs.report(JANUARY, by="rep"))
    total = body["current"]["rows"][0]
    assert (total["offered"], total["accepted"], total["rejected"]) == (2, 1, 1)
    rows = csv_rows(
        get(world.sales_manager, "/api/reports/handoffs", period="2026-01", format="csv",
            table="rejection_reasons")
    )
    assert [(r["comparison"], r["code"], r["count"], r["share"]) for r in rows] == [
        ("current", "below-fit", "1", "1.0"),
    ]


def test_pipeline_and_forecast(journeys, world):
    body = get(world.ae, "/api/reports/pipeline", period="2026-Q1").json()
    assert body == jsonable(pipeline.report(Span.parse("2026-Q1")))
    assert body["current"]["win_rate"] is None
    forecast = get(world.ae, "/api/reports/forecast", quarter="2026-Q2", history=2).json()
    assert forecast["quarter"] == "2026-Q2"
    assert forecast["value"] is None  # no opportunities at all: no forecast, not zero
    rows = csv_rows(get(world.ae, "/api/reports/forecast", format="csv", table="backtest"))
    assert len(rows) == 4


def test_filters_by_name_or_id(journeys, world):
    by_id = get(world.arbiter, "/api/reports/waterfall", period="2026-01",
                team=str(world.inside_team.pk)).json()
    by_name = get(world.arbiter, "/api/reports/waterfall", period="2026-01",
                  team="Inside sales").json()
    expected = jsonable(funnel.waterfall(JANUARY, filters=Filters(team=world.inside_team.pk)))
    assert by_id["current"] == by_name["current"] == expected["current"]


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/reports/waterfall", {"period": "2026-13"}, "period"),
        ("/api/reports/waterfall", {"period": "2026-Q1..2026-02"}, "period"),
        ("/api/reports/waterfall", {}, "period"),
        ("/api/reports/waterfall", {"period": "2026-01", "by": "shoe-size"}, "by"),
        ("/api/reports/waterfall", {"period": "2026-01", "source": "Nowhere"}, "source"),
        ("/api/reports/sources", {"period": "2026-01", "team": "Inside sales"}, "team"),
        ("/api/reports/handoffs", {"period": "2026-01", "kind": "xyz"}, "kind"),
        ("/api/reports/forecast", {"quarter": "2026-03"}, "quarter"),
    ],
)
def test_bad_filters_are_problems_naming_the_field(world, url, params, field):
    response = client_for(world.marketing).get(url, params)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid-input"
    assert body["field"] == field


def test_reports_need_a_caller(db):
    response = Client().get("/api/reports/waterfall", {"period": "2026-01"})
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_the_api_report_takes_the_reports_queries_and_few_more(
    journeys, world, django_assert_max_num_queries
):
    """The waterfall's three queries, plus the token check and the team lookup."""
    client = client_for(world.marketing)
    with django_assert_max_num_queries(3 + 3):
        client.get("/api/reports/waterfall", {"period": "2026-01", "team": "Inside sales"})
