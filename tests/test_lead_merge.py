"""The merge policy, on plain values: what a known lead becomes when the person arrives again."""

from leadflow.leads.merge import changes

KNOWN = {
    "email": "pat@acme.com",
    "external_id": "",
    "first_name": "Pat",
    "title": "Analyst",
    "phone": "+1 555 0100",
    "employee_count": 200,
    "custom": {"plan": "free", "region": "west"},
}


def test_blank_values_never_erase():
    assert changes(KNOWN, {"title": "", "phone": None, "custom": {"plan": ""}}) == {}


def test_newest_non_blank_person_and_company_values_win():
    assert changes(KNOWN, {"title": "VP Sales", "employee_count": 250, "first_name": "Pat"}) == {
        "title": "VP Sales",
        "employee_count": 250,
    }


def test_the_keys_a_lead_is_found_by_are_set_only_while_missing():
    assert changes(KNOWN, {"email": "pat@other.com", "external_id": "00Q1"}) == {
        "external_id": "00Q1"
    }


def test_custom_attributes_merge_key_by_key():
    assert changes(KNOWN, {"custom": {"plan": "pro", "seats": 5}}) == {
        "custom": {"plan": "pro", "region": "west", "seats": 5}
    }


def test_source_campaign_and_lifecycle_fields_are_never_merged():
    assert changes(KNOWN, {"source": "Webinar", "campaign": "Q3", "stage": "sql", "owner": 7}) == {}
