"""The lead definition's life: draft -> proposed -> active -> retired (DOMAIN.md).

The only code that changes a definition version. Marketing writes drafts and proposes them; a
proposal becomes active once a marketing manager AND a sales manager (two people) approve it,
retiring the version before it, and every lead is then rescored. A version never changes once
proposed (a database trigger refuses it too); a withdrawn proposal is retired unused.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from leadflow.accounts.models import Role, Side, User
from leadflow.leads.models import LeadDefinition
from leadflow.scoring import active as active_definition
from leadflow.scoring import document
from leadflow.scoring.document import Definition, DocumentInvalid, Problem
from leadflow.scoring.models import Approval

Status = LeadDefinition.Status
STARTER = Path(__file__).with_name("starter.yaml")
MAX_DOCUMENT = 200_000  # characters: a definition is a page or two, not a data dump
SALES_SIDES = frozenset({Side.INSIDE_SALES, Side.FIELD_SALES})


class DefinitionRefused(Exception):
    """A refused change; `code` is stable and shared by the pages and the API."""

    status = 409
    code = "definition-refused"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 problems: list[Problem] | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.status = status or self.status
        self.problems = problems or []
        self.field = field


def _forbidden(message: str) -> DefinitionRefused:
    return DefinitionRefused(message, code="forbidden", status=403)


# --- who may do what ---------------------------------------------------------------------


def may_edit(user: User) -> bool:
    """Marketing writes and proposes definitions (its managers too)."""
    return user.role == Role.MARKETING or (
        user.role == Role.MANAGER and user.team_id is not None and user.side == Side.MARKETING
    )


def approval_side(user: User) -> str | None:
    """The side a manager signs for: marketing, or sales (inside or field sales)."""
    if user.role != Role.MANAGER or user.team_id is None:
        return None
    if user.side == Side.MARKETING:
        return Approval.Side.MARKETING
    if user.side in SALES_SIDES:
        return Approval.Side.SALES
    return None


# --- reading -------------------------------------------------------------------------------


def starter_document() -> str:
    """What a first draft starts from: the active version if it can be read, else the
    starter definition shipped with leadflow."""
    current = active_definition.active()
    return current.row.document if current else STARTER.read_text()


def problems_of(row: LeadDefinition) -> list[Problem]:
    try:
        active_definition.parsed(row)
    except DocumentInvalid as invalid:
        return invalid.problems
    return []


def approvals_missing(row: LeadDefinition) -> list[str]:
    have = {a.side for a in row.approvals.all()}
    return [side for side in (Approval.Side.MARKETING, Approval.Side.SALES) if side not in have]


# --- changing ------------------------------------------------------------------------------


def _check_size(text: str) -> None:
    if len(text) > MAX_DOCUMENT:
        raise DefinitionRefused(
            f"the document is {len(text):,} characters; at most {MAX_DOCUMENT:,}",
            code="invalid-input", status=422, field="document",
        )


def create_draft(
    *,
    actor: User,
    text: str | None = None,
    summary: str = "",
    based_on: LeadDefinition | None = None,
) -> LeadDefinition:
    """A new draft: `text`, else a copy of `based_on`, else of the active version (or the
    starter). A draft may be invalid while it is written; it is checked when proposed."""
    if not may_edit(actor):
        raise _forbidden(f"{actor} may not write lead definitions (marketing does)")
    if text is None:
        text = based_on.document if based_on is not None else starter_document()
    _check_size(text)
    for _attempt in range(3):
        latest = LeadDefinition.objects.aggregate(v=Max("version"))["v"] or 0
        try:
            with transaction.atomic():
                return LeadDefinition.objects.create(
                    version=latest + 1,
                    status=Status.DRAFT,
                    document=text,
                    summary=summary[:300],
                    created_by=actor,
                )
        except IntegrityError:
            continue  # someone took that version number a moment ago
    raise DefinitionRefused("could not number the new version; try again", code="conflict")


def update_draft(
    row: LeadDefinition, *, actor: User, text: str, summary: str | None = None
) -> LeadDefinition:
    """Change a draft's document (and summary). Proposed and later versions never change."""
    if not may_edit(actor):
        raise _forbidden(f"{actor} may not write lead definitions (marketing does)")
    _check_size(text)
    fields = {"document": text}
    if summary is not None:
        fields["summary"] = summary[:300]
    updated = LeadDefinition.objects.filter(pk=row.pk, status=Status.DRAFT).update(**fields)
    if not updated:
        raise _immutable(row)
    row.refresh_from_db()
    return row


