"""The rep's inbox lists what is offered to them and their team's queue, due first, each with a
countdown and the business time left; below, accepted leads waiting for their first touch."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from leadflow.accounts.models import User
from leadflow.leads import actions
from leadflow.leads.models import ActivityKind, Lead, Source
from leadflow.web.testing import element, text

# A Tuesday, 10:00 UTC: inside the default calendar's working day (UTC, Mon-Fri 9-17).
TUESDAY_10 = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(TUESDAY_10, tick=False) as traveller:
        yield traveller


def client_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def offered_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tbody id="offer-(\d+)"', html)]


def mql(world, *, hot: bool = False, **fields) -> Lead:
    """A lead qualified now, offered by round-robin (with the clock stopped: sdr, sdr2, then
    sdr again, the lower id winning the tie)."""
    lead = world.lead(**fields)
    if hot:
        Lead.objects.filter(pk=lead.pk).update(priority="hot")
    return actions.transition(lead.pk, "qualify", actor=world.marketing)


def test_it_lists_offers_to_the_rep_and_their_team_queue_with_the_soonest_deadline_first(
    world, clock
):
    normal = mql(world, first_name="Norma", company="Northwind")
    to_sdr2 = mql(world, first_name="Other")
    hot = mql(world, hot=True, first_name="Hattie", company="Helio")  # due in 2 business hours
    User.objects.filter(pk__in=[world.sdr.pk, world.sdr2.pk]).update(out_of_office=True)
    queued = mql(world, first_name="Quinn")  # nobody available: the team's queue
    assert (normal.owner, to_sdr2.owner, hot.owner, queued.owner) == (
        world.sdr,
        world.sdr2,
        world.sdr,
        None,
    )

    html = client_as(world.sdr).get("/inbox/").text

    assert offered_ids(html) == [hot.pk, normal.pk, queued.pk]
    row = text(element(html, f"offer-{hot.pk}"))
    assert row.startswith("Hattie Lee")
    # Company, source, priority, offered at, accept by, the countdown and business time left.
    assert (
        "Helio Organic Web Hot 4 Mar 2025, 10:00 4 Mar 2025, 12:00 "
        "Due in 02:00:00 2 h of business time left"
    ) in row
    assert 'data-seconds-left="7200"' in element(html, f"offer-{hot.pk}")
    normal_row = text(element(html, f"offer-{normal.pk}"))
    # Offered Tuesday 10:00 with 8 business hours: due Wednesday 10:00, 24 wall-clock hours.
    assert "4 Mar 2025, 10:00 5 Mar 2025, 10:00 Due in 1 d 00:00:00" in normal_row
    assert "8 h of business time left" in normal_row
    assert "Inside sales queue" in text(element(html, f"offer-{queued.pk}"))
    assert 'src="/static/web/countdown.js"' in html


def test_an_overdue_offer_is_red_and_says_how_far_past_its_deadline_it_is(world, clock):
    lead = mql(world)
    clock.shift(timedelta(days=1, hours=1, minutes=30))  # Wednesday 11:30, due at 10:00
    row = element(client_as(world.sdr).get("/inbox/").text, f"offer-{lead.pk}")
    assert 'data-status="overdue"' in row
    assert 'class="countdown num fw-semibold text-danger"' in row
    assert "Overdue by 01:30:00" in text(row)
    assert "Overdue by 1 h 30 min of business time" in text(row)
    summary = text(element(client_as(world.sdr).get("/inbox/").text, "inbox-summary"))
    assert summary == "1 offer · 1 overdue"


def test_an_offer_past_half_its_time_is_at_risk(world, clock):
    lead = mql(world)
    clock.shift(timedelta(hours=5))  # 5 of 8 business hours gone
    html = client_as(world.sdr).get("/inbox/").text
    assert 'data-status="at_risk"' in element(html, f"offer-{lead.pk}")
    assert "3 h of business time left" in text(element(html, f"offer-{lead.pk}"))
    assert text(element(html, "inbox-summary")) == "1 offer · 1 at risk"


def test_business_time_left_skips_the_night(world, clock):
    clock.move_to(datetime(2025, 3, 4, 16, 0, tzinfo=UTC))  # one working hour left today
    lead = mql(world)
    row = text(element(client_as(world.sdr).get("/inbox/").text, f"offer-{lead.pk}"))
    # Due Wednesday 16:00: a whole day of wall-clock time, eight hours of business time.
    assert "Due in 1 d 00:00:00 8 h of business time left" in row


def test_other_reps_offers_are_not_in_my_inbox(world, clock):
    mine = mql(world)
    theirs = mql(world)
    assert theirs.owner == world.sdr2
    assert offered_ids(client_as(world.sdr).get("/inbox/").text) == [mine.pk]
    assert offered_ids(client_as(world.sdr2).get("/inbox/").text) == [theirs.pk]


def test_filters_are_in_the_url_and_kept_in_the_rows_links(world, clock):
    plain = mql(world)
    mql(world)  # sdr2's
    hot = mql(world, hot=True)
    syndication = Source.objects.create(name="Content Syndication")

    html = client_as(world.sdr).get("/inbox/?priority=hot").text
    assert offered_ids(html) == [hot.pk]
    assert f'href="/inbox/?priority=hot&amp;reject={hot.pk}#offer-{hot.pk}"' in html
    assert '<option value="hot" selected>Hot</option>' in html
    assert ">Clear filters</a>" in html

    html = client_as(world.sdr).get(f"/inbox/?source={syndication.pk}").text
    assert offered_ids(html) == []
    assert "No offers match these filters." in text(html)

    html = client_as(world.sdr).get("/inbox/?offered=me").text
    assert offered_ids(html) == [hot.pk, plain.pk]  # the hot lead is due first


def test_an_empty_inbox_says_what_will_appear_there(world, clock):
    html = client_as(world.sdr).get("/inbox/").text
    assert text(element(html, "inbox-empty")).startswith("Nothing is waiting for your decision.")
    assert "No accepted lead is waiting for a first touch." in text(html)


def test_accepted_leads_wait_below_with_their_first_touch_countdown(world, clock):
    lead = mql(world, company="Quantix")
    actions.transition(lead, "accept", actor=world.sdr)
    section = element(client_as(world.sdr).get("/inbox/").text, "first-touch")
    row = text(element(section, f"touch-{lead.pk}"))
    # First touch within one business hour of acceptance.
    assert "Pat Lee Quantix Organic Web SAL 4 Mar 2025, 10:00 4 Mar 2025, 11:00" in row
    assert "Due in 01:00:00 1 h of business time left" in row

    actions.log_activity(lead, ActivityKind.CALL, actor=world.sdr)
    section = element(client_as(world.sdr).get("/inbox/").text, "first-touch")
    assert f"touch-{lead.pk}" not in section


def test_the_inbox_needs_the_same_number_of_queries_for_few_or_many_offers(world, clock):
    def queries() -> int:
        client = client_as(world.sdr)
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/inbox/").status_code == 200
        return len(captured)

    for _ in range(2):
        mql(world)
    few = queries()
    for _ in range(8):
        mql(world)
    assert queries() == few


def test_the_inbox_requires_login(world):
    response = Client().get("/inbox/")
    assert response["Location"] == "/login/?next=/inbox/"
