"""The revenue forecast and its back-test on the sales and executive dashboards: every figure
the API's own, with a chart, a table and a CSV.

The clock is pinned at 10 April 2026, so the forecast is for 2026-Q3, learning from the four
quarters 2025-Q2 … 2026-Q1, and the back-test covers 2025-Q2 … 2026-Q1. Opportunities (a lead
walked to SQL and accepted by the AE, which opens it at `discovery`, at 10:00 UTC):

    P0 2025-06-01  1,000  won 2025-08-01
    P1 2025-09-01 10,000  proposal Sep 20, won Oct 20
    P2 2025-09-05  6,000  lost Nov 5
    P3 2025-09-10  4,000  won Dec 1
    P4 2025-12-01  5,000  proposal Dec 10, won 2026-02-01
    P5 2025-12-05  2,000  still in discovery
    P6 2026-02-01  9,000  proposal Mar 1, still open        (source: Webinars)
"""

import csv
import io
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine

from leadflow.api.testing import client_for
from leadflow.leads.models import Source
from leadflow.reports import pipeline
from leadflow.reports.output import jsonable
from leadflow.reports.testing import Journeys, utc
from leadflow.web.dashboards import fmt
from leadflow.web.testing import element, text
from tests.test_web_dashboard import client_as, figures, resolve

AS_OF = utc(2026, 4, 10, 9)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(AS_OF, tick=False) as traveller:
        yield traveller


def day(y, m, d):
    return utc(y, m, d, 10)


def opportunity(j: Journeys, opened, amount, *moves, source=None):
    start = opened - timedelta(hours=1)
    lead = j.walk(
        j.lead(start - timedelta(minutes=40), source=source),
        ("qualify", start - timedelta(minutes=30)),
        ("accept", start - timedelta(minutes=20)),
        ("convert", start - timedelta(minutes=10)),
        ("accept", opened, {"amount": amount}),
    )
    for name, at in moves:
        if name in ("win", "lose"):
            lead = j.step(lead, name, at, **({"reason": "price"} if name == "lose" else {}))
        else:
            j.move_opportunity(lead, name, at)
    return lead


@pytest.fixture
def history(world):
    j = Journeys(world)
    j.webinars = Source.objects.create(name="Webinars")
    opportunity(j, day(2025, 6, 1), 1_000, ("win", day(2025, 8, 1)))
    opportunity(j, day(2025, 9, 1), 10_000, ("proposal", day(2025, 9, 20)),
                ("win", day(2025, 10, 20)))
    opportunity(j, day(2025, 9, 5), 6_000, ("lose", day(2025, 11, 5)))
    opportunity(j, day(2025, 9, 10), 4_000, ("win", day(2025, 12, 1)))
    opportunity(j, day(2025, 12, 1), 5_000, ("proposal", day(2025, 12, 10)),
                ("win", day(2026, 2, 1)))
    opportunity(j, day(2025, 12, 5), 2_000)
    opportunity(j, day(2026, 2, 1), 9_000, ("proposal", day(2026, 3, 1)), source=j.webinars)
    return j


def forecast_figures(html: str) -> list[tuple]:
    """(api url, path, value, format, text) of the forecast panels' figures."""
    return [f for f in figures(html) if "/api/reports/forecast" in f[0]]


@pytest.mark.parametrize("audience", ["sales", "executive"])
def test_the_forecast_panels_show_the_apis_numbers(history, world, audience):
    """Each figure of both panels is the value at its path in what /api/reports/forecast
    answers for the panel's own API URL, and reads as that value formatted."""
    html = client_as(world.arbiter).get(f"/dashboard/{audience}/?period=2026-Q1").text
    shown = forecast_figures(html)
    assert {path for _, path, *_ in shown} >= {
        "value", "stages.0.expected_value", "stages.1.conversion",
        "backtest.3.error", "mean_absolute_relative_error",
    }
    api = client_for(world.sdr)
    answers = {}
    for url, path, value, kind, shown_text in shown:
        if url not in answers:
            response = api.get(url)
            assert response.status_code == 200, url
            answers[url] = response.json()
        expected = resolve(answers[url], path)
        assert json.loads(value) == expected, (url, path)
        assert shown_text == fmt(expected, kind), (url, path)
    # The numbers worked out by hand (tests/test_reports_pipeline.py with history=4):
    # conversion over 2025-Q2..2026-Q1 — discovery: P0 (Jul 1, won), P2 P3 (Oct 1, P3 won),
    # P5 (Jan 1) → 2/4; proposal: P1 (Oct 1, won), P4 (Jan 1, won) → 2/2.
    # Open now: P5 discovery 2,000 × 1/2 + P6 proposal 9,000 × 1 = 10,000.
    forecast = element(html, "panel-forecast")
    assert "Forecast: revenue expected in 2026-Q3" in text(forecast)
    assert answers[shown[0][0]]["value"] == 10_000.0
    assert "$10,000.00" in text(element(forecast, "table-forecast"))