def _immutable(row: LeadDefinition) -> DefinitionRefused:
    row.refresh_from_db(fields=["status"])
    return DefinitionRefused(
        f"version {row.version} is {row.status} and can no longer be changed; "
        "start a new draft from it instead",
        code="definition-immutable",
    )


@transaction.atomic
def propose(row: LeadDefinition, *, actor: User) -> LeadDefinition:
    """Offer a valid draft for sign-off; from now on it cannot change."""
    if not may_edit(actor):
        raise _forbidden(f"{actor} may not propose lead definitions (marketing does)")
    row = LeadDefinition.objects.select_for_update().get(pk=row.pk)
    if row.status != Status.DRAFT:
        raise DefinitionRefused(
            f"version {row.version} is {row.status}: only a draft can be proposed",
            code="definition-immutable",
        )
    try:
        document.parse(row.document)
    except DocumentInvalid as invalid:
        raise DefinitionRefused(
            f"version {row.version} has {len(invalid.problems)} problem(s) to fix first: "
            f"{invalid.problems[0]}",
            code="definition-invalid", status=422, problems=invalid.problems, field="document",
        ) from None
    row.status, row.proposed_at, row.proposed_by = Status.PROPOSED, timezone.now(), actor
    row.save(update_fields=["status", "proposed_at", "proposed_by"])
    return row


@dataclass
class Approved:
    definition: LeadDefinition
    approval: Approval
    activated: bool


def approve(row: LeadDefinition, *, actor: User, comment: str = "") -> Approved:
    """Sign a proposal for the approver's side. The second side's signature activates it,
    retires the version before it and rescores every lead (here for a small database, else
    by `leadflow rescore` or the worker)."""
    side = approval_side(actor)
    if side is None:
        raise _forbidden(
            f"{actor} may not approve lead definitions: a marketing manager and a sales "
            "manager do"
        )
    with transaction.atomic():
        row = LeadDefinition.objects.select_for_update().get(pk=row.pk)
        if row.status != Status.PROPOSED:
            raise DefinitionRefused(
                f"version {row.version} is {row.status}: only a proposed version is approved",
                code="not-proposed",
            )
        signed = {a.side: a for a in row.approvals.select_related("approver")}
        if side in signed:
            raise DefinitionRefused(
                f"{signed[side].approver} already approved version {row.version} for "
                f"{Approval.Side(side).label.lower()}",
                code="already-approved",
            )
        if any(a.approver_id == actor.pk for a in signed.values()):
            raise DefinitionRefused(
                f"{actor} already approved version {row.version}; the other side's manager "
                "must approve it too",
                code="already-approved",
            )
        approval = Approval.objects.create(
            definition=row, side=side, approver=actor, comment=comment
        )
        activated = len(signed) + 1 == len(Approval.Side.values)
        if activated:
            _activate(row)
    if activated:
        from leadflow.scoring import rescore

        rescore.after_activation(row)
    return Approved(definition=row, approval=approval, activated=activated)


def _activate(row: LeadDefinition) -> None:
    now = timezone.now()
    # Retire first: at most one version is active (a partial unique constraint).
    LeadDefinition.objects.filter(status=Status.ACTIVE).update(
        status=Status.RETIRED, retired_at=now
    )
    row.status, row.activated_at = Status.ACTIVE, now
    row.save(update_fields=["status", "activated_at"])


@transaction.atomic
def withdraw(row: LeadDefinition, *, actor: User) -> LeadDefinition:
    """Take back a proposal: it is retired without ever having been active."""
    if not may_edit(actor):
        raise _forbidden(f"{actor} may not withdraw lead definitions (marketing does)")
    row = LeadDefinition.objects.select_for_update().get(pk=row.pk)
    if row.status != Status.PROPOSED:
        raise DefinitionRefused(
            f"version {row.version} is {row.status}: only a proposal can be withdrawn",
            code="not-proposed",
        )
    row.status, row.retired_at = Status.RETIRED, timezone.now()
    row.save(update_fields=["status", "retired_at"])
    return row


# --- comparing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "same", "added", "removed", "gap"
    old: int | None  # line number in the older version
    new: int | None
    text: str


