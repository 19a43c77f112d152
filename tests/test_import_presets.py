"""Built-in presets read a Salesforce Lead export and a HubSpot contacts export as they come;
columns no mapping names become custom attributes; a saved preset maps like a built-in one."""

import pytest
from django.core.management import CommandError, call_command

from leadflow.leads.models import Lead, Source, StageChange
from leadflow.transfer.models import ImportPreset
from leadflow.transfer.testing import write_csv

SALESFORCE = ["Lead ID", "First Name", "Last Name", "Title", "Company", "Email", "Phone",
              "Lead Source", "Lead Status", "Country", "Industry", "No. of Employees",
              "Created Date", "Rating", "Street"]
HUBSPOT = ["Record ID", "First Name", "Last Name", "Email", "Phone Number", "Company Name",
           "Job Title", "Country/Region", "Industry", "Number of Employees", "Original Source",
           "Lifecycle Stage", "Create Date", "Became a Marketing Qualified Lead Date",
           "Became a Customer Date"]


def test_a_salesforce_lead_export(world, tmp_path):
    Source.objects.create(name="Web")
    path = write_csv(tmp_path / "sf.csv", SALESFORCE, [[
        "00Q5g00000AbCdE", "Dana", "Cho", "VP Operations", "Globex", "dana@globex.com",
        "(555) 010-0100", "Web", "Open - Not Contacted", "US", "Manufacturing", "1,200",
        "03/14/2025 9:30 AM", "Hot", "1 Main St",
    ]])
    call_command("import", str(path), preset="salesforce-leads", quiet=True,
                 errors=str(tmp_path / "e.csv"))

    lead = Lead.objects.get()
    assert (lead.external_id, lead.first_name, lead.last_name, lead.title, lead.company) == (
        "00Q5g00000AbCdE", "Dana", "Cho", "VP Operations", "Globex")
    assert (lead.email, lead.phone, lead.country, lead.industry, lead.employee_count) == (
        "dana@globex.com", "(555) 010-0100", "US", "Manufacturing", 1200)
    assert lead.source.name == "Web"
    assert lead.created_at.isoformat() == "2025-03-14T09:30:00+00:00"
    assert lead.custom == {"lead_status": "Open - Not Contacted", "rating": "Hot",
                           "street": "1 Main St"}


def test_a_hubspot_contacts_export_with_its_lifecycle_dates(world, tmp_path):
    path = write_csv(tmp_path / "hs.csv", HUBSPOT, [[
        "51", "Ari", "Lind", "ari@initech.io", "+46 8 123", "Initech", "CTO", "Sweden",
        "Software", "40", "Organic Web", "customer", "2025-01-10 08:00",
        "2025-01-12 10:00", "2025-02-20 17:00",
    ]])
    call_command("import", str(path), preset="hubspot-contacts", quiet=True,
                 errors=str(tmp_path / "e.csv"))

    lead = Lead.objects.get()
    assert (lead.external_id, lead.title, lead.company, lead.stage) == (
        "51", "CTO", "Initech", "won")
    # "Sweden" is a name, not an ISO code: kept as a custom attribute, not lost.
    assert lead.country == "" and lead.custom == {"country": "Sweden",
                                                  "lifecycle_stage": "customer"}
    assert list(StageChange.objects.filter(lead=lead, entity="lead")
                .values_list("transition", flat=True)) == [
        "create", "qualify", "accept", "convert", "accept", "win"]


def test_a_saved_preset_and_an_explicit_map(world, tmp_path):
    ImportPreset.objects.create(
        name="trade show", mapping={"E-Mail": "email", "Firma": "company", "Notiz": "-"},
        options={"source": "Organic Web"},
    )
    path = write_csv(tmp_path / "ts.csv", ["E-Mail", "Firma", "Notiz", "Stand"],
                     [["kim@acme.de", "Acme GmbH", "call back", "B12"]])
    call_command("import", str(path), preset="trade show", map=["Stand=custom.booth"],
                 quiet=True, errors=str(tmp_path / "e.csv"))

    lead = Lead.objects.get()
    assert (lead.email, lead.company, lead.source.name, lead.custom) == (
        "kim@acme.de", "Acme GmbH", "Organic Web", {"booth": "B12"})


def test_two_columns_mapped_to_one_field_are_refused(world, tmp_path):
    path = write_csv(tmp_path / "x.csv", ["Email", "Work Email", "source"],
                     [["a@x.com", "b@x.com", "Organic Web"]])
    with pytest.raises(CommandError, match="'Email' and 'Work Email' are both mapped to 'email'"):
        call_command("import", str(path), map=["Work Email=email"], quiet=True)
