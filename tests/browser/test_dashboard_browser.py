"""The executive dashboard in a real browser, on the demo company: every chart is drawn by the
vendored Chart.js, and every number on the page is the API's for the same filter.

The screenshot it takes is docs/screenshots/dashboard.png.
"""

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from leadflow.demo.generate import generate
from leadflow.demo.world import ensure_users
from leadflow.leads.models import Source
from leadflow.reports.periods import company_zone
from leadflow.web.dashboards import default_span, fmt
from tests.conftest import PASSWORD

pytestmark = [
    pytest.mark.browser,
    # live_server needs real commits (the world puts back the teams and reasons a flush removes).
    pytest.mark.django_db(transaction=True),
]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# Every canvas has its Chart instance, and something is painted on it.
CHARTS = """() => [...document.querySelectorAll("canvas[data-spec]")].map((canvas) => {
  const chart = Chart.getChart(canvas);
  if (!chart) return { id: canvas.id, chart: false };
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) painted++;
  const spec = JSON.parse(document.getElementById(canvas.dataset.spec).textContent);
  return {
    id: canvas.id,
    chart: true,
    painted,
    labels: chart.data.labels,
    data: chart.data.datasets.map((d) => d.data),
    spec: spec.datasets.map((d) => d.data),
    titles: Object.values(chart.options.scales)
      .filter((scale) => scale.display !== false)
      .map((scale) => (scale.title && scale.title.display ? scale.title.text : "")),
  };
})"""

# Every figure on the page: the API URL of its block, its path in that answer, its value.
FIGURES = """() => [...document.querySelectorAll("[data-api]")].flatMap((block) =>
  [...block.querySelectorAll("[data-path]")]
    .filter((el) => el.dataset.path)
    .map((el) => ({
      api: block.dataset.api,
      path: el.dataset.path,
      value: JSON.parse(el.dataset.value),
      format: el.dataset.format,
      text: el.textContent.trim(),
    })))"""


def resolve(data, path: str):
    for part in path.split("."):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data


def sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/?next=/dashboard/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def check_against_the_api(page, base: str) -> int:
    """Every figure on the page equals the API's answer for its URL; returns how many."""
    figures = page.evaluate(FIGURES)
    answers = {}
    for figure in figures:
        api = figure["api"]
        if api not in answers:
            response = page.request.get(base + api)
            assert response.ok, api
            answers[api] = response.json()
        expected = resolve(answers[api], figure["path"])
        assert figure["value"] == expected, (api, figure["path"])
        assert figure["text"] == fmt(expected, figure["format"]), (api, figure["path"])
    return len(figures)


def check_charts(page) -> list[dict]:
    page.wait_for_function(
        "() => typeof Chart !== 'undefined' && [...document.querySelectorAll('canvas[data-spec]')]"
        ".every((c) => Chart.getChart(c))"
    )
    charts = page.evaluate(CHARTS)
    for chart in charts:
        assert chart["chart"], chart["id"]
        assert chart["painted"] > 1000, f"{chart['id']} is blank"
        assert chart["data"] == chart["spec"], chart["id"]  # drawn from the embedded figures
        assert chart["titles"] and all(chart["titles"]), f"{chart['id']} has an untitled axis"
    return charts


def test_the_executive_dashboard_draws_its_charts_with_the_apis_numbers(world, live_server, page):
    ensure_users(PASSWORD)
    now = timezone.now()
    generate(seed=5, leads=2000, months=27, cutoff=now, zone=company_zone(), parallel=False)
    span = default_span(timezone.localtime(now, company_zone()).date())
    base = live_server.url

    sign_in(page, base, "arbiter")
    page.wait_for_url(f"{base}/dashboard/executive/")
    assert page.get_by_role("heading", level=1).inner_text() == "Dashboards · Executive"
    assert page.locator("#filter_period option:checked").inner_text() == span.label
    charts = check_charts(page)
    assert [c["id"] for c in charts] == [
        "chart-funnel",
        "chart-trend",
        "chart-sources",
        "chart-health",
        "chart-pipeline",
        "chart-forecast",
        "chart-forecast-backtest",
    ]
    funnel = next(c for c in charts if c["id"] == "chart-funnel")
    assert funnel["labels"][0] == "Raw leads" and funnel["data"][0][0] > 50
    assert check_against_the_api(page, base) > 150
    # Every chart's CSV export answers, from the API, for the same filter (the trend's
    # window is the twelve months to the period's end).
    for link in page.locator("a.csv-link").all():
        href = link.get_attribute("href")
        panel = link.locator("xpath=ancestor::section[@data-api]").get_attribute("data-api")
        # The forecast's two tables share its report: the link names which one.
        assert href in (f"{panel}&format=csv", f"{panel}&format=csv&table=stages",
                        f"{panel}&format=csv&table=backtest"), href
        response = page.request.get(base + href)
        assert response.ok and response.headers["content-type"].startswith("text/csv"), href

    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=SCREENSHOTS / "dashboard.png", full_page=True)

    # The same with a source chosen in the form: the address, the charts and the numbers follow.
    webcast = Source.objects.order_by("name").first()
    page.locator("#filter_source").select_option(str(webcast.pk))
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(f"**/dashboard/executive/?period={span.label}&source={webcast.pk}*")
    assert urlsplit(page.url).query.startswith(f"period={span.label}&source={webcast.pk}")
    check_charts(page)
    assert check_against_the_api(page, base) > 150
    for block in page.evaluate(
        "() => [...document.querySelectorAll('[data-api]')].map((b) => b.dataset.api)"
    ):
        assert f"source={webcast.pk}" in block

    # The tabs switch audience and keep the filter.
    page.get_by_role("link", name="Marketing", exact=True).click()
    page.wait_for_url(f"**/dashboard/marketing/?period={span.label}&source={webcast.pk}")
    check_charts(page)
    assert check_against_the_api(page, base) > 150
