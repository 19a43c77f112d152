"""The dashboards: one page per audience, every figure the report functions' own.

Q1 2026 (company time zone UTC), the clock pinned at 10 April 2026 (so the default period is
the last complete quarter, 2026-Q1):

    A  Organic Web  created Jan 5 → mql → sal → sql → opportunity ($10,000) → won Jan 20
    B  Organic Web  created Jan 10 → mql Jan 12 → rejected (below fit) → overruled → sal
    C  Webinars     created Feb 2 → mql → sal → returned Feb 3 (went cold) → upheld (nurture)
    D  Webinars     created Mar 1, still a raw lead
    E  Organic Web  created 2025-12-15 (the previous quarter) → mql Jan 8

Spend: Webinars $1,000 in January 2026.
Cohort Q1 (A B C D): raw 4, mql 3, sal 3, sql 1, opportunity 1, won 1; 2025-Q4: raw 1 (E).
"""

import json
import re
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.test import Client

from leadflow.leads.models import Source, Spend
from leadflow.reports import funnel, handoffs, pipeline, sources
from leadflow.reports.grouping import Filters
from leadflow.reports.output import jsonable
from leadflow.reports.periods import Span
from leadflow.reports.testing import Journeys, utc
from leadflow.web.dashboards import fmt
from leadflow.web.testing import element, text

AS_OF = utc(2026, 4, 10, 9)
AUDIENCES = ("executive", "marketing", "sales")


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(AS_OF, tick=False) as traveller:
        yield traveller


@pytest.fixture
def journeys(world, clock):
    j = Journeys(world)
    webinars = Source.objects.create(name="Webinars")
    Spend.objects.create(source=webinars, month=utc(2026, 1, 1).date(), amount=Decimal(1000))
    j.a = j.walk(
        j.lead(utc(2026, 1, 5, 9)),
        ("qualify", utc(2026, 1, 5, 10)),
        ("accept", utc(2026, 1, 5, 12)),
        ("convert", utc(2026, 1, 6, 10)),
        ("accept", utc(2026, 1, 6, 12), {"amount": 10_000}),
        ("win", utc(2026, 1, 20, 12)),
    )
    j.b = j.walk(
        j.lead(utc(2026, 1, 10, 9)),
        ("qualify", utc(2026, 1, 12, 9)),
        ("reject", utc(2026, 1, 12, 10), {"reason": "below-fit"}),
        ("overrule", utc(2026, 1, 12, 11)),
        ("accept", utc(2026, 1, 12, 13)),
    )
    j.c = j.walk(
        j.lead(utc(2026, 2, 2, 9), source=webinars),
        ("qualify", utc(2026, 2, 2, 10)),
        ("accept", utc(2026, 2, 2, 11)),
        ("return", utc(2026, 2, 3, 9), {"reason": "went-cold"}),
        ("uphold", utc(2026, 2, 4, 9)),
    )
    j.d = j.lead(utc(2026, 3, 1, 9), source=webinars)
    j.e = j.walk(j.lead(utc(2025, 12, 15, 9)), ("qualify", utc(2026, 1, 8, 9)))
    j.webinars = webinars
    return j


def client_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- reading the page ------------------------------------------------------------------------


def figures(html: str) -> list[tuple[str, str, str, str, str]]:
    """(api url, path, value, format, text) of every figure on the page, each under the
    element that names its report's API URL."""
    found = []
    for block in re.split(r'(?=<(?:section|article) [^>]*data-api=")', html)[1:]:
        api = re.match(r'<(?:section|article) [^>]*data-api="([^"]+)"', block)[1].replace(
            "&amp;", "&"
        )
        for path, value, kind, shown in re.findall(
            r'data-path="([^"]+)" data-value="([^"]*)" data-format="(\w+)">([^<]*)<', block
        ):
            found.append((api, path, value.replace("&quot;", '"'), kind, shown))
    return found


