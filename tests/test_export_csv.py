"""`leadflow export`: leads, history and activities as CSV, and every report's CSV exactly as
the API gives it (the same report functions, the same table)."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from leadflow.api.testing import client_for
from leadflow.leads.models import Activity
from leadflow.reports.testing import Journeys, utc

PERIOD = "2026-01"


@pytest.fixture
def journeys(world):
    j = Journeys(world)
    won = j.walk(
        j.lead(utc(2026, 1, 5), email="won@acme.com", company="Acme", custom={"tier": "gold"}),
        ("qualify", utc(2026, 1, 5, 10)), ("accept", utc(2026, 1, 5, 11)),
        ("convert", utc(2026, 1, 7)), ("accept", utc(2026, 1, 8), {"amount": 9000}),
        ("win", utc(2026, 1, 20)),
    )
    j.walk(j.lead(utc(2026, 1, 6), email="no@beta.com"), ("qualify", utc(2026, 1, 6, 10)),
           ("reject", utc(2026, 1, 6, 12), {"reason": "below-fit"}))
    Activity.objects.create(lead=won, kind="meeting", occurred_at=utc(2026, 1, 7, 9),
                            actor=world.sdr, detail="discovery call, \"urgent\"")
    return won


def exported(*args) -> str:
    out = io.StringIO()
    call_command("export", *args, stdout=out)
    return out.getvalue()


def test_leads_history_and_activities(journeys, world):
    leads = list(csv.DictReader(io.StringIO(exported("leads"))))
    assert [(r["email"], r["stage"], r["source"]) for r in leads] == [
        ("won@acme.com", "won", "Organic Web"), ("no@beta.com", "in_review", "Organic Web"),
    ]
    assert leads[0]["custom"] == '{"tier": "gold"}'
    assert leads[0]["created_at"] == "2026-01-05T09:00:00+00:00"
    history = list(csv.DictReader(io.StringIO(exported("history"))))
    assert [(r["lead_id"], r["entity"], r["transition"], r["to_stage"]) for r in history
            if r["lead_id"] == str(journeys.pk)] == [
        (str(journeys.pk), "lead", "create", "inquiry"),
        (str(journeys.pk), "lead", "qualify", "mql"),
        (str(journeys.pk), "lead", "accept", "sal"),
        (str(journeys.pk), "lead", "convert", "sql"),
        (str(journeys.pk), "lead", "accept", "sql"),
        (str(journeys.pk), "opportunity", "accept", "discovery"),
        (str(journeys.pk), "lead", "win", "won"),
        (str(journeys.pk), "opportunity", "win", "won"),
    ]
    assert [r["reason"] for r in history if r["transition"] == "reject"] == ["below-fit"]
    activities = list(csv.DictReader(io.StringIO(exported("activities"))))
    assert [(r["kind"], r["actor"], r["detail"]) for r in activities] == [
        ("meeting", "sdr", 'discovery call, "urgent"')]


@pytest.mark.parametrize("report, params", [
    ("waterfall", {}),
    ("waterfall", {"view": "flow"}),
    ("waterfall", {"by": "source"}),
    ("sources", {}),
    ("handoffs", {}),
    ("handoffs", {"table": "rejection_reasons"}),
    ("pipeline", {}),
])
def test_every_report_is_the_apis_csv(journeys, world, report, params):
    api = client_for(world.marketing).get(
        f"/api/reports/{report}", {"period": PERIOD, "format": "csv", **params}
    )
    assert api.status_code == 200
    args = ["report", report, "--period", PERIOD]
    for name, value in params.items():
        args += [f"--{name}", value]
    assert exported(*args) == api.content.decode()


def test_a_report_without_its_period_is_refused(journeys):
    with pytest.raises(CommandError, match="the sources report needs a period"):
        exported("report", "sources")
