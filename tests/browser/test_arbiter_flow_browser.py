"""A rejected lead's round trip in a real browser: the rep sees the live countdown in the inbox
and rejects a lead with a reason; the arbiter finds it in the queue and overrules it; the rep
finds it back in the inbox with a new deadline.

The clock is pinned to a coming Tuesday morning in New York (the inside sales team's calendar)
and ticks from there, so the deadlines look the same whenever the test runs. The screenshots
it takes are docs/screenshots/inbox.png and docs/screenshots/arbiter-queue.png.
"""

import re
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.text import slugify

from leadflow.accounts.models import Team, User
from leadflow.leads import actions
from leadflow.leads.models import (
    Activity,
    ActivityKind,
    Campaign,
    Handoff,
    Lead,
    OutboxEvent,
    Source,
    Stage,
)
from leadflow.notify import fanout
from leadflow.notify.models import Notification
from tests.conftest import PASSWORD

pytestmark = [
    pytest.mark.browser,
    # live_server needs real commits (the world puts back the teams and reasons a flush removes).
    pytest.mark.django_db(transaction=True),
]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
NEW_YORK = ZoneInfo("America/New_York")

PEOPLE = {
    "marketing": ("Maya", "Okafor"),
    "sdr": ("Sam", "Rivera"),
    "sdr2": ("Priya", "Shah"),
    "sales_manager": ("Elena", "Novak"),
    "arbiter": ("Grace", "Liu"),
}


def coming_tuesday_morning() -> datetime:
    """10:30 in New York on the next Tuesday (at least a day ahead): inside working hours,
    and late enough in the week's start that yesterday's offers are still open."""
    today = timezone.now().astimezone(NEW_YORK).date()
    days = (1 - today.weekday()) % 7 or 7
    return datetime.combine(today + timedelta(days=days), time(10, 30), NEW_YORK)


class Seeder:
    """Leads offered, accepted, rejected and returned at moments before `now`."""

    def __init__(self, world, now: datetime):
        self.world = world
        self.now = now

    def lead(
        self,
        first,
        last,
        title,
        company,
        size,
        source,
        campaign,
        fit,
        engagement,
        *,
        hot=False,
        at: timedelta,
    ) -> Lead:
        source_obj, _ = Source.objects.get_or_create(name=source)
        campaign_obj, _ = Campaign.objects.get_or_create(source=source_obj, name=campaign)
        created = self.now - at - timedelta(minutes=40)
        domain = f"{slugify(company.split()[0])}.example"
        lead = actions.create_lead(
            actor=self.world.marketing,
            source=source_obj,
            campaign=campaign_obj,
            now=created,
            first_name=first,
            last_name=last,
            title=title,
            company=company,
            employee_count=size,
            email=f"{slugify(first)}.{slugify(last)}@{domain}",
            domain=domain,
            country="US",
            industry="Software",
        )
        Lead.objects.filter(pk=lead.pk).update(
            fit_score=fit, engagement_score=engagement, priority="hot" if hot else "normal"
        )
        Activity.objects.create(
            lead=lead,
            kind=ActivityKind.CONTENT_DOWNLOAD,
            campaign=campaign_obj,
            occurred_at=created + timedelta(minutes=5),
            source_system="marketing-automation",
            detail=f"Downloaded via {campaign}",
        )
        return actions.transition(lead.pk, "qualify", actor=None, now=self.now - at)

    def only(self, *reps):
        """Make only `reps` available, so round-robin offers to them."""
        world = self.world
        for rep in (world.sdr, world.sdr2):
            User.objects.filter(pk=rep.pk).update(out_of_office=rep not in reps)


