"""The lead definition signed in a real browser: a marketing manager edits a draft, makes a
mistake and sees it at its line, fixes it and proposes it (and signs for marketing); a sales
manager reads the what-if and approves; the leads are rescored and one becomes an MQL.

Screenshots go to $LEADFLOW_SCREENSHOTS (default: a temporary folder).
"""

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from leadflow.leads.models import Lead, LeadDefinition
from leadflow.scoring import ingest
from leadflow.scoring.testing import SIMPLE, activate
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("LEADFLOW_SCREENSHOTS") or tempfile.gettempdir()) / "definition"


def sign_in(page, live_server, username: str, then: str) -> None:
    page.goto(f"{live_server.url}{then}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}{then}")


def seed(world) -> Lead:
    """v1 active (engagement 25 needed); a good-fit lead with one form fill (15) last week."""
    activate(summary="First signed version")
    lead = world.lead(first_name="Aiko", last_name="Tanaka", title="VP Sales",
                      company="Kestrel Robotics", employee_count=420, email="aiko@kestrel.io")
    ingest.record(
        [ingest.Event(kind="form_fill", lead=lead.pk,
                      occurred_at=timezone.now() - timedelta(days=2))],
        user=world.marketing,
    )
    world.lead(first_name="Lee", last_name="Small", title="Intern", employee_count=5)
    return lead


def replace_document(page, text: str) -> None:
    editor = page.locator("#document")
    editor.fill(text)
    editor.dispatch_event("input")


def test_both_sides_sign_a_new_definition_and_leads_are_rescored(world, live_server, browser):
    lead = seed(world)
    SHOTS.mkdir(parents=True, exist_ok=True)
    marketing = browser.new_context(viewport={"width": 1360, "height": 900}, locale="en-US")
    page = marketing.new_page()
    page.set_default_timeout(15_000)

    # The marketing manager starts a draft from the active version.
    sign_in(page, live_server, "marketing-manager", "/definitions/")
    page.get_by_role("button", name="New draft from v1").click()
    page.wait_for_url(f"{live_server.url}/definitions/2/")

    # A mistake: a threshold that is not a number. The preview shows it at its line.
    lowered = SIMPLE.replace("engagement_at_least: 25", "engagement_at_least: 12")
    replace_document(page, lowered.replace("engagement_at_least: 12", "engagement_at_least: 1S"))
    problem = page.locator("#problems .problem").first
    problem.wait_for()
    assert problem.get_attribute("data-line") == "19"
    assert problem.get_attribute("data-field") == "mql.engagement_at_least"
    assert "Line 19, column 24" in problem.inner_text()
    assert "Must be a number, not '1S'" in problem.inner_text()
    page.get_by_role("button", name="Line 19, column 24").click()
    assert page.locator("#caret").inner_text() == "Line 19, column 24"
    page.screenshot(path=SHOTS / "editor-problem.png", full_page=True)

    # Saving keeps the draft, with the problem; proposing is refused until it is fixed.
    page.get_by_label("What this version changes, and why").fill("Engaged earlier: 12 points")
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_selector("#editor-notice")
    assert "1 problem(s) to fix" in page.locator("#editor-notice").inner_text()
    page.get_by_role("button", name="Propose v2 for sign-off").click()
    page.wait_for_selector(".alert-danger >> text=problem(s) to fix first")
    assert LeadDefinition.objects.get(version=2).status == "draft"

    # Fixed: the preview shows the rules as read; saved, then proposed.
    replace_document(page, lowered)
    page.wait_for_selector("#preview-summary.alert-success")
    assert "engagement at least 12" in page.locator("#mql-rule").inner_text()
    page.get_by_role("button", name="Save draft").click()
    page.wait_for_selector("#editor-notice >> text=It is valid")
    page.get_by_role("button", name="Propose v2 for sign-off").click()
    page.wait_for_selector("#definition-status >> text=Proposed")
    page.get_by_role("button", name="Approve for marketing").click()
    page.wait_for_selector('[data-approved="marketing"]')
    assert page.locator('[data-awaited="sales"]').is_visible()
    page.screenshot(path=SHOTS / "proposed.png", full_page=True)
    marketing.close()

    # The sales manager reads the what-if: the lead v2 would newly qualify, and approves.
    sales = browser.new_context(viewport={"width": 1360, "height": 900}, locale="en-US")
    page = sales.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, live_server, "sales-manager", "/definitions/2/")
    page.wait_for_selector("#whatif-months")
    assert page.locator("#newly-qualified-count").inner_text() == "1"
    assert page.locator("#dropped-count").inner_text() == "0"
    assert "Aiko Tanaka" in page.locator("#newly-qualified").inner_text()
    assert page.locator("#total-proposed").inner_text() == "1"
    assert page.locator("#total-active").inner_text() == "0"
    page.screenshot(path=SHOTS / "what-if.png", full_page=True)
    page.get_by_label("Comment (optional)").fill("Matches the leads we accept")
    page.get_by_role("button", name="Approve for sales").click()
    page.wait_for_selector("#definition-status >> text=Active")
    notice = page.get_by_role("status").first.inner_text()
    assert "v2 is now the active definition" in notice
    assert "2 leads were rescored; 1 moved to MQL" in notice

    # Rescored: the lead met the new rule and went to inside sales, recording v2.
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    assert page.locator("#lead-panel").get_attribute("data-stage") == "mql"
    assert "Meets the MQL rule" in page.locator("#score-verdict").inner_text()
    assert "lead definition v2" in page.locator("#timeline > li").first.inner_text()
    page.screenshot(path=SHOTS / "lead-explained.png", full_page=True)

    # The versions, and what changed from v1, for anyone who wonders later.
    page.goto(f"{live_server.url}/definitions/")
    newest = page.locator('#definition-versions tr[data-version="2"]').inner_text()
    assert newest.startswith("v2\tActive\tEngaged earlier: 12 points")
    page.screenshot(path=SHOTS / "versions.png", full_page=True)
    page.goto(f"{live_server.url}/definitions/2/diff/?against=1")
    assert page.locator("#changes").inner_text() == "MQL engagement threshold: 25 → 12"
    page.screenshot(path=SHOTS / "diff.png", full_page=True)
    sales.close()
    assert LeadDefinition.objects.get(version=1).status == "retired"
