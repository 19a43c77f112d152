"""The lead definition document: YAML that marketing and sales both sign (DOMAIN.md).

`parse(text)` returns a `Definition` or raises `DocumentInvalid` with every problem found, each
pointing at its line, column and field (from YAML's node marks), so the editor can show it where
it is. The format, in full::

    fit:                          # who the lead is; a criterion scores its first matching option
      - name: Seniority
        attribute: title          # title, email, email_domain, domain, company, country,
                                  # industry, employee_count, source, campaign or custom.<key>
        options:
          - {label: VP, pattern: '\\bvp\\b|vice president', points: 25}
          - {label: Manager, in: [Manager, Team lead], points: 10}
      - name: Company size
        attribute: employee_count
        options:
          - {label: 1000+, range: {min: 1000}, points: 20}
          - {label: 200-999, range: {min: 200, max: 999}, points: 15}
    engagement:                   # what the lead did; an activity scores under its first rule
      half_life_days: 30          # points halve every 30 days
      rules:
        - name: Pricing page
          activity: web_visit     # one kind or a list
          url: {pattern: /pricing}          # optional
          campaign: {in: [Spring webinar]}  # optional: campaign name or external id
          points: 10
          cap: 20                 # optional: the most this rule gives at any moment
    mql: {fit_at_least: 35, engagement_at_least: 30}     # both, not their sum
    sql_evidence:
      required: [decision_maker, need, compelling_event]
      optional: [budget, timeframe]
    disqualifiers:
      competitor_domains: [rival.com]   # the lead's domain or e-mail domain, or a subdomain
      free_mail_domains: [gmail.com]    # the e-mail domain
      student_patterns: ['\\bstudent\\b']  # searched in the title and the e-mail address

Matches: `equals` (exact; text ignores case), `in` (a list of exact values), `range` (`min`
and/or `max`, inclusive, numbers) and `pattern` (a regular expression searched in the value,
ignoring case).
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import yaml

from leadflow.leads.lifecycle import EVIDENCE_FIELDS
from leadflow.leads.models import ActivityKind

ATTRIBUTES = {
    # name: numeric?
    "title": False,
    "email": False,
    "email_domain": False,
    "domain": False,
    "company": False,
    "country": False,
    "industry": False,
    "employee_count": True,
    "source": False,
    "campaign": False,
}
CUSTOM_PREFIX = "custom."
MATCHES = ("equals", "in", "range", "pattern")
KNOWN_EVIDENCE = (*EVIDENCE_FIELDS, "event_date", "budget", "timeframe")
ACTIVITY_KINDS = tuple(ActivityKind.values)


# --- what a valid document becomes ----------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """One of the four matches, applied to a value the same way everywhere."""

    how: str  # equals | in | range | pattern
    expected: Any  # a value, a tuple of values, (min, max), or a compiled pattern
    do_not_call_in_templates = True  # a template reads match.describe, it does not match

    def __call__(self, value) -> bool:
        if value is None or value == "":
            return False
        if self.how == "pattern":
            return self.expected.search(str(value)) is not None
        if self.how == "range":
            number = _number(value)
            if number is None:
                return False
            low, high = self.expected
            return (low is None or number >= low) and (high is None or number <= high)
        if self.how == "in":
            return any(_same(e, value) for e in self.expected)
        return _same(self.expected, value)

    def describe(self) -> str:
        if self.how == "pattern":
            return f"matches /{self.expected.pattern}/"
        if self.how == "range":
            low, high = self.expected
            if high is None:
                return f"at least {_num_text(low)}"
            if low is None:
                return f"at most {_num_text(high)}"
            return f"{_num_text(low)} to {_num_text(high)}"
        if self.how == "in":
            return "one of " + ", ".join(str(e) for e in self.expected)
        return f"is {self.expected}"


def _number(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _same(expected, value) -> bool:
    if isinstance(expected, int | float) and not isinstance(expected, bool):
        return _number(value) == float(expected)
    return str(expected).casefold() == str(value).strip().casefold()


def _num_text(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class FitOption:
    label: str
    match: Match
    points: float


@dataclass(frozen=True)
class FitCriterion:
    name: str
    attribute: str
    options: tuple[FitOption, ...]


@dataclass(frozen=True)
class EngagementRule:
    name: str
    kinds: frozenset[str]
    url: Match | None
    campaign: Match | None
    points: float
    cap: float | None  # None: no cap

    @property
    def cap_value(self) -> float:
        return math.inf if self.cap is None else self.cap


@dataclass(frozen=True)
class Disqualifiers:
    competitor_domains: tuple[str, ...] = ()
    free_mail_domains: tuple[str, ...] = ()
    student_patterns: tuple[re.Pattern, ...] = ()


@dataclass(frozen=True)
class Definition:
    fit: tuple[FitCriterion, ...]
    rules: tuple[EngagementRule, ...]
    half_life_days: float
    mql_fit: float
    mql_engagement: float
    sql_required: tuple[str, ...]
    sql_optional: tuple[str, ...]
    disqualifiers: Disqualifiers = field(default_factory=Disqualifiers)

    @property
    def half_life_seconds(self) -> float:
        return self.half_life_days * 86400.0

    @cached_property
    def attributes(self) -> frozenset[str]:
        """The lead attributes the fit criteria look at."""
        return frozenset(c.attribute for c in self.fit)

    @cached_property
    def scored_kinds(self) -> frozenset[str]:
        return frozenset(k for r in self.rules for k in r.kinds)


# --- errors ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    line: int  # 1-based
    column: int  # 1-based
    field: str  # e.g. "fit[0].options[1].points"
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}, column {self.column}"
        if self.field:
            return f"{where}: {self.field}: {self.message}"
        return f"{where}: {self.message}"

    def as_dict(self) -> dict:
        return {
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "message": self.message,
        }


class DocumentInvalid(Exception):
    """The document is not a valid lead definition; `problems` says where and why."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.line, p.column))
        super().__init__("; ".join(str(p) for p in self.problems))


