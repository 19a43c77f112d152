"""The arbiter's queue: every lead in review, oldest first, with the reason, who decided and
when, the scores and the rep's record; uphold or overrule from the card, comment required."""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from leadflow.accounts.models import Role, User
from leadflow.leads import actions
from leadflow.leads.models import Decision, Lead, Stage
from leadflow.web.testing import element, nav_labels, text

HTMX = {"HX-Request": "true"}
MONDAY = datetime(2025, 3, 3, tzinfo=UTC)


def at(hour: int, minute: int = 0, day: int = 0) -> datetime:
    return MONDAY.replace(day=3 + day, hour=hour, minute=minute)


def client_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def words(html: str) -> str:
    """Visible text as a reader sees it: no space the tags left before punctuation."""
    return re.sub(r"\(\s+", "(", re.sub(r"\s+([,.)])", r"\1", text(html)))


def review_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<article id="review-(\d+)"', html)]


def decide(client, lead, *, htmx=True, version=None, **fields):
    data = {"seen_version": version or lead.version, **fields}
    return client.post(f"/arbiter/{lead.pk}/decide/", data, headers=HTMX if htmx else {})


@pytest.fixture
def queue(world):
    """Sam (sdr) returned one lead, rejected another twice (the arbiter overruled the first
    rejection) and let a third pass its deadline. Sdr2 is away, so every offer goes to Sam."""
    User.objects.filter(pk=world.sdr2.pk).update(out_of_office=True)
    sdr = world.sdr
    with time_machine.travel(at(9), tick=False) as clock:
        returned = world.lead_at("sal", first_name="Rhea", company="Quantix")
        ignored = world.lead_at("mql", first_name="Ivan", company="Tallyhoo")
        clock.move_to(at(9, 30))
        returned = actions.transition(
            returned, "return", actor=sdr, reason="went-cold", comment="No answer to 5 calls"
        )
        clock.move_to(at(10))
        rejected = world.lead(first_name="Jordan", company="Northwind", title="Director")
        Lead.objects.filter(pk=rejected.pk).update(fit_score=72, engagement_score=48)
        rejected = actions.transition(rejected.pk, "qualify", actor=world.marketing)
        rejected = actions.transition(
            rejected, "reject", actor=sdr, reason="below-fit", comment="Only 12 staff"
        )
        clock.move_to(at(10, 30))
        rejected = actions.transition(
            rejected, "overrule", actor=world.arbiter, comment="1,800 staff: it fits"
        )
        clock.move_to(at(11))
        rejected = actions.transition(
            rejected, "reject", actor=sdr, reason="wrong-territory", comment="Hamburg: EMEA's"
        )
        clock.move_to(at(9, day=1))  # Tuesday: Ivan's offer was due Monday 17:00
        ignored = actions.transition(ignored, "ignore", actor=None)
        clock.move_to(at(10, day=1))
        yield {"returned": returned, "rejected": rejected, "ignored": ignored, "clock": clock}


def test_the_queue_is_the_arbiters(world):
    assert nav_labels(client_as(world.arbiter).get("/leads/").text)[0] == "Arbiter queue"
    assert "Arbiter queue" not in nav_labels(client_as(world.sdr).get("/leads/").text)
    response = client_as(world.sdr).get("/arbiter/")
    assert response.status_code == 403
    assert "The arbiter's queue is for the arbiter" in text(response.text)


def test_every_lead_in_review_is_listed_the_longest_waiting_first(world, queue):
    html = client_as(world.arbiter).get("/arbiter/").text
    assert review_ids(html) == [
        queue["returned"].pk,
        queue["rejected"].pk,
        queue["ignored"].pk,
    ]
    assert text(element(html, "queue-count")) == "3"


