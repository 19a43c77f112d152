"""The definition through the API: drafts from JSON or an uploaded file, export as a file,
live validation, edits to drafts only, problems at their line."""

from django.core.files.uploadedfile import SimpleUploadedFile

from leadflow.api.testing import client_for, post_json
from leadflow.leads.models import LeadDefinition
from leadflow.scoring.testing import SIMPLE, activate


def test_marketing_imports_a_file_as_a_draft_and_exports_it_unchanged(world):
    client = client_for(world.marketing)
    upload = SimpleUploadedFile("ours.yaml", SIMPLE.encode(), content_type="application/yaml")
    response = client.post("/api/definitions/import", {"file": upload, "summary": "From file"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["version"], body["status"], body["valid"], body["problems"]) == (
        1, "draft", True, []
    )
    assert body["created_by"]["username"] == "marketing"
    exported = client.get("/api/definitions/1/document")
    assert exported["Content-Type"] == "application/yaml; charset=utf-8"
    assert exported["Content-Disposition"] == 'attachment; filename="lead-definition-v1.yaml"'
    assert exported.content.decode() == SIMPLE


def test_a_new_draft_copies_the_active_version(world):
    activate()
    response = post_json(client_for(world.marketing), "/api/definitions", {"summary": "Tweak"})
    assert response.status_code == 201
    assert response.json()["document"] == SIMPLE
    assert response["Location"].endswith("/api/definitions/2")


def test_a_draft_in_progress_may_have_problems_shown_at_their_line(world):
    broken = SIMPLE.replace("points: 30", "points: lots")
    response = post_json(client_for(world.marketing), "/api/definitions", {"document": broken})
    body = response.json()
    assert (response.status_code, body["valid"]) == (201, False)
    assert body["problems"] == [
        {
            "line": 5,
            "column": 48,
            "field": "fit[0].options[0].points",
            "message": "must be a number, not 'lots'",
        }
    ]


def test_validate_checks_a_document_without_saving_it(world):
    client = client_for(world.marketing)
    ok = post_json(client, "/api/definitions/validate", {"document": SIMPLE}).json()
    bad = post_json(client, "/api/definitions/validate", {"document": "fit: 3"}).json()
    assert ok == {"valid": True, "problems": []}
    assert bad["valid"] is False
    assert sorted(p["field"] for p in bad["problems"]) == ["engagement", "fit", "mql"]
    assert not LeadDefinition.objects.exists()


def test_a_draft_changes_and_a_proposed_version_does_not(world):
    client = client_for(world.marketing)
    post_json(client, "/api/definitions", {"document": SIMPLE})
    changed = SIMPLE.replace("fit_at_least: 40", "fit_at_least: 45")
    response = client.put("/api/definitions/1", {"document": changed},
                          content_type="application/json")
    assert response.status_code == 200
    assert post_json(client, "/api/definitions/1/propose", {}).status_code == 200
    refused = client.put("/api/definitions/1", {"document": SIMPLE},
                         content_type="application/json")
    assert refused.status_code == 409
    assert refused.json()["code"] == "definition-immutable"
    assert LeadDefinition.objects.get().document == changed


def test_proposing_a_draft_with_problems_lists_each_at_its_line(world):
    client = client_for(world.marketing)
    broken = SIMPLE.replace("activity: form_fill", "activity: form").replace(
        "fit_at_least: 40", "fit_at_least: many"
    )
    post_json(client, "/api/definitions", {"document": broken})
    response = post_json(client, "/api/definitions/1/propose", {})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "definition-invalid"
    assert [(e["line"], e["field"]) for e in body["errors"]] == [
        (16, "engagement.rules[2].activity"),
        (18, "mql.fit_at_least"),
    ]
    assert LeadDefinition.objects.get().status == "draft"


def test_sales_may_read_but_not_write_the_definition(world):
    activate()
    client = client_for(world.sdr)
    assert client.get("/api/definitions").json()[0]["status"] == "active"
    refused = post_json(client, "/api/definitions", {"document": SIMPLE})
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")


def test_the_diff_shows_lines_and_what_changed_in_words(world):
    activate()
    client = client_for(world.marketing)
    changed = SIMPLE.replace("fit_at_least: 40", "fit_at_least: 45").replace(
        "points: 15}", "points: 20, cap: 40}"
    )
    post_json(client, "/api/definitions", {"document": changed})
    body = client.get("/api/definitions/2/diff").json()
    assert (body["old"], body["new"]) == (1, 2)
    assert body["changes"] == [
        "MQL fit threshold: 40 → 45",
        "Engagement rule Form filled: 15 points, cap no cap → 20 points, cap 40",
    ]
    assert [(line["kind"], line["old"], line["new"]) for line in body["lines"]
            if line["kind"] != "same"] == [
        ("removed", 16, None), ("added", None, 16),
        ("removed", 18, None), ("added", None, 18),
    ]
    assert "-  fit_at_least: 40\n+  fit_at_least: 45\n" in body["unified"]