def test_the_forecast_is_the_report_functions_as_of_the_page(history, world):
    html = client_as(world.arbiter).get("/dashboard/sales/").text
    expected = jsonable(pipeline.forecast(None, as_of=AS_OF))
    for _, path, value, kind, shown_text in forecast_figures(html):
        found = resolve(expected, path)
        assert json.loads(value) == found, path
        assert shown_text == fmt(found, kind), path


def test_the_back_test_lists_each_past_quarter_with_its_error(history, world):
    """2026-Q1, forecast on Jan 1 from 2025-Q1..2025-Q4: discovery P0 (Jul 1) won, P2 P3
    (Oct 1) one won → 2/3; proposal P1 (Oct 1) won → 1/1. Open on Jan 1: P4 proposal 5,000,
    P5 discovery 2,000 → 5,000 + 1,333.33 = 6,333.33; won: P4 5,000; error +1,333.33."""
    html = client_as(world.arbiter).get("/dashboard/executive/").text
    table = element(html, "table-forecast-backtest")
    row = re.search(r"<tr[^>]*>\s*<th[^>]*>2026-Q1</th>(.*?)</tr>", table, re.S)[1]
    cells = [text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    assert cells == ["$6,333.33", "$5,000.00", "$1,333.33", "26.7%"]
    assert "Mean absolute relative error" in text(table)


def test_a_source_narrows_the_forecast_and_its_api_url(history, world):
    html = (
        client_as(world.arbiter)
        .get(f"/dashboard/sales/?period=2026-Q1&source={history.webinars.pk}")
        .text
    )
    shown = forecast_figures(html)
    assert shown and all(f"source={history.webinars.pk}" in url for url, *_ in shown)
    # Only P6 (proposal, 9,000) comes from Webinars, and no Webinars opportunity ever sat in
    # a stage at a quarter's start before: no history, hence no forecast (not a zero).
    values = {path: value for _, path, value, _, _ in shown}
    assert values["stages.1.open_value"] == "9000.0"
    assert values["value"] == "null"


def test_the_forecast_csv_links_give_the_same_figures(history, world):
    client = client_as(world.arbiter)
    html = client.get("/dashboard/sales/").text
    for name, first in (("forecast", "stage"), ("forecast-backtest", "quarter")):
        block = element(html, f"panel-{name}")
        url = re.search(r'<a href="([^"]+)" class="csv-link"', block)[1].replace("&amp;", "&")
        response = client.get(url)
        assert response.status_code == 200, url
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert rows and first in rows[0]
        if name == "forecast":
            expected = {r["stage"]: Decimal(r["expected_value"]) for r in rows}
            assert expected == {
                "discovery": Decimal("1000.00"),
                "proposal": Decimal("9000.00"),
                "forecast": Decimal("0.00"),
            }
        else:
            assert [r["quarter"] for r in rows] == ["2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1"]


def test_without_open_opportunities_the_forecast_says_so(world):
    Journeys(world).lead(utc(2026, 2, 2, 9))  # something in the period: the page is not empty
    html = client_as(world.arbiter).get("/dashboard/executive/?period=2026-Q1").text
    forecast = text(element(html, "panel-forecast"))
    assert "No opportunities are open today to forecast 2026-Q3 from." in forecast
    assert "No past quarter had open opportunities" in text(
        element(html, "panel-forecast-backtest")
    )
