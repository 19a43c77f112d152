"""Idempotency-Key: a retried request never creates a second lead and gets the first answer."""

from datetime import timedelta
from functools import partial

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from leadflow.api.testing import client_for, post_json
from leadflow.intake.models import IdempotencyKey
from leadflow.leads.models import Activity, Lead, OutboxEvent

from .concurrency import raised, run_together
from .conftest import World

LEAD = {"source": "Organic Web", "email": "ana@example.com", "first_name": "Ana"}


def post(client, url, data, key):
    return client.post(
        url, data, content_type="application/json", headers={"Idempotency-Key": key}
    )


def test_a_retry_with_the_same_key_creates_one_lead_and_gets_the_same_answer(world):
    api = client_for(world.marketing)
    first = post(api, "/api/leads", LEAD, "k-1")
    retry = post(api, "/api/leads", LEAD, "k-1")
    assert first.status_code == retry.status_code == 201
    assert retry.content == first.content
    assert retry["Location"] == first["Location"]
    assert retry["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Lead.objects.count() == 1
    assert OutboxEvent.objects.filter(name="lead.created").count() == 1
    # Not even merged again: a merge would have recorded a form fill.
    assert not Activity.objects.exists()


def test_the_answer_is_replayed_even_after_the_lead_changed(world):
    api = client_for(world.marketing)
    first = post(api, "/api/leads", LEAD, "k-2")
    Lead.objects.filter(pk=first.json()["id"]).update(title="Changed since")
    retry = post(api, "/api/leads", LEAD, "k-2")
    assert retry.json() == first.json()


def test_without_a_key_the_second_post_merges(world):
    api = client_for(world.marketing)
    api.post("/api/leads", LEAD, content_type="application/json")
    second = api.post("/api/leads", LEAD, content_type="application/json")
    assert (second.status_code, second.json()["result"]) == (200, "merged")
    assert Activity.objects.filter(kind="form_fill").count() == 1


def test_the_same_key_with_another_body_is_refused_naming_the_header(world):
    api = client_for(world.marketing)
    post(api, "/api/leads", LEAD, "k-3")
    other = post(api, "/api/leads", {**LEAD, "email": "bo@example.com"}, "k-3")
    assert other.status_code == 422
    assert other["Content-Type"] == "application/problem+json"
    assert (other.json()["field"], other.json()["code"]) == (
        "Idempotency-Key", "idempotency-key-reused"
    )
    assert Lead.objects.count() == 1


def test_keys_are_per_caller(world):
    post(client_for(world.marketing), "/api/leads", LEAD, "shared")
    other = post(client_for(world.marketing_manager), "/api/leads", LEAD, "shared")
    # Not a replay of someone else's answer: the manager's call merged.
    assert other.json()["result"] == "merged"


def test_a_refused_request_uses_up_no_key(world):
    api = client_for(world.marketing)
    bad = post(api, "/api/leads", {**LEAD, "email": "not-mail"}, "k-4")
    assert (bad.status_code, bad.json()["field"]) == (422, "email")
    good = post(api, "/api/leads", LEAD, "k-4")
    assert good.status_code == 201


def test_a_batch_retry_is_answered_from_the_first(world):
    api = client_for(world.marketing)
    items = {"items": [LEAD, {"source": "Organic Web", "email": "bad"}]}
    first = post(api, "/api/leads/batch", items, "b-1")
    retry = post(api, "/api/leads/batch", items, "b-1")
    assert retry.content == first.content
    assert retry.json()["items"][1]["errors"][0]["field"] == "items[1].email"
    assert Lead.objects.count() == 1


def test_keys_expire_after_a_day(world):
    api = client_for(world.marketing)
    with time_machine.travel(timezone.now() - timedelta(hours=25)):
        post(api, "/api/leads", LEAD, "k-5")
    later = post(api, "/api/leads", LEAD, "k-5")
    # Forgotten: the request ran again (and merged into the lead it made a day ago).
    assert (later.status_code, later.json()["result"]) == (200, "merged")
    assert IdempotencyKey.objects.get(key="k-5").status == 200


def test_a_long_key_is_refused(world):
    response = post(client_for(world.marketing), "/api/leads", LEAD, "x" * 101)
    assert (response.status_code, response.json()["field"]) == (422, "Idempotency-Key")


@pytest.mark.postgres_only
@pytest.mark.parametrize("attempt", range(3))
def test_concurrent_retries_with_one_key_create_one_lead(transactional_db, attempt):
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent commits: PostgreSQL")
    world = World()
    apis = [client_for(world.marketing) for _ in range(4)]
    answers = run_together(*(partial(post, api, "/api/leads", LEAD, "race") for api in apis))
    assert not raised(answers), answers
    assert Lead.objects.count() == 1
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum(1 for a in answers if a.has_header("Idempotent-Replayed")) == 3


@pytest.mark.postgres_only
def test_concurrent_posts_of_one_new_person_without_keys_create_one_lead(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks: PostgreSQL")
    world = World()
    apis = [client_for(world.marketing) for _ in range(4)]
    answers = run_together(*(partial(post_json, api, "/api/leads", LEAD) for api in apis))
    assert not raised(answers), answers
    assert Lead.objects.count() == 1
    assert sorted(a.json()["result"] for a in answers) == ["created"] + ["merged"] * 3
