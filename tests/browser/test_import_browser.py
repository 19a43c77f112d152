"""Marketing imports a CSV in a real browser: upload, map with the preview showing the bad
row, start; the progress bar moves to 100% as the worker's step imports; the error file is
offered. Screenshots: docs/screenshots/import-mapping.png and import-done.png."""

from pathlib import Path

import pytest

from leadflow.leads.models import Lead
from leadflow.transfer import jobs
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_marketing_uploads_maps_and_follows_an_import(page, live_server, world, tmp_path):
    file = tmp_path / "trade-show.csv"
    file.write_text(
        "E-Mail,First,Company,Lead Source,Booth\n"
        "ann@acme.com,Ann,Acme,Organic Web,B12\n"
        "bob@beta.com,Bob,Beta,Fax campaign,C3\n"
        "cy@gamma.com,Cy,Gamma,Organic Web,A1\n"
    )
    base = live_server.url
    page.goto(f"{base}/login/?next=/import/")
    page.get_by_label("Username").fill("marketing")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/import/")
    assert page.get_by_role("link", name="Import").get_attribute("aria-current") == "page"

    page.get_by_label("CSV file").set_input_files(str(file))
    page.get_by_role("button", name="Upload and map columns").click()
    page.wait_for_url(f"{base}/import/*/")
    page.get_by_label("E-Mail").fill("email")
    page.get_by_label("First").fill("first_name")
    page.get_by_role("button", name="Update the preview").click()
    bad = page.locator("#preview tr.table-danger")
    assert bad.count() == 1 and "unknown source 'Fax campaign'" in bad.inner_text()
    page.screenshot(path=str(SCREENSHOTS / "import-mapping.png"), full_page=True)

    page.get_by_role("button", name="Start the import").click()
    page.locator("#import-progress").get_by_text("Queued").wait_for()
    jobs.run()
    page.locator("#import-progress").get_by_text("Done").wait_for()  # htmx polled it
    assert "100%" in page.locator(".progress-bar").inner_text()
    assert page.get_by_role("link", name="Download the error file").is_visible()
    page.screenshot(path=str(SCREENSHOTS / "import-done.png"), full_page=True)
    assert sorted(Lead.objects.values_list("first_name", flat=True)) == ["Ann", "Cy"]
    assert Lead.objects.get(first_name="Ann").custom == {"booth": "B12"}
