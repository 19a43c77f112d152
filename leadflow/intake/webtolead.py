"""Web-to-lead: a public HTML form posts a lead straight to leadflow.

The field names are Salesforce's Web-to-Lead ones, so an existing form works by changing its
`action` to https://<leadflow>/servlet/servlet.WebToLead?encoding=UTF-8 (the form key is its
`oid`), or to /forms/<key>:

- first_name, last_name, email, company, title, phone, industry: the lead's field;
- country: `country` as ISO alpha-2 when recognised ("Germany", "USA", "DE"), else the
  custom attribute `country_name`;
- URL (or website): `domain` (the host, without www.);
- employees: `employee_count` when a whole number, else the custom attribute `employees`;
- lead_source, utm_source: the source; Campaign_ID, utm_campaign: the campaign (below);
- mobile, city, state, zip, street, salutation, description, fax, member_status,
  utm_medium, utm_term, utm_content and Salesforce custom fields (00N…): custom attributes
  under the posted name;
- retURL: where the browser goes afterwards (a host the form allows, else the thank-you page);
- oid, encoding, debug, debugEmail, submit, the honeypot and anything else: nothing.

Source: `utm_source`, else `lead_source`, names a source (case-insensitively); one that names
no source is kept as a custom attribute and the form's source is used — unless the form
allows creating sources (`create_sources`, off by default: a typo in a link would otherwise
add a source to every cost report). Campaign: `Campaign_ID` (a campaign's external id, or its
leadflow id), else `utm_campaign` (a campaign of the source, by name or external id), else the
form's campaign; a campaign found brings its own source, so costs stay with it.

Spam is kept out by three checks, in order, each rejection stored as a RejectedPost: a form
key that is unknown or switched off; more than LEADFLOW_FORM_POSTS_PER_MINUTE posts from one
client address in a minute (counted in the database: every server worker shares the limit);
the form's honeypot field filled in (people never see it). A post with an invalid value (an
e-mail that is not one) is rejected too, naming the field, so the person can correct it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from leadflow.intake import countries
from leadflow.intake import leads as intake
from leadflow.intake.models import ClientPosts, RejectedPost, WebForm
from leadflow.leads.lifecycle import Forbidden
from leadflow.leads.models import Campaign, Source

logger = logging.getLogger(__name__)

CHANNEL = "web-to-lead"
DIRECT = ("first_name", "last_name", "email", "company", "title", "phone", "industry")
KEPT_AS_CUSTOM = (
    "mobile", "city", "state", "zip", "street", "salutation", "description", "fax",
    "member_status", "utm_medium", "utm_term", "utm_content",
)
IGNORED = frozenset({"oid", "encoding", "debug", "debugEmail", "submit", "retURL", "utm_source",
                     "utm_campaign", "lead_source", "Campaign_ID"})
# A lead someone can follow up: one of these is required.
REACHABLE = ("email", "phone", "last_name")
# After this many rate-limited posts from one address in a minute, further ones are only
# logged by the server (a flood must not fill the database with its copies).
STORED_OVER_LIMIT = 20


@dataclass
class Received:
    """What became of a post: `stored` (created or merged), or `rejected` with a reason."""

    status: str
    reason: str = ""
    detail: str = ""
    form: WebForm | None = None
    outcome: intake.Outcome | None = None
    errors: list[dict] = field(default_factory=list)
    redirect_to: str | None = None


def receive(
    form_key: str, posted: Mapping[str, str], *, client: str, now: datetime | None = None
) -> Received:
    """Check a form post and store its lead; every rejection is recorded."""
    now = now or timezone.now()
    data = {name: value for name, value in posted.items() if isinstance(value, str)}
    form = WebForm.objects.select_related("source", "campaign", "owner").filter(
        key=form_key
    ).first() if form_key else None
    if form is None:
        return _reject(None, form_key, client, data, RejectedPost.Reason.UNKNOWN_FORM,
                       f"no web form has the key {form_key!r}", now)
    if not form.active:
        return _reject(form, form_key, client, data, RejectedPost.Reason.INACTIVE_FORM,
                       f"the form {form.name!r} is switched off", now)
    posts = count_post(client, now)
    limit = settings.LEADFLOW_FORM_POSTS_PER_MINUTE
    if posts > limit:
        detail = f"{posts} posts from {client} this minute (the limit is {limit})"
        if posts > limit + STORED_OVER_LIMIT:
            logger.warning("web-to-lead post rejected, not stored: %s", detail)
            return Received("rejected", RejectedPost.Reason.RATE_LIMITED, detail, form)
        return _reject(form, form_key, client, data, RejectedPost.Reason.RATE_LIMITED, detail, now)
    if data.get(form.honeypot, "").strip():
        received = _reject(form, form_key, client, data, RejectedPost.Reason.HONEYPOT,
                           f"the hidden field {form.honeypot!r} was filled in", now)
        # Answered like a success: a bot learns nothing from it.
        received.redirect_to = return_url(form, data)
        return received
    arrival = to_arrival(form, data)
    if not any(arrival.fields.get(name) for name in REACHABLE):
        received = _reject(form, form_key, client, data, RejectedPost.Reason.INVALID,
                           "email: give an e-mail address, a phone number or a last name", now)
        received.errors = [{"field": "email", "message": "give an e-mail address, a phone "
                            "number or a last name, so that someone can reach you"}]
        return received
    try:
        outcome = intake.intake_lead(
            arrival, actor=form.owner, channel=CHANNEL, now=now, record_creation=True
        )
    except Forbidden as refusal:
        # The form's owner lost the right to create leads since it was set up.
        return _reject(form, form_key, client, data, RejectedPost.Reason.MISCONFIGURED,
                       refusal.message, now)
    if outcome.result == intake.INVALID:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in outcome.errors)
        received = _reject(form, form_key, client, data, RejectedPost.Reason.INVALID, detail, now)
        received.errors = outcome.errors
        return received
    return Received("stored", form=form, outcome=outcome, redirect_to=return_url(form, data))


def return_url(form: WebForm, data: Mapping[str, str]) -> str | None:
    """retURL when it is an http(s) address on a host the form allows; else None (the
    thank-you page): an open redirect would let anyone bounce people through leadflow."""
    url = (data.get("retURL") or "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not form.allows_return_to(parts.hostname):
        return None
    return url


def _reject(form, form_key, client, data, reason, detail, now) -> Received:
    RejectedPost.objects.create(
        form=form, form_key=form_key[:100], client_address=client, reason=reason,
        detail=detail, fields=data, at=now,
    )
    logger.info("web-to-lead post rejected (%s) from %s: %s", reason, client, detail)
    return Received("rejected", reason, detail, form)


# --- rate limit ----------------------------------------------------------------------------


def count_post(client: str, now: datetime) -> int:
    """Count a post from `client` in the current minute; the posts so far, this one included.
    One statement (insert, or add one on conflict), so concurrent workers count exactly."""
    window = now.replace(second=0, microsecond=0)
    q = connection.ops.quote_name  # "window" is an SQL keyword
    table, client_col, window_col, posts_col = (
        q(ClientPosts._meta.db_table), q("client_address"), q("window"), q("posts")
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({client_col}, {window_col}, {posts_col}) VALUES (%s, %s, 1) "
            f"ON CONFLICT ({client_col}, {window_col}) "
            f"DO UPDATE SET {posts_col} = {table}.{posts_col} + 1 RETURNING {posts_col}",
            [client, window],
        )
        (posts,) = cursor.fetchone()
        # Past minutes of this address are of no more use.
        ClientPosts.objects.filter(client_address=client, window__lt=window).delete()
    return posts


# --- mapping -------------------------------------------------------------------------------


def to_arrival(form: WebForm, data: Mapping[str, str]) -> intake.Arrival:
    """The posted fields as the lead they describe (see the table above)."""
    value = {name: (data.get(name) or "").strip() for name in data}
    fields: dict = {name: value[name] for name in DIRECT if value.get(name)}
    custom: dict = {name: value[name] for name in KEPT_AS_CUSTOM if value.get(name)}
    custom.update({n: v for n, v in value.items() if n.startswith("00N") and v})
    if country := value.get("country"):
        code = countries.iso2(country)
        if code:
            fields["country"] = code
        else:
            custom["country_name"] = country
    if site := value.get("URL") or value.get("website"):
        host = urlsplit(site if "//" in site else f"//{site}").hostname or ""
        if host:
            fields["domain"] = host.removeprefix("www.")
    if employees := value.get("employees"):
        digits = employees.replace(",", "").replace(" ", "")
        if digits.isdigit():
            fields["employee_count"] = int(digits)
        else:
            custom["employees"] = employees
    source = _source(form, value, custom)
    campaign = _campaign(form, source, value, custom)
    if campaign is not None:
        fields["campaign"] = campaign
        source = campaign.source
    if custom:
        fields["custom"] = custom
    return intake.Arrival(0, source, fields)


def _source(form: WebForm, value: dict, custom: dict) -> Source:
    for name in ("utm_source", "lead_source"):
        wanted = value.get(name)
        if not wanted:
            continue
        found = Source.objects.filter(name__iexact=wanted).first()
        if found is None and name == "utm_source" and form.create_sources:
            found, _ = Source.objects.get_or_create(
                name=wanted[:100], defaults={"channel": value.get("utm_medium", "")[:50]}
            )
        if found is not None:
            return found
        custom[name] = wanted
    return form.source


def _campaign(form: WebForm, source: Source, value: dict, custom: dict) -> Campaign | None:
    if wanted := value.get("Campaign_ID"):
        q = Q(external_id=wanted) | (Q(pk=int(wanted)) if wanted.isdigit() else Q())
        found = Campaign.objects.select_related("source").filter(q).first()
        if found is not None:
            return found
        custom["Campaign_ID"] = wanted
    if wanted := value.get("utm_campaign"):
        found = (
            Campaign.objects.select_related("source")
            .filter(Q(name__iexact=wanted) | Q(external_id=wanted), source=source)
            .first()
        )
        if found is not None:
            return found
        custom["utm_campaign"] = wanted
    if form.campaign_id and form.campaign.source_id == source.pk:
        return form.campaign
    return None
