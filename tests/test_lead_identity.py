"""Leads are recognised by a normalised e-mail key: case never matters, +tags only where safe."""

import pytest

from leadflow.leads.identity import email_key
from leadflow.leads.models import Lead


@pytest.mark.parametrize(
    ("written", "key"),
    [
        ("Pat.Lee@Example.COM", "pat.lee@example.com"),
        ("  pat@example.com ", "pat@example.com"),
        ("Pat+Webinar@Gmail.com", "pat@gmail.com"),
        ("pat+a+b@outlook.com", "pat@outlook.com"),
        # A company's own server may route +tags to another mailbox: not folded.
        ("pat+sales@acme.com", "pat+sales@acme.com"),
        ("", ""),
        (None, ""),
        ("not-an-address", "not-an-address"),
    ],
)
def test_it_normalises_only_what_is_safe(written, key):
    assert email_key(written) == key


def test_saving_a_lead_keeps_its_key_in_step_with_its_email(world):
    lead = world.lead(email="Pat+Promo@GMail.com")
    assert Lead.objects.get(pk=lead.pk).email_key == "pat@gmail.com"
    lead.email = "Someone@Else.org"
    lead.save(update_fields=["email"])
    assert Lead.objects.get(pk=lead.pk).email_key == "someone@else.org"