def test_a_card_shows_the_reason_given_who_decided_when_and_the_scores(world, queue):
    lead = queue["rejected"]
    card = element(client_as(world.arbiter).get("/arbiter/").text, f"review-{lead.pk}")
    assert 'data-kind="rejected"' in card
    seen = words(card)
    assert "Jordan Lee Director at Northwind Rejected waiting since 3 Mar 2025, 11:00 UTC" in seen
    assert "Rejected by Sdr on 3 Mar 2025, 11:00 UTC, 30 minutes after it was offered." in seen
    assert (
        "Reason Routed to the wrong territory or team wrong-territory "
        "Class Procedural (wrong person or team) Comment Hamburg: EMEA's"
    ) in seen
    assert "Fit score 72 Engagement 48 Employees — Country —" in seen
    assert "From Organic Web" in seen
    assert f'href="/leads/{lead.pk}/#timeline-heading">Full timeline</a>' in card


def test_an_ignored_lead_says_nobody_decided_and_when_it_was_due(world, queue):
    card = element(client_as(world.arbiter).get("/arbiter/").text, f"review-{queue['ignored'].pk}")
    assert 'data-kind="ignored"' in card
    assert (
        "Nobody decided. The offer to Sdr passed its deadline (3 Mar 2025, 17:00 UTC) "
        "and leadflow escalated it."
    ) in words(card)


def test_the_reps_record_counts_rejections_returns_ignores_and_overrules(world, queue):
    html = client_as(world.arbiter).get("/arbiter/").text
    for lead in (queue["returned"], queue["rejected"], queue["ignored"]):
        card = element(html, f"review-{lead.pk}")
        assert "Sdr's record" in text(card)
        assert text(re.search(r'<p class="small mb-0 rep-record">.*?</p>', card, re.S)[0]) == (
            "1 accepted · 2 rejected · 1 returned · 1 ignored · 1 overruled by the arbiter"
        )


def test_the_decision_form_offers_the_targets_the_lifecycle_allows(world, queue):
    html = client_as(world.arbiter).get("/arbiter/").text
    form = element(html, f"decide-{queue['rejected'].pk}")
    assert re.findall(r'name="decision" value="(\w+)"', form) == ["uphold", "overrule"]
    assert "Uphold: to nurture" in form and "Overrule: back to inside sales" in form
    assert "Counts against Organic Web." in text(form)
    assert "offered to Sdr unless you name another rep. Counts against Sdr." in text(form)
    assert re.findall(r'<optgroup label="([^"]+)">', form) == ["Inside sales"]
    assert "required" in re.search(r"<textarea[^>]*>", form)[0]