def computed(api_url: str) -> dict:
    """What the report function behind an API URL gives for its parameters, as JSON."""
    url = urlsplit(api_url)
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    filters = Filters(
        source=int(q["source"]) if "source" in q else None,
        team=int(q["team"]) if "team" in q else None,
    )
    report = url.path.rsplit("/", 1)[1]
    if report == "forecast":
        return jsonable(pipeline.forecast(Span.parse(q["quarter"]), filters, AS_OF))
    span = Span.parse(q["period"])
    if report == "waterfall":
        return jsonable(funnel.waterfall(span, "cohort", q.get("by"), filters, AS_OF))
    if report == "sources":
        return jsonable(sources.report(span, filters))
    if report == "handoffs":
        return jsonable(handoffs.report(span, q.get("by"), filters, as_of=AS_OF))
    if report == "pipeline":
        return jsonable(pipeline.report(span, filters, AS_OF))
    raise AssertionError(f"unexpected report {api_url}")


def resolve(data, path: str):
    for part in path.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def panel(html: str, name: str) -> str:
    return element(html, f"panel-{name}")


def cell(html: str, table: str, row: str, column: int) -> str:
    """The text of a table's `column`-th figure in the row headed `row`."""
    body = element(html, f"table-{table}")
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S):
        header = re.search(r"<th[^>]*>(.*?)</th>", tr, re.S)
        if header and (text(header[1]) == row or text(header[1]).startswith(row + " ")):
            return text(re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)[column])
    raise AssertionError(f"no row {row!r} in {table}")


# --- which dashboard -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "username, audience",
    [
        ("marketing", "marketing"),
        ("marketing_manager", "marketing"),
        ("sdr", "sales"),
        ("ae", "sales"),
        ("sales_manager", "sales"),
        ("field_manager", "sales"),
        ("arbiter", "executive"),
        ("admin", "executive"),
    ],
)
def test_each_role_starts_on_its_audiences_dashboard(world, username, audience):
    client = client_as(getattr(world, username))
    response = client.get("/dashboard/")
    assert response["Location"] == f"/dashboard/{audience}/"
    response = client.get("/dashboard/?period=2026-Q1")
    assert response["Location"] == f"/dashboard/{audience}/?period=2026-Q1"


def test_tabs_switch_audience_and_keep_the_filters(journeys, world):
    url = f"/dashboard/sales/?period=2026-02&source={journeys.webinars.pk}"
    html = client_as(world.sdr).get(url).text
    tabs = re.findall(
        r'<a class="nav-link( active)?" href="([^"]+)"[^>]*>(\w+)</a>',
        element(html, "dashboard-tabs"),
    )
    query = f"period=2026-02&amp;source={journeys.webinars.pk}"
    assert tabs == [
        ("", f"/dashboard/executive/?{query}", "Executive"),
        ("", f"/dashboard/marketing/?{query}", "Marketing"),
        (" active", f"/dashboard/sales/?{query}", "Sales"),
    ]
    assert '<option value="2026-02" selected>' in html
    assert f'<option value="{journeys.webinars.pk}" selected>Webinars</option>' in html


def test_an_unknown_dashboard_is_not_found(world):
    assert client_as(world.sdr).get("/dashboard/finance/").status_code == 404


def test_dashboards_need_a_sign_in(world):
    response = Client().get("/dashboard/executive/")
    assert response["Location"] == "/login/?next=/dashboard/executive/"


# --- every figure is the report functions' -------------------------------------------------


@pytest.mark.parametrize("audience", AUDIENCES)
def test_every_figure_equals_the_report_functions(journeys, world, audience):
    html = client_as(world.arbiter).get(f"/dashboard/{audience}/?period=2026-Q1").text
    shown = figures(html)
    assert len(shown) > 100
    reports = {}
    for api, path, value, kind, shown_text in shown:
        if api not in reports:
            reports[api] = computed(api)
        expected = resolve(reports[api], path)
        assert json.loads(value) == expected, (api, path)
        assert shown_text == fmt(expected, kind), (api, path)
    assert {urlsplit(api).path for api in reports} >= {
        "/api/reports/waterfall",
        "/api/reports/handoffs",
    }


@pytest.mark.parametrize("audience", AUDIENCES)
def test_every_figure_equals_the_report_functions_with_filters(journeys, world, audience):
    url = f"/dashboard/{audience}/?period=2026-01..2026-03&source={journeys.webinars.pk}"
    url += f"&team={world.inside_team.pk}"
    html = client_as(world.arbiter).get(url).text
    shown = figures(html)
    assert shown
    reports = {}
    for api, path, value, _, _ in shown:
        assert f"source={journeys.webinars.pk}" in api
        if "/sources" not in api:
            assert f"team={world.inside_team.pk}" in api
        reports.setdefault(api, computed(api))
        assert json.loads(value) == resolve(reports[api], path), (api, path)


