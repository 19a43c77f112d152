"""Each lead shows its score explanation (the lead page and GET /api/leads/{id}/score): which
rules gave how many points, and why it is or is not an MQL."""

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from leadflow.api.testing import client_for
from leadflow.scoring import explain, ingest
from leadflow.scoring.testing import activate
from leadflow.web.testing import element, text


def page_of(user, lead) -> str:
    client = Client()
    client.force_login(user)
    return client.get(f"/leads/{lead.pk}/").text


def engaged_lead(world, **fields):
    lead = world.lead(**fields)
    ingest.record(
        [ingest.Event(kind="web_visit", lead=lead.pk, url="https://x.io/pricing")] * 3
        + [ingest.Event(kind="email_open", lead=lead.pk)],
        user=world.marketing,
    )
    return lead


def test_the_api_explains_each_rules_points_and_the_verdict(world):
    activate()
    lead = engaged_lead(world, title="Sales Manager", employee_count=350)
    body = client_for(world.marketing).get(f"/api/leads/{lead.pk}/score").json()
    assert (body["version"], body["fit"], body["mql"]) == (1, 30, False)
    assert body["engagement"] == round(body["engagement"], 6) and 19.99 < body["engagement"] <= 20
    assert [(f["criterion"], f["option"], f["points"]) for f in body["fit_lines"]] == [
        ("Seniority", "Manager", 10), ("Company size", "200+", 20)
    ]
    assert [(r["rule"], r["activities"], r["capped"]) for r in body["engagement_lines"]] == [
        ("Pricing page", 3, True), ("Web visit", 0, False), ("Form filled", 0, False)
    ]
    assert body["unscored_activities"] == 1
    assert body["verdict"].startswith("Not an MQL: fit 30 is below 40 (10 short) and engagement")
    assert body["note"] == "leadflow will qualify to MQL as soon as it meets both thresholds."


def test_a_disqualified_lead_is_flagged_in_its_explanation(world):
    activate()
    lead = engaged_lead(world, email="cfo@gmail.com", title="VP Finance", employee_count=900)
    body = client_for(world.marketing).get(f"/api/leads/{lead.pk}/score").json()
    assert body["disqualified"] == ["free-mail address (gmail.com)"]
    assert body["verdict"] == "Not an MQL: disqualified (free-mail address (gmail.com))."
    panel = element(page_of(world.marketing, lead), "score-card")
    assert "A person from marketing decides whether to disqualify it" in text(panel)


def test_the_lead_page_shows_the_explanation(world):
    activate()
    lead = engaged_lead(world, title="VP Sales", employee_count=350)
    card = text(element(page_of(world.marketing, lead), "score-card"))
    assert "Score explanation Lead definition v1" in card
    assert "Not an MQL: engagement 20 is below 25 (5 short)." in card
    assert "Fit 50 of 40 needed" in card
    assert "Pricing page 3 20 capped" in card
    assert "1 other activity scores nothing under this definition." in card


def test_without_a_readable_definition_the_page_says_why(world):
    lead = world.lead()
    assert "There is no active lead definition yet." in text(
        element(page_of(world.marketing, lead), "score-card")
    )
    activate("version: 1\nfit: {title_level: {vp: 25}}\n")
    card = text(element(page_of(world.marketing, lead), "score-card"))
    assert "The active lead definition v1 cannot be read" in card
    response = client_for(world.marketing).get(f"/api/leads/{lead.pk}/score")
    assert (response.status_code, response.json()["code"]) == (409, "no-active-definition")


def test_another_teams_lead_is_not_found(world):
    activate()
    lead = world.lead()
    response = client_for(world.ae).get(f"/api/leads/{lead.pk}/score")
    assert response.status_code == 404


def test_the_explanation_costs_a_fixed_number_of_queries(world):
    activate()
    lead = engaged_lead(world, title="VP Sales", employee_count=350)
    lead = type(lead).objects.select_related("source", "campaign").get(pk=lead.pk)
    with CaptureQueriesContext(connection) as few:
        explain.for_lead(lead)
    ingest.record([ingest.Event(kind="form_fill", lead=lead.pk)] * 20, user=world.marketing)
    with CaptureQueriesContext(connection) as many:
        explain.for_lead(lead)
    assert len(few) == len(many) == 2