def test_overrule_sends_the_lead_back_to_the_rep_with_a_new_deadline(world, queue):
    lead = queue["rejected"]
    response = decide(
        client_as(world.arbiter), lead, decision="overrule", comment="Germany is ours too"
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith(
        f'<article id="review-{lead.pk}" class="card mb-3 review is-decided border-success"'
    )
    assert (
        "Overruled: Jordan Lee goes back to sales at MQL, offered to Sdr with a new deadline. "
        "Accept by 5 Mar 2025, 10:00 UTC."
    ) in words(response.text)
    assert '<span id="queue-count" hx-swap-oob="innerHTML">2</span>' in response.text
    lead.refresh_from_db()
    assert (lead.stage, lead.owner) == (Stage.MQL, world.sdr)
    offer = lead.handoffs.get(decision=Decision.PENDING)
    # Tuesday 10:00 + 8 business hours (9-17): Wednesday 10:00.
    assert offer.accept_by == at(10, day=2)


def test_overrule_may_offer_the_lead_to_another_rep(world, queue):
    lead = queue["returned"]
    decide(
        client_as(world.arbiter),
        lead,
        decision="overrule",
        assignee=world.sdr2.pk,
        comment="Priya knows Quantix",
    )
    lead.refresh_from_db()
    assert (lead.stage, lead.owner) == (Stage.MQL, world.sdr2)
    assert lead.handoffs.get(decision=Decision.PENDING).offered_to == world.sdr2


def test_uphold_sends_the_lead_to_nurture_and_records_the_verdict(world, queue):
    lead = queue["ignored"]
    response = decide(client_as(world.arbiter), lead, decision="uphold", comment="Not ready")
    assert (
        "Upheld: Ivan Lee goes to marketing's nurture; the cause counts against Organic Web."
        in (text(response.text))
    )
    lead.refresh_from_db()
    assert lead.stage == Stage.NURTURE
    assert lead.handoffs.get().review_outcome == "upheld"


def test_the_arbiter_must_write_a_comment(world, queue):
    lead = queue["rejected"]
    response = decide(client_as(world.arbiter), lead, decision="overrule", comment=" ")
    assert response.status_code == 422
    card = element(response.text, f"review-{lead.pk}")
    field, message = re.search(r'data-field-error="(\w+)">([^<]+)<', card).groups()
    assert (field, text(message)) == ("comment", "'overrule' needs a comment")
    assert 'value="overrule" class="form-check-input" required id="id_review' in card
    assert "checked" in re.search(r'<input[^>]*value="overrule"[^>]*>', card)[0]
    lead.refresh_from_db()
    assert lead.stage == Stage.IN_REVIEW


def test_the_arbiter_must_choose_uphold_or_overrule(world, queue):
    lead = queue["rejected"]
    response = decide(client_as(world.arbiter), lead, comment="Hmm")
    assert response.status_code == 422
    assert "Choose uphold or overrule." in text(element(response.text, f"review-{lead.pk}"))


def test_a_review_decided_meanwhile_is_not_decided_twice(world, queue):
    lead = queue["rejected"]
    seen = lead.version
    actions.transition(lead, "uphold", actor=world.arbiter, comment="first")
    response = decide(
        client_as(world.arbiter), lead, version=seen, decision="overrule", comment="second"
    )
    assert response.status_code == 409
    assert "Jordan Lee is no longer in review: it is at Nurture, in the Marketing queue." in text(
        response.text
    )
    lead.refresh_from_db()
    assert lead.stage == Stage.NURTURE


def test_only_the_arbiter_decides(world, queue):
    lead = queue["rejected"]
    response = client_as(world.admin).get("/arbiter/")
    assert response.status_code == 200  # an admin may look
    assert "Only the arbiter decides reviews." in text(element(response.text, f"review-{lead.pk}"))
    response = decide(client_as(world.sdr), lead, decision="overrule", comment="mine")
    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.stage == Stage.IN_REVIEW


def test_filters_narrow_the_queue_and_stay_in_the_url(world, queue):
    client = client_as(world.arbiter)
    assert review_ids(client.get("/arbiter/?kind=returned").text) == [queue["returned"].pk]
    assert review_ids(client.get("/arbiter/?kind=ignored").text) == [queue["ignored"].pk]
    html = client.get("/arbiter/?reason_class=procedural").text
    assert review_ids(html) == [queue["rejected"].pk]
    assert '<option value="procedural" selected>' in html


def test_without_javascript_a_decision_redirects_to_the_queue_with_a_message(world, queue):
    client = client_as(world.arbiter)
    lead = queue["returned"]
    response = decide(client, lead, htmx=False, decision="uphold", comment="Cold is cold")
    assert response.status_code == 302
    assert response["Location"] == "/arbiter/"
    page = client.get("/arbiter/").text
    assert "Upheld: Rhea Lee goes to marketing's nurture" in text(page)
    assert review_ids(page) == [queue["rejected"].pk, queue["ignored"].pk]


def test_the_queue_needs_the_same_number_of_queries_for_few_or_many_reviews(world, queue):
    def queries() -> int:
        client = client_as(world.arbiter)
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/arbiter/").status_code == 200
        return len(captured)

    few = queries()
    for _ in range(4):
        world.lead_at("in_review")
    assert queries() == few


def test_an_arbiter_inside_a_sales_team_may_look_but_not_decide(world, queue):
    conflicted = world.user("conflicted", Role.ARBITER, world.inside_team)
    lead = queue["rejected"]
    card = element(client_as(conflicted).get("/arbiter/").text, f"review-{lead.pk}")
    assert "decide-" not in card
    response = decide(client_as(conflicted), lead, decision="overrule", comment="my team")
    assert response.status_code == 403
    lead.refresh_from_db()
    assert lead.stage == Stage.IN_REVIEW
