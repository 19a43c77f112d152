"""The frame of the web UI: signing in and out, the role-aware navigation, the lead list."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from leadflow.accounts.models import User
from leadflow.leads import actions
from leadflow.leads.models import Source, Stage
from leadflow.web.testing import element, lead_links, nav_labels, text
from tests.conftest import PASSWORD


def client_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("url", ["/", "/leads/", "/leads/1/"])
def test_pages_require_login(world, url):
    """An anonymous visitor is sent to the login page, and back after signing in."""
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={url}"


def test_actions_require_login(world):
    lead = world.lead_at("mql")
    response = Client().post(f"/leads/{lead.pk}/transition/", {"transition": "accept"})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL


def test_it_signs_in_and_lands_on_the_start_page_of_their_role(world):
    client = Client()
    page = client.get("/login/")
    assert '<label class="form-label" for="id_username">Username</label>' in page.text
    response = client.post("/login/", {"username": "sdr", "password": PASSWORD}, follow=True)
    assert [url for url, _ in response.redirect_chain] == ["/", "/inbox/"]
    assert '<h1 class="h3 mb-1">Inbox</h1>' in response.text


def test_a_wrong_password_says_what_to_do(world):
    response = Client().post("/login/", {"username": "sdr", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.text
    assert 'value="sdr"' in response.text  # the username is kept


def test_logout_is_a_post_form_and_signs_out(world):
    client = client_as(world.sdr)
    page = client.get("/leads/")
    assert '<form method="post" action="/logout/"' in page.text
    response = client.post("/logout/")
    assert response["Location"] == "/login/"
    assert client.get("/leads/").status_code == 302


@pytest.mark.parametrize(
    "username, expected",
    [
        ("marketing", ["Leads", "Definitions", "Dashboards", "Import", "Spend", "API docs"]),
        ("marketing_manager", [
            "Team", "Leads", "Definitions", "Dashboards", "Import", "Spend", "API docs",
        ]),
        ("sdr", ["Inbox", "Leads", "Dashboards", "API docs"]),
        ("sales_manager", ["Team", "Leads", "Definitions", "Dashboards", "API docs"]),
        ("ae", ["Inbox", "Leads", "Dashboards", "API docs"]),
        ("field_manager", ["Team", "Leads", "Definitions", "Dashboards", "API docs"]),
        ("arbiter", ["Arbiter queue", "Leads", "Dashboards", "API docs"]),
        ("admin", ["Leads", "Dashboards", "Import", "Spend", "Webhooks", "Admin", "API docs"]),
    ],
)
def test_each_role_sees_its_navigation(world, username, expected):
    user = getattr(world, username)
    html = client_as(user).get("/leads/").text
    assert nav_labels(html) == expected
    signed_in = text(element(html, "signed-in"))
    assert signed_in.startswith(f"{user} {user.get_role_display()}")


def test_navigation_links_go_to_the_pages(world):
    html = client_as(world.admin).get("/leads/").text
    assert 'href="/leads/" aria-current="page">Leads</a>' in html
    assert 'href="/admin/">Admin</a>' in html
    assert 'href="/api/docs">API docs</a>' in html


@pytest.mark.parametrize(
    "username, start",
    [
        ("marketing", "/leads/"),
        ("marketing_manager", "/team/"),
        ("sdr", "/inbox/"),
        ("ae", "/inbox/"),
        ("sales_manager", "/team/"),
        ("field_manager", "/team/"),
        ("arbiter", "/arbiter/"),
        ("admin", "/leads/"),
    ],
)
def test_home_sends_each_role_to_the_page_it_works_in(world, username, start):
    response = client_as(getattr(world, username)).get("/")
    assert response.status_code == 302
    assert response["Location"] == start


# --- the lead list -------------------------------------------------------------------------


def test_the_list_shows_only_leads_the_user_may_see(world):
    inquiry = world.lead_at("inquiry", first_name="Ina")
    mql = world.lead_at("mql", first_name="Mia")
    assert lead_links(client_as(world.sdr).get("/leads/").text) == [mql.pk]
    assert lead_links(client_as(world.marketing).get("/leads/").text) == [inquiry.pk]
    assert lead_links(client_as(world.arbiter).get("/leads/").text) == [mql.pk, inquiry.pk]


def test_the_list_is_newest_first_with_the_columns_people_need(world):
    start = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    older = actions.create_lead(
        actor=world.marketing, source=world.source, now=start, first_name="Old", company="Oldco"
    )
    newer = actions.create_lead(
        actor=None,  # an import: it waits in marketing's queue
        source=world.source,
        now=start + timedelta(hours=1),
        first_name="New",
        last_name="Person",
        company="Newco",
        title="CTO",
    )
    html = client_as(world.marketing).get("/leads/").text
    assert lead_links(html) == [newer.pk, older.pk]
    row = text(element(html, f"lead-{newer.pk}"))
    assert row == ("New Person Newco CTO Organic Web Inquiry Marketing queue 0 0 3 Mar 2025, 10:00")
    assert "Created UTC" in text(html)
    assert '<td class="text-end num">0</td>' in html  # scores are right-aligned


def test_it_filters_by_stage_source_and_owner_and_keeps_the_filters(world):
    webinars = Source.objects.create(name="Webinars")
    mine = world.lead_at("mql", first_name="Mia")
    theirs = qualified(world, webinars, first_name="Web")
    # With every rep out of office, routing leaves the next offer in the team's queue.
    User.objects.filter(team=world.inside_team).update(out_of_office=True)
    queued = qualified(world, world.source, first_name="Queued")
    assert (mine.owner, theirs.owner, queued.owner) == (world.sdr, world.sdr2, None)

    client = client_as(world.sdr)
    assert lead_links(client.get("/leads/?stage=mql").text) == [queued.pk, theirs.pk, mine.pk]
    assert lead_links(client.get(f"/leads/?source={webinars.pk}").text) == [theirs.pk]
    assert lead_links(client.get("/leads/?owner=me").text) == [mine.pk]
    assert lead_links(client.get(f"/leads/?owner={world.sdr2.pk}").text) == [theirs.pk]
    queue = f"team-{world.inside_team.pk}"
    assert lead_links(client.get(f"/leads/?owner={queue}").text) == [queued.pk]
    assert lead_links(client.get("/leads/?stage=sal").text) == []

    html = client.get(f"/leads/?stage=mql&source={webinars.pk}&owner={world.sdr2.pk}").text
    assert lead_links(html) == [theirs.pk]
    assert '<option value="mql" selected>MQL</option>' in html
    assert f'<option value="{webinars.pk}" selected>Webinars</option>' in html
    assert f'<option value="{world.sdr2.pk}" selected>Sdr2</option>' in html
    assert f'<option value="{queue}">Inside sales queue</option>' in html
    assert "Clear filters" in html


def qualified(world, source, **fields):
    lead = actions.create_lead(actor=world.marketing, source=source, **fields)
    return actions.transition(lead, "qualify", actor=world.marketing)


def test_an_invalid_filter_is_reported_not_applied(world):
    lead = world.lead_at("mql")
    html = client_as(world.sdr).get("/leads/?stage=bogus").text
    assert lead_links(html) == [lead.pk]
    assert "This filter was not applied." in html


def test_it_pages_by_fifty_without_counting(world, django_assert_max_num_queries):
    start = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
    created = [
        actions.create_lead(
            actor=world.marketing,
            source=world.source,
            now=start + timedelta(minutes=i),
            first_name=f"Lead{i}",
        )
        for i in range(51)
    ]
    newest_first = [lead.pk for lead in reversed(created)]
    client = client_as(world.marketing)
    # Session, user, their team (time zone), the filter's choices (people, teams, sources),
    # the chosen source, the page of leads, and the notification bell's unread ids.
    with django_assert_max_num_queries(9) as queries:
        first = client.get(f"/leads/?source={world.source.pk}").text
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)
    assert lead_links(first) == newest_first[:50]
    assert f'href="?source={world.source.pk}&amp;page=2" rel="next">Next</a>' in first
    assert "showing 1–50" in first

    second = client.get(f"/leads/?source={world.source.pk}&page=2").text
    assert lead_links(second) == newest_first[50:]
    assert "showing 51–51" in second
    assert 'rel="prev">Previous</a>' in second
    assert 'rel="next"' not in second


def test_the_list_does_not_query_per_row(world, django_assert_max_num_queries):
    for _ in range(6):
        lead = qualified(world, world.source)
        actions.transition(lead, "accept", actor=lead.owner)  # whoever routing offered it to
    client = client_as(world.sdr)
    with django_assert_max_num_queries(8):
        assert len(lead_links(client.get("/leads/").text)) == 6


def test_empty_states_say_what_to_do(world):
    client = client_as(world.sdr)
    assert "Leads appear here when they are offered to your team" in client.get("/leads/").text
    filtered = client.get("/leads/?stage=won").text
    assert "No leads match these filters." in filtered
    assert 'href="/leads/">Clear filters</a>' in filtered
    beyond = client.get("/leads/?page=9").text
    assert "This page is empty." in beyond


def test_pages_use_the_vendored_css_and_htmx_not_a_cdn(world):
    html = client_as(world.sdr).get("/leads/").text
    assert '<link rel="stylesheet" href="/static/vendor/bootstrap.min.css">' in html
    assert '<script src="/static/vendor/htmx.min.js" defer></script>' in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
