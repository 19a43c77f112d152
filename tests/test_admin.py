"""The Django admin: every model has its list and change pages; what only the product may
change (signed definitions, history) is view only there."""

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from leadflow.leads.models import LeadDefinition, StageChange
from leadflow.scoring.testing import activate


@pytest.fixture
def as_admin(world):
    client = Client()
    client.force_login(world.admin)
    return client


def test_every_registered_model_lists_and_opens(world, as_admin):
    activate()
    lead = world.lead_at("sal")
    assert lead.pk
    for model in admin.site._registry:
        meta = model._meta
        listed = as_admin.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        assert listed.status_code == 200, meta.label
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk])
            assert as_admin.get(url).status_code == 200, meta.label


def test_a_definition_is_view_only_in_the_admin(world, as_admin):
    row = activate()
    url = reverse("admin:leads_leaddefinition_change", args=[row.pk])
    page = as_admin.get(url)
    assert page.status_code == 200
    assert 'name="document"' not in page.text  # shown, not an input
    assert as_admin.post(url, {"document": "tampered"}).status_code == 403
    assert LeadDefinition.objects.get(pk=row.pk).document != "tampered"
    assert as_admin.get(reverse("admin:leads_leaddefinition_add")).status_code == 403


def test_history_cannot_be_changed_in_the_admin(world, as_admin):
    entry = StageChange.objects.get(lead=world.lead())
    url = reverse("admin:leads_stagechange_change", args=[entry.pk])
    assert as_admin.post(url, {"comment": "rewritten"}).status_code == 403


def test_every_model_of_leadflow_is_in_the_admin():
    from django.apps import apps

    leadflow_models = {
        m for m in apps.get_models() if m.__module__.startswith("leadflow.")
    }
    # Rows the product keeps for itself: per-lead scoring state and caches, not for people.
    internal = {
        "LeadEngagement", "ActivityChunk", "ActivityUrl", "PendingMql",
        "CohortSummary", "CohortChange",  # report caches, rebuilt from the rows
    }
    missing = {m.__name__ for m in leadflow_models - set(admin.site._registry)} - internal
    assert not missing, f"not in the admin: {sorted(missing)}"
