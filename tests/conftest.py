"""One small named world: a person per role, the default teams, a source."""

import pytest

from leadflow.accounts.models import Role, Side, Team, User
from leadflow.leads import actions, defaults
from leadflow.leads.models import ReasonCode, Source

PASSWORD = "correct-horse-battery"


class World:
    def __init__(self):
        # Transactional tests flush the tables, data migrations included: put the defaults back.
        defaults.install_teams(Team)
        defaults.install_reason_codes(ReasonCode)
        self.marketing_team = Team.objects.get(side=Side.MARKETING)
        self.inside_team = Team.objects.get(side=Side.INSIDE_SALES)
        self.field_team = Team.objects.get(side=Side.FIELD_SALES)
        self.arbiter_team = Team.objects.get(side=Side.ARBITER)
        self.marketing = self.user("marketing", Role.MARKETING, self.marketing_team)
        self.marketing_manager = self.user("marketing-manager", Role.MANAGER, self.marketing_team)
        self.sdr = self.user("sdr", Role.INSIDE_SALES, self.inside_team)
        self.sdr2 = self.user("sdr2", Role.INSIDE_SALES, self.inside_team)
        self.sales_manager = self.user("sales-manager", Role.MANAGER, self.inside_team)
        self.ae = self.user("ae", Role.FIELD_SALES, self.field_team)
        self.field_manager = self.user("field-manager", Role.MANAGER, self.field_team)
        self.arbiter = self.user("arbiter", Role.ARBITER, self.arbiter_team)
        self.admin = self.user("admin", Role.ADMIN, None, is_staff=True, is_superuser=True)
        self.source = Source.objects.create(name="Organic Web")

    @staticmethod
    def user(username, role, team, **extra):
        return User.objects.create_user(
            username=username, password=PASSWORD, role=role, team=team,
            first_name=username.replace("-", " ").title(), **extra,
        )

    def lead(self, **fields):
        fields.setdefault("email", "pat@example.com")
        fields.setdefault("first_name", "Pat")
        fields.setdefault("last_name", "Lee")
        fields.setdefault("company", "Acme")
        return actions.create_lead(actor=self.marketing, source=self.source, **fields)

    def lead_at(self, stage: str, **fields):
        """A lead walked to `stage` through the real transitions."""
        lead = self.lead(**fields)
        path = {
            "inquiry": [],
            "mql": [("qualify", self.marketing, {})],
            "sal": [("qualify", self.marketing, {}), ("accept", OFFERED, {})],
            "sql": [
                ("qualify", self.marketing, {}),
                ("accept", OFFERED, {}),
                ("convert", OFFERED, {"evidence": EVIDENCE}),
            ],
            "sql_accepted": [
                ("qualify", self.marketing, {}),
                ("accept", OFFERED, {}),
                ("convert", OFFERED, {"evidence": EVIDENCE}),
                ("accept", OFFERED, {}),
            ],
            "nurture": [("nurture", self.marketing, {})],
            "in_review": [
                ("qualify", self.marketing, {}),
                ("reject", OFFERED, {"reason": "below-fit", "comment": "tiny company"}),
            ],
        }[stage]
        for name, actor, kw in path:
            if actor is OFFERED:
                actor = lead.owner  # whoever round-robin offered it to (or who accepted it)
            lead = actions.transition(lead, name, actor=actor, **kw)
        return lead


OFFERED = object()  # in lead_at paths: the rep the lead is offered to or owned by

EVIDENCE = {
    "decision_maker": "Dana Cho, VP Operations (signs)",
    "need": "Manual routing loses 30% of web leads",
    "compelling_event": "New region opens 2027-01-15",
}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness protects real passwords; tests need no such protection.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db):
    return World()
