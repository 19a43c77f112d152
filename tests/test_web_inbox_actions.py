"""Deciding from the inbox: Accept in one click, Reject with an inline reason picker, the row
swapped in place; refusals shown in the row, and the lead left as it was."""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client

from leadflow.leads import actions
from leadflow.leads.models import Decision, Lead, Stage
from leadflow.web.testing import element, text

HTMX = {"HX-Request": "true"}
TUESDAY_10 = datetime(2025, 3, 4, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(TUESDAY_10, tick=False) as traveller:
        yield traveller


def client_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def decide(client, lead, name, to, *, version=None, htmx=True, **fields):
    data = {"transition": name, "to": to, "seen_version": version or lead.version, **fields}
    return client.post(f"/inbox/{lead.pk}/decide/", data, headers=HTMX if htmx else {})


def test_each_row_has_a_one_click_accept_and_a_reject_that_opens_in_place(world):
    lead = world.lead_at("mql")
    row = element(client_as(world.sdr).get("/inbox/").text, f"offer-{lead.pk}")
    accept = re.search(r'<form method="post" action="/inbox/\d+/decide/"[^>]*>', row)[0]
    assert f'hx-post="/inbox/{lead.pk}/decide/"' in accept
    assert f'hx-target="#offer-{lead.pk}"' in accept
    assert '<input type="hidden" name="transition" value="accept">' in row
    assert f'<input type="hidden" name="seen_version" value="{lead.version}">' in row
    assert f'hx-get="/inbox/{lead.pk}/?reject=1"' in row
    assert 'name="reason"' not in row  # the picker opens on demand


def test_accept_swaps_the_row_for_a_sentence_and_lists_the_lead_for_first_touch(world):
    lead = world.lead_at("mql", company="Northwind")
    response = decide(client_as(world.sdr), lead, "accept", "sal")
    assert response.status_code == 200
    assert response.text.lstrip().startswith(
        f'<tbody id="offer-{lead.pk}" class="offer is-decided" data-lead="{lead.pk}" '
        'data-decision="accepted">'
    )
    assert "<html" not in response.text
    assert "Accepted: Pat Lee is yours, at SAL. First touch by 4 Mar 2025, 11:00 UTC" in text(
        response.text
    )
    # The section below is refreshed out of band with the lead in it.
    touch = element(response.text, "first-touch")
    assert 'hx-swap-oob="true"' in touch
    assert f'id="touch-{lead.pk}"' in touch
    lead.refresh_from_db()
    assert (lead.stage, lead.owner) == (Stage.SAL, world.sdr)
    assert lead.handoffs.get().decision == Decision.ACCEPTED


def test_reject_opens_a_reason_picker_with_a_comment_in_the_row(world):
    lead = world.lead_at("mql")
    response = client_as(world.sdr).get(f"/inbox/{lead.pk}/?reject=1", headers=HTMX)
    assert response.status_code == 200
    form = element(response.text, f"reject-{lead.pk}")
    assert f'<label class="form-label" for="id_offer{lead.pk}_reason">Reason' in form
    assert f'<label class="form-label" for="id_offer{lead.pk}_comment">Comment' in form
    assert re.findall(r'<optgroup label="([^"]+)">', form) == [
        "Procedural (wrong person or team)",
        "Clerical (record incomplete or wrong)",
        "Definitional (does not meet the definition)",
    ]
    assert 'name="transition" value="reject"' in form
    # Cancel closes it again.
    closed = client_as(world.sdr).get(f"/inbox/{lead.pk}/", headers=HTMX).text
    assert f"reject-{lead.pk}" not in closed


def test_without_javascript_the_reject_link_opens_the_form_on_the_inbox_page(world):
    lead = world.lead_at("mql")
    html = client_as(world.sdr).get(f"/inbox/?reject={lead.pk}").text
    assert f'<form id="reject-{lead.pk}"' in html
    # Cancel goes back to the inbox (with htmx: closes the row's form).
    assert f'href="/inbox/" hx-get="/inbox/{lead.pk}/"' in html


def test_a_row_opened_as_a_page_goes_to_the_inbox(world):
    lead = world.lead_at("mql")
    response = client_as(world.sdr).get(f"/inbox/{lead.pk}/?reject=1")
    assert response["Location"] == f"/inbox/?reject={lead.pk}#offer-{lead.pk}"


def test_reject_with_a_reason_sends_the_lead_to_the_arbiter(world):
    lead = world.lead_at("mql")
    response = decide(
        client_as(world.sdr),
        lead,
        "reject",
        "in_review",
        reason="wrong-territory",
        comment="Hamburg HQ: EMEA's lead",
    )
    assert response.status_code == 200
    assert 'data-decision="rejected"' in response.text
    assert (
        "Rejected: Pat Lee went to the arbiter with your reason "
        "(Routed to the wrong territory or team)."
    ) in text(response.text)
    assert "first-touch" not in response.text
    lead.refresh_from_db()
    assert lead.stage == Stage.IN_REVIEW
    offer = lead.handoffs.get()
    assert (offer.decision, offer.reason.code, offer.comment) == (
        Decision.REJECTED,
        "wrong-territory",
        "Hamburg HQ: EMEA's lead",
    )


def test_reject_without_a_comment_keeps_the_form_open_with_the_error_at_the_field(world):
    lead = world.lead_at("mql")
    response = decide(
        client_as(world.sdr), lead, "reject", "in_review", reason="below-fit", comment=" "
    )
    assert response.status_code == 422
    form = element(response.text, f"reject-{lead.pk}")
    field, message = re.search(r'data-field-error="(\w+)">([^<]+)<', form).groups()
    assert (field, text(message)) == ("comment", "'reject' needs a comment")
    assert '<option value="below-fit" selected>' in form
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
    assert lead.handoffs.get().decision == Decision.PENDING


def test_a_stale_row_is_refused_and_shows_the_offer_as_it_is_now(world):
    lead = world.lead_at("mql")
    seen = lead.version
    actions.transition(lead, "reassign", actor=world.sales_manager, assignee=world.sdr)
    response = decide(client_as(world.sdr), lead, "accept", "sal", version=seen)
    assert response.status_code == 409
    error = text(element(response.text, f"offer-error-{lead.pk}"))
    assert error.startswith("Someone else changed this lead.")
    lead.refresh_from_db()
    assert f'name="seen_version" value="{lead.version}"' in response.text
    assert lead.stage == Stage.MQL


def test_an_offer_decided_elsewhere_meanwhile_says_where_the_lead_went(world):
    lead = world.lead_at("mql")
    seen = lead.version
    actions.transition(lead, "accept", actor=world.sales_manager)
    response = decide(client_as(world.sdr), lead, "accept", "sal", version=seen)
    assert response.status_code == 409
    assert 'data-decision="gone"' in response.text
    assert (
        "Pat Lee is no longer waiting for your decision: it is at SAL, owned by Sales Manager."
        in (text(response.text))
    )


def test_a_teammate_cannot_decide_an_offer_made_to_someone_else(world):
    lead = world.lead_at("mql")
    assert lead.owner == world.sdr
    response = decide(client_as(world.sdr2), lead, "accept", "sal")
    assert response.status_code == 403
    assert "Sdr2 does not work this lead: it belongs to Sdr." in text(response.text)
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL


def test_only_accept_and_reject_are_taken_from_the_inbox(world):
    lead = world.lead_at("mql")
    response = decide(client_as(world.sales_manager), lead, "reassign", "mql")
    assert response.status_code == 400
    lead.refresh_from_db()
    assert lead.owner == world.sdr


def test_without_javascript_a_decision_goes_back_to_the_filtered_inbox(world):
    lead = world.lead_at("mql")
    client = client_as(world.sdr)
    response = decide(client, lead, "accept", "sal", htmx=False, next="/inbox/?priority=normal")
    assert response.status_code == 302
    assert response["Location"] == "/inbox/?priority=normal"
    assert "Accepted: Pat Lee is yours, at SAL." in client.get(response["Location"]).text

    other = world.lead_at("mql")
    response = decide(
        client_as(other.owner), other, "accept", "sal", htmx=False, next="https://evil.example/"
    )
    assert response["Location"] == "/inbox/"


def test_without_javascript_a_refused_reject_shows_the_inbox_with_the_form_and_error(world):
    lead = world.lead_at("mql")
    response = decide(
        client_as(world.sdr), lead, "reject", "in_review", htmx=False, reason="", comment="x"
    )
    assert response.status_code == 422
    assert "<html" in response.text
    form = element(response.text, f"reject-{lead.pk}")
    assert 'data-field-error="reason"' in form


def test_a_decision_updates_the_inbox_summary_out_of_band(world):
    world.sdr2.out_of_office = True
    world.sdr2.save()
    first = world.lead_at("mql", first_name="Ann")
    world.lead_at("mql", first_name="Bo")
    assert text(element(client_as(world.sdr).get("/inbox/").text, "inbox-summary")) == "2 offers"

    response = decide(client_as(world.sdr), first, "accept", "sal", next="/inbox/")
    assert response.status_code == 200
    summary = element(response.text, "inbox-summary")
    assert 'hx-swap-oob="true"' in summary
    assert text(summary) == "1 offer"
    # After a row's tbody, the replacement travels in a template, as the table parser needs.
    assert re.search(
        r'<template>\s*(<!--.*?-->\s*)?<p class="small mb-0" id="inbox-summary"',
        response.text,
        re.S,
    )


def test_the_summary_after_a_decision_counts_the_filtered_page_it_came_from(world):
    world.sdr2.out_of_office = True
    world.sdr2.save()
    hot = world.lead(first_name="Hot")
    Lead.objects.filter(pk=hot.pk).update(priority="hot")
    hot = actions.transition(hot.pk, "qualify", actor=world.marketing)
    world.lead_at("mql", first_name="Normal")
    response = decide(client_as(world.sdr), hot, "accept", "sal", next="/inbox/?priority=hot")
    # The hot offer was the only one on that page: nothing is left to count there.
    assert text(element(response.text, "inbox-summary")) == ""
    response = decide(client_as(world.sdr), hot, "accept", "sal", next="/inbox/")
    # Decided already: the row says where the lead went, and the summary counts what is left.
    assert 'data-decision="gone"' in response.text
    assert text(element(response.text, "inbox-summary")) == "1 offer"
