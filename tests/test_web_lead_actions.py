"""Acting on a lead from its page: exactly the allowed actions, their inputs, their refusals."""

import re
from decimal import Decimal

from django.test import Client

from leadflow.leads import actions
from leadflow.leads.models import Decision, ReasonCode, Stage, StageChange
from leadflow.web.testing import element, text

HTMX = {"HX-Request": "true"}


def client_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def action_ids(html: str) -> list[str]:
    return re.findall(r'<form id="(action-[\w-]+)"', element(html, "actions-card"))


def post_action(client, lead, name, to, *, version=None, htmx=False, **fields):
    data = {"transition": name, "to": to, "seen_version": version or lead.version, **fields}
    headers = HTMX if htmx else {}
    return client.post(f"/leads/{lead.pk}/transition/", data, headers=headers)


def test_an_sdr_sees_accept_and_reject_on_an_mql_offered_to_them(world):
    lead = world.lead_at("mql")
    assert lead.owner == world.sdr  # the first in the team's round-robin
    html = client_as(world.sdr).get(f"/leads/{lead.pk}/").text
    assert action_ids(html) == ["action-accept-sal", "action-reject-in_review"]
    expected = [
        f"action-{t.name}-{t.target}" for t in actions.available_transitions(lead, world.sdr)
    ]
    assert action_ids(html) == expected
    assert ">Accept</button>" in html
    assert ">Reject…</summary>" in html


def test_people_who_cannot_act_see_no_actions(world):
    lead = world.lead_at("mql")
    # Marketing handed it over: it is inside sales' lead now, not theirs to see.
    assert client_as(world.marketing).get(f"/leads/{lead.pk}/").status_code == 404
    # A teammate sees the team's lead, but it was offered to someone else.
    html = client_as(world.sdr2).get(f"/leads/{lead.pk}/").text
    assert action_ids(html) == []
    assert "It is owned by Sdr." in text(element(html, "actions-card"))
    # The arbiter sees every lead but decides only reviews.
    html = client_as(world.arbiter).get(f"/leads/{lead.pk}/").text
    assert action_ids(html) == []
    assert "Nothing for you to do on this lead right now. It is owned by Sdr." in text(
        element(html, "actions-card")
    )


def test_the_reject_form_offers_active_reject_reasons_grouped_by_class(world):
    ReasonCode.objects.filter(kind="reject", code="spam").update(active=False)
    lead = world.lead_at("mql")
    form = element(client_as(world.sdr).get(f"/leads/{lead.pk}/").text, "action-reject-in_review")
    assert f'name="seen_version" value="{lead.version}"' in form
    assert '<label class="form-label" for="id_reject_in_review_reason">Reason' in form
    assert '<label class="form-label" for="id_reject_in_review_comment">Comment' in form
    groups = re.findall(r'<optgroup label="([^"]+)">', form)
    assert groups == [
        "Procedural (wrong person or team)",
        "Clerical (record incomplete or wrong)",
        "Definitional (does not meet the definition)",
    ]
    assert 'value="wrong-territory"' in form
    assert 'value="spam"' not in form  # inactive
    assert 'value="went-cold"' not in form  # a return reason


def test_reject_without_a_comment_shows_the_error_at_the_comment_and_keeps_the_lead(world):
    lead = world.lead_at("mql")
    response = post_action(
        client_as(world.sdr), lead, "reject", "in_review", reason="below-fit", comment="  "
    )
    assert response.status_code == 422
    form = element(response.text, "action-reject-in_review")
    field, message = re.search(r'data-field-error="(\w+)">([^<]+)<', form).groups()
    assert (field, text(message)) == ("comment", "'reject' needs a comment")
    assert 'aria-invalid="true" aria-describedby="id_reject_in_review_comment_helptext ' in form
    assert '<option value="below-fit" selected>' in form  # what was chosen is kept
    assert '<details class="action" open>' in response.text
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
    assert lead.handoffs.get().decision == Decision.PENDING