def seed(world, now: datetime) -> dict[str, Lead]:
    for attr, (first, last) in PEOPLE.items():
        User.objects.filter(pk=getattr(world, attr).pk).update(first_name=first, last_name=last)
        getattr(world, attr).refresh_from_db()
    Team.objects.filter(pk=world.inside_team.pk).update(time_zone="America/New_York")
    User.objects.filter(pk__in=[world.sdr.pk, world.sdr2.pk, world.arbiter.pk]).update(
        time_zone="America/New_York"
    )
    world.inside_team.refresh_from_db()
    s = Seeder(world, now)
    sam, priya = world.sdr, world.sdr2
    leads = {}

    # Earlier work, for the arbiter's queue and the reps' records.
    s.only(priya)
    olivia = s.lead(
        "Olivia",
        "Brennan",
        "Head of Sales Development",
        "Cobalt Payments",
        540,
        "Organic Web",
        "Pricing page",
        83,
        74,
        at=timedelta(days=8),
    )
    olivia = actions.transition(olivia, "accept", actor=priya, now=now - timedelta(days=8))
    leads["Olivia Brennan"] = actions.transition(
        olivia,
        "return",
        actor=priya,
        reason="went-cold",
        now=now - timedelta(hours=19),
        comment="No answer after five calls and three e-mails over six days.",
    )
    sofia = s.lead(
        "Sofia",
        "Rossi",
        "Operations Lead",
        "Lattice Retail",
        230,
        "Content Syndication",
        "State of RevOps 2025 report",
        52,
        18,
        at=timedelta(hours=20),
    )
    leads["Sofia Rossi"] = actions.transition(
        sofia,
        "reject",
        actor=priya,
        reason="incomplete-record",
        now=now - timedelta(hours=18),
        comment="No phone, and the company field said 'n/a' until I looked it up.",
    )
    ethan = s.lead(
        "Ethan",
        "Park",
        "IT Manager",
        "Vireo Labs",
        85,
        "Paid Search",
        "Lead routing – exact match",
        47,
        39,
        at=timedelta(days=2, hours=2),
    )
    leads["Ethan Park"] = actions.transition(
        ethan, "ignore", actor=None, now=now - timedelta(hours=2)
    )

    # Sam's accepted leads, one touched, two waiting for their first touch.
    s.only(sam)
    for name, company, minutes, touched in [
        (
            ("Fatima", "Al-Sayed", "CMO"),
            ("Helio Energy", 2600, "Trade Shows", "SaaStr booth"),
            130,
            False,
        ),
        (
            ("Noah", "Fischer", "Sales Operations Manager"),
            ("Quantix Analytics", 310, "Organic Web", "Pricing page"),
            20,
            False,
        ),
        (
            ("Daniel", "Okoye", "VP Revenue"),
            ("Brightline Media", 900, "Webinars", "Pipeline hygiene live"),
            100,
            True,
        ),
    ]:
        lead = s.lead(*name, *company, 74, 61, at=timedelta(minutes=minutes + 30))
        lead = actions.transition(lead, "accept", actor=sam, now=now - timedelta(minutes=minutes))
        if touched:
            actions.log_activity(
                lead,
                ActivityKind.CALL,
                actor=sam,
                occurred_at=now - timedelta(minutes=minutes - 20),
            )
        leads[" ".join(name[:2])] = lead

    # What waits for Sam's decision now, the most urgent first.
    offers = [
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
            False,
            timedelta(hours=2, minutes=0),
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
            True,
            timedelta(minutes=70),
        ),
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
            False,
            timedelta(hours=3),
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
            False,
            timedelta(minutes=50),
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
            False,
            timedelta(minutes=20),
        ),
    ]
    for first, last, title, company, size, source, campaign, fit, eng, hot, ago in offers:
        if first == "Hannah":
            # Offered yesterday afternoon: most of its working day is gone.
            ago = now - datetime.combine(now.date() - timedelta(days=1), time(11, 15), NEW_YORK)
        leads[f"{first} {last}"] = s.lead(
            first, last, title, company, size, source, campaign, fit, eng, hot=hot, at=ago
        )
    s.only()  # nobody in: this one waits in the team's queue
    leads["Mateo García"] = s.lead(
        "Mateo",
        "García",
        "Founder & CEO",
        "Tallyhoo",
        28,
        "Paid Search",
        "Lead routing – exact match",
        41,
        63,
        at=timedelta(minutes=35),
    )
    s.only(sam, priya)
    # The worker's fan-out, as if it had run as things happened: notifications dated by their
    # events, and the ones older than two hours already read.
    fanout.process_outbox(now)
    Notification.objects.update(
        created_at=Subquery(OutboxEvent.objects.filter(pk=OuterRef("event")).values("created_at"))
    )
    Notification.objects.filter(created_at__lt=now - timedelta(hours=2)).update(read_at=now)
    return leads


def sign_in(page, base: str, username: str, next_url: str) -> None:
    page.goto(f"{base}/login/?next={next_url}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}{next_url}")


def sign_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login/$"))


@pytest.fixture
def tuesday():
    with time_machine.travel(coming_tuesday_morning(), tick=True) as traveller:
        yield traveller