@dataclass
class Diff:
    old: LeadDefinition
    new: LeadDefinition
    lines: list[DiffLine]
    changes: list[str]  # what changed, in words, when both versions can be read

    @property
    def unified(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.old.document.splitlines(keepends=True),
                self.new.document.splitlines(keepends=True),
                fromfile=f"v{self.old.version}",
                tofile=f"v{self.new.version}",
            )
        )


def diff(old: LeadDefinition, new: LeadDefinition, context: int = 3) -> Diff:
    """The line changes between two versions, with `context` unchanged lines around each."""
    a, b = old.document.splitlines(), new.document.splitlines()
    lines: list[DiffLine] = []
    for group in difflib.SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(context):
        if lines:
            lines.append(DiffLine("gap", None, None, "…"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [DiffLine("same", i + 1, j1 + k + 1, a[i]) for k, i in
                          enumerate(range(i1, i2))]
                continue
            lines += [DiffLine("removed", i + 1, None, a[i]) for i in range(i1, i2)]
            lines += [DiffLine("added", None, j + 1, b[j]) for j in range(j1, j2)]
    changes: list[str] = []
    try:
        changes = describe_changes(document.parse(old.document), document.parse(new.document))
    except DocumentInvalid:
        pass
    return Diff(old=old, new=new, lines=lines, changes=changes)


def describe_changes(old: Definition, new: Definition) -> list[str]:
    """What a reader signs for, in words: thresholds, half-life, criteria, rules, lists."""
    out: list[str] = []

    def num(value) -> str:
        return "no cap" if value is None else f"{value:g}"

    for label, a, b in (
        ("MQL fit threshold", old.mql_fit, new.mql_fit),
        ("MQL engagement threshold", old.mql_engagement, new.mql_engagement),
        ("Engagement half-life (days)", old.half_life_days, new.half_life_days),
    ):
        if a != b:
            out.append(f"{label}: {num(a)} → {num(b)}")
    before = {c.name: c for c in old.fit}
    after = {c.name: c for c in new.fit}
    for name in before.keys() - after.keys():
        out.append(f"Fit criterion removed: {name}")
    for name in after.keys() - before.keys():
        out.append(f"Fit criterion added: {name}")
    for name in before.keys() & after.keys():
        a_opts = {(o.label, o.match, o.points) for o in before[name].options}
        b_opts = {(o.label, o.match, o.points) for o in after[name].options}
        if before[name].attribute != after[name].attribute or a_opts != b_opts:
            points = ", ".join(f"{o.label} {o.points:+g}" for o in after[name].options)
            out.append(f"Fit criterion changed: {name} ({points})")
    rules_a = {r.name: r for r in old.rules}
    rules_b = {r.name: r for r in new.rules}
    for name in rules_a.keys() - rules_b.keys():
        out.append(f"Engagement rule removed: {name}")
    for name in rules_b.keys() - rules_a.keys():
        r = rules_b[name]
        out.append(f"Engagement rule added: {name} ({r.points:g} points, cap {num(r.cap)})")
    for name in rules_a.keys() & rules_b.keys():
        a, b = rules_a[name], rules_b[name]
        if (a.points, a.cap) != (b.points, b.cap):
            out.append(
                f"Engagement rule {name}: {a.points:g} points, cap {num(a.cap)} → "
                f"{b.points:g} points, cap {num(b.cap)}"
            )
        elif (a.kinds, a.url, a.campaign) != (b.kinds, b.url, b.campaign):
            out.append(f"Engagement rule {name}: matches other activities")
    if [r.name for r in old.rules if r.name in rules_b] != [
        r.name for r in new.rules if r.name in rules_a
    ]:
        out.append("Engagement rules reordered (an activity scores under its first rule)")
    for label, a, b in (
        ("Competitor domains", old.disqualifiers.competitor_domains,
         new.disqualifiers.competitor_domains),
        ("Free-mail domains", old.disqualifiers.free_mail_domains,
         new.disqualifiers.free_mail_domains),
        ("Student patterns", [p.pattern for p in old.disqualifiers.student_patterns],
         [p.pattern for p in new.disqualifiers.student_patterns]),
        ("SQL evidence required", old.sql_required, new.sql_required),
    ):
        added, removed = set(b) - set(a), set(a) - set(b)
        if added:
            out.append(f"{label} added: {', '.join(sorted(added))}")
        if removed:
            out.append(f"{label} removed: {', '.join(sorted(removed))}")
    return out
