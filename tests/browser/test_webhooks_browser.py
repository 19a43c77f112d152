"""An admin sets up a webhook in a real browser, reads its delivery log and replays a failed
delivery in place. The screenshot it takes is docs/screenshots/webhook-log.png."""

import re
from pathlib import Path

import pytest

from leadflow.notify import fanout
from leadflow.webhooks import delivery
from leadflow.webhooks.models import Webhook, WebhookDelivery
from leadflow.webhooks.testing import Receiver
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_an_admin_adds_a_webhook_reads_its_log_and_replays_a_delivery(page, live_server, world):
    base = live_server.url
    page.goto(f"{base}/login/?next=/webhooks/")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/webhooks/")
    assert page.get_by_role("link", name="Webhooks").get_attribute("aria-current") == "page"

    with Receiver() as receiver:
        page.locator("#webhook_name").fill("CRM sync")
        page.locator("#webhook_url").fill(receiver.url)
        page.get_by_label(re.compile(r"\(lead\.created\)")).check()
        page.get_by_label(re.compile(r"\(opportunity\.won\)")).check()
        page.get_by_role("button", name="Add webhook").click()
        page.wait_for_url(re.compile(r"/webhooks/\d+/$"))
        webhook = Webhook.objects.get()
        assert webhook.events == ["lead.created", "opportunity.won"]
        receiver.secret = webhook.secret

        # Three leads: the first two delivered, the third refused by a receiver in trouble.
        for n in range(2):
            world.lead(email=f"lead{n}@example.com", first_name=f"Lead{n}")
        fanout.process_outbox()
        delivery.deliver()
        receiver.status = 500
        world.lead(email="late@example.com")
        fanout.process_outbox()
        delivery.deliver()
        [failing] = WebhookDelivery.objects.filter(status="pending")

        page.reload()
        row = page.locator(f"#delivery-{failing.pk}")
        assert "Retrying" in row.inner_text() and "HTTP 500" in row.inner_text()
        page.get_by_text("Show the secret").click()
        assert page.locator("#webhook-secret").inner_text() == webhook.secret

        row.get_by_role("button", name=f"Replay delivery {failing.pk}").click()
        notice = page.locator("#webhook-notice")
        notice.wait_for()
        replay = WebhookDelivery.objects.get(replay_of=failing)
        assert f"queued again as #{replay.pk}" in notice.inner_text()
        assert page.locator(f"#delivery-{replay.pk}").is_visible()
        assert page.url.endswith(f"/webhooks/{webhook.pk}/")  # swapped in place, no reload
        receiver.status = 200
        page.screenshot(path=str(SCREENSHOTS / "webhook-log.png"), full_page=True)

    assert len(receiver.received()) == 3 and all(r.valid for r in receiver.received())
