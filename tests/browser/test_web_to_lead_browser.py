"""A visitor fills in a company's Salesforce Web-to-Lead form, whose action now points at
leadflow, on the company's own site (another origin), and lands on the site's retURL page."""

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from leadflow.intake.models import WebForm
from leadflow.leads.models import Activity, Campaign, Lead, Source

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FORM_PAGE = Path(__file__).resolve().parents[1] / "test_web_to_lead_form.html"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def company_site(tmp_path):
    """The company's web site: a static server on localhost, another origin than leadflow."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=tmp_path))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_visitor_submits_the_form_and_lands_on_retURL(world, live_server, company_site, page):
    folder, site = company_site
    webinars = Source.objects.create(name="Webinars")
    Campaign.objects.create(source=webinars, name="Spring webinar", external_id="701000000000ABC")
    form = WebForm.objects.create(
        name="Contact us", source=world.source, owner=world.marketing, return_hosts="127.0.0.1"
    )
    (folder / "contact.html").write_text(
        FORM_PAGE.read_text().format(
            action=f"{live_server.url}/servlet/servlet.WebToLead?encoding=UTF-8",
            key=form.key,
            return_url=f"{site}/thanks.html",
        )
    )
    (folder / "thanks.html").write_text("<!doctype html><h1>Thanks from Kestrel</h1>")

    page.goto(f"{site}/contact.html")
    page.get_by_label("First Name").fill("Jürgen")
    page.get_by_label("Last Name").fill("Weiß")
    page.get_by_label("Email").fill("j.weiss@kestrel.example")
    page.get_by_label("Company").fill("Kestrel Robotics")
    page.get_by_label("Country").fill("Germany")
    page.get_by_label("Employees").fill("420")
    page.locator("input[type=submit]").click()

    page.wait_for_url(f"{site}/thanks.html")
    assert page.get_by_role("heading").inner_text() == "Thanks from Kestrel"
    lead = Lead.objects.get()
    assert (lead.name, lead.email, lead.company) == (
        "Jürgen Weiß", "j.weiss@kestrel.example", "Kestrel Robotics"
    )
    assert (lead.country, lead.employee_count, lead.campaign.name) == ("DE", 420, "Spring webinar")
    assert Activity.objects.get(lead=lead).source_system == "web-to-lead"
