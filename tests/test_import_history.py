"""History columns rebuild a lead's past through the lifecycle: the rows an import writes are
the rows the actions write for the same steps at the same moments, and the reports count the
imported funnel from day one."""

from django.core.management import call_command

from leadflow.leads.models import Handoff, Lead, Opportunity, StageChange
from leadflow.reports import funnel
from leadflow.reports.periods import Span
from leadflow.reports.testing import Journeys, utc
from leadflow.transfer.testing import error_rows, write_csv

HEADER = ["email", "source", "created_at", "mql_date", "sal_date", "sql_date",
          "opportunity_date", "won_date", "lost_date", "amount", "outcome_reason"]


def story(lead):
    history = [
        (h.entity, h.transition, h.from_stage, h.to_stage, h.at, h.actor_id, h.owner_id,
         h.owner_team_id, h.reason_id, h.definition_id)
        for h in StageChange.objects.filter(lead=lead).order_by("at", "id")
    ]
    offers = [
        (o.kind, o.offered_to_id, o.offered_to_team_id, o.offered_at, o.accept_by, o.decision,
         o.decided_at, o.decided_by_id, o.first_touch_by)
        for o in Handoff.objects.filter(lead=lead).order_by("id")
    ]
    opps = list(Opportunity.objects.filter(lead=lead).values_list(
        "owner_id", "amount", "stage", "created_at", "closed_at", "outcome_reason_id"))
    lead.refresh_from_db()
    return history, offers, opps, (
        lead.stage, lead.owner_id, lead.owner_team_id, lead.stage_changed_at, lead.version,
        lead.first_mql_at, lead.first_sal_at, lead.first_sql_at, lead.first_opportunity_at,
        lead.won_at,
    )


def test_imported_history_is_what_the_actions_write(world, tmp_path):
    world.sdr2.is_active = False  # one rep per side: both paths are offered to the same people
    world.sdr2.save()
    journeys = Journeys(world)
    walked = journeys.walk(
        journeys.lead(utc(2025, 3, 3, 9), email="walked@acme.com"),
        ("qualify", utc(2025, 3, 4, 10)), ("accept", utc(2025, 3, 4, 15)),
        ("convert", utc(2025, 3, 10, 11)), ("accept", utc(2025, 3, 11, 9), {"amount": 7500}),
        ("lose", utc(2025, 4, 2, 16), {"reason": "price", "comment": ""}),
    )
    path = write_csv(tmp_path / "f.csv", HEADER, [[
        "imported@acme.com", "Organic Web", "2025-03-03T09:00:00+00:00",
        "2025-03-04T10:00:00+00:00", "2025-03-04T15:00:00+00:00", "2025-03-10T11:00:00+00:00",
        "2025-03-11T09:00:00+00:00", "", "2025-04-02T16:00:00+00:00", "7500", "price",
    ]])
    call_command("import", str(path), quiet=True, user="marketing",
                 errors=str(tmp_path / "e.csv"))

    imported = Lead.objects.get(email="imported@acme.com")
    walked_story, imported_story = story(walked), story(imported)
    assert imported_story[0][1:] == walked_story[0][1:]  # the create row's comment aside
    assert imported_story[1:] == walked_story[1:]
    assert imported.first_sql_at == utc(2025, 3, 10, 11) and imported.won_at is None
    assert [h[1] for h in imported_story[0]] == [
        "create", "qualify", "accept", "convert", "accept", "accept", "lose", "lose"
    ]


def test_blank_earlier_stage_dates_take_the_later_moment_and_reports_count_them(world,
                                                                               tmp_path):
    rows = [
        ["a@x.com", "Organic Web", "2025-01-05", "2025-01-06", "", "", "", "", "", "", ""],
        ["b@x.com", "Organic Web", "2025-01-07", "", "", "", "", "2025-02-10", "", "900", ""],
        ["c@x.com", "Organic Web", "2025-02-01", "2025-02-02", "2025-02-03", "", "", "", "",
         "", ""],
        ["d@x.com", "Organic Web", "2025-02-11", "", "", "", "", "", "", "", ""],
    ]
    path = write_csv(tmp_path / "f.csv", HEADER, rows)
    call_command("import", str(path), quiet=True, errors=str(tmp_path / "e.csv"))

    won = Lead.objects.get(email="b@x.com")
    assert won.stage == "won"
    assert list(
        StageChange.objects.filter(lead=won, entity="lead").values_list("transition", "at")
    ) == [("create", utc(2025, 1, 7, 0))] + [
        (name, utc(2025, 2, 10, 0)) for name in ("qualify", "accept", "convert", "accept", "win")
    ]
    report = funnel.waterfall(Span.parse("2025-Q1"), "cohort", None)
    assert report.current.rows[0].reached == {
        "inquiry": 4, "mql": 3, "sal": 2, "sql": 1, "opportunity": 1, "won": 1,
    }


def test_stage_dates_out_of_order_are_a_bad_row_naming_the_column(world, tmp_path):
    path = write_csv(tmp_path / "f.csv", HEADER, [
        ["a@x.com", "Organic Web", "2025-01-05 10:00", "2025-01-09", "2025-01-08", "", "", "",
         "", "", ""],
        ["b@x.com", "Organic Web", "2025-01-05", "", "", "", "", "", "2025-01-09", "10", ""],
    ])
    call_command("import", str(path), quiet=True, errors=str(tmp_path / "e.csv"))

    assert [(r["line"], r["column"], r["reason"]) for r in error_rows(tmp_path / "e.csv")] == [
        ("2", "sal_date", "2025-01-08 00:00 is before mql_date (2025-01-09 00:00)"),
        ("3", "lost_date", "a lost deal needs its outcome_reason"),
    ]
    assert not Lead.objects.exists()


def test_an_offer_left_open_is_made_at_import_time_and_nothing_is_escalated(world, tmp_path):
    """Two leads qualified (and one converted) long ago, never decided: their open offers are
    made now, with the SLA's time ahead, and the sweep right after escalates neither; the
    stages keep their historical entries."""
    from django.utils import timezone

    from leadflow.leads import sla
    from leadflow.leads.models import Decision

    path = write_csv(tmp_path / "f.csv", HEADER, [
        ["old-mql@acme.com", "Organic Web", "2025-03-03T09:00:00+00:00",
         "2025-03-04T10:00:00+00:00", "", "", "", "", "", "", ""],
        ["old-sql@acme.com", "Organic Web", "2025-03-03T09:00:00+00:00",
         "2025-03-04T10:00:00+00:00", "2025-03-04T15:00:00+00:00",
         "2025-03-10T11:00:00+00:00", "", "", "", "", ""],
    ])
    before = timezone.now()
    call_command("import", str(path), quiet=True, user="marketing",
                 errors=str(tmp_path / "e.csv"))

    for email, kind in (("old-mql@acme.com", "mql"), ("old-sql@acme.com", "sql")):
        lead = Lead.objects.get(email=email)
        offer = Handoff.objects.get(lead=lead, decision=Decision.PENDING)
        assert offer.kind == kind
        assert offer.offered_at >= before and offer.accept_by > timezone.now()
        assert lead.first_mql_at == utc(2025, 3, 4, 10)
    sla.sweep()
    assert Handoff.objects.filter(decision=Decision.IGNORED).count() == 0
    assert set(Lead.objects.values_list("stage", flat=True)) == {"mql", "sql"}
