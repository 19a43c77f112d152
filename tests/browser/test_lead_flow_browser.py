"""An SDR rejects an MQL in a real browser: sign in, open the list, open the lead, reject it
with a reason and a comment through the htmx form, see it in review on the timeline.

The screenshots it takes are the ones in docs/screenshots/.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from django.utils.text import slugify

from leadflow.accounts.models import Team, User
from leadflow.leads import actions
from leadflow.leads.models import Activity, ActivityKind, Campaign, Lead, Source
from tests.conftest import PASSWORD

pytestmark = [
    pytest.mark.browser,
    # live_server needs real commits (the world puts back the teams and reasons a flush removes).
    pytest.mark.django_db(transaction=True),
]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

PEOPLE = {
    "marketing": ("Maya", "Okafor"),
    "sdr": ("Sam", "Rivera"),
    "sdr2": ("Priya", "Shah"),
    "sales_manager": ("Elena", "Novak"),
    "ae": ("Tom", "Becker"),
    "arbiter": ("Grace", "Liu"),
}

# first, last, title, company, employees, source, campaign, fit, engagement, hours ago, path
LEADS = [
    (
        "Jordan",
        "Blake",
        "Director of Revenue Operations",
        "Northwind Logistics",
        1800,
        "Content Syndication",
        "State of RevOps 2025 report",
        72,
        48,
        3,
        "mql",
    ),
    (
        "Aiko",
        "Tanaka",
        "VP Sales",
        "Kestrel Robotics",
        420,
        "Webinars",
        "Pipeline hygiene live",
        81,
        66,
        5,
        "mql",
    ),
    (
        "Lucas",
        "Moreau",
        "Head of Growth",
        "Bramble & Co",
        95,
        "Paid Search",
        "Lead routing – exact match",
        58,
        71,
        8,
        "mql",
    ),
    (
        "Fatima",
        "Al-Sayed",
        "CMO",
        "Helio Energy",
        2600,
        "Trade Shows",
        "SaaStr Europa booth",
        88,
        40,
        26,
        "sal",
    ),
    (
        "Noah",
        "Fischer",
        "Sales Operations Manager",
        "Quantix Analytics",
        310,
        "Organic Web",
        "Pricing page",
        64,
        82,
        30,
        "sal",
    ),
    (
        "Chloe",
        "Dubois",
        "Marketing Director",
        "Lumen Health",
        760,
        "Webinars",
        "Pipeline hygiene live",
        69,
        57,
        50,
        "mql",
    ),
    (
        "Mateo",
        "García",
        "Founder & CEO",
        "Tallyhoo",
        28,
        "Paid Search",
        "Lead routing – exact match",
        41,
        63,
        52,
        "sal",
    ),
    (
        "Hannah",
        "Schmidt",
        "VP Marketing",
        "Orbital Freight",
        1250,
        "Content Syndication",
        "State of RevOps 2025 report",
        77,
        35,
        75,
        "mql",
    ),
    (
        "Olivia",
        "Brennan",
        "Head of Sales Development",
        "Cobalt Payments",
        540,
        "Organic Web",
        "Pricing page",
        83,
        74,
        98,
        "sal",
    ),
]

HOT = {"Aiko Tanaka"}  # asked for a demo in the webinar: a hot lead, accepted within 2 hours


def seed(world) -> dict[str, Lead]:
    """A believable inbox: leads from five sources at several stages, with some history."""
    for attr, (first, last) in PEOPLE.items():
        User.objects.filter(pk=getattr(world, attr).pk).update(first_name=first, last_name=last)
        getattr(world, attr).refresh_from_db()
    # The inside sales team works from New York: its deadlines and Sam's dates are in Eastern time.
    Team.objects.filter(pk=world.inside_team.pk).update(time_zone="America/New_York")
    User.objects.filter(pk=world.sdr.pk).update(time_zone="America/New_York")
    now = timezone.now()
    leads = {}
    # Oldest first, as they arrived: round-robin then alternates between the two SDRs.
    arrival = sorted(LEADS, key=lambda row: -row[9])
    for first, last, title, company, size, source, campaign, fit, eng, hours, stage in arrival:
        source_obj, _ = Source.objects.get_or_create(name=source)
        campaign_obj, _ = Campaign.objects.get_or_create(source=source_obj, name=campaign)
        created = now - timedelta(hours=hours)
        lead = actions.create_lead(
            actor=world.marketing,
            source=source_obj,
            campaign=campaign_obj,
            now=created,
            first_name=first,
            last_name=last,
            title=title,
            company=company,
            employee_count=size,
            email=f"{slugify(first)}.{slugify(last)}@{slugify(company.split()[0])}.example",
            domain=f"{slugify(company.split()[0])}.example",
            country="DE" if hours % 2 else "US",
            industry="Logistics" if "Freight" in company or "Logistics" in company else "Software",
        )
        priority = "hot" if f"{first} {last}" in HOT else "normal"
        Lead.objects.filter(pk=lead.pk).update(
            fit_score=fit, engagement_score=eng, priority=priority
        )
        Activity.objects.create(
            lead=lead,
            kind=ActivityKind.CONTENT_DOWNLOAD,
            campaign=campaign_obj,
            occurred_at=created + timedelta(minutes=1),
            source_system="marketing-automation",
            detail=f"Downloaded via {campaign}",
        )
        Activity.objects.create(
            lead=lead,
            kind=ActivityKind.WEB_VISIT,
            occurred_at=created + timedelta(minutes=20),
            url="https://leadflow.example/pricing",
            source_system="website",
        )
        lead = actions.transition(lead, "qualify", actor=None, now=created + timedelta(minutes=30))
        if stage == "sal":
            # Accepted by whoever routing offered it to (round-robin across the two SDRs).
            rep = lead.owner
            lead = actions.transition(
                lead, "accept", actor=rep, now=created + timedelta(minutes=50)
            )
            Activity.objects.create(
                lead=lead,
                kind=ActivityKind.CALL,
                actor=rep,
                occurred_at=created + timedelta(minutes=65),
                detail="Intro call, booked demo",
            )
        leads[f"{first} {last}"] = lead
    return leads


def test_an_sdr_rejects_an_mql_with_a_reason_through_the_htmx_form(world, live_server, page):
    leads = seed(world)
    lead = leads["Jordan Blake"]
    assert lead.owner == world.sdr  # offered to Sam first in the team's round-robin
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    page.goto(f"{live_server.url}/leads/")
    page.get_by_label("Username").fill("sdr")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/leads/")
    assert page.get_by_role("heading", name="Leads").is_visible()
    rows = page.locator("table.lead-table tbody tr")
    assert rows.count() == len(LEADS)
    assert "Sam Rivera" in page.locator("#signed-in").inner_text()
    page.screenshot(path=SCREENSHOTS / "lead-list.png", full_page=True)

    page.get_by_role("link", name="Jordan Blake").click()
    page.wait_for_url(f"{live_server.url}/leads/{lead.pk}/")
    assert page.locator("#lead-panel").get_attribute("data-stage") == "mql"
    # A marker on the window survives an htmx swap, but not a page load.
    page.evaluate("window.sameDocument = true")

    page.locator("summary", has_text="Reject").click()
    form = page.locator("#action-reject-in_review")
    form.get_by_label("Reason").select_option("wrong-territory")
    form.get_by_label("Comment").fill(
        "Northwind is headquartered in Hamburg: this belongs to the EMEA team, not us."
    )
    page.screenshot(path=SCREENSHOTS / "lead-page.png", full_page=True)

    form.get_by_role("button", name="Reject").click()
    page.wait_for_selector('#lead-panel[data-stage="in_review"]')
    assert page.evaluate("window.sameDocument") is True
    assert "in the Arbiter queue" in page.get_by_role("status").first.inner_text()
    newest = page.locator("#timeline > li").first
    assert "Reject" in newest.inner_text()
    assert "In review" in newest.inner_text()
    assert "Routed to the wrong territory or team" in newest.inner_text()
    assert "by Sam Rivera" in newest.inner_text()
    page.screenshot(path=SCREENSHOTS / "lead-page-rejected.png", full_page=True)

    lead.refresh_from_db()
    assert lead.stage == "in_review"
