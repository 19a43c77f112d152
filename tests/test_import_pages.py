"""The import pages: marketing uploads a file, maps its columns with a preview that shows the
bad rows, starts it; the worker's import step runs it; the page shows progress and offers the
error file. Reps may not import."""

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from leadflow.leads.models import Lead
from leadflow.transfer import importer, jobs
from leadflow.transfer.models import ImportJob, ImportPreset

FILE = (
    b"E-Mail,Name,Firma,Quelle\n"
    b"ann@acme.com,Ann,Acme,Organic Web\n"
    b"bob@beta.com,Bob,Beta,Nowhere\n"
    b"cy@gamma.com,Cy,Gamma,Organic Web\n"
)


def upload(client):
    return client.post(
        reverse("import_home"),
        {"file": SimpleUploadedFile("list.csv", FILE, "text/csv"), "preset": ""},
    )


def test_marketing_maps_previews_and_starts_an_import_the_worker_runs(world, client):
    client.force_login(world.marketing)
    response = upload(client)
    job = ImportJob.objects.get()
    assert response.url == reverse("import_job", args=[job.pk])
    assert job.status == "draft" and job.header == ["E-Mail", "Name", "Firma", "Quelle"]

    page = client.post(reverse("import_job", args=[job.pk]), {
        "map-0": "email", "map-1": "first_name", "map-2": "company", "map-3": "source",
        "save_preset": "German list", "preview": "1",
    })
    html = page.content.decode()
    assert 'class="table-danger"' in html
    assert "Quelle: unknown source &#x27;Nowhere&#x27;" in html
    assert ImportPreset.objects.get(name="German list").mapping["E-Mail"] == "email"

    client.post(reverse("import_job", args=[job.pk]), {
        "map-0": "email", "map-1": "first_name", "map-2": "company", "map-3": "source",
        "start": "1",
    })
    job.refresh_from_db()
    assert job.status == "queued"
    polling = client.get(reverse("import_progress", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in polling

    result = jobs.run()

    assert (result.imported, result.rows) == (1, 3)
    job.refresh_from_db()
    assert (job.status, job.created, job.failed) == ("done", 2, 1)
    assert sorted(Lead.objects.values_list("email", flat=True)) == [
        "ann@acme.com", "cy@gamma.com"
    ]
    progress = client.get(reverse("import_progress", args=[job.pk])).content.decode()
    assert "100%" in progress and "every 1s" not in progress
    errors = client.get(reverse("import_errors", args=[job.pk]))
    assert errors.streaming and errors["Content-Length"] == str(job.error_bytes)
    assert b"".join(errors.streaming_content).decode().splitlines()[1].startswith(
        "3,Quelle,\"unknown source 'Nowhere'"
    )


def test_the_worker_imports_in_slices_and_continues_next_pass(world, client, tmp_path):
    rows = "".join(f"p{i}@x.com,Organic Web\n" for i in range(30))
    path = tmp_path / "f.csv"
    path.write_text("email,source\n" + rows)
    job = importer.prepare(path, user=world.marketing)
    ImportJob.objects.filter(pk=job.pk).update(status="queued")
    first = jobs.run(slice_seconds=0, chunk_size=10)  # stops after its first chunk
    assert (first.imported, first.rows) == (0, 10)
    assert ImportJob.objects.get().status == "queued"
    assert jobs.run(chunk_size=10).rows == 20
    assert Lead.objects.count() == 30 and ImportJob.objects.get().status == "done"


def test_reps_may_not_import(world, client):
    client.force_login(world.sdr)
    assert client.get(reverse("import_home")).status_code == 403
    assert upload(client).status_code == 403
    assert not ImportJob.objects.exists()
    client.force_login(world.marketing)
    assert b'href="/import/"' in client.get(reverse("import_home")).content


def test_exports_stream_the_leads_a_person_may_see(world, client):
    world.lead(email="mine@acme.com")
    client.force_login(world.ae)  # field sales sees neither marketing's leads nor their history
    response = client.get(reverse("export_records", args=["leads"]))
    assert response.streaming
    assert b"".join(response.streaming_content).decode().splitlines()[1:] == []
    client.force_login(world.marketing)
    lines = b"".join(
        client.get(reverse("export_records", args=["history"])).streaming_content
    ).decode().splitlines()
    assert lines[0].startswith("id,lead_id,opportunity_id,entity,transition")
    assert len(lines) == 2 and ",create,,inquiry," in lines[1]


def test_the_worker_takes_up_an_import_a_dead_worker_left(world, tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("email,source\n" + "".join(f"p{i}@x.com,Organic Web\n" for i in range(6)))
    job = importer.prepare(path, user=world.marketing)
    importer.Importer(job, chunk_size=2, should_stop=lambda: True).run()  # one chunk, then...
    stale = timezone.now() - jobs.STALE - timedelta(seconds=1)
    ImportJob.objects.filter(pk=job.pk).update(status="running", heartbeat_at=stale)  # ...died
    fresh = importer.prepare(path, user=world.marketing, resume=False)
    ImportJob.objects.filter(pk=fresh.pk).update(status="running", heartbeat_at=timezone.now())

    assert jobs.run(chunk_size=2).rows == 4  # the orphan, not the one still running

    assert ImportJob.objects.get(pk=job.pk).status == "done"
    assert ImportJob.objects.get(pk=fresh.pk).status == "running"
    assert Lead.objects.count() == 6
