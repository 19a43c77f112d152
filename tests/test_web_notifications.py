"""The notification centre: a person's notifications newest first, unread highlighted and
counted on the bell in the top bar, marked read one by one or all at once; and their
subscriptions, added and removed on the same page."""

import re
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from leadflow.accounts.models import Role
from leadflow.leads import actions
from leadflow.leads.models import Source
from leadflow.notify import fanout
from leadflow.notify.models import Notification, Subscription, event_choices
from leadflow.web.testing import element, text

HTMX = {"HX-Request": "true"}


def client_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def note(user, title, *, minutes_ago=0, read=False, **fields) -> Notification:
    now = timezone.now()
    return Notification.objects.create(
        user=user,
        event_name=fields.pop("event_name", "handoff.offered"),
        title=title,
        created_at=now - timedelta(minutes=minutes_ago),
        read_at=now if read else None,
        **fields,
    )


def bell(html: str) -> str:
    """The unread badge on the bell in the top bar."""
    return re.search(r'<span id="unread-count"[^>]*>.*?</span></span>', html, re.S)[0]


def note_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<li id="notification-(\d+)"', html)]


def test_every_page_shows_the_bell_with_the_unread_count(world):
    note(world.sdr, "New MQL for you to decide: Pat Lee")
    note(world.sdr, "Reminder: decide on Pat Lee")
    note(world.sdr, "Old news", read=True)
    note(world.sdr2, "Not Sam's")
    for url in ("/leads/", "/inbox/", "/notifications/"):
        html = client_as(world.sdr).get(url).text
        # Beside the signed-in person's name, after the main navigation.
        top = re.search(
            r'</nav>\s*<div class="ms-auto[^"]*">\s*(<a id="bell".*?</a>)\s*'
            r'<div class="navbar-text[^"]*" id="signed-in">',
            html,
            re.S,
        )
        assert top, "the bell is not beside the user's name"
        assert 'href="/notifications/"' in top[1]
        assert text(bell(top[1])) == "2 unread"
    # Nothing unread: the badge is there (for htmx to update) but hidden.
    assert " hidden>" in bell(client_as(world.ae).get("/leads/").text)


def test_the_centre_lists_my_notifications_newest_first_unread_highlighted(world):
    old = note(world.sdr, "Read long ago", minutes_ago=90, read=True)
    new = note(world.sdr, "New MQL for you to decide: Pat Lee", minutes_ago=5, url="/leads/7/")
    middle = note(world.sdr, "Reminder: decide on Kim", minutes_ago=30, body="50% gone")
    note(world.sdr2, "Not mine")
    html = client_as(world.sdr).get("/notifications/").text
    assert note_ids(html) == [new.pk, middle.pk, old.pk]
    unread = element(html, f"notification-{new.pk}")
    assert 'data-read="false"' in unread and "is-unread" in unread
    assert '<a href="/leads/7/">New MQL for you to decide: Pat Lee</a>' in unread
    assert text(unread).startswith("New New MQL for you to decide: Pat Lee")
    assert "50% gone" in text(element(html, f"notification-{middle.pk}"))
    read = element(html, f"notification-{old.pk}")
    assert 'data-read="true"' in read and "Mark read" not in read

    html = client_as(world.sdr).get("/notifications/?show=unread").text
    assert note_ids(html) == [new.pk, middle.pk]


