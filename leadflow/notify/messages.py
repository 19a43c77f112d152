"""What a notification says: a title and a body per event, written for the person reading it,
with times in their own time zone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from django.urls import reverse

from leadflow.accounts.models import User
from leadflow.leads.models import HandoffKind, ReasonCode, Stage
from leadflow.leads.sla import FIRST_TOUCH_MISSED_EVENT, REMINDER_EVENT

KIND_LABEL = {HandoffKind.MQL: "MQL", HandoffKind.SQL: "SQL"}


def lead_url(payload: dict) -> str:
    lead_id = (payload.get("lead") or {}).get("id")
    return reverse("lead_detail", args=[lead_id]) if lead_id else ""


def render(name: str, payload: dict, user: User) -> tuple[str, str]:
    """(title, body) of event `name` for `user`."""
    return RENDERERS.get(name, _generic)(payload, _Context(payload, user))


class _Context:
    def __init__(self, payload: dict, user: User) -> None:
        self.user = user
        self.lead = payload.get("lead") or {}
        self.handoff = payload.get("handoff") or {}

    @property
    def lead_name(self) -> str:
        name, company = self.lead.get("name") or "a lead", self.lead.get("company")
        return f"{name} ({company})" if company else name

    @property
    def kind(self) -> str:
        return KIND_LABEL.get(self.handoff.get("kind"), "lead")

    @property
    def offered_to(self) -> str:
        rep = self.handoff.get("offered_to")
        if rep == self.user.username:
            return "you"
        return rep or f"the {self.handoff.get('team') or 'team'} queue"

    def when(self, value: str | None) -> str:
        """An ISO time from a payload, in the reader's zone, with the zone shown."""
        if not value:
            return "—"
        moment = datetime.fromisoformat(value).astimezone(ZoneInfo(self.user.display_time_zone))
        return moment.strftime("%a %d %b %Y %H:%M %Z")


def _duration(seconds: int) -> str:
    minutes = max(0, int(seconds)) // 60
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"


def _reason(payload: dict) -> str:
    code = payload.get("reason")
    if not code:
        return "no reason given"
    label = ReasonCode.objects.filter(code=code).values_list("label", flat=True).first()
    return label or code


def _offered(p: dict, c: _Context) -> tuple[str, str]:
    return (
        f"New {c.kind} for you to decide: {c.lead_name}"
        if c.offered_to == "you"
        else f"New {c.kind} in {c.offered_to}: {c.lead_name}",
        f"{c.lead_name}, from {c.lead.get('source')}, is offered to {c.offered_to}. "
        f"Accept or reject it by {c.when(c.handoff.get('accept_by'))}: "
        "an offer nobody decides goes to the arbiter.",
    )


def _reminder(p: dict, c: _Context) -> tuple[str, str]:
    gone = round(100 * float(p.get("fraction") or 0))
    return (
        f"Reminder: decide on {c.lead_name} by {c.when(c.handoff.get('accept_by'))}",
        f"{gone}% of the time to decide on this {c.kind} has gone; "
        f"{_duration(p.get('business_seconds_left') or 0)} of working time is left. "
        "Accept it, or reject it with a reason: if the deadline passes, the lead is escalated "
        "to the arbiter as ignored.",
    )


def _ignored(p: dict, c: _Context) -> tuple[str, str]:
    return (
        f"Ignored, escalated to the arbiter: {c.lead_name}",
        f"The {c.kind} offered to {c.offered_to} passed its deadline "
        f"({c.when(c.handoff.get('accept_by'))}) without a decision. "
        "The lead is now in the arbiter's queue.",
    )


def _rejected(p: dict, c: _Context) -> tuple[str, str]:
    return (
        f"{p.get('actor') or 'Sales'} rejected {c.lead_name}: {_reason(p)}",
        f"Reason class: {p.get('reason_class') or '—'}. Comment: {p.get('comment') or '—'}\n"
        f"Source: {c.lead.get('source')}. The lead waits in the arbiter's queue.",
    )


def _returned(p: dict, c: _Context) -> tuple[str, str]:
    return (
        f"{p.get('actor') or 'Sales'} returned {c.lead_name}: {_reason(p)}",
        f"Comment: {p.get('comment') or '—'}\n"
        f"Source: {c.lead.get('source')}. The lead waits in the arbiter's queue.",
    )


def _decided(p: dict, c: _Context) -> tuple[str, str]:
    verb = "upheld" if p.get("transition") == "uphold" else "overruled"
    owner = c.lead.get("owner")
    queue = f"the {c.lead.get('owner_team')} queue"
    holder = "you" if owner == c.user.username else owner or queue
    stage = Stage(p["to"]).label if p.get("to") in Stage.values else p.get("to")
    body = f"The arbiter's comment: {p.get('comment') or '—'}\n"
    body += f"The lead is now {stage}, with {holder}."
    if c.handoff.get("accept_by") and verb == "overruled":
        body += f" New deadline: {c.when(c.handoff['accept_by'])}."
    return f"The arbiter {verb} the review of {c.lead_name}", body


def _first_touch_missed(p: dict, c: _Context) -> tuple[str, str]:
    return (
        f"No first touch yet: {c.lead_name}",
        f"Accepted by {c.offered_to} on {c.when(p.get('accepted_at'))}; the first call, "
        f"meeting or note was due by {c.when(p.get('first_touch_by'))}. The odds of "
        "qualifying a lead fall sharply after the first hour.",
    )


def _reassigned(p: dict, c: _Context) -> tuple[str, str]:
    by = p.get("actor") or "leadflow"
    if c.handoff.get("decision") == "pending":
        return (
            f"Reassigned to {c.offered_to}: {c.lead_name}",
            f"{by} gave this {c.kind} to {c.offered_to}. Accept or reject it by "
            f"{c.when(c.handoff.get('accept_by'))}.",
        )
    return f"Reassigned: {c.lead_name}", f"{by} gave this lead to {c.lead.get('owner')}."


def _generic(p: dict, c: _Context) -> tuple[str, str]:
    change = f"{p.get('from')} → {p.get('to')}" if p.get("from") != p.get("to") else ""
    return f"{c.lead_name}: {p.get('transition') or 'update'}", change


RENDERERS: dict[str, Callable[[dict, _Context], tuple[str, str]]] = {
    "handoff.offered": _offered,
    REMINDER_EVENT: _reminder,
    "handoff.ignored": _ignored,
    "handoff.rejected": _rejected,
    "lead.returned": _returned,
    "arbiter.decided": _decided,
    FIRST_TOUCH_MISSED_EVENT: _first_touch_missed,
    "handoff.reassigned": _reassigned,
}


def email_body(body: str, url: str, base_url: str) -> str:
    link = f"\n\nOpen the lead: {base_url}{url}" if url else ""
    return f"{body}{link}\n\n-- \nleadflow\n"

