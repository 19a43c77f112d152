"""The definition document: every kind of rule it holds, and problems reported at their line
and field, all of them at once."""

import pytest

from leadflow.scoring import document, engine
from leadflow.scoring.definitions import STARTER
from leadflow.scoring.document import DocumentInvalid

BASE = """\
fit:
  - name: Seniority
    attribute: title
    options:
      - {label: VP, pattern: '^vp\\b|vice president', points: 25}
      - {label: Manager, in: [Manager, Team lead], points: 10}
  - name: Size
    attribute: employee_count
    options:
      - {label: big, range: {min: 1000}, points: 20}
      - {label: mid, range: {min: 200, max: 999}, points: 15}
  - name: Country
    attribute: country
    options:
      - {equals: NO, points: 5}
  - name: Segment
    attribute: custom.segment
    options:
      - {equals: enterprise, points: 12}
  - name: Seats
    attribute: custom.seats
    options:
      - {range: {min: 50}, points: 3}
engagement:
  half_life_days: 14
  rules:
    - {name: Pricing, activity: web_visit, url: {pattern: /pricing}, points: 10, cap: 20}
    - {name: Webinar, activity: [webinar_registered, webinar_attended],
       campaign: {in: [Spring live]}, points: 5}
mql: {fit_at_least: 30, engagement_at_least: 20}
sql_evidence:
  required: [decision_maker, need, compelling_event]
  optional: [budget]
disqualifiers:
  competitor_domains: [rival.com]
  free_mail_domains: [gmail.com]
  student_patterns: ['\\bstudent\\b']
"""


def fit(text, **values):
    return engine.fit_score(document.parse(text), values)


def problems(text):
    with pytest.raises(DocumentInvalid) as caught:
        document.parse(text)
    return [(p.line, p.field, p.message) for p in caught.value.problems]


def test_the_starter_definition_is_valid():
    definition = document.parse(STARTER.read_text())
    assert (definition.mql_fit, definition.mql_engagement) == (35, 30)
    assert definition.sql_required == ("decision_maker", "need", "compelling_event")


def test_a_pattern_match_ignores_case_and_searches_the_value():
    assert fit(BASE, title="VP Sales") == 25
    assert fit(BASE, title="Senior Vice President, Ops") == 25
    assert fit(BASE, title="MVP builder") == 0


def test_a_list_match_is_exact_and_ignores_case():
    assert fit(BASE, title="team lead") == 10
    assert fit(BASE, title="Team leader") == 0


def test_a_range_match_is_inclusive_and_open_ended():
    assert [fit(BASE, employee_count=n) for n in (199, 200, 999, 1000, 50_000)] == [
        0, 15, 15, 20, 20
    ]
    assert fit(BASE, employee_count=None) == 0


def test_the_first_matching_option_of_a_criterion_counts_once():
    # "VP, Manager of managers" matches both options: the first gives its points, alone.
    assert fit(BASE, title="VP, Manager") == 25


def test_an_exact_match_keeps_text_as_written():
    # YAML 1.1 would read NO (Norway) as false.
    assert fit(BASE, country="NO") == 5
    assert fit(BASE, country="no") == 5


def test_custom_attributes_match_text_and_numbers():
    assert fit(BASE, **{"custom.segment": "Enterprise"}) == 12
    assert fit(BASE, **{"custom.seats": 80}) == 3
    assert fit(BASE, **{"custom.seats": "80"}) == 3  # a number sent as text
    assert fit(BASE, **{"custom.seats": "many"}) == 0


def test_engagement_rules_filter_by_url_and_campaign():
    definition = document.parse(BASE)
    spring = engine.Campaign("Spring live")
    assert engine.rule_index(definition, "web_visit", "https://x.io/pricing") == 0
    assert engine.rule_index(definition, "web_visit", "https://x.io/blog") == engine.NO_RULE
    assert engine.rule_index(definition, "webinar_attended", "", spring) == 1
    assert engine.rule_index(definition, "webinar_attended", "", engine.Campaign("Fall")) == -1
    assert engine.rule_index(definition, "webinar_attended", "", None) == engine.NO_RULE
    by_external = engine.Campaign("Renamed", external_id="spring live")
    assert engine.rule_index(definition, "webinar_registered", "", by_external) == 1


def test_a_misspelt_field_is_reported_at_its_line_with_a_suggestion():
    text = BASE.replace("points: 25}", "pionts: 25}")
    assert problems(text) == [
        (5, "fit[0].options[0].points", "'points' is missing"),
        (
            5,
            "fit[0].options[0].pionts",
            "unknown field 'pionts' (did you mean 'points'?); expected points, label "
            "(optional), equals (optional), in (optional), range (optional), pattern (optional)",
        ),
    ]


def test_every_problem_is_reported_at_once():
    text = (
        BASE.replace("attribute: employee_count", "attribute: employees")
        .replace("half_life_days: 14", "half_life_days: 0")
        .replace("activity: web_visit", "activity: web_vist")
        .replace("'\\bstudent\\b'", "'(student'")
    )
    found = problems(text)
    assert [(line, field) for line, field, _ in found] == [
        (8, "fit[1].attribute"),
        (25, "engagement.half_life_days"),
        (27, "engagement.rules[0].activity"),
        (37, "disqualifiers.student_patterns[0]"),
    ]
    assert "did you mean 'web_visit'" in found[2][2]
    assert found[3][2].startswith("is not a valid regular expression")


def test_a_range_on_text_and_a_pattern_on_a_number_are_refused():
    text = BASE.replace("range: {min: 1000}", "pattern: '1000'").replace(
        "{equals: NO, points: 5}", "{range: {min: 1}, points: 5}"
    )
    assert [(line, field) for line, field, _ in problems(text)] == [
        (10, "fit[1].options[0].pattern"),
        (15, "fit[2].options[0].range"),
    ]


def test_the_mql_rule_needs_both_thresholds():
    assert problems(BASE.replace("mql: {fit_at_least: 30, engagement_at_least: 20}",
                                 "mql: {fit_at_least: 30}")) == [
        (30, "mql.engagement_at_least", "'engagement_at_least' is missing")
    ]


def test_sql_evidence_keeps_the_three_leadflow_requires():
    text = BASE.replace("required: [decision_maker, need, compelling_event]",
                        "required: [decision_maker, budget]").replace("optional: [budget]", "")
    (line, field, message), = problems(text)
    assert (line, field) == (32, "sql_evidence.required")
    assert message.startswith("must include need, compelling_event")


def test_a_yaml_syntax_error_is_reported_at_its_line():
    ((line, field, message),) = problems("fit:\n  - name: [unclosed\nmql: {}\n")
    assert (line, field) == (3, "")
    assert message.startswith("not valid YAML")


def test_an_empty_document_says_what_it_needs():
    assert problems("") == [(1, "", "the document is empty; it needs fit, engagement and mql")]