def test_reject_with_htmx_swaps_the_panel_and_shows_the_review(world):
    lead = world.lead_at("mql")
    response = post_action(
        client_as(world.sdr),
        lead,
        "reject",
        "in_review",
        htmx=True,
        reason="wrong-territory",
        comment="Belongs to the Berlin team",
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="lead-panel" data-stage="in_review"')
    assert "<html" not in response.text
    assert "Reject: done. The lead is now at In review, in the Arbiter queue." in response.text
    # The rep keeps sight of a lead once offered to them, to follow the arbiter's decision.
    assert "no longer in your team's list" not in response.text
    first = text(element(response.text, "timeline").split("</li>")[0])
    assert first.startswith("Reject MQL → In review")
    assert "Belongs to the Berlin team" in first
    lead.refresh_from_db()
    assert lead.stage == Stage.IN_REVIEW


def test_without_javascript_an_action_redirects_with_a_message(world):
    lead = world.lead_at("mql")
    client = client_as(world.sdr)
    response = post_action(client, lead, "accept", "sal")
    assert response.status_code == 302
    assert response["Location"] == f"/leads/{lead.pk}/"
    page = client.get(response["Location"]).text
    assert "Accept: done. The lead is now at SAL, owned by Sdr." in page
    lead.refresh_from_db()
    assert (lead.stage, lead.owner) == (Stage.SAL, world.sdr)

    other = world.lead_at("inquiry")
    response = post_action(client_as(world.marketing), other, "qualify", "mql")
    # The qualified lead left marketing's reach for inside sales: back to the list, not a 404.
    assert response["Location"] == "/leads/"


def test_a_stale_page_gets_a_conflict_and_changes_nothing(world):
    lead = world.lead_at("mql")
    seen = lead.version
    actions.transition(lead, "accept", actor=world.sales_manager)  # meanwhile, the manager does
    response = post_action(
        client_as(world.sdr),
        lead,
        "reject",
        "in_review",
        version=seen,
        reason="below-fit",
        comment="Too small",
    )
    assert response.status_code == 409
    error = text(element(response.text, "panel-error"))
    assert error.startswith(
        f"Someone else changed this lead. Lead {lead.pk} was changed by someone else "
        "(it is now at stage 'sal')"
    )
    lead.refresh_from_db()
    assert (lead.stage, lead.owner) == (Stage.SAL, world.sales_manager)
    assert not StageChange.objects.filter(lead=lead, transition="reject").exists()


def test_an_action_the_user_may_not_take_is_refused_with_the_reason(world):
    lead = world.lead_at("mql")
    response = post_action(client_as(world.arbiter), lead, "accept", "sal")
    assert response.status_code == 403
    assert "'accept' from 'mql' may be done by inside_sales, not by Arbiter" in text(
        element(response.text, "panel-error")
    )
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL


def test_convert_asks_for_the_evidence_and_names_what_is_missing(world):
    lead = world.lead_at("sal")
    client = client_as(world.sdr)
    form = element(client.get(f"/leads/{lead.pk}/").text, "action-convert-sql")
    for label in ["Decision maker", "Specific pain or need", "Compelling event", "Event date"]:
        assert f">{label}" in form

    response = post_action(
        client, lead, "convert", "sql", decision_maker="Dana Cho, VP Ops", need="Routing"
    )
    assert response.status_code == 422
    form = element(response.text, "action-convert-sql")
    assert re.search(r'data-field-error="(\w+)"', form)[1] == "compelling_event"
    assert 'value="Dana Cho, VP Ops"' in form

    response = post_action(
        client,
        lead,
        "convert",
        "sql",
        decision_maker="Dana Cho, VP Ops",
        need="Routing",
        compelling_event="Board deadline",
        event_date="2026-01-15",
        budget="",
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.stage == Stage.SQL
    assert lead.sql_evidence == {
        "decision_maker": "Dana Cho, VP Ops",
        "need": "Routing",
        "compelling_event": "Board deadline",
        "event_date": "2026-01-15",
    }


def test_accepting_an_sql_opens_an_opportunity_with_the_amount(world):
    lead = world.lead_at("sql")
    client = client_as(world.ae)
    form = element(client.get(f"/leads/{lead.pk}/").text, "action-accept-sql")
    assert "Opportunity amount (USD, optional)" in form
    response = post_action(client, lead, "accept", "sql", htmx=True, amount="12500")
    assert response.status_code == 200
    assert lead.opportunities.get().amount == Decimal("12500")
    row = text(element(response.text, "opportunities-card"))
    assert "Acme Discovery Ae 12,500.00 USD" in row


def test_a_manager_reassigns_to_a_member_of_the_team(world):
    lead = world.lead_at("sal")
    client = client_as(world.sales_manager)
    form = element(client.get(f"/leads/{lead.pk}/").text, "action-reassign-sal")
    members = re.findall(r'<option value="(\d+)"', form)
    assert sorted(int(pk) for pk in members) == sorted(
        [world.sdr.pk, world.sdr2.pk, world.sales_manager.pk]
    )
    response = post_action(client, lead, "reassign", "sal", assignee=world.sdr2.pk)
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.owner == world.sdr2


def test_an_unknown_action_is_refused(world):
    lead = world.lead_at("mql")
    response = post_action(client_as(world.sdr), lead, "teleport", "won")
    assert response.status_code == 400
    assert "This action does not exist. Reload the page." in response.text


def test_a_refusal_under_htmx_swaps_the_panel_with_the_error(world):
    lead = world.lead_at("mql")
    response = post_action(
        client_as(world.sdr), lead, "reject", "in_review", htmx=True, reason="", comment="Why"
    )
    assert response.status_code == 422
    assert response.text.lstrip().startswith('<div id="lead-panel" data-stage="mql"')
    form = element(response.text, "action-reject-in_review")
    assert re.search(r'data-field-error="(\w+)"', form)[1] == "reason"
    assert re.search(r">\s*Why</textarea>", form)


def test_closing_a_deal_won_asks_for_a_confirmation_first(world):
    lead = world.lead_at("sql_accepted")
    html = client_as(world.ae).get(f"/leads/{lead.pk}/").text
    assert ">Close won…</summary>" in html
    form = element(html, "action-win-won")
    assert "This closes the lead as won for good." in form
    response = post_action(client_as(world.ae), lead, "win", "won", htmx=True)
    timeline = element(response.text, "timeline")
    assert [
        text(label) for label in re.findall(r'<span class="fw-semibold">(.*?)</span>', timeline)
    ][:2] == [
        "Opportunity won",
        "Close won",
    ]


def test_the_arbiter_overrules_to_the_deciding_rep_or_a_named_one(world):
    lead = world.lead_at("in_review")  # rejected by sdr
    client = client_as(world.arbiter)
    html = client.get(f"/leads/{lead.pk}/").text
    assert action_ids(html) == ["action-uphold-nurture", "action-overrule-mql"]
    form = element(html, "action-overrule-mql")
    assert '<option value="" selected>The rep who decided</option>' in form
    reps = sorted(int(pk) for pk in re.findall(r'<option value="(\d+)"', form))
    assert reps == sorted([world.sdr.pk, world.sdr2.pk])

    response = post_action(
        client, lead, "overrule", "mql", comment="Fits the definition", assignee=world.sdr2.pk
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.stage, lead.owner) == (Stage.MQL, world.sdr2)
