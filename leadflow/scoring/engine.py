"""Scoring a lead against a definition: fit, engagement, disqualifiers and the MQL rule.

Engagement is kept as a small state per lead: for each engagement rule, the sum of its points
decayed to a reference time. All rules share one half-life, so a new activity costs the same
whatever the lead's history (constant work):

    event at t >= ref:  sums *= 2 ** -((t - ref) / half_life); sums[rule] += points; ref = t
    event at t <  ref:  sums[rule] += points * 2 ** -((ref - t) / half_life)   (it came late)
    score at now:       sum over rules of min(cap, sums[rule] * 2 ** -((now - ref) / half_life))

which is exactly the full recomputation from history: each rule gives its points decayed from
each activity's time to now, capped (tests/test_scoring_incremental.py checks it on random
streams). Times are Unix seconds (floats) throughout.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from leadflow.scoring.document import CUSTOM_PREFIX, Definition, EngagementRule

NO_RULE = -1


def email_domain(email: str | None) -> str:
    return email.rpartition("@")[2].strip().lower() if email and "@" in email else ""


def lead_values(lead) -> dict[str, Any]:
    """What fit criteria and disqualifiers look at, read from a Lead (with its source and
    campaign loaded: select_related)."""
    values = {
        "title": lead.title,
        "email": lead.email,
        "email_domain": email_domain(lead.email),
        "domain": (lead.domain or "").strip().lower(),
        "company": lead.company,
        "country": lead.country,
        "industry": lead.industry,
        "employee_count": lead.employee_count,
        "source": lead.source.name if lead.source_id else "",
        "campaign": lead.campaign.name if lead.campaign_id else "",
    }
    for key, value in (lead.custom or {}).items():
        values[CUSTOM_PREFIX + key] = value
    return values


# --- fit -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FitLine:
    criterion: str
    attribute: str
    value: Any
    option: str | None  # the option that matched, None: none did
    points: float


def fit_lines(definition: Definition, values: Mapping[str, Any]) -> list[FitLine]:
    """Each criterion with the first option matching the lead's value (0 points if none)."""
    lines = []
    for criterion in definition.fit:
        value = values.get(criterion.attribute)
        found = next((o for o in criterion.options if o.match(value)), None)
        lines.append(
            FitLine(
                criterion=criterion.name,
                attribute=criterion.attribute,
                value=value,
                option=found.label if found else None,
                points=found.points if found else 0.0,
            )
        )
    return lines


def fit_score(definition: Definition, values: Mapping[str, Any]) -> float:
    return float(sum(line.points for line in fit_lines(definition, values)))


# --- disqualifiers ---------------------------------------------------------------------------


def _under(domain: str, listed: Iterable[str]) -> str | None:
    for item in listed:
        if domain == item or domain.endswith("." + item):
            return item
    return None


def disqualified(definition: Definition, values: Mapping[str, Any]) -> list[str]:
    """Why the lead is not a lead at all under this definition; [] when it may be one."""
    rules = definition.disqualifiers
    reasons = []
    mail = values.get("email_domain") or ""
    for domain in {values.get("domain") or "", mail} - {""}:
        hit = _under(domain, rules.competitor_domains)
        if hit:
            reasons.append(f"competitor domain {hit} ({domain})")
            break
    if mail and _under(mail, rules.free_mail_domains):
        reasons.append(f"free-mail address ({mail})")
    for pattern in rules.student_patterns:
        for name in ("title", "email"):
            text = values.get(name) or ""
            if text and pattern.search(text):
                reasons.append(f"student: {name} '{text}' matches /{pattern.pattern}/")
                break
        else:
            continue
        break
    return reasons


# --- engagement ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Campaign:
    name: str
    external_id: str = ""


def rule_index(
    definition: Definition,
    kind: str,
    url: str = "",
    campaign: Campaign | None = None,
) -> int:
    """The first engagement rule the activity matches, or NO_RULE."""
    for i, rule in enumerate(definition.rules):
        if rule_matches(rule, kind, url, campaign):
            return i
    return NO_RULE


def rule_matches(rule: EngagementRule, kind: str, url: str, campaign: Campaign | None) -> bool:
    if kind not in rule.kinds:
        return False
    if rule.url is not None and not rule.url(url):
        return False
    if rule.campaign is not None:
        if campaign is None:
            return False
        if not (rule.campaign(campaign.name) or rule.campaign(campaign.external_id)):
            return False
    return True


def decay(seconds: float, half_life: float) -> float:
    return 2.0 ** (-seconds / half_life)


