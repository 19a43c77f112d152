"""Web-to-lead: an HTML form with Salesforce's Web-to-Lead field names posts to leadflow and the
browser is sent on to retURL; spam is kept out, and every rejected post is logged."""

from html.parser import HTMLParser
from pathlib import Path

import pytest
import time_machine
from django.test import Client

from leadflow.intake.models import ClientPosts, RejectedPost, WebForm
from leadflow.leads.models import Activity, Campaign, Lead, OutboxEvent, Source, StageChange

from .conftest import PASSWORD

# A form page as Salesforce's Web-to-Lead generator writes it, with its action moved to leadflow.
SALESFORCE_FORM = (Path(__file__).parent / "test_web_to_lead_form.html").read_text()


class FormReader(HTMLParser):
    """What a browser would send for a form: its action and every named field's value."""

    def __init__(self):
        super().__init__()
        self.action, self.fields, self._textarea = "", {}, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.action = attrs["action"]
        elif tag == "input" and attrs.get("name") and attrs.get("type") != "submit":
            self.fields[attrs["name"]] = attrs.get("value") or ""
        elif tag == "textarea":
            self._textarea = attrs["name"]
            self.fields[self._textarea] = ""

    def handle_data(self, data):
        if self._textarea:
            self.fields[self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None


@pytest.fixture
def form(world):
    webinars = Source.objects.create(name="Webinars")
    Campaign.objects.create(source=webinars, name="Spring webinar", external_id="701000000000ABC")
    return WebForm.objects.create(
        name="Contact us", source=world.source, owner=world.marketing, return_hosts="testserver"
    )


def read_form(html: str) -> FormReader:
    reader = FormReader()
    reader.feed(html)
    return reader


def filled(form: WebForm, **values) -> tuple[str, dict]:
    reader = read_form(
        SALESFORCE_FORM.format(
            action="/servlet/servlet.WebToLead?encoding=UTF-8", key=form.key,
            return_url="http://testserver/forms/thanks/?from=form",
        )
    )
    reader.fields.update(values)
    return reader.action, reader.fields


PERSON = {
    "first_name": "Jürgen", "last_name": "Weiß", "email": "j.weiss@kestrel.example",
    "company": "Kestrel Robotics", "title": "Head of Sales Ops", "phone": "+49 30 1234",
    "city": "Berlin", "state": "BE", "country": "Germany", "URL": "https://www.kestrel.example/",
    "employees": "420", "00N5g00000ABCDE": "Routing", "description": "Call me after 3pm",
}


def test_a_salesforce_web_to_lead_form_creates_a_lead_and_lands_on_retURL(form):
    action, fields = filled(form, **PERSON)
    response = Client().post(action, fields, follow=True)
    assert response.redirect_chain == [("http://testserver/forms/thanks/?from=form", 303)]
    assert response.status_code == 200 and b"Thank you" in response.content
    lead = Lead.objects.get()
    assert (lead.first_name, lead.last_name, lead.email, lead.company, lead.title) == (
        "Jürgen", "Weiß", "j.weiss@kestrel.example", "Kestrel Robotics", "Head of Sales Ops"
    )
    assert (lead.country, lead.domain, lead.employee_count) == ("DE", "kestrel.example", 420)
    assert lead.custom == {
        "city": "Berlin", "state": "BE", "description": "Call me after 3pm",
        "00N5g00000ABCDE": "Routing",
    }
    # Campaign_ID found the campaign; its source is the lead's.
    assert (lead.campaign.name, lead.source.name) == ("Spring webinar", "Webinars")
    # Created through the lifecycle as the form's owner; the form fill is an activity.
    assert StageChange.objects.get(lead=lead).actor == form.owner
    assert OutboxEvent.objects.filter(lead=lead, name="lead.created").exists()
    activity = Activity.objects.get(lead=lead)
    assert (activity.kind, activity.source_system) == ("form_fill", "web-to-lead")
    assert not RejectedPost.objects.exists()


def test_the_forms_path_takes_the_key_in_the_address(form):
    response = Client().post(f"/forms/{form.key}", {"email": "a@b.example", "last_name": "B"})
    assert (response.status_code, response["Location"]) == (303, "/forms/thanks/")
    assert Lead.objects.get().source == form.source


def test_utm_parameters_map_to_source_and_campaign(form, world):
    ads = Source.objects.create(name="Paid Search")
    Campaign.objects.create(source=ads, name="Brand Q4")
    Client().post(f"/forms/{form.key}", {
        "email": "u@tm.example", "utm_source": "paid search", "utm_medium": "cpc",
        "utm_campaign": "brand q4",
    })
    lead = Lead.objects.get()
    assert (lead.source, lead.campaign.name) == (ads, "Brand Q4")
    assert lead.custom == {"utm_medium": "cpc"}


def test_an_unknown_utm_source_is_kept_and_the_forms_source_used(form):
    Client().post(f"/forms/{form.key}", {"email": "u@tm.example", "utm_source": "newsletter-x",
                                         "utm_campaign": "nope"})
    lead = Lead.objects.get()
    assert lead.source == form.source
    assert lead.custom == {"utm_source": "newsletter-x", "utm_campaign": "nope"}
    assert not Source.objects.filter(name="newsletter-x").exists()


def test_a_form_may_allow_utm_sources_to_create_sources(form):
    form.create_sources = True
    form.save()
    Client().post(f"/forms/{form.key}", {"email": "u@tm.example", "utm_source": "Podcast",
                                         "utm_medium": "audio"})
    source = Source.objects.get(name="Podcast")
    assert (Lead.objects.get().source, source.channel) == (source, "audio")


def test_the_same_person_posting_again_is_merged(form):
    Client().post(f"/forms/{form.key}", {"email": "kim@x.example", "title": "Analyst"})
    Client().post(f"/forms/{form.key}", {"email": "KIM@x.example", "title": "Manager",
                                         "city": "Oslo"})
    lead = Lead.objects.get()
    assert (lead.title, lead.custom) == ("Manager", {"city": "Oslo"})
    fills = Activity.objects.filter(lead=lead, kind="form_fill").order_by("pk")
    assert [a.detail.split(" (")[0] for a in fills] == [
        "new lead", "arrived again; changed custom, title"
    ]


def test_a_retURL_on_a_host_the_form_does_not_allow_goes_to_the_thank_you_page(form):
    response = Client().post(
        f"/forms/{form.key}", {"email": "a@b.example", "retURL": "https://evil.example/phish"}
    )
    assert response["Location"] == "/forms/thanks/"
    response = Client().post(
        f"/forms/{form.key}", {"email": "a@b.example", "retURL": "javascript:alert(1)"}
    )
    assert response["Location"] == "/forms/thanks/"


def test_a_filled_honeypot_is_rejected_logged_and_answered_like_a_success(form):
    action, fields = filled(form, **PERSON, hp_website="http://spam.example")
    response = Client().post(action, fields)
    assert (response.status_code, response["Location"]) == (
        303, "http://testserver/forms/thanks/?from=form"
    )
    assert not Lead.objects.exists()
    rejected = RejectedPost.objects.get()
    assert (rejected.reason, rejected.form, rejected.client_address) == (
        "honeypot", form, "127.0.0.1"
    )
    assert rejected.fields["email"] == "j.weiss@kestrel.example"


def test_posts_over_the_limit_per_client_address_are_refused_and_logged(form, settings):
    settings.LEADFLOW_FORM_POSTS_PER_MINUTE = 3
    with time_machine.travel("2026-03-02 10:00:05Z", tick=False):
        answers = [
            Client(REMOTE_ADDR="203.0.113.9").post(f"/forms/{form.key}", {"email": f"{i}@x.ex"})
            for i in range(5)
        ]
        other = Client(REMOTE_ADDR="198.51.100.1").post(f"/forms/{form.key}", {"email": "o@x.ex"})
    assert [a.status_code for a in answers] == [303, 303, 303, 429, 429]
    assert answers[3]["Retry-After"] == "60"
    assert other.status_code == 303  # another address has its own count
    assert Lead.objects.count() == 4
    limited = RejectedPost.objects.filter(reason="rate-limited")
    assert [r.fields["email"] for r in limited.order_by("pk")] == ["3@x.ex", "4@x.ex"]
    with time_machine.travel("2026-03-02 10:01:01Z", tick=False):
        later = Client(REMOTE_ADDR="203.0.113.9").post(f"/forms/{form.key}", {"email": "5@x.ex"})
    assert later.status_code == 303
    # The past minute's count is gone.
    assert ClientPosts.objects.filter(client_address="203.0.113.9").count() == 1


def test_an_unknown_or_switched_off_form_is_refused_and_logged(form):
    response = Client().post("/forms/no-such-key", {"email": "a@b.example"})
    assert response.status_code == 404
    form.active = False
    form.save()
    response = Client().post("/servlet/servlet.WebToLead", {"oid": form.key, "email": "a@b.ex"})
    assert response.status_code == 404
    assert sorted(RejectedPost.objects.values_list("reason", "form_key")) == [
        ("inactive-form", form.key), ("unknown-form", "no-such-key")
    ]
    assert not Lead.objects.exists()


def test_an_invalid_email_is_refused_naming_the_field(form):
    response = Client().post(f"/forms/{form.key}", {"email": "not an address", "last_name": "X"},
                             HTTP_REFERER="https://www.site.example/contact")
    assert response.status_code == 400
    assert b"<strong>email</strong>" in response.content
    assert b'href="https://www.site.example/contact"' in response.content
    rejected = RejectedPost.objects.get()
    assert (rejected.reason, rejected.fields["email"]) == ("invalid", "not an address")
    assert rejected.detail.startswith("email:")
    assert not Lead.objects.exists()


def test_a_post_nobody_could_follow_up_is_refused(form):
    response = Client().post(f"/forms/{form.key}", {"company": "Acme"})
    assert response.status_code == 400
    assert RejectedPost.objects.get().reason == "invalid"


def test_the_form_endpoints_need_no_csrf_token(form):
    client = Client(enforce_csrf_checks=True)
    assert client.post(f"/forms/{form.key}", {"email": "a@b.example"}).status_code == 303
    response = client.post("/servlet/servlet.WebToLead?encoding=UTF-8",
                           {"oid": form.key, "email": "c@d.example"})
    assert response.status_code == 303


def test_a_latin_1_form_is_read_in_its_encoding(form):
    body = f"oid={form.key}&last_name=Wei%DF&email=w%40x.example"
    response = Client().post("/servlet/servlet.WebToLead?encoding=ISO-8859-1", body,
                             content_type="application/x-www-form-urlencoded")
    assert response.status_code == 303
    assert Lead.objects.get().last_name == "Weiß"


def test_a_form_on_a_page_without_a_charset_is_read_as_browsers_send_it(form):
    """Browsers post such a page's form in windows-1252, whatever the action says."""
    body = f"oid={form.key}&last_name=Wei%DF&email=w%40x.example"
    response = Client().post("/servlet/servlet.WebToLead?encoding=UTF-8", body,
                             content_type="application/x-www-form-urlencoded")
    assert response.status_code == 303
    assert Lead.objects.get().last_name == "Weiß"


def test_staff_see_the_rejected_posts(form, world):
    Client().post("/forms/nope", {"email": "spam@x.example"})
    client = Client()
    client.login(username="admin", password=PASSWORD)
    page = client.get("/forms/rejected/")
    assert page.status_code == 200
    assert b"Unknown form key" in page.content and b"spam@x.example" in page.content
    client.login(username="marketing", password=PASSWORD)
    assert client.get("/forms/rejected/").status_code == 302  # to the admin login


def test_a_form_whose_owner_may_not_create_leads_is_refused_and_logged(form, world):
    from django.core.exceptions import ValidationError

    form.owner = world.sdr
    with pytest.raises(ValidationError) as refused:
        form.full_clean()
    assert "owner" in refused.value.message_dict
    form.save()  # saved past the admin's check (or the person changed role since)
    response = Client().post(f"/forms/{form.key}", {"email": "a@b.example"})
    assert response.status_code == 503
    rejected = RejectedPost.objects.get()
    assert (rejected.reason, rejected.fields) == ("misconfigured", {"email": "a@b.example"})
    assert not Lead.objects.exists()
