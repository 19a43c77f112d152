"""The worker's housekeeping: logs older than LEADFLOW_KEEP_DAYS go, records and anything
still in flight stay."""

from datetime import timedelta

from django.utils import timezone

from leadflow.intake.models import RejectedPost
from leadflow.leads.models import OutboxEvent
from leadflow.notify import housekeeping
from leadflow.notify.models import EmailDelivery, Notification
from leadflow.webhooks.models import Webhook, WebhookDelivery


def test_old_settled_logs_are_pruned_and_the_rest_kept(world, settings):
    settings.LEADFLOW_KEEP_DAYS = 90
    now = timezone.now()
    old, recent = now - timedelta(days=91), now - timedelta(days=89)

    def event(processed_at, email_status=None):
        e = OutboxEvent.objects.create(
            name="lead.mql", payload={}, created_at=processed_at, processed_at=processed_at
        )
        if email_status:
            EmailDelivery.objects.create(
                event=e, user=world.sdr, to_address="rep@example.com", subject="s", body="b",
                message_id=f"<{e.pk}@leadflow>", status=email_status,
            )
        return e

    gone_event = event(old, EmailDelivery.Status.SENT)
    waiting_event = event(old, EmailDelivery.Status.PENDING)  # its e-mail is not sent yet
    young_event = event(recent)
    unprocessed = OutboxEvent.objects.create(name="lead.mql", payload={}, created_at=old)
    notice = Notification.objects.create(
        user=world.sdr, event=gone_event, event_name="lead.mql", title="New MQL"
    )

    hook = Webhook.objects.create(name="crm", url="http://127.0.0.1:9/hook")

    def delivery(status, created_at):
        return WebhookDelivery.objects.create(
            webhook=hook, event=None, event_name="lead.mql", payload={}, status=status,
            created_at=created_at,
        )

    delivered_long_ago = delivery(WebhookDelivery.Status.DELIVERED, old)
    given_up_long_ago = delivery(WebhookDelivery.Status.FAILED, old)
    still_pending = delivery(WebhookDelivery.Status.PENDING, old)
    delivered_lately = delivery(WebhookDelivery.Status.DELIVERED, recent)
    for at in (old, recent):
        RejectedPost.objects.create(client_address="203.0.113.9", reason="honeypot", at=at)

    result = housekeeping.prune(now)

    assert (result.events, result.webhook_deliveries, result.rejected_posts) == (1, 2, 1)
    assert set(OutboxEvent.objects.values_list("pk", flat=True)) == {
        waiting_event.pk, young_event.pk, unprocessed.pk
    }
    assert not EmailDelivery.objects.filter(event_id=gone_event.pk).exists()
    notice.refresh_from_db()
    assert notice.event is None and notice.title == "New MQL"  # the inbox outlives the event
    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {
        still_pending.pk, delivered_lately.pk
    }
    assert not WebhookDelivery.objects.filter(
        pk__in=[delivered_long_ago.pk, given_up_long_ago.pk]
    ).exists()
    assert list(RejectedPost.objects.values_list("at", flat=True)) == [recent]
    assert housekeeping.prune(now) == housekeeping.Pruned()  # nothing left to do


def test_the_worker_prunes_at_most_hourly(world, monkeypatch):
    calls = []
    monkeypatch.setattr(housekeeping, "prune", lambda now, **kw: calls.append(now) or None)
    monkeypatch.setattr(housekeeping, "_last_run", None)
    housekeeping.prune_hourly()
    housekeeping.prune_hourly()
    assert len(calls) == 1