@dataclass
class EngagementState:
    """Per-rule decayed sums at `reference`; None reference: nothing yet."""

    sums: list[float]
    reference: float | None = None

    @classmethod
    def empty(cls, definition: Definition) -> EngagementState:
        return cls([0.0] * len(definition.rules))

    def add(self, definition: Definition, rule: int, at: float) -> None:
        """One activity scoring under `rule` at time `at`: constant work."""
        points = definition.rules[rule].points
        half_life = definition.half_life_seconds
        if self.reference is None:
            self.reference = at
        if at >= self.reference:
            factor = decay(at - self.reference, half_life)
            if factor != 1.0:
                self.sums = [s * factor for s in self.sums]
            self.reference = at
            self.sums[rule] += points
        else:
            self.sums[rule] += points * decay(self.reference - at, half_life)

    def per_rule(self, definition: Definition, now: float) -> list[float]:
        """Each rule's points at `now`, capped."""
        if self.reference is None:
            return [0.0] * len(definition.rules)
        factor = decay(now - self.reference, definition.half_life_seconds)
        return [min(r.cap_value, s * factor) for r, s in zip(definition.rules, self.sums,
                                                             strict=True)]

    def score(self, definition: Definition, now: float) -> float:
        return float(sum(self.per_rule(definition, now)))


def recompute(definition: Definition, events: Iterable[tuple[int, float]], now: float) -> float:
    """The engagement score from history: each (rule, time) gives its points decayed from
    its time to `now`; each rule's total capped. The definition of what `EngagementState`
    keeps incrementally."""
    half_life = definition.half_life_seconds
    totals = [0.0] * len(definition.rules)
    for rule, at in events:
        if rule != NO_RULE:
            totals[rule] += definition.rules[rule].points * decay(now - at, half_life)
    return float(sum(min(r.cap_value, t) for r, t in zip(definition.rules, totals, strict=True)))


# --- the MQL rule and its explanation --------------------------------------------------------


@dataclass(frozen=True)
class RuleLine:
    rule: str
    activities: int
    points: float  # decayed, capped, now
    cap: float | None
    capped: bool


@dataclass
class Explanation:
    """Which rules gave how many points, and why the lead is or is not an MQL."""

    version: int | None
    fit: float
    fit_lines: list[FitLine]
    engagement: float
    rule_lines: list[RuleLine]
    fit_needed: float
    engagement_needed: float
    disqualified: list[str] = field(default_factory=list)
    unscored_activities: int = 0

    @property
    def scored_lines(self) -> list[RuleLine]:
        """The rules some activity of the lead fell under."""
        return [line for line in self.rule_lines if line.activities]

    @property
    def fit_ok(self) -> bool:
        return self.fit >= self.fit_needed

    @property
    def engagement_ok(self) -> bool:
        return round(self.engagement, 6) >= self.engagement_needed

    @property
    def meets(self) -> bool:
        return self.fit_ok and self.engagement_ok and not self.disqualified

    @property
    def verdict(self) -> str:
        if self.disqualified:
            return "Not an MQL: disqualified (" + "; ".join(self.disqualified) + ")."
        if self.meets:
            return (
                f"Meets the MQL rule: fit {_n(self.fit)} ≥ {_n(self.fit_needed)} and "
                f"engagement {_n(self.engagement)} ≥ {_n(self.engagement_needed)}."
            )
        missing = []
        if not self.fit_ok:
            missing.append(
                f"fit {_n(self.fit)} is below {_n(self.fit_needed)} "
                f"({_n(self.fit_needed - self.fit)} short)"
            )
        if not self.engagement_ok:
            missing.append(
                f"engagement {_n(self.engagement)} is below {_n(self.engagement_needed)} "
                f"({_n(self.engagement_needed - self.engagement)} short)"
            )
        return "Not an MQL: " + " and ".join(missing) + "."


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"


def meets_mql(definition: Definition, fit: float, engagement: float, disqualified: bool) -> bool:
    """Both thresholds, not their sum; never a disqualified lead."""
    return (
        not disqualified
        and fit >= definition.mql_fit
        and round(engagement, 6) >= definition.mql_engagement
    )


def explain(
    definition: Definition,
    version: int | None,
    values: Mapping[str, Any],
    activities: Iterable[tuple[str, str, Campaign | None, float]],
    now: float,
) -> Explanation:
    """The explanation from the lead's attributes and its whole history of activities,
    (kind, url, campaign, time) each."""
    lines = fit_lines(definition, values)
    half_life = definition.half_life_seconds
    totals = [0.0] * len(definition.rules)
    counts = [0] * len(definition.rules)
    unscored = 0
    for kind, url, campaign, at in activities:
        rule = rule_index(definition, kind, url, campaign)
        if rule == NO_RULE:
            unscored += 1
            continue
        counts[rule] += 1
        totals[rule] += definition.rules[rule].points * decay(now - at, half_life)
    rule_lines = [
        RuleLine(
            rule=r.name,
            activities=counts[i],
            points=min(r.cap_value, totals[i]),
            cap=r.cap,
            capped=totals[i] > r.cap_value,
        )
        for i, r in enumerate(definition.rules)
    ]
    return Explanation(
        version=version,
        fit=float(sum(line.points for line in lines)),
        fit_lines=lines,
        engagement=float(sum(line.points for line in rule_lines)),
        rule_lines=rule_lines,
        fit_needed=definition.mql_fit,
        engagement_needed=definition.mql_engagement,
        disqualified=disqualified(definition, values),
        unscored_activities=unscored,
    )
