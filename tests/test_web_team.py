"""The manager's team view: overdue and at-risk hand-offs by rep, reps' load against their cap
and out-of-office, reassigning in one action."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from leadflow.accounts.models import User
from leadflow.leads import actions
from leadflow.leads.models import Lead, Stage
from leadflow.web.testing import element, nav_labels, text

HTMX = {"HX-Request": "true"}
MONDAY_10 = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
TUESDAY_9 = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
TUESDAY_1030 = datetime(2025, 3, 4, 10, 30, tzinfo=UTC)


def client_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def offer_at(world, when: datetime, *, hot=False, **fields) -> Lead:
    with time_machine.travel(when, tick=False):
        lead = world.lead(**fields)
        if hot:
            Lead.objects.filter(pk=lead.pk).update(priority="hot")
        return actions.transition(lead.pk, "qualify", actor=world.marketing)


@pytest.fixture
def board(world):
    """At Tuesday 10:30 (UTC calendar, 9-17): one overdue offer, one at risk, one on track."""
    overdue = offer_at(world, MONDAY_10, first_name="Olga")  # due Tue 10:00
    at_risk = offer_at(world, TUESDAY_9, hot=True, first_name="Rita")  # 2 h: 90 of 120 min used
    on_track = offer_at(world, datetime(2025, 3, 4, 10, 0, tzinfo=UTC), first_name="Theo")
    with time_machine.travel(TUESDAY_1030, tick=False) as traveller:
        yield {"overdue": overdue, "at_risk": at_risk, "on_track": on_track, "clock": traveller}


def test_the_team_view_is_for_managers(world):
    assert "Team" in nav_labels(client_as(world.sales_manager).get("/leads/").text)
    assert "Team" not in nav_labels(client_as(world.sdr).get("/leads/").text)
    response = client_as(world.sdr).get("/team/")
    assert response.status_code == 403
    assert "The team view is for managers" in text(response.text)


def test_it_shows_overdue_and_at_risk_offers_by_rep_but_not_those_on_track(world, board):
    assert (board["overdue"].owner, board["at_risk"].owner, board["on_track"].owner) == (
        world.sdr,
        world.sdr2,
        world.sdr,
    )
    html = client_as(world.sales_manager).get("/team/").text
    table = element(html, "team-offers")
    assert re.findall(r'<tr id="team-offer-(\d+)" data-status="(\w+)"', table) == [
        (str(board["overdue"].pk), "overdue"),
        (str(board["at_risk"].pk), "at_risk"),
    ]
    sdr_group = text(element(html, f"group-{world.sdr.pk}"))
    assert sdr_group.startswith("Sdr 1 overdue Olga Lee")
    assert "Overdue 100% of time used" in sdr_group
    assert "Overdue by 00:30:00" in sdr_group
    sdr2_group = text(element(html, f"group-{world.sdr2.pk}"))
    assert "Rita Lee Hot" in sdr2_group
    assert "At risk 75% of time used" in sdr2_group
    counts = {
        name: text(element(html, f"count-{name}"))
        for name in ("pending", "overdue", "at-risk", "away")
    }
    assert counts == {"pending": "3", "overdue": "1", "at-risk": "1", "away": "0 of 2"}


def test_show_all_lists_every_open_offer(world, board):
    html = client_as(world.sales_manager).get("/team/?show=all").text
    shown = re.findall(r'<tr id="team-offer-(\d+)"', element(html, "team-offers"))
    assert sorted(map(int, shown)) == sorted(
        lead.pk for key, lead in board.items() if key != "clock"
    )


def test_reps_show_open_offers_against_their_cap_and_whether_they_are_in(world, board):
    User.objects.filter(pk=world.sdr2.pk).update(out_of_office=True, max_open_offers=1)
    html = client_as(world.sales_manager).get("/team/").text
    sdr = text(element(html, f"rep-{world.sdr.pk}"))
    assert sdr.startswith("Sdr 2 of 25")
    assert "In Mark out of office" in sdr
    sdr2 = text(element(html, f"rep-{world.sdr2.pk}"))
    assert sdr2.startswith("Sdr2 1 of 1 At cap: no new offers 0 1 Out of office")
    assert "Mark Sdr2 back in" in sdr2


def test_reassign_moves_the_offer_to_another_rep_in_one_action_and_keeps_its_deadline(world, board):
    lead = board["overdue"]
    offer = lead.handoffs.get()
    html = client_as(world.sales_manager).get("/team/").text
    form = element(html, f"team-offer-{lead.pk}")
    options = re.findall(r'<option value="(\d*)"[^>]*>([^<]+)</option>', form)
    # The current rep is not offered; the others show their load.
    assert options == [("", "Choose a rep…"), (str(world.sdr2.pk), "Sdr2 (1 of 25 open)")]

    response = client_as(world.sales_manager).post(
        f"/team/leads/{lead.pk}/reassign/",
        {
            "transition": "reassign",
            "to": "mql",
            "seen_version": lead.version,
            "assignee": world.sdr2.pk,
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith(
        f'<tr id="team-offer-{lead.pk}" class="table-success">'
    )
    assert (
        "Reassigned Olga Lee to Sdr2. The deadline stays as it was. Accept by 4 Mar 2025, 10:00"
        in (text(response.text))
    )
    reps = element(response.text, "team-reps")
    assert 'hx-swap-oob="true"' in reps
    assert text(element(reps, f"rep-{world.sdr2.pk}")).startswith("Sdr2 2 of 25")
    lead.refresh_from_db()
    offer.refresh_from_db()
    assert (lead.stage, lead.owner) == (Stage.MQL, world.sdr2)
    assert (offer.offered_to, offer.accept_by) == (world.sdr2, MONDAY_10 + timedelta(days=1))
    entry = lead.history.last()
    assert (entry.transition, entry.actor) == ("reassign", world.sales_manager)


def test_reassign_without_a_rep_says_so_at_the_field(world, board):
    lead = board["overdue"]
    response = client_as(world.sales_manager).post(
        f"/team/leads/{lead.pk}/reassign/",
        {"transition": "reassign", "to": "mql", "seen_version": lead.version, "assignee": ""},
        headers=HTMX,
    )
    assert response.status_code == 422
    error = re.search(r'data-field-error="assignee">([^<]+)<', response.text)[1]
    assert text(error) == "'reassign' needs an assignee in the lead's team"
    lead.refresh_from_db()
    assert lead.owner == world.sdr


def test_a_manager_of_another_team_cannot_reassign(world, board):
    lead = board["overdue"]
    response = client_as(world.field_manager).post(
        f"/team/leads/{lead.pk}/reassign/",
        {
            "transition": "reassign",
            "to": "mql",
            "seen_version": lead.version,
            "assignee": world.sdr2.pk,
        },
        headers=HTMX,
    )
    assert response.status_code == 404
    lead.refresh_from_db()
    assert lead.owner == world.sdr


def test_out_of_office_is_toggled_here_and_routing_then_skips_the_rep(world, board):
    client = client_as(world.sales_manager)
    response = client.post(
        f"/team/reps/{world.sdr.pk}/out-of-office/", {"out_of_office": "1"}, headers=HTMX
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="team-reps"')
    assert "Sdr is out of office: new leads go to the rest of the team." in text(response.text)
    assert text(element(response.text, f"rep-{world.sdr.pk}")).endswith(
        "Out of office Mark Sdr back in"
    )
    assert 'id="team-summary"' in response.text and 'hx-swap-oob="true"' in response.text
    world.sdr.refresh_from_db()
    assert world.sdr.out_of_office is True
    for _ in range(2):
        assert offer_at(world, TUESDAY_1030).owner == world.sdr2

    client.post(f"/team/reps/{world.sdr.pk}/out-of-office/", {"out_of_office": "0"})
    world.sdr.refresh_from_db()
    assert world.sdr.out_of_office is False


def test_a_manager_cannot_mark_someone_outside_their_team(world):
    response = client_as(world.sales_manager).post(
        f"/team/reps/{world.ae.pk}/out-of-office/", {"out_of_office": "1"}
    )
    assert response.status_code == 404
    world.ae.refresh_from_db()
    assert world.ae.out_of_office is False


def test_nothing_at_risk_says_so_and_offers_the_full_list(world):
    with time_machine.travel(TUESDAY_9, tick=False):
        offer_at(world, TUESDAY_9)
        html = client_as(world.sales_manager).get("/team/").text
    assert text(element(html, "team-all-clear")).startswith("Nothing overdue or at risk.")
    assert "Show all 1 open hand-off" in text(html)


def test_a_marketing_manager_sees_that_their_team_receives_no_hand_offs(world):
    html = client_as(world.marketing_manager).get("/team/").text
    assert "This team receives no hand-offs" in text(element(html, "team-empty"))


def test_the_board_needs_the_same_number_of_queries_for_few_or_many_offers(world, board):
    def queries() -> int:
        client = client_as(world.sales_manager)
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/team/?show=all").status_code == 200
        return len(captured)

    few = queries()
    for _ in range(6):
        offer_at(world, MONDAY_10)
    assert queries() == few