def test_the_executive_funnel_shows_the_cohort_beside_its_comparisons(journeys, world):
    html = client_as(world.arbiter).get("/dashboard/executive/?period=2026-Q1").text
    # Raw leads: 2026-Q1, 2025-Q4, 2025-Q1.
    assert [cell(html, "funnel", "Raw leads", i) for i in range(3)] == ["4", "1", "0"]
    assert [cell(html, "funnel", "MQL", i) for i in (0, 3, 4)] == ["3", "75.0%", "75.0%"]
    assert [cell(html, "funnel", "SQL (qualified)", i) for i in (0, 3, 4)] == [
        "1",
        "33.3%",
        "25.0%",
    ]
    assert cell(html, "funnel", "Won", 0) == "1"
    assert text(element(html, "tile-raw")).startswith("Raw leads 4 2025-Q4: 1 2025-Q1: 0")
    assert "Revenue won $10,000.00" in text(element(html, "tile-revenue"))


def test_the_marketing_source_table_costs_each_stage(journeys, world):
    html = client_as(world.marketing).get("/dashboard/marketing/?period=2026-Q1").text
    # Webinars: $1,000 for 2 raw leads (C, D), 1 MQL (C), no SQL.
    assert [cell(html, "sources", "Webinars", i) for i in range(5)] == [
        "2",
        "$1,000.00",
        "$500.00",
        "50.0%",
        "$1,000.00",
    ]
    assert cell(html, "sources", "Webinars", 7) == "—"  # no SQL: no cost per SQL
    assert cell(html, "sources", "All", 0) == "4"
    # Rejection reasons as a Pareto: B's "below fit".
    reasons = panel(html, "rejection-reasons")
    assert "Does not meet the definition: fit" in text(reasons)


def test_the_sales_dashboard_lists_reps_with_their_record(journeys, world):
    html = client_as(world.sales_manager).get("/dashboard/sales/?period=2026-Q1").text
    # Offered, accepted, rejected, ignored, returned. Round-robin offered A and C to Sdr (who
    # returned C); B to Sdr2, who rejected it and accepted it once the arbiter overruled; and
    # E, still pending; Ae accepted A's SQL.
    assert [cell(html, "reps", "Sdr", i) for i in range(5)] == ["2", "2", "0", "0", "1"]
    assert [cell(html, "reps", "Sdr2", i) for i in range(5)] == ["3", "1", "1", "0", "0"]
    assert cell(html, "reps", "Ae", 0) == "1"
    assert cell(html, "reps", "All", 0) == "6"
    returns = panel(html, "return-reasons")
    assert cell(html, "return-reasons", "Went cold: no answer after contact attempts", 0) == "1"
    assert "Why leads were returned after acceptance" in text(returns)


# --- charts, tables and CSV ------------------------------------------------------------------


@pytest.mark.parametrize("audience", AUDIENCES)
def test_every_chart_has_its_data_its_axis_titles_its_table_and_a_csv(journeys, world, audience):
    client = client_as(world.arbiter)
    html = client.get(f"/dashboard/{audience}/?period=2026-Q1").text
    panels = re.findall(r'<section class="card mb-4 dashboard-panel" id="panel-([\w-]+)"', html)
    assert len(panels) >= 4
    for name in panels:
        block = panel(html, name)
        if f'id="panel-{name}-empty"' in block:
            continue  # an empty state instead: nothing to chart (the forecast, here)
        canvas = re.search(r'<canvas id="chart-[\w-]+" data-spec="([\w-]+)"', block)
        assert canvas, f"{name} has no chart"
        spec = json.loads(
            re.search(
                rf'<script id="{canvas[1]}" type="application/json">(.*?)</script>', block, re.S
            )[1]
        )
        assert spec["category"]["title"] and spec["value"]["title"], name
        # The chart's numbers are the table's.
        table_values = [
            json.loads(v.replace("&quot;", '"'))
            for v in re.findall(r'data-value="([^"]*)"', element(block, f"table-{name}"))
        ]
        for dataset in spec["datasets"]:
            for value in dataset["data"]:
                assert value is None or value in table_values, (name, dataset["label"])
        csv_url = re.search(r'<a href="([^"]+)" class="csv-link"', block)[1].replace("&amp;", "&")
        assert "format=csv" in csv_url
        response = client.get(csv_url)
        assert response.status_code == 200, csv_url
        assert response["Content-Type"].startswith("text/csv")
        # Reports of a period beside its comparisons; the forecast is for a quarter ahead.
        assert response.text.startswith(("comparison,period,", "quarter,"))


