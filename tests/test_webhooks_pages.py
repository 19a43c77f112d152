"""The webhook pages: admins list and add webhooks, read a webhook's secret and delivery log,
pause it, and replay a delivery in place; nobody else sees them, nor the link to them."""

import pytest

from leadflow.notify import fanout
from leadflow.webhooks import actions, delivery
from leadflow.webhooks.models import Webhook, WebhookDelivery
from leadflow.webhooks.testing import Receiver

from .conftest import PASSWORD


def signed_in(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def admin(client, world):
    return signed_in(client, world.admin)


def test_an_admin_adds_a_webhook_and_lands_on_its_page_with_the_secret(world, admin):
    response = admin.post("/webhooks/", {
        "name": "CRM", "url": "https://crm.example.com/hooks", "events": ["lead.mql"],
        "active": "on",
    })
    webhook = Webhook.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/webhooks/{webhook.pk}/"
    assert (webhook.events, webhook.active, webhook.created_by) == (["lead.mql"], True, world.admin)

    page = admin.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert webhook.secret in html and "https://crm.example.com/hooks" in html
    assert "Nothing delivered yet" in html
    listing = admin.get("/webhooks/").content.decode()
    assert 'href="/webhooks/' in listing and "CRM" in listing


def test_a_bad_url_is_shown_on_the_form_and_nothing_is_added(admin):
    response = admin.post("/webhooks/", {"name": "CRM", "url": "not a url"})
    assert response.status_code == 422
    assert 'data-field-error="url"' in response.content.decode()
    assert not Webhook.objects.exists()


def test_the_log_shows_each_delivery_and_a_replay_is_queued_in_place(world, admin):
    with Receiver() as receiver:
        webhook = actions.create_webhook(actor=world.admin, name="CRM", url=receiver.url)
        receiver.status = 503
        world.lead()
        fanout.process_outbox()
        delivery.deliver()
    [first] = WebhookDelivery.objects.all()

    html = admin.get(f"/webhooks/{webhook.pk}/").content.decode()
    assert f'id="delivery-{first.pk}"' in html
    assert "lead.created" in html and "Retrying" in html and "HTTP 503" in html

    response = admin.post(f"/webhooks/deliveries/{first.pk}/replay/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    again = WebhookDelivery.objects.exclude(pk=first.pk).get()
    assert (again.replay_of, again.requested_by, again.status) == (first, world.admin, "pending")
    fragment = response.content.decode()
    assert '<section id="deliveries"' in fragment
    assert "<html" not in fragment
    assert f'id="delivery-{again.pk}"' in fragment and f"replay of {first.pk}" in fragment
    assert f"queued again as #{again.pk}" in fragment

    # Without htmx: back to the page, with the same notice.
    response = admin.post(f"/webhooks/deliveries/{first.pk}/replay/", follow=True)
    assert "queued again as" in response.content.decode()
    assert WebhookDelivery.objects.filter(replay_of=first).count() == 2


def test_pausing_and_resuming(world, admin):
    webhook = actions.create_webhook(actor=world.admin, name="CRM", url="https://a.example")
    admin.post(f"/webhooks/{webhook.pk}/active/", {"active": "0"})
    webhook.refresh_from_db()
    assert not webhook.active
    assert "Paused" in admin.get(f"/webhooks/{webhook.pk}/").content.decode()
    admin.post(f"/webhooks/{webhook.pk}/active/", {"active": "1"})
    webhook.refresh_from_db()
    assert webhook.active


def test_only_admins_see_the_pages_and_the_link(client, world):
    webhook = actions.create_webhook(actor=world.admin, name="CRM", url="https://a.example")
    original = WebhookDelivery.objects.create(
        webhook=webhook, event_name="lead.created", payload={}
    )
    for user in (world.marketing, world.sales_manager, world.arbiter, world.sdr):
        signed_in(client, user)
        assert "/webhooks/" not in client.get("/leads/").content.decode()
        for response in (
            client.get("/webhooks/"),
            client.get(f"/webhooks/{webhook.pk}/"),
            client.post("/webhooks/", {"name": "X", "url": "https://x.example"}),
            client.post(f"/webhooks/{webhook.pk}/active/", {"active": "0"}),
            client.post(f"/webhooks/deliveries/{original.pk}/replay/"),
        ):
            assert response.status_code == 403
            assert 'id="not-for-you"' in response.content.decode()
        client.logout()
    assert Webhook.objects.get().active and WebhookDelivery.objects.count() == 1
    signed_in(client, world.admin)
    assert 'href="/webhooks/"' in client.get("/leads/").content.decode()
