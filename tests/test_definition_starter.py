"""The starter definition is the demo company's v1 rules written in the definition format: it
scores every demo lead and activity stream exactly as the demo generator does, so the demo can
store it as its active document."""

import random
from datetime import UTC, datetime, timedelta

from leadflow.demo import catalog, company
from leadflow.scoring import document, engine
from leadflow.scoring.definitions import STARTER

# The demo's engagement keys, as activities: a pricing-page visit is a web visit to /pricing.
ACTIVITY = {
    "web_visit": ("web_visit", "https://leadflow.example/blog"),
    "pricing_page_visit": ("web_visit", "https://leadflow.example/pricing"),
    **{key: (key, "") for key in company.RULES["engagement"]["events"] if key not in (
        "web_visit", "pricing_page_visit")},
}


def test_it_gives_every_demo_lead_the_demo_fit():
    definition = document.parse(STARTER.read_text())
    for level, titles in catalog.TITLES.items():
        for title in titles:
            for employees in (2, 49, 50, 199, 200, 999, 1000, 4999):
                for industry, _ in catalog.INDUSTRIES:
                    for country, *_ in catalog.COUNTRIES:
                        for free_mail in (False, True):
                            values = {
                                "title": title,
                                "employee_count": employees,
                                "industry": industry,
                                "country": country,
                                "email_domain": "gmail.com" if free_mail else "acme.com",
                            }
                            assert engine.fit_score(definition, values) == company.fit_score(
                                level, employees, industry, country, free_mail
                            ), values


def test_it_gives_demo_activity_streams_the_demo_engagement():
    definition = document.parse(STARTER.read_text())
    rng = random.Random(7)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for _ in range(300):
        events = [
            (rng.choice(list(ACTIVITY)), start + timedelta(hours=rng.uniform(0, 24 * 120)))
            for _ in range(rng.randint(0, 25))
        ]
        at = start + timedelta(days=rng.uniform(0, 150))
        ours = engine.recompute(
            definition,
            [
                (engine.rule_index(definition, *ACTIVITY[key]), when.timestamp())
                for key, when in events
                if when <= at
            ],
            at.timestamp(),
        )
        assert round(ours, 2) == company.engagement_score(events, at)


def test_it_disqualifies_competitors_and_students_as_the_demo_does():
    definition = document.parse(STARTER.read_text())
    for domain in catalog.COMPETITOR_DOMAINS:
        assert engine.disqualified(definition, {"domain": domain, "email_domain": domain})
    for title in catalog.TITLES["student"]:
        assert engine.disqualified(definition, {"title": title})
    for title in catalog.TITLES["vp"]:
        assert not engine.disqualified(definition, {"title": title, "domain": "acme.com"})
