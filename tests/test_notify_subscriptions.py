"""Subscriptions: a person asks to be told whenever an event's payload matches a filter."""

import pytest

from leadflow.accounts.models import Role
from leadflow.leads import actions
from leadflow.leads.models import Source
from leadflow.notify import delivery, fanout
from leadflow.notify.models import Notification, Subscription
from leadflow.notify.testing import SmtpSink


@pytest.fixture
def smtp(settings):
    with SmtpSink() as sink:
        sink.use_in(settings)
        yield sink


@pytest.fixture
def executive(world):
    return world.user("ceo", Role.ADMIN, None, email="ceo@example.com")


def reject(world, source, reason="below-fit"):
    lead = actions.create_lead(actor=world.marketing, source=source, company=source.name)
    lead = actions.transition(lead, "qualify", actor=world.marketing)
    return actions.transition(lead, "reject", actor=lead.owner, reason=reason, comment="no")


def test_an_executive_is_told_of_every_content_syndication_rejection_and_no_other(
    world, executive, smtp
):
    Subscription.objects.create(
        user=executive, event="handoff.rejected", filters={"lead.source": "Content Syndication"}
    )
    syndicated = reject(world, Source.objects.create(name="Content Syndication"))
    reject(world, world.source)  # Organic Web

    fanout.process_outbox()
    delivery.deliver_emails()

    [note] = Notification.objects.filter(user=executive)
    assert (note.event_name, note.lead) == ("handoff.rejected", syndicated)
    [mail] = smtp.to("ceo@example.com")
    assert mail["Subject"] == note.title
    assert "Source: Content Syndication" in mail.get_content()


def test_filters_match_any_of_a_list_and_every_key(world, executive):
    Subscription.objects.create(
        user=executive,
        event="handoff.rejected",
        filters={"reason_class": ["definitional", "clerical"], "lead.source": "organic web"},
    )
    reject(world, world.source, reason="wrong-territory")  # procedural
    clerical = reject(world, world.source, reason="incomplete-record")
    fanout.process_outbox()
    assert [n.lead for n in Notification.objects.filter(user=executive)] == [clerical]


def test_a_subscription_in_the_app_only_sends_no_e_mail(world, executive, smtp):
    Subscription.objects.create(user=executive, event="handoff.rejected", by_email=False)
    reject(world, world.source)
    fanout.process_outbox()
    delivery.deliver_emails()
    assert Notification.objects.filter(user=executive).count() == 1
    assert smtp.to("ceo@example.com") == []


def test_an_inactive_subscription_tells_nobody(world, executive):
    Subscription.objects.create(user=executive, event="handoff.rejected", active=False)
    reject(world, world.source)
    fanout.process_outbox()
    assert not Notification.objects.filter(user=executive).exists()


def test_a_subscriber_the_rules_already_tell_is_told_once(world):
    Subscription.objects.create(user=world.arbiter, event="handoff.rejected")
    reject(world, world.source)
    fanout.process_outbox()
    assert Notification.objects.filter(user=world.arbiter).count() == 1
