"""POST /api/leads/batch: each item is validated alone; the good ones are stored, each bad one
is reported by its index and fields."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadflow.api.testing import client_for, post_json
from leadflow.leads.models import Lead, OutboxEvent, StageChange


def test_a_batch_with_bad_items_stores_the_good_ones_and_names_each_bad_one(world):
    items = [
        {"source": "Organic Web", "email": "a@one.example", "first_name": "A"},
        {"source": "Organic Web", "email": "not-mail"},
        {"source": "Organic Web", "email": "b@two.example", "country": "Germany"},
        {"source": "Billboards", "email": "c@three.example", "emial": "typo"},
        {"source": "Organic Web", "email": "d@four.example", "employee_count": -3},
        {"source": "Organic Web", "external_id": "crm-9"},
    ]
    response = post_json(client_for(world.marketing), "/api/leads/batch", {"items": items})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["received"], body["created"], body["merged"], body["invalid"]) == (6, 2, 0, 4)
    results = [(i["index"], i["result"]) for i in body["items"]]
    assert results == [(0, "created"), (1, "invalid"), (2, "invalid"), (3, "invalid"),
                       (4, "invalid"), (5, "created")]
    fields = {i["index"]: sorted(e["field"] for e in i["errors"]) for i in body["items"]}
    assert fields[1] == ["items[1].email"]
    assert fields[2] == ["items[2].country"]
    assert fields[3] == ["items[3].emial"]  # refused by name before the source is looked up
    assert fields[4] == ["items[4].employee_count"]
    assert all(e["message"] for i in body["items"] for e in i["errors"])
    stored = Lead.objects.order_by("pk")
    assert [lead.email or lead.external_id for lead in stored] == ["a@one.example", "crm-9"]
    assert [i["lead"] for i in body["items"] if i["lead"]] == [lead.pk for lead in stored]
    # Every stored lead went through create_lead: history row and outbox event.
    assert StageChange.objects.filter(transition="create").count() == 2
    assert OutboxEvent.objects.filter(name="lead.created").count() == 2


def test_an_unknown_source_is_reported_for_its_item(world):
    response = post_json(
        client_for(world.marketing), "/api/leads/batch",
        {"items": [{"source": "Billboards", "email": "x@y.example"}]},
    )
    item = response.json()["items"][0]
    assert item["errors"] == [
        {"field": "items[0].source", "message": "there is no source 'Billboards'"}
    ]


def test_the_same_person_twice_in_one_batch_is_one_lead(world):
    world.lead(email="old@known.example", title="")
    items = [
        {"source": "Organic Web", "email": "new@person.example", "title": "Analyst"},
        {"source": "Organic Web", "email": "NEW@person.example", "title": "Director"},
        {"source": "Organic Web", "email": "old@known.example", "title": "CFO"},
    ]
    body = post_json(client_for(world.marketing), "/api/leads/batch", {"items": items}).json()
    assert [i["result"] for i in body["items"]] == ["created", "merged", "merged"]
    assert body["items"][0]["lead"] == body["items"][1]["lead"]
    assert Lead.objects.get(email_key="new@person.example").title == "Director"
    assert Lead.objects.get(email_key="old@known.example").title == "CFO"
    assert Lead.objects.count() == 2


def test_lookups_are_in_bulk(world):
    """The queries to validate and match a batch do not grow with it: per item there is only
    the work of creating or merging one lead."""

    def queries(n: int, offset: int) -> int:
        items = [
            {"source": "Organic Web", "email": f"p{offset + i}@bulk.example"} for i in range(n)
        ]
        api = client_for(world.marketing)
        with CaptureQueriesContext(connection) as ctx:
            response = post_json(api, "/api/leads/batch", {"items": items})
        assert response.json()["created"] == n
        return len(ctx.captured_queries)

    one, eleven = queries(1, 0), queries(11, 100)
    per_lead = (eleven - one) / 10
    fixed = one - per_lead
    assert fixed <= 8, (one, eleven)
    # create_lead's own work (routing, insert, history, outbox, scoring, savepoint).
    assert per_lead <= 14, (one, eleven)


def test_a_batch_is_at_most_5000_items(world):
    items = [{"source": "Organic Web"}] * 5001
    response = post_json(client_for(world.marketing), "/api/leads/batch", {"items": items})
    assert response.status_code == 422
    assert response.json()["field"] == "items"
    assert not Lead.objects.exists()


def test_sales_may_not_create_leads(world):
    response = post_json(
        client_for(world.sdr), "/api/leads/batch", {"items": [{"source": "Organic Web"}]}
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_an_item_refused_while_it_is_stored_does_not_stop_the_batch(world):
    """A value only the model's full validation catches (a head-count too large for the
    column) is refused inside create_lead; the items after it are stored all the same."""
    items = [
        {"source": "Organic Web", "email": "one@x.example"},
        {"source": "Organic Web", "email": "two@x.example", "employee_count": 10**19},
        {"source": "Organic Web", "email": "three@x.example"},
    ]
    body = post_json(client_for(world.marketing), "/api/leads/batch", {"items": items}).json()
    assert [i["result"] for i in body["items"]] == ["created", "invalid", "created"]
    assert [e["field"] for e in body["items"][1]["errors"]] == ["items[1].employee_count"]
    assert sorted(Lead.objects.values_list("email", flat=True)) == [
        "one@x.example", "three@x.example"
    ]


def test_an_item_that_is_not_an_object_is_refused_alone(world):
    items = [{"source": "Organic Web", "email": "ok@x.example"}, "not a lead", 7]
    body = post_json(client_for(world.marketing), "/api/leads/batch", {"items": items}).json()
    assert [i["result"] for i in body["items"]] == ["created", "invalid", "invalid"]
    assert body["items"][1]["errors"][0]["field"] == "items[1]"
    assert Lead.objects.count() == 1
