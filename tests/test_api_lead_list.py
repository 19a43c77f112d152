"""GET /api/leads: the leads you may see, filtered, newest first, a page at a time."""

from datetime import UTC, datetime, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadflow.api.testing import client_for
from leadflow.leads import actions
from leadflow.leads.models import Source

T0 = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)


def make_lead(world, at, source=None, **fields):
    return actions.create_lead(
        actor=world.marketing, source=source or world.source, now=at, **fields
    )


def ids(response):
    assert response.status_code == 200, response.content
    return [lead["id"] for lead in response.json()["items"]]


def test_it_lists_only_the_leads_you_may_see_newest_first(world):
    older = make_lead(world, T0)
    newer = make_lead(world, T0 + timedelta(hours=1))
    offered = world.lead_at("mql")  # now in inside sales' queue

    assert ids(client_for(world.marketing).get("/api/leads")) == [newer.pk, older.pk]
    assert ids(client_for(world.sdr).get("/api/leads")) == [offered.pk]
    assert ids(client_for(world.arbiter).get("/api/leads")) == [offered.pk, newer.pk, older.pk]


def test_it_filters_by_stage(world):
    inquiry = make_lead(world, T0)
    nurtured = world.lead_at("nurture")
    client = client_for(world.marketing)
    assert ids(client.get("/api/leads?stage=nurture")) == [nurtured.pk]
    assert ids(client.get("/api/leads?stage=inquiry")) == [inquiry.pk]
    assert set(ids(client.get("/api/leads?stage=inquiry&stage=nurture"))) == {
        inquiry.pk,
        nurtured.pk,
    }


def test_it_filters_by_source_id_or_name(world):
    webinar = Source.objects.create(name="Webinars")
    organic = make_lead(world, T0)
    from_webinar = make_lead(world, T0, source=webinar)
    client = client_for(world.marketing)
    assert ids(client.get("/api/leads?source=Webinars")) == [from_webinar.pk]
    assert ids(client.get(f"/api/leads?source={webinar.pk}")) == [from_webinar.pk]
    assert ids(client.get("/api/leads?source=Organic Web")) == [organic.pk]


def test_it_filters_by_owner_username_or_id(world):
    world.sdr2.out_of_office = True  # so round-robin offers both leads to the sdr
    world.sdr2.save()
    accepted = world.lead_at("sal")  # accepted by the sdr
    offered = world.lead_at("mql")  # offered to the sdr, awaiting decision
    client = client_for(world.sales_manager)
    assert ids(client.get("/api/leads?owner=sdr")) == [offered.pk, accepted.pk]
    assert ids(client.get(f"/api/leads?owner={world.sdr.pk}")) == [offered.pk, accepted.pk]
    assert ids(client.get("/api/leads?owner=sdr2")) == []


def test_it_filters_by_creation_time_from_after_inclusive_to_before_exclusive(world):
    make_lead(world, T0 - timedelta(seconds=1))
    first = make_lead(world, T0)
    last = make_lead(world, T0 + timedelta(hours=23))
    make_lead(world, T0 + timedelta(days=1))
    response = client_for(world.marketing).get(
        "/api/leads",
        {"created_after": "2025-03-03T10:00:00Z", "created_before": "2025-03-04T10:00:00Z"},
    )
    assert ids(response) == [last.pk, first.pk]


def test_following_next_walks_every_lead_once_newest_first(world):
    # Three share a creation time: the id breaks the tie, so no page repeats or skips one.
    leads = [make_lead(world, T0 + timedelta(minutes=i // 3)) for i in range(7)]
    client = client_for(world.marketing)
    seen, url = [], "/api/leads?limit=3&stage=inquiry"
    while url:
        response = client.get(url)
        seen.append(ids(response))
        url = response.json()["next"]
    assert [len(page) for page in seen] == [3, 3, 1]
    expected = sorted(leads, key=lambda lead: (lead.created_at, lead.pk), reverse=True)
    assert sum(seen, []) == [lead.pk for lead in expected]


def test_next_keeps_the_filters(world):
    for i in range(3):
        make_lead(world, T0 + timedelta(minutes=i))
    response = client_for(world.marketing).get("/api/leads?limit=2&stage=inquiry")
    next_url = response.json()["next"]
    assert next_url.startswith("http://testserver/api/leads?")
    assert "stage=inquiry" in next_url and "limit=2" in next_url and "cursor=" in next_url


def test_a_forged_cursor_is_refused_naming_the_field(world):
    response = client_for(world.marketing).get("/api/leads?cursor=not-a-cursor")
    assert response.status_code == 422
    assert response.json()["field"] == "cursor"


def test_a_bad_filter_value_is_refused_naming_the_field(world):
    response = client_for(world.marketing).get("/api/leads?limit=0")
    assert response.status_code == 422
    assert response.json()["field"] == "limit"


def test_the_page_costs_the_same_queries_whatever_its_size(world):
    client = client_for(world.arbiter)
    client.get("/api/leads")  # the token's first use records last_used_at once

    def queries_for_page():
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/leads").status_code == 200
        return len(queries)

    world.lead_at("sal")
    small = queries_for_page()
    for stage in ("mql", "sal", "nurture", "in_review"):
        world.lead_at(stage)
    assert queries_for_page() == small
