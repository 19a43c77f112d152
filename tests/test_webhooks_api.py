"""The webhook API, for admins: create (the answer carries the secret), list, change, delete,
the delivery log and replay. Anyone else is refused with a problem, the same code as the
pages' 403."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadflow.api.testing import client_for, post_json
from leadflow.notify import fanout
from leadflow.webhooks import actions, delivery
from leadflow.webhooks.models import Webhook, WebhookDelivery
from leadflow.webhooks.testing import Receiver


@pytest.fixture
def admin(world):
    return client_for(world.admin)


def test_an_admin_creates_a_webhook_and_gets_its_secret_once_in_the_list_never(world, admin):
    response = post_json(admin, "/api/webhooks", {
        "name": "CRM", "url": "https://crm.example.com/hooks",
        "events": ["lead.mql", "lead.created"],
    })
    assert response.status_code == 201, response.json()
    body = response.json()
    webhook = Webhook.objects.get()
    assert body["secret"] == webhook.secret and body["secret"].startswith("whsec_")
    assert body["events"] == ["lead.created", "lead.mql"] and body["active"] is True
    assert body["created_by"] == "admin" and webhook.created_by == world.admin

    [listed] = admin.get("/api/webhooks").json()
    assert listed["id"] == webhook.pk and "secret" not in listed
    assert admin.get(f"/api/webhooks/{webhook.pk}").json()["secret"] == webhook.secret


def test_bad_input_is_refused_naming_the_field(admin):
    response = post_json(admin, "/api/webhooks", {
        "name": "CRM", "url": "ftp://crm.example.com", "events": ["lead.mqll"],
    })
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "invalid-input"
    assert {e["field"] for e in problem["errors"]} == {"url", "events"}
    assert "lead.mqll" in problem["detail"]
    assert not Webhook.objects.exists()


def test_an_admin_changes_pauses_renews_the_secret_and_deletes(world, admin):
    created = post_json(admin, "/api/webhooks", {"name": "A", "url": "https://a.example"})
    webhook_id = created.json()["id"]
    before = Webhook.objects.get().secret

    changed = admin.patch(
        f"/api/webhooks/{webhook_id}", {"active": False, "events": ["opportunity.won"]},
        content_type="application/json",
    )
    assert changed.status_code == 200, changed.json()
    assert (changed.json()["active"], changed.json()["events"]) == (False, ["opportunity.won"])
    assert admin.patch(
        f"/api/webhooks/{webhook_id}", {"url": None}, content_type="application/json"
    ).json()["field"] == "url"

    renewed = admin.post(f"/api/webhooks/{webhook_id}/secret")
    assert renewed.json()["secret"] == Webhook.objects.get().secret != before

    assert admin.delete(f"/api/webhooks/{webhook_id}").status_code == 204
    assert admin.get(f"/api/webhooks/{webhook_id}").json()["code"] == "not-found"


def test_the_delivery_log_and_replay(world, admin):
    with Receiver() as receiver:
        created = post_json(admin, "/api/webhooks", {"name": "CRM", "url": receiver.url}).json()
        receiver.secret = created["secret"]
        world.lead()
        fanout.process_outbox()
        delivery.deliver()

        [logged] = admin.get(f"/api/webhooks/{created['id']}/deliveries").json()
        assert (logged["event"], logged["status"], logged["attempts"]) == (
            "lead.created", "delivered", 1,
        )
        assert logged["last_status_code"] == 200 and logged["payload"]["event"] == "lead.created"

        replayed = admin.post(f"/api/webhook-deliveries/{logged['id']}/replay")
        assert replayed.status_code == 201
        again = replayed.json()
        assert (again["replay_of"], again["status"]) == (logged["id"], "pending")
        delivery.deliver()

    assert [r.delivery_id for r in receiver.received()] == [
        str(logged["id"]), str(replayed.json()["id"]),
    ]
    log = admin.get(f"/api/webhooks/{created['id']}/deliveries?status=delivered&limit=1").json()
    assert [d["id"] for d in log] == [replayed.json()["id"]]
    older = admin.get(
        f"/api/webhooks/{created['id']}/deliveries?before={replayed.json()['id']}"
    ).json()
    assert [d["id"] for d in older] == [logged["id"]]


def test_nobody_but_an_admin_may_see_or_touch_webhooks(world):
    webhook = actions.create_webhook(actor=world.admin, name="CRM", url="https://a.example")
    original = WebhookDelivery.objects.create(
        webhook=webhook, event_name="lead.created", payload={}
    )
    for user in (world.marketing, world.sales_manager, world.arbiter, world.sdr):
        client = client_for(user)
        for response in (
            client.get("/api/webhooks"),
            post_json(client, "/api/webhooks", {"name": "X", "url": "https://x.example"}),
            client.get(f"/api/webhooks/{webhook.pk}"),
            client.delete(f"/api/webhooks/{webhook.pk}"),
            client.get(f"/api/webhooks/{webhook.pk}/deliveries"),
            client.post(f"/api/webhook-deliveries/{original.pk}/replay"),
        ):
            assert response.status_code == 403, (user, response.json())
            assert response.json()["code"] == "forbidden"
    assert Webhook.objects.count() == 1 and WebhookDelivery.objects.count() == 1
    assert client_for(world.admin).get("/api/webhooks/999").status_code == 404


def test_the_list_takes_as_many_queries_for_five_webhooks_as_for_one(world, admin):
    def queries_to_list():
        with CaptureQueriesContext(connection) as captured:
            assert admin.get("/api/webhooks").status_code == 200
        return len(captured)

    actions.create_webhook(actor=world.admin, name="W0", url="https://w0.example")
    queries_to_list()  # the token's first use writes its last_used_at
    one = queries_to_list()
    for n in range(1, 5):
        webhook = actions.create_webhook(actor=world.admin, name=f"W{n}", url="https://w.example")
        WebhookDelivery.objects.create(webhook=webhook, event_name="lead.created", payload={})
    assert queries_to_list() == one
    listed = admin.get("/api/webhooks").json()
    assert [(w["name"], w["pending"]) for w in listed] == [
        ("W0", 0), ("W1", 1), ("W2", 1), ("W3", 1), ("W4", 1),
    ]