# --- parsing ---------------------------------------------------------------------------------


def parse(text: str) -> Definition:
    """The definition `text` describes, or DocumentInvalid naming every problem found."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(filter(None, [exc.context, exc.problem])) or "not valid YAML"
        raise DocumentInvalid([Problem(line, column, "", f"not valid YAML: {message}")]) from None
    except yaml.YAMLError as exc:
        raise DocumentInvalid([Problem(1, 1, "", f"not valid YAML: {exc}")]) from None
    checker = _Checker()
    definition = checker.document(root)
    if checker.problems:
        raise DocumentInvalid(checker.problems)
    return definition


def problems(text: str) -> list[Problem]:
    """Every problem of `text`, [] when it is a valid definition."""
    try:
        parse(text)
    except DocumentInvalid as invalid:
        return invalid.problems
    return []


class _Invalid(Exception):
    """Raised inside the checker to abandon one field; the problem is already recorded."""


class _Checker:
    """Walks the YAML node tree, turning it into a Definition and recording each problem at
    the node it concerns. One bad field does not hide the others."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.constructor = yaml.SafeLoader("")

    # --- reporting ------------------------------------------------------------------------

    def fail(self, node: yaml.Node | None, path: str, message: str) -> _Invalid:
        mark = node.start_mark if node is not None else None
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        self.problems.append(Problem(line, column, path, message))
        return _Invalid()

    # --- shapes ---------------------------------------------------------------------------

    def mapping(
        self,
        node: yaml.Node,
        path: str,
        required: tuple[str, ...],
        optional: tuple[str, ...] = (),
        what: str = "a mapping",
    ) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        """{key: (key node, value node)} of a mapping with exactly these keys."""
        if not isinstance(node, yaml.MappingNode):
            raise self.fail(node, path, f"must be {what} ({_fields_text(required, optional)})")
        found: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        allowed = (*required, *optional)
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            where = _join(path, str(key))
            if key not in allowed:
                hint = _did_you_mean(str(key), allowed)
                self.fail(
                    key_node,
                    where,
                    f"unknown field '{key}'{hint}; expected {_fields_text(required, optional)}",
                )
                continue
            if key in found:
                self.fail(key_node, where, f"'{key}' is given twice")
                continue
            found[key] = (key_node, value_node)
        for key in required:
            if key not in found:
                self.fail(node, _join(path, key), f"'{key}' is missing")
        return found

    def sequence(self, node: yaml.Node, path: str, what: str) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            raise self.fail(node, path, f"must be a list of {what}")
        return list(node.value)

    def scalar(self, node: yaml.Node, path: str):
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, path, "must be a single value, not a list or a mapping")
        return self.constructor.construct_object(node)

    def text(self, node: yaml.Node, path: str) -> str:
        """The text as written: YAML 1.1 would read `NO` (Norway) as false and `1e3` as text."""
        if not isinstance(node, yaml.ScalarNode):
            raise self.fail(node, path, "must be text, not a list or a mapping")
        if node.tag == "tag:yaml.org,2002:null" and node.value in ("", "~", "null"):
            raise self.fail(node, path, "must not be empty")
        return node.value.strip()

    def number(self, node: yaml.Node, path: str, *, minimum=None, above=None) -> float:
        value = self.scalar(node, path)
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise self.fail(node, path, f"must be a number, not '{node.value}'")
        if minimum is not None and value < minimum:
            raise self.fail(node, path, f"must be at least {minimum:g}, not {value:g}")
        if above is not None and value <= above:
            raise self.fail(node, path, f"must be more than {above:g}, not {value:g}")
        if math.isinf(value):
            raise self.fail(node, path, "must be a finite number")
        return float(value)

    def texts(self, node: yaml.Node, path: str, what: str) -> list[tuple[yaml.Node, str]]:
        items = []
        for i, item in enumerate(self.sequence(node, path, what)):
            try:
                items.append((item, self.text(item, f"{path}[{i}]")))
            except _Invalid:
                pass
        return items

    def pattern(self, node: yaml.Node, path: str) -> re.Pattern:
        source = self.text(node, path)
        try:
            return re.compile(source, re.IGNORECASE)
        except re.error as exc:
            raise self.fail(node, path, f"is not a valid regular expression: {exc}") from None

    # --- the document ---------------------------------------------------------------------

    def document(self, root: yaml.Node | None) -> Definition | None:
        if root is None:
            self.fail(None, "", "the document is empty; it needs fit, engagement and mql")
            return None
        try:
            top = self.mapping(
                root,
                "",
                ("fit", "engagement", "mql"),
                ("sql_evidence", "disqualifiers"),
                what="a mapping of sections",
            )
        except _Invalid:
            return None
        parts: dict[str, Any] = {}
        for name, check in (
            ("fit", self.fit),
            ("engagement", self.engagement),
            ("mql", self.mql),
            ("sql_evidence", self.sql_evidence),
            ("disqualifiers", self.disqualifiers),
        ):
            if name not in top:
                continue
            try:
                parts[name] = check(top[name][1], name)
            except _Invalid:
                pass
        if self.problems:
            return None
        required, optional = parts.get("sql_evidence", (EVIDENCE_FIELDS, ()))
        half_life, rules = parts["engagement"]
        fit_at_least, engagement_at_least = parts["mql"]
        return Definition(
            fit=parts["fit"],
            rules=rules,
            half_life_days=half_life,
            mql_fit=fit_at_least,
            mql_engagement=engagement_at_least,
            sql_required=required,
            sql_optional=optional,
            disqualifiers=parts.get("disqualifiers", Disqualifiers()),
        )

    def fit(self, node: yaml.Node, path: str) -> tuple[FitCriterion, ...]:
        criteria = []
        names: set[str] = set()
        for i, item in enumerate(self.sequence(node, path, "criteria")):
            where = f"{path}[{i}]"
            try:
                criterion = self.criterion(item, where)
            except _Invalid:
                continue
            if criterion.name.casefold() in names:
                self.fail(item, f"{where}.name", f"another criterion is named '{criterion.name}'")
            names.add(criterion.name.casefold())
            criteria.append(criterion)
        return tuple(criteria)

    def criterion(self, node: yaml.Node, path: str) -> FitCriterion:
        fields = self.mapping(node, path, ("name", "attribute", "options"))
        name = attribute = None
        options: list[FitOption] = []
        ok = True
        if "name" in fields:
            try:
                name = self.text(fields["name"][1], f"{path}.name")
            except _Invalid:
                pass
        if "attribute" in fields:
            try:
                attribute = self.attribute(fields["attribute"][1], f"{path}.attribute")
            except _Invalid:
                pass
        if "options" in fields:
            options_node = fields["options"][1]
            items = self.sequence(options_node, f"{path}.options", "options")
            if not items:
                self.fail(options_node, f"{path}.options", "needs at least one option")
            for j, item in enumerate(items):
                try:
                    options.append(self.option(item, f"{path}.options[{j}]", attribute))
                except _Invalid:
                    ok = False
        if name is None or attribute is None or not ok or not options:
            raise _Invalid()
        return FitCriterion(name=name, attribute=attribute, options=tuple(options))

    def attribute(self, node: yaml.Node, path: str) -> str:
        name = self.text(node, path)
        if name in ATTRIBUTES:
            return name
        if name.startswith(CUSTOM_PREFIX) and len(name) > len(CUSTOM_PREFIX):
            return name
        hint = _did_you_mean(name, tuple(ATTRIBUTES))
        raise self.fail(
            node,
            path,
            f"unknown attribute '{name}'{hint}; use one of {', '.join(ATTRIBUTES)} "
            f"or {CUSTOM_PREFIX}<key>",
        )

    def option(self, node: yaml.Node, path: str, attribute: str | None) -> FitOption:
        fields = self.mapping(node, path, ("points",), ("label", *MATCHES), what="an option")
        match = self.match_of(node, fields, path, attribute)
        points = self.number(fields["points"][1], f"{path}.points") if "points" in fields else 0
        label = self.text(fields["label"][1], f"{path}.label") if "label" in fields else None
        if match is None or "points" not in fields:
            raise _Invalid()
        return FitOption(label=label or match.describe(), match=match, points=points)

    def match_of(self, node, fields, path, attribute) -> Match | None:
        given = [m for m in MATCHES if m in fields]
        if len(given) != 1:
            what = "none" if not given else " and ".join(given)
            self.fail(node, path, f"needs exactly one match of {', '.join(MATCHES)} (has {what})")
            return None
        how = given[0]
        try:
            return self.match(how, fields[how][1], f"{path}.{how}", attribute)
        except _Invalid:
            return None

    def match(self, how: str, node: yaml.Node, path: str, attribute: str | None) -> Match:
        numeric = ATTRIBUTES.get(attribute or "", None)
        if how == "pattern":
            if numeric:
                raise self.fail(node, path, f"'{attribute}' is a number: use range or equals")
            return Match("pattern", self.pattern(node, path))
        if how == "range":
            if numeric is False:
                raise self.fail(node, path, f"'{attribute}' is text: a range needs a number")
            fields = self.mapping(node, path, (), ("min", "max"), what="a range")
            if not fields:
                raise self.fail(node, path, "needs min, max or both")
            low = self.number(fields["min"][1], f"{path}.min") if "min" in fields else None
            high = self.number(fields["max"][1], f"{path}.max") if "max" in fields else None
            if low is not None and high is not None and low > high:
                raise self.fail(node, path, f"min {low:g} is above max {high:g}")
            return Match("range", (low, high))
        if how == "in":
            values = [self.value(item, f"{path}[{i}]", numeric) for i, item in
                      enumerate(self.sequence(node, path, "values"))]
            if not values:
                raise self.fail(node, path, "needs at least one value")
            return Match("in", tuple(values))
        return Match("equals", self.value(node, path, numeric))

    def value(self, node: yaml.Node, path: str, numeric: bool | None):
        if numeric:
            return self.number(node, path)
        if numeric is False:
            return self.text(node, path)
        # A custom attribute: a number if written as one, else the text as written.
        value = self.scalar(node, path)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        return self.text(node, path)

    def engagement(self, node: yaml.Node, path: str):
        fields = self.mapping(node, path, ("half_life_days", "rules"))
        half_life = None
        rules: list[EngagementRule] = []
        if "half_life_days" in fields:
            try:
                half_life = self.number(
                    fields["half_life_days"][1], f"{path}.half_life_days", above=0
                )
            except _Invalid:
                pass
        if "rules" in fields:
            names: set[str] = set()
            for i, item in enumerate(self.sequence(fields["rules"][1], f"{path}.rules", "rules")):
                where = f"{path}.rules[{i}]"
                try:
                    rule = self.rule(item, where)
                except _Invalid:
                    continue
                if rule.name.casefold() in names:
                    self.fail(item, f"{where}.name", f"another rule is named '{rule.name}'")
                names.add(rule.name.casefold())
                rules.append(rule)
        if half_life is None or "rules" not in fields:
            raise _Invalid()
        return half_life, tuple(rules)

    def rule(self, node: yaml.Node, path: str) -> EngagementRule:
        fields = self.mapping(
            node, path, ("name", "activity", "points"), ("url", "campaign", "cap")
        )
        ok = True
        values: dict[str, Any] = {"url": None, "campaign": None, "cap": None}
        for key, read in (
            ("name", lambda n, p: self.text(n, p)),
            ("activity", self.kinds),
            ("points", lambda n, p: self.number(n, p, above=0)),
            ("cap", lambda n, p: self.number(n, p, above=0)),
            ("url", lambda n, p: self.filter(n, p)),
            ("campaign", lambda n, p: self.filter(n, p)),
        ):
            if key not in fields:
                ok = ok and key not in ("name", "activity", "points")
                continue
            try:
                values[key] = read(fields[key][1], f"{path}.{key}")
            except _Invalid:
                ok = False
        if not ok:
            raise _Invalid()
        return EngagementRule(
            name=values["name"],
            kinds=values["activity"],
            url=values["url"],
            campaign=values["campaign"],
            points=values["points"],
            cap=values["cap"],
        )

    def kinds(self, node: yaml.Node, path: str) -> frozenset[str]:
        if isinstance(node, yaml.SequenceNode):
            items = self.texts(node, path, "activity kinds")
            if not items:
                raise self.fail(node, path, "needs at least one activity kind")
        else:
            items = [(node, self.text(node, path))]
        kinds = set()
        for item_node, kind in items:
            if kind not in ACTIVITY_KINDS:
                hint = _did_you_mean(kind, ACTIVITY_KINDS)
                self.fail(
                    item_node,
                    path,
                    f"unknown activity '{kind}'{hint}; one of {', '.join(ACTIVITY_KINDS)}",
                )
            kinds.add(kind)
        if len(kinds) != len(items) or not kinds.issubset(ACTIVITY_KINDS):
            raise _Invalid()
        return frozenset(kinds)

    def filter(self, node: yaml.Node, path: str) -> Match:
        fields = self.mapping(node, path, (), MATCHES, what="a match")
        match = self.match_of(node, fields, path, None)
        if match is None:
            raise _Invalid()
        return match

    def mql(self, node: yaml.Node, path: str) -> tuple[float, float]:
        fields = self.mapping(node, path, ("fit_at_least", "engagement_at_least"))
        values = []
        for key in ("fit_at_least", "engagement_at_least"):
            if key in fields:
                try:
                    minimum = 0 if key == "engagement_at_least" else None
                    values.append(self.number(fields[key][1], f"{path}.{key}", minimum=minimum))
                except _Invalid:
                    pass
        if len(values) != 2:
            raise _Invalid()
        return values[0], values[1]

    def sql_evidence(self, node: yaml.Node, path: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        fields = self.mapping(node, path, ("required",), ("optional",))
        lists = {}
        for key in ("required", "optional"):
            if key not in fields:
                lists[key] = []
                continue
            items = self.texts(fields[key][1], f"{path}.{key}", "evidence fields")
            for item_node, name in items:
                if name not in KNOWN_EVIDENCE:
                    self.fail(
                        item_node,
                        f"{path}.{key}",
                        f"unknown evidence '{name}'; one of {', '.join(KNOWN_EVIDENCE)}",
                    )
            lists[key] = [name for _, name in items]
        if "required" in fields:
            missing = [f for f in EVIDENCE_FIELDS if f not in lists["required"]]
            if missing:
                self.fail(
                    fields["required"][1],
                    f"{path}.required",
                    f"must include {', '.join(missing)}: leadflow asks for decision maker, need "
                    "and compelling event before any lead becomes an SQL",
                )
        both = set(lists["required"]) & set(lists["optional"])
        if both:
            self.fail(node, f"{path}.optional", f"{', '.join(sorted(both))} is also required")
        return tuple(lists["required"]), tuple(lists["optional"])

    def disqualifiers(self, node: yaml.Node, path: str) -> Disqualifiers:
        fields = self.mapping(
            node, path, (), ("competitor_domains", "free_mail_domains", "student_patterns")
        )
        found: dict[str, tuple] = {}
        for key in ("competitor_domains", "free_mail_domains"):
            if key in fields:
                domains = []
                for item_node, domain in self.texts(fields[key][1], f"{path}.{key}", "domains"):
                    domain = domain.lower().lstrip("@").strip(".")
                    if "." not in domain or " " in domain:
                        self.fail(item_node, f"{path}.{key}", f"'{domain}' is not a domain name")
                    domains.append(domain)
                found[key] = tuple(domains)
        if "student_patterns" in fields:
            key_path = f"{path}.student_patterns"
            patterns = []
            items = self.sequence(fields["student_patterns"][1], key_path, "patterns")
            for i, item in enumerate(items):
                try:
                    patterns.append(self.pattern(item, f"{key_path}[{i}]"))
                except _Invalid:
                    pass
            found["student_patterns"] = tuple(patterns)
        return Disqualifiers(**found)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _fields_text(required: tuple[str, ...], optional: tuple[str, ...]) -> str:
    parts = list(required) + [f"{name} (optional)" for name in optional]
    return ", ".join(parts) if parts else "no fields"


def _did_you_mean(word: str, choices: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
