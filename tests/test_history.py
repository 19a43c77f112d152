"""History is append-only and written in the same transaction as the change it records."""

from unittest import mock

import pytest
from django.db import DatabaseError, connection, transaction

from leadflow.leads import actions
from leadflow.leads.models import HistoryIsAppendOnly, Stage, StageChange


def test_every_transition_writes_one_history_row_with_its_details(world):
    lead = world.lead_at("mql")
    actions.transition(lead, "reject", actor=world.sdr, reason="below-fit", comment="5 people")
    rows = list(lead.history.values_list("transition", "from_stage", "to_stage", "actor__username"))
    assert rows == [
        ("create", "", "inquiry", "marketing"),
        ("qualify", "inquiry", "mql", "marketing"),
        ("reject", "mql", "in_review", "sdr"),
    ]
    last = lead.history.last()
    assert (last.reason.code, last.comment, last.owner_team) == (
        "below-fit", "5 people", world.arbiter_team,
    )


def test_history_rows_cannot_be_updated_or_deleted_through_the_orm(world):
    lead = world.lead_at("mql")
    row = lead.history.last()
    with pytest.raises(HistoryIsAppendOnly):
        row.comment = "rewritten"
        row.save()
    with pytest.raises(HistoryIsAppendOnly):
        row.delete()
    with pytest.raises(HistoryIsAppendOnly):
        StageChange.objects.filter(pk=row.pk).update(comment="rewritten")
    with pytest.raises(HistoryIsAppendOnly):
        StageChange.objects.filter(pk=row.pk).delete()


def test_the_database_refuses_to_rewrite_history_even_in_raw_sql(world):
    lead = world.lead_at("mql")
    row = lead.history.last()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE leads_stagechange SET comment = 'x' WHERE id = %s", [row.pk])


def test_a_failure_after_the_stage_change_rolls_the_stage_back(world):
    lead = world.lead_at("mql")
    with mock.patch.object(StageChange, "save", side_effect=RuntimeError("disk full")):
        with pytest.raises(RuntimeError):
            actions.transition(lead, "accept", actor=world.sdr)
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
    assert lead.handoffs.get().decision == "pending"


def test_the_qualifying_definition_version_is_recorded(world):
    from leadflow.leads.models import LeadDefinition

    v3 = LeadDefinition.objects.create(version=3, status="active")
    lead = world.lead_at("sql")
    recorded = dict(lead.history.values_list("transition", "definition__version"))
    assert recorded["qualify"] == 3 and recorded["convert"] == 3
    assert recorded["accept"] is None
    assert v3.pk
