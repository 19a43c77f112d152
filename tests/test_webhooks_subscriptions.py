"""Which webhooks an event is queued for: every active webhook that lists it, or lists no
event at all; the body is the event, as written to the outbox."""

import pytest
from django.core.exceptions import ValidationError

from leadflow.leads.models import OutboxEvent
from leadflow.notify import fanout
from leadflow.webhooks import actions
from leadflow.webhooks.models import WebhookDelivery


def hook(world, name, events=(), active=True):
    return actions.create_webhook(
        actor=world.admin, name=name, url=f"https://{name}.example.com/hook",
        events=list(events), active=active,
    )


def test_each_event_is_queued_for_the_webhooks_that_want_it(world):
    everything = hook(world, "all")
    mql_only = hook(world, "mql", ["lead.mql"])
    rejections = hook(world, "rejections", ["handoff.rejected", "lead.returned"])
    hook(world, "paused", active=False)

    world.lead_at("in_review")  # lead.created, lead.mql, handoff.offered, handoff.rejected
    fanout.process_outbox()

    def names(webhook):
        return sorted(webhook.deliveries.values_list("event_name", flat=True))

    assert names(everything) == sorted(OutboxEvent.objects.values_list("name", flat=True))
    assert names(mql_only) == ["lead.mql"]
    assert names(rejections) == ["handoff.rejected"]
    assert WebhookDelivery.objects.filter(webhook__name="paused").count() == 0


def test_the_body_is_the_outbox_event(world):
    hook(world, "all")
    lead = world.lead()
    fanout.process_outbox()
    [delivery] = WebhookDelivery.objects.all()
    event = OutboxEvent.objects.get()
    assert delivery.payload == {
        "id": event.pk,
        "event": "lead.created",
        "occurred_at": event.created_at.isoformat(),
        "data": event.payload,
    }
    assert delivery.payload["data"]["lead"]["id"] == lead.pk
    assert (delivery.event_id, delivery.status, delivery.attempts) == (event.pk, "pending", 0)


def test_an_unknown_event_name_or_url_scheme_is_refused_naming_the_field(world):
    with pytest.raises(ValidationError) as refused:
        hook(world, "typo", ["lead.mqll"])
    assert "unknown event lead.mqll" in refused.value.message_dict["events"][0]
    with pytest.raises(ValidationError) as refused:
        actions.create_webhook(actor=world.admin, name="ftp", url="ftp://example.com/x")
    assert "url" in refused.value.message_dict


def test_every_webhook_gets_its_own_secret(world):
    a, b = hook(world, "a"), hook(world, "b")
    assert a.secret.startswith("whsec_") and len(a.secret) > 40
    assert a.secret != b.secret
    before = a.secret
    actions.new_webhook_secret(a, actor=world.admin)
    a.refresh_from_db()
    assert a.secret != before