def test_a_rejected_lead_goes_to_the_arbiter_and_comes_back_overruled(
    world, live_server, page, tuesday
):
    leads = seed(world, timezone.now())
    jordan = leads["Jordan Blake"]
    assert jordan.owner == world.sdr
    first_offer = jordan.handoffs.get(decision="pending")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    base = live_server.url

    # --- Sam, in the inbox ---------------------------------------------------------------
    sign_in(page, base, "sdr", "/inbox/")
    rows = page.locator("#offers tbody.offer")
    assert rows.count() == 6
    assert page.locator("#first-touch-table tbody tr").count() == 2
    row = page.locator(f"#offer-{jordan.pk}")
    assert "Content Syndication" in row.inner_text()
    assert "of business time left" in row.inner_text()
    countdown = row.locator(".countdown")
    before = countdown.inner_text()
    assert before.startswith("Due in ")
    page.wait_for_function(
        "([el, text]) => el.textContent !== text", arg=[countdown.element_handle(), before]
    )
    assert countdown.inner_text().startswith("Due in ")
    unread = int(page.locator("#unread-count").inner_text().split()[0])
    assert unread == 4  # the offers of the last two hours: Aiko, Lucas, Chloe, Noah
    page.screenshot(path=SCREENSHOTS / "inbox.png", full_page=True)

    # Filters apply as they change, and the URL says which are on.
    page.get_by_label("Priority").select_option("hot")
    page.wait_for_url(f"{base}/inbox/?*priority=hot*")
    page.wait_for_function("document.querySelectorAll('#offers tbody.offer').length === 1")
    assert "Aiko Tanaka" in rows.first.inner_text()
    page.get_by_label("Priority").select_option("")
    page.wait_for_function("document.querySelectorAll('#offers tbody.offer').length === 6")

    page.evaluate("window.sameDocument = true")
    row.get_by_role("button", name="Reject Jordan Blake…").click()
    form = page.locator(f"#reject-{jordan.pk}")
    form.get_by_label("Reason").select_option("below-fit")
    form.get_by_label("Comment").fill(
        "Northwind's US office has 40 people; the other 1,800 are drivers, not buyers."
    )
    form.get_by_role("button", name="Reject").click()
    page.wait_for_selector(f'#offer-{jordan.pk}[data-decision="rejected"]')
    assert page.evaluate("window.sameDocument") is True
    assert "went to the arbiter" in page.locator(f"#offer-{jordan.pk}").inner_text()
    jordan.refresh_from_db()
    assert jordan.stage == Stage.IN_REVIEW
    sign_out(page)

    # --- Grace, the arbiter --------------------------------------------------------------
    sign_in(page, base, "arbiter", "/arbiter/")
    cards = page.locator("#reviews article.review")
    assert cards.count() == 4
    card = page.locator(f"#review-{jordan.pk}")
    assert cards.last.get_attribute("id") == f"review-{jordan.pk}"  # the newest, at the end
    text = card.inner_text()
    assert "Rejected by Sam Rivera" in text
    assert "Does not meet the definition: fit" in text
    assert "the other 1,800 are drivers" in text
    assert "Sam Rivera's record" in text
    page.screenshot(path=SCREENSHOTS / "arbiter-queue.png", full_page=True)

    card.get_by_label("Overrule: back to inside sales").check()
    card.get_by_label("Comment").fill(
        "Fit is scored on the whole company: 1,800 staff and a RevOps director meet the "
        "definition. Call Jordan today."
    )
    card.get_by_role("button", name="Decide").click()
    page.wait_for_selector(f"#review-{jordan.pk}.is-decided")
    outcome = page.locator(f"#review-{jordan.pk}").inner_text()
    assert "Overruled: Jordan Blake goes back to sales at MQL, offered to Sam Rivera" in outcome
    assert page.locator("#queue-count").inner_text() == "3"
    sign_out(page)

    # --- Sam again: the lead is back, with a new deadline ----------------------------------
    sign_in(page, base, "sdr", "/inbox/")
    row = page.locator(f"#offer-{jordan.pk}")
    assert row.is_visible()
    new_offer = Handoff.objects.get(lead=jordan, decision="pending")
    assert new_offer.accept_by > first_offer.accept_by
    deadline = row.locator("td").nth(5).inner_text()
    local = timezone.localtime(new_offer.accept_by, NEW_YORK)
    assert deadline == f"{local:%-d %b %Y, %H:%M}"
    assert row.locator(".countdown").inner_text().startswith("Due in ")
    # Once the worker fans the decision out, the bell counts it and the centre shows it.
    fanout.process_outbox()
    page.get_by_role("link", name=re.compile("Notifications")).click()
    page.wait_for_url(f"{base}/notifications/")
    newest = page.locator("#notifications li").all_inner_texts()[:2]
    assert any("The arbiter overruled the review of Jordan Blake" in t for t in newest)
    assert any("New MQL for you to decide: Jordan Blake" in t for t in newest)
    assert int(page.locator("#unread-count").inner_text().split()[0]) == unread + 2
