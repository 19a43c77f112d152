"""The lead page: details, the current hand-off with its business-time countdown, the timeline."""

import re
from datetime import UTC, datetime, timedelta

import time_machine
from django.test import Client

from leadflow.leads import actions
from leadflow.leads.models import Activity, ActivityKind, Campaign, LeadDefinition
from leadflow.web.testing import element, text

MONDAY_10 = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)


def client_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_it_shows_the_lead_details(world):
    campaign = Campaign.objects.create(source=world.source, name="Spring pricing guide")
    lead = world.lead(
        first_name="Dana",
        last_name="Cho",
        title="VP Operations",
        email="dana@northwind.example",
        company="Northwind",
        employee_count=1200,
        campaign=campaign,
        custom={"crm_segment": "Enterprise"},
    )
    html = client_as(world.marketing).get(f"/leads/{lead.pk}/").text
    details = text(element(html, "details-card"))
    for expected in [
        "Name Dana Cho",
        "Title VP Operations",
        "E-mail dana@northwind.example",
        "Employees 1,200",
        "Source Organic Web",
        "Campaign Spring pricing guide",
        "crm_segment Enterprise",
    ]:
        assert expected in details


def test_missing_details_show_a_dash(world):
    lead = world.lead(title="", company="", employee_count=None)
    html = client_as(world.marketing).get(f"/leads/{lead.pk}/").text
    details = text(element(html, "details-card"))
    assert "Employees — Country" in details
    assert "Title — E-mail" in details


def test_a_lead_of_another_team_is_not_found(world):
    lead = world.lead_at("inquiry")
    response = client_as(world.sdr).get(f"/leads/{lead.pk}/")
    assert response.status_code == 404
    assert client_as(world.sdr).get("/leads/999999/").status_code == 404


def test_the_pending_hand_off_counts_down_in_business_time(world):
    with time_machine.travel(MONDAY_10, tick=False):
        lead = world.lead_at("mql")
    client = client_as(world.sdr)
    with time_machine.travel(MONDAY_10 + timedelta(hours=1, minutes=30), tick=False):
        handoff = text(element(client.get(f"/leads/{lead.pk}/").text, "handoff-card"))
    assert "Offered to Sdr" in handoff
    assert "Offered at 3 Mar 2025, 10:00 UTC" in handoff
    # Monday 11:30 to 17:00 is 5 h 30 min, then Tuesday 9:00 to 10:00.
    assert "Accept by 4 Mar 2025, 10:00 UTC 6 h 30 min of business time left" in handoff
    assert "Decision Pending" in handoff

    with time_machine.travel(MONDAY_10 + timedelta(days=1, hours=2, minutes=15), tick=False):
        handoff = text(element(client.get(f"/leads/{lead.pk}/").text, "handoff-card"))
    assert "Overdue by 2 h 15 min of business time" in handoff


def test_dates_are_shown_in_the_users_time_zone_with_the_zone(world):
    world.sdr.time_zone = "America/New_York"
    world.sdr.save()
    with time_machine.travel(MONDAY_10, tick=False):
        lead = world.lead_at("mql")
    html = client_as(world.sdr).get(f"/leads/{lead.pk}/").text
    assert "Offered at 3 Mar 2025, 05:00 EST" in text(element(html, "handoff-card"))
    assert "Times are shown in your time zone, America/New_York." in html


def test_the_timeline_merges_history_and_activities_newest_first(world):
    LeadDefinition.objects.create(version=3, status=LeadDefinition.Status.ACTIVE)
    t0 = MONDAY_10
    lead = actions.create_lead(
        actor=world.marketing, source=world.source, now=t0, first_name="Ana", company="Acme"
    )
    Activity.objects.create(
        lead=lead,
        kind=ActivityKind.WEB_VISIT,
        occurred_at=t0 + timedelta(hours=1),
        url="https://leadflow.example/pricing",
    )
    actions.transition(lead, "qualify", actor=None, now=t0 + timedelta(hours=2))
    Activity.objects.create(
        lead=lead,
        kind=ActivityKind.EMAIL_CLICK,
        occurred_at=t0 + timedelta(hours=3),
        source_system="mailer",
    )
    actions.transition(
        lead,
        "reject",
        actor=world.sdr,
        reason="wrong-territory",
        comment="EMEA account, belongs to the Berlin team",
        now=t0 + timedelta(hours=4),
    )
    Activity.objects.create(
        lead=lead,
        kind=ActivityKind.NOTE,
        occurred_at=t0 + timedelta(hours=5),
        actor=world.arbiter,
        detail="Asked marketing about the routing rule",
    )

    timeline = element(client_as(world.arbiter).get(f"/leads/{lead.pk}/").text, "timeline")
    kinds = re.findall(r'data-kind="(\w+)" data-(?:transition|activity)="(\w+)"', timeline)
    assert kinds == [
        ("activity", "note"),
        ("change", "reject"),
        ("activity", "email_click"),
        ("change", "qualify"),
        ("activity", "web_visit"),
        ("change", "create"),
    ]
    entries = [text("<li" + e) for e in timeline.split("<li")[1:]]
    assert entries[0].startswith("Note 3 Mar 2025, 15:00 UTC by Arbiter · from leadflow")
    assert entries[1] == (
        "Reject MQL → In review 3 Mar 2025, 14:00 UTC by Sdr "
        "Reason: Routed to the wrong territory or team EMEA account, belongs to the Berlin team"
    )
    assert entries[2].startswith("E-mail clicked 3 Mar 2025, 13:00 UTC from mailer")
    assert entries[3] == (
        "Qualify as MQL Inquiry → MQL 3 Mar 2025, 12:00 UTC by leadflow · lead definition v3"
    )
    assert "https://leadflow.example/pricing" in entries[4]
    assert entries[5] == "Created Inquiry 3 Mar 2025, 10:00 UTC by Marketing"


def test_sql_evidence_and_opportunities_are_shown(world):
    lead = world.lead_at("sql_accepted")
    html = client_as(world.ae).get(f"/leads/{lead.pk}/").text
    evidence = text(element(html, "evidence-card"))
    assert "Decision maker Dana Cho, VP Operations (signs)" in evidence
    assert "Compelling event New region opens 2027-01-15" in evidence
    opportunities = text(element(html, "opportunities-card"))
    assert "Acme Discovery Ae 0.00 USD" in opportunities


def test_the_lead_page_does_not_query_per_timeline_entry(world, django_assert_max_num_queries):
    lead = world.lead_at("sal")
    for hour in range(30):
        Activity.objects.create(
            lead=lead,
            kind=ActivityKind.CALL,
            occurred_at=MONDAY_10 + timedelta(hours=hour),
            actor=world.sdr,
        )
    client = client_as(world.sdr)
    # The lead, its hand-offs, reasons, history, activities, opportunities, the active lead
    # definition (score explanation), and the frame: session, user, team, bell.
    with django_assert_max_num_queries(12):
        html = client.get(f"/leads/{lead.pk}/").text
    assert html.count('data-kind="activity"') == 30
