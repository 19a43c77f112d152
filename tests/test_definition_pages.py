"""The lead definition pages: who sees them, the editor and its live preview (problems at
their line), import, sign-off buttons and refusals, the diff and the what-if's CSV."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from leadflow.leads.models import LeadDefinition
from leadflow.scoring import definitions
from leadflow.scoring.testing import SIMPLE, activate
from leadflow.web.testing import element, nav_labels, text

HTMX = {"HX-Request": "true"}


def client_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "who, sees",
    [("marketing", True), ("marketing_manager", True), ("sales_manager", True),
     ("field_manager", True), ("sdr", False), ("ae", False), ("arbiter", False)],
)
def test_marketing_and_managers_have_it_in_their_navigation(world, who, sees):
    html = client_as(getattr(world, who)).get("/leads/").text
    assert ("Definitions" in nav_labels(html)) is sees


def test_the_list_shows_versions_and_lets_marketing_start_a_draft(world):
    activate(summary="Signed in March")
    html = client_as(world.marketing).get("/definitions/").text
    table = text(element(html, "definition-versions"))
    assert "v1 Active Signed in March" in table
    assert 'id="new-draft"' in html
    assert 'id="new-draft"' not in client_as(world.sales_manager).get("/definitions/").text


def test_a_new_draft_opens_in_the_editor_with_the_active_document(world):
    activate()
    response = client_as(world.marketing).post("/definitions/new/")
    assert response["Location"] == "/definitions/2/"
    html = client_as(world.marketing).get("/definitions/2/").text
    assert "Edit draft v2" in html
    assert LeadDefinition.objects.get(version=2).document == SIMPLE


def test_the_preview_shows_each_problem_at_its_line(world):
    response = client_as(world.marketing).post(
        "/definitions/preview/", {"document": SIMPLE.replace("points: 30", "points: lots")},
        headers=HTMX,
    )
    problem = element(response.text, "problems")
    assert 'data-line="5"' in problem
    assert "Line 5, column 48 · fit[0].options[0].points" in text(problem)
    assert "Must be a number, not 'lots'" in text(problem)
    valid = client_as(world.marketing).post("/definitions/preview/", {"document": SIMPLE})
    assert "fit at least 40 and engagement at least 25" in text(element(valid.text, "mql-rule"))


def test_saving_a_draft_with_htmx_swaps_the_editor(world):
    draft = definitions.create_draft(actor=world.marketing, text=SIMPLE)
    client = client_as(world.marketing)
    broken = client.post(f"/definitions/{draft.version}/", {"document": "fit: [", "summary": ""},
                         headers=HTMX)
    assert broken.status_code == 200
    assert broken.text.lstrip().startswith('<section class="card mb-4"')
    assert "Saved. 1 problem(s) to fix" in text(element(broken.text, "editor-notice"))
    fixed = client.post(f"/definitions/{draft.version}/",
                        {"document": SIMPLE.replace("\n", "\r\n"), "summary": "Fixed"},
                        headers=HTMX)
    assert "It is valid" in text(element(fixed.text, "editor-notice"))
    draft.refresh_from_db()
    assert (draft.document, draft.summary) == (SIMPLE, "Fixed")


def test_a_proposed_version_shows_no_editor_and_refuses_a_save(world):
    draft = definitions.create_draft(actor=world.marketing, text=SIMPLE)
    definitions.propose(draft, actor=world.marketing)
    client = client_as(world.marketing)
    assert "Edit draft" not in client.get("/definitions/1/").text
    refused = client.post("/definitions/1/", {"document": "fit: []"}, headers=HTMX)
    assert refused.status_code == 409
    assert "can no longer be changed" in text(element(refused.text, "editor-error"))


def test_proposing_a_draft_with_problems_is_refused_with_the_first_one(world):
    definitions.create_draft(actor=world.marketing, text=SIMPLE.replace("points: 30", "x: 1"))
    client = client_as(world.marketing)
    response = client.post("/definitions/1/propose/", follow=True)
    assert "has 2 problem(s) to fix first: line 5" in text(element(response.text, "messages"))


def test_only_a_manager_of_a_side_not_yet_signed_sees_the_approve_button(world):
    draft = definitions.create_draft(actor=world.marketing, text=SIMPLE)
    definitions.propose(draft, actor=world.marketing)
    definitions.approve(draft, actor=world.marketing_manager)
    assert 'id="approve"' in client_as(world.sales_manager).get("/definitions/1/").text
    assert 'id="approve"' not in client_as(world.marketing_manager).get("/definitions/1/").text
    assert 'id="approve"' not in client_as(world.sdr).get("/definitions/1/").text
    refused = client_as(world.sdr).post("/definitions/1/approve/", follow=True)
    assert "may not approve lead definitions" in text(element(refused.text, "messages"))


def test_a_yaml_file_is_imported_as_a_draft(world):
    upload = SimpleUploadedFile("def.yaml", SIMPLE.encode())
    response = client_as(world.marketing).post("/definitions/import/", {"file": upload})
    assert response["Location"] == "/definitions/1/"
    assert LeadDefinition.objects.get().document == SIMPLE
    export = client_as(world.sdr).get("/definitions/1/export/")
    assert export.content.decode() == SIMPLE


def test_the_diff_page_shows_changes_in_words_and_by_line(world):
    activate()
    definitions.create_draft(
        actor=world.marketing, text=SIMPLE.replace("fit_at_least: 40", "fit_at_least: 45")
    )
    html = client_as(world.sales_manager).get("/definitions/2/diff/").text
    assert text(element(html, "changes")) == "MQL fit threshold: 40 → 45"
    lines = element(html, "diff-lines")
    assert 'class="diff-removed"' in lines and 'class="diff-added"' in lines


def test_the_what_if_table_downloads_as_csv(world):
    activate()
    draft = definitions.create_draft(actor=world.marketing, text=SIMPLE)
    url = f"/definitions/{draft.version}/what-if/?format=csv"
    response = client_as(world.sales_manager).get(url)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = response.content.decode().splitlines()
    assert rows[0] == "month,mqls_v2,mqls_v1"
    assert len(rows) == 13