def test_numbers_are_right_aligned(journeys, world):
    html = client_as(world.arbiter).get("/dashboard/executive/?period=2026-Q1").text
    numbers = re.findall(r"<td[^>]*data-value[^>]*>", html)
    assert numbers and all('class="text-end num' in td for td in numbers)


def test_charts_use_the_vendored_chart_js_not_a_cdn(world):
    html = client_as(world.arbiter).get("/dashboard/executive/").text
    assert '<script src="/static/vendor/chart.umd.min.js" defer></script>' in html
    assert '<script src="/static/web/dashboard.js" defer></script>' in html
    assert not re.search(r'(src|href)="(https?:)?//', html)


# --- filters and empty periods ---------------------------------------------------------------


def test_the_default_period_is_the_last_complete_quarter(journeys, world):
    html = client_as(world.arbiter).get("/dashboard/executive/").text
    assert '<option value="2026-Q1" selected>2026-Q1</option>' in html
    assert "2026-Q2 (so far)" in html
    assert cell(html, "funnel", "Raw leads", 0) == "4"


def test_a_source_narrows_every_figure(journeys, world):
    html = (
        client_as(world.arbiter)
        .get(f"/dashboard/executive/?period=2026-Q1&source={journeys.webinars.pk}")
        .text
    )
    assert cell(html, "funnel", "Raw leads", 0) == "2"
    assert "Webinars" in text(element(html, "dashboard-scope"))


def test_a_team_filter_says_the_source_table_is_not_narrowed(journeys, world):
    html = (
        client_as(world.arbiter)
        .get(f"/dashboard/executive/?period=2026-Q1&team={world.inside_team.pk}")
        .text
    )
    assert "Not narrowed to a team" in text(panel(html, "sources"))
    assert (
        f"team={world.inside_team.pk}"
        not in re.search(r'<a href="([^"]+)" class="csv-link"', panel(html, "sources"))[1]
    )


def test_a_range_in_the_address_is_kept(journeys, world):
    html = client_as(world.arbiter).get("/dashboard/executive/?period=2025-11..2026-02").text
    assert '<option value="2025-11..2026-02" selected>Custom: 2025-11..2026-02</option>' in html
    # A, B, C (Jan, Feb) and E (Dec): four raw leads.
    assert cell(html, "funnel", "Raw leads", 0) == "4"


def test_an_invalid_period_is_reported_not_applied(journeys, world):
    html = client_as(world.arbiter).get("/dashboard/executive/?period=2026-13").text
    assert "This filter was not applied." in html
    assert cell(html, "funnel", "Raw leads", 0) == "4"  # the default period


def test_an_empty_period_says_so(journeys, world):
    html = client_as(world.arbiter).get("/dashboard/executive/?period=2019-Q1").text
    empty = text(element(html, "dashboard-empty"))
    assert empty.startswith("Nothing to show for 2019-Q1.")
    assert "Choose another period" in empty
    assert "<canvas" not in html


def test_an_empty_panel_says_so(journeys, world):
    # 2026-Q2: no leads created yet, but A's opportunity history is in the pipeline's past.
    html = client_as(world.arbiter).get("/dashboard/executive/?period=2026-04").text
    assert "No leads were created in 2026-04." in text(panel(html, "funnel"))
    assert "<canvas" not in panel(html, "funnel")


def test_the_page_takes_the_same_queries_for_more_leads(
    journeys, world, django_assert_max_num_queries
):
    client = client_as(world.arbiter)
    with django_assert_max_num_queries(200) as few:
        client.get("/dashboard/executive/?period=2026-Q1")
    j = Journeys(world)
    for n in range(10):
        j.walk(j.lead(utc(2026, 2, 10, 9 + n % 8)), ("qualify", utc(2026, 2, 11, 9)))
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/dashboard/executive/?period=2026-Q1")
