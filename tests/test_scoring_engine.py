"""The engine on hand-built leads and activities: decay, caps, the two-threshold MQL rule,
disqualifiers and the explanation."""

import pytest

from leadflow.scoring import document, engine
from leadflow.scoring.testing import SIMPLE

DAY = 86400.0
RULES = document.parse(SIMPLE)
PRICING, VISIT, FORM = 0, 1, 2


def engagement(events, now):
    return engine.recompute(RULES, events, now)


def test_points_halve_every_half_life():
    assert engagement([(FORM, 0)], now=0) == 15
    assert engagement([(FORM, 0)], now=10 * DAY) == pytest.approx(7.5)
    assert engagement([(FORM, 0)], now=20 * DAY) == pytest.approx(3.75)


def test_a_rule_never_gives_more_than_its_cap():
    visits = [(VISIT, i * 60.0) for i in range(10)]  # 10 visits of 2 points, cap 6
    assert engagement(visits, now=600) == pytest.approx(6)
    # The cap applies to the decayed total: old visits leave room for new ones.
    old = [(VISIT, 0.0)] * 10
    assert engagement(old, now=20 * DAY) == pytest.approx(20 * 0.25)
    assert engagement([*old, (VISIT, 20 * DAY)], now=20 * DAY) == pytest.approx(6)


def test_caps_are_per_rule_and_rules_without_a_cap_add_up():
    events = [(PRICING, 0.0)] * 3 + [(VISIT, 0.0)] * 5 + [(FORM, 0.0)] * 3
    assert engagement(events, now=0) == pytest.approx(20 + 6 + 45)


def test_an_activity_scores_under_its_first_matching_rule_only():
    assert engine.rule_index(RULES, "web_visit", "https://x.io/pricing") == PRICING
    assert engine.rule_index(RULES, "web_visit", "https://x.io/docs") == VISIT
    assert engine.rule_index(RULES, "email_open", "") == engine.NO_RULE


@pytest.mark.parametrize(
    "fit, engagement_now, meets",
    [
        (40, 25, True),
        (39.5, 100, False),  # engagement cannot make up for fit: not their sum
        (100, 24.9, False),
        (40, 24.9999999999, True),  # float dust does not miss the threshold
    ],
)
def test_the_mql_rule_needs_both_thresholds(fit, engagement_now, meets):
    assert engine.meets_mql(RULES, fit, engagement_now, disqualified=False) is meets


def test_a_disqualified_lead_is_never_an_mql():
    assert not engine.meets_mql(RULES, 100, 100, disqualified=True)


@pytest.mark.parametrize(
    "values, reason",
    [
        ({"domain": "rival.example"}, "competitor domain rival.example (rival.example)"),
        ({"email_domain": "eu.rival.example"}, "competitor domain rival.example"),
        ({"email_domain": "gmail.com"}, "free-mail address (gmail.com)"),
        ({"title": "PhD Student"}, "student: title 'PhD Student' matches"),
        ({"email": "student@uni.edu"}, "student: email 'student@uni.edu' matches"),
    ],
)
def test_disqualifiers(values, reason):
    (found,) = engine.disqualified(RULES, values)
    assert found.startswith(reason)


def test_a_lead_from_elsewhere_is_not_disqualified():
    assert engine.disqualified(
        RULES, {"domain": "acme.com", "email_domain": "acme.com", "title": "VP Sales"}
    ) == []
    assert engine.disqualified(RULES, {"domain": "notrival.example"}) == []


def test_the_explanation_gives_each_rule_its_points_and_the_verdict():
    values = {"title": "VP Sales", "employee_count": 120}
    activities = [
        ("web_visit", "https://x.io/pricing", None, 0.0),
        ("web_visit", "https://x.io/pricing", None, 0.0),
        ("web_visit", "https://x.io/pricing", None, 0.0),
        ("web_visit", "https://x.io/blog", None, 0.0),
        ("email_open", "", None, 0.0),
    ]
    found = engine.explain(RULES, 3, values, activities, now=0.0)
    assert [(line.criterion, line.option, line.points) for line in found.fit_lines] == [
        ("Seniority", "VP", 30),
        ("Company size", None, 0),
    ]
    assert [(r.rule, r.activities, r.points, r.capped) for r in found.rule_lines] == [
        ("Pricing page", 3, 20, True),
        ("Web visit", 1, 2, False),
        ("Form filled", 0, 0, False),
    ]
    assert (found.fit, found.engagement, found.unscored_activities) == (30, 22, 1)
    assert not found.meets
    assert found.verdict == (
        "Not an MQL: fit 30 is below 40 (10 short) and engagement 22 is below 25 (3 short)."
    )


def test_the_explanation_says_when_the_rule_is_met_and_when_disqualified():
    values = {"title": "VP Sales", "employee_count": 500}
    form = [("form_fill", "", None, 0.0)] * 2
    met = engine.explain(RULES, 3, values, form, now=0.0)
    assert met.verdict == "Meets the MQL rule: fit 50 ≥ 40 and engagement 30 ≥ 25."
    student = engine.explain(RULES, 3, {**values, "title": "VP Student council"}, form, now=0.0)
    assert student.verdict.startswith("Not an MQL: disqualified (student: title")