def test_mark_one_read_swaps_it_and_updates_the_bell(world):
    first = note(world.sdr, "One")
    note(world.sdr, "Two")
    response = client_as(world.sdr).post(f"/notifications/{first.pk}/read/", headers=HTMX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith(f'<li id="notification-{first.pk}"')
    assert 'data-read="true"' in response.text
    badge = bell(response.text)
    assert 'hx-swap-oob="true"' in badge and text(badge) == "1 unread"
    first.refresh_from_db()
    assert first.read_at is not None


def test_mark_all_read(world):
    note(world.sdr, "One")
    note(world.sdr, "Two")
    other = note(world.sdr2, "Not mine")
    response = client_as(world.sdr).post("/notifications/read-all/", headers=HTMX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="notification-list"')
    assert "Mark read<" not in response.text
    assert " hidden>" in bell(response.text)
    assert not Notification.objects.filter(user=world.sdr, read_at__isnull=True).exists()
    other.refresh_from_db()
    assert other.read_at is None

    response = client_as(world.sdr).post("/notifications/read-all/")
    assert response["Location"] == "/notifications/"


def test_nobody_marks_someone_elses_notification(world):
    theirs = note(world.sdr2, "Not Sam's")
    response = client_as(world.sdr).post(f"/notifications/{theirs.pk}/read/")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_the_subscription_form_offers_every_event_and_the_filters(world):
    html = client_as(world.sdr).get("/notifications/").text
    form = element(html, "subscription-form")
    events = re.findall(r'<option value="([\w.]+)"', element(form, "sub_event"))
    assert events == [name for name, _ in event_choices()]
    for name in ("handoff.rejected", "handoff.offered", "handoff.reminder"):
        assert name in events
    assert "handoff.first_touch_missed" in events
    assert "A lead is offered to a rep or a team queue (handoff.offered)" in form
    for label in ("Source", "Reason class", "Team", "Priority", "In leadflow", "By e-mail"):
        assert f">{label}" in form
    assert text(element(html, "no-subscriptions")) == "No subscriptions yet."


def test_a_subscription_added_here_is_listed_and_notifies(world):
    executive = world.user("ceo", Role.ADMIN, None)
    syndication = Source.objects.create(name="Content Syndication")
    response = client_as(executive).post(
        "/notifications/subscriptions/",
        {
            "event": "handoff.rejected",
            "source": syndication.pk,
            "reason_class": "definitional",
            "in_app": "on",
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    subscription = Subscription.objects.get(user=executive)
    assert (subscription.event, subscription.in_app, subscription.by_email) == (
        "handoff.rejected",
        True,
        False,
    )
    assert subscription.filters == {
        "lead.source": "Content Syndication",
        "reason_class": "definitional",
    }
    listed = text(element(response.text, f"subscription-{subscription.pk}"))
    assert listed.startswith(
        "Sales rejects an offer Source: Content Syndication · "
        "Reason class: Definitional (does not meet the definition) In leadflow"
    )

    lead = actions.create_lead(actor=world.marketing, source=syndication, first_name="Jo")
    lead = actions.transition(lead, "qualify", actor=world.marketing)
    actions.transition(lead, "reject", actor=lead.owner, reason="below-fit", comment="tiny")
    fanout.process_outbox()
    html = client_as(executive).get("/notifications/").text
    [pk] = note_ids(html)
    assert "rejected Jo" in text(element(html, f"notification-{pk}"))
    assert text(bell(html)) == "1 unread"


def test_a_subscription_needs_an_event_and_a_channel(world):
    response = client_as(world.sdr).post(
        "/notifications/subscriptions/", {"event": "handoff.rejected"}, headers=HTMX
    )
    assert response.status_code == 422
    assert "Choose at least one way to be told: in leadflow or by e-mail." in text(response.text)
    response = client_as(world.sdr).post(
        "/notifications/subscriptions/", {"event": "", "in_app": "on"}, headers=HTMX
    )
    assert response.status_code == 422
    assert 'data-field-error="event"' in response.text
    assert not Subscription.objects.exists()


def test_a_subscription_is_removed_by_its_owner_only(world):
    mine = Subscription.objects.create(user=world.sdr, event="arbiter.decided")
    theirs = Subscription.objects.create(user=world.sdr2, event="arbiter.decided")
    html = client_as(world.sdr).get("/notifications/").text
    assert "The arbiter decides a review Every such event In leadflow and by e-mail" in text(
        element(html, f"subscription-{mine.pk}")
    )
    assert f"subscription-{theirs.pk}" not in html

    response = client_as(world.sdr).post(
        f"/notifications/subscriptions/{theirs.pk}/delete/", headers=HTMX
    )
    assert response.status_code == 404
    response = client_as(world.sdr).post(
        f"/notifications/subscriptions/{mine.pk}/delete/", headers=HTMX
    )
    assert response.status_code == 200
    assert "Subscription removed" in text(response.text)
    assert list(Subscription.objects.all()) == [theirs]


def test_the_bell_stops_counting_at_99(world):
    Notification.objects.bulk_create(
        Notification(user=world.sdr, event_name="handoff.offered", title=f"Offer {i}")
        for i in range(120)
    )
    assert text(bell(client_as(world.sdr).get("/leads/").text)) == "99+ unread"
