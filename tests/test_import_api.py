"""The API: upload a CSV to queue an import, follow its job, stream exports; a rep may not
import and gets a problem, as on the page."""

import json

from django.core.files.uploadedfile import SimpleUploadedFile

from leadflow.api.testing import client_for
from leadflow.leads.models import Lead
from leadflow.transfer import jobs


def test_an_import_started_through_the_api_and_followed_to_the_end(world):
    client = client_for(world.marketing)
    response = client.post("/api/imports", {
        "file": SimpleUploadedFile("list.csv", b"Mail,Src\nann@acme.com,Organic Web\n,\n"),
        "mapping": json.dumps({"Mail": "email", "Src": "source"}),
    })
    assert response.status_code == 202, response.content
    job = response.json()
    assert (job["status"], job["mapping"]) == ("queued", {"Mail": "email", "Src": "source"})

    jobs.run()

    done = client.get(f"/api/imports/{job['id']}").json()
    assert (done["status"], done["rows"], done["created"], done["failed"]) == ("done", 2, 1, 1)
    assert Lead.objects.get().email == "ann@acme.com"
    csv = b"".join(client.get("/api/export/leads").streaming_content).decode()
    assert csv.splitlines()[1].split(",")[2] == "ann@acme.com"


def test_a_bad_mapping_and_a_rep_are_refused_as_problems(world):
    bad = client_for(world.marketing).post("/api/imports", {
        "file": SimpleUploadedFile("list.csv", b"Mail\nann@acme.com\n"),
        "mapping": json.dumps({"Mail": "e-mail"}),
    })
    assert bad.status_code == 422 and bad["Content-Type"] == "application/problem+json"
    assert bad.json()["field"] == "mapping" and "'Mail' -> 'e-mail'" in bad.json()["detail"]
    rep = client_for(world.sdr).post("/api/imports", {
        "file": SimpleUploadedFile("list.csv", b"Mail\nann@acme.com\n"),
    })
    assert rep.status_code == 403 and rep.json()["code"] == "forbidden"
