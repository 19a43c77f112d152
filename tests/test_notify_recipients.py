"""Who is told about each event by the built-in rules, and that each event is told once."""

import pytest

from leadflow.accounts.models import User
from leadflow.leads import actions
from leadflow.leads.models import OutboxEvent
from leadflow.notify import fanout
from leadflow.notify.models import EmailDelivery, Notification


@pytest.fixture
def people(world):
    for user in User.objects.all():
        user.email = f"{user.username}@example.com"
        user.save(update_fields=["email"])
    return world


def told(event_name):
    return sorted(
        Notification.objects.filter(event_name=event_name).values_list("user__username", flat=True)
    )


def test_an_offer_is_told_to_the_rep_it_is_offered_to(people):
    lead = people.lead_at("mql")
    fanout.process_outbox()
    assert told("handoff.offered") == [lead.owner.username]


def test_an_offer_to_the_team_queue_is_told_to_the_teams_managers(people):
    User.objects.filter(role="inside_sales").update(out_of_office=True)
    lead = people.lead_at("mql")
    assert lead.owner is None
    fanout.process_outbox()
    assert told("handoff.offered") == ["sales-manager"]
    note = Notification.objects.get(event_name="handoff.offered")
    assert note.title == "New MQL in the Inside sales queue: Pat Lee (Acme)"


def test_a_rejection_is_told_to_the_arbiters_and_not_to_the_rep_who_rejected(people):
    lead = people.lead_at("mql")
    actions.transition(lead, "reject", actor=lead.owner, reason="below-fit", comment="5 staff")
    fanout.process_outbox()
    assert told("handoff.rejected") == ["arbiter"]
    note = Notification.objects.get(event_name="handoff.rejected")
    assert note.title == f"{lead.owner.username} rejected Pat Lee (Acme): " + (
        "Does not meet the definition: fit"
    )


def test_an_arbiter_decision_is_told_to_the_reviewed_rep_and_the_new_owner(people):
    lead = people.lead_at("mql")
    rep = lead.owner
    new_owner = people.sdr2 if rep == people.sdr else people.sdr
    lead = actions.transition(lead, "reject", actor=rep, reason="below-fit", comment="small")
    actions.transition(
        lead, "overrule", actor=people.arbiter, comment="fits", assignee=new_owner
    )
    fanout.process_outbox()
    assert told("arbiter.decided") == sorted([rep.username, new_owner.username])
    note = Notification.objects.get(event_name="arbiter.decided", user=new_owner)
    assert note.title == "The arbiter overruled the review of Pat Lee (Acme)"
    assert "The arbiter's comment: fits" in note.body


def test_people_without_an_address_are_told_in_the_app_only(world):
    lead = world.lead_at("mql")
    fanout.process_outbox()
    assert told("handoff.offered") == [lead.owner.username]
    assert EmailDelivery.objects.count() == 0


def test_each_event_is_processed_once(people):
    people.lead_at("mql")
    first = fanout.process_outbox()
    again = fanout.process_outbox()
    assert len(first.events) == OutboxEvent.objects.count() and again.events == []
    assert not OutboxEvent.objects.filter(processed_at__isnull=True).exists()
    assert Notification.objects.count() == first.notifications == 1
    assert EmailDelivery.objects.count() == first.emails == 1


def test_an_event_that_cannot_be_fanned_out_waits_and_does_not_block_the_others(
    people, monkeypatch
):
    people.lead_at("mql")
    broken = OutboxEvent.objects.get(name="handoff.offered")
    original = fanout.recipients

    def failing(event):
        if event.pk == broken.pk:
            raise RuntimeError("boom")
        return original(event)

    monkeypatch.setattr(fanout, "recipients", failing)
    result = fanout.process_outbox()
    assert result.skipped == [broken.pk]
    assert list(OutboxEvent.objects.filter(processed_at__isnull=True)) == [broken]
    monkeypatch.setattr(fanout, "recipients", original)
    assert fanout.process_outbox().events == [broken.pk]


def test_a_reassigned_offer_is_told_to_its_new_rep_not_to_the_manager_who_moved_it(people):
    lead = people.lead_at("mql")
    other = people.sdr2 if lead.owner == people.sdr else people.sdr
    actions.transition(lead, "reassign", actor=people.sales_manager, assignee=other)
    fanout.process_outbox()
    assert told("handoff.reassigned") == [other.username]
    note = Notification.objects.get(event_name="handoff.reassigned")
    assert note.title == "Reassigned to you: Pat Lee (Acme)"
    assert note.body.startswith("sales-manager gave this MQL to you. Accept or reject it by ")
