"""What a fresh installation starts with: the four teams of the lead flow and the reason codes.

Used by the data migrations (with historical models) and by tests that flush the database.
"""

TEAMS = [
    ("Marketing", "marketing"),
    ("Inside sales", "inside_sales"),
    ("Field sales", "field_sales"),
    ("Arbiter", "arbiter"),
]

# (kind, code, class, label, disqualifies)
REASONS = [
    ("reject", "wrong-territory", "procedural", "Routed to the wrong territory or team", False),
    ("reject", "wrong-person", "procedural", "Routed to the wrong person", False),
    ("reject", "already-in-deal", "procedural", "Already a customer or in an open deal", False),
    ("reject", "incomplete-record", "clerical", "Record incomplete (no phone, company…)", False),
    ("reject", "wrong-contact-data", "clerical", "Contact data wrong", False),
    ("reject", "below-fit", "definitional", "Does not meet the definition: fit", False),
    ("reject", "no-intent", "definitional", "Does not meet the definition: no intent", False),
    ("reject", "spam", "definitional", "Spam or fake", True),
    ("return", "went-cold", "", "Went cold: no answer after contact attempts", False),
    ("return", "not-ready", "", "Real, but not ready to buy now", False),
    ("return", "not-real", "", "Not a real lead", True),
    ("return", "duplicate", "clerical", "Duplicate of another lead", True),
    ("disqualify", "no-need", "", "No real need", False),
    ("disqualify", "no-authority", "", "No authority and no path to one", False),
    ("disqualify", "competitor", "", "Competitor", False),
    ("disqualify", "student", "", "Student or researcher", False),
    ("disqualify", "duplicate", "", "Duplicate", False),
    ("disqualify", "spam", "", "Spam or fake", False),
    ("nurture", "not-ready", "", "Not ready to buy yet", False),
    ("nurture", "no-budget-yet", "", "Interested, no budget this cycle", False),
    ("loss", "price", "", "Price", False),
    ("loss", "competitor", "", "Went with a competitor", False),
    ("loss", "no-decision", "", "No decision / status quo", False),
    ("loss", "product-fit", "", "Product did not fit", False),
    ("loss", "timing", "", "Timing", False),
]



def install_teams(Team) -> None:
    for name, side in TEAMS:
        if not Team.objects.filter(side=side).exists():
            Team.objects.create(name=name, side=side)


def install_reason_codes(ReasonCode) -> None:
    for kind, code, reason_class, label, disqualifies in REASONS:
        ReasonCode.objects.get_or_create(
            kind=kind,
            code=code,
            defaults={"reason_class": reason_class, "label": label, "disqualifies": disqualifies},
        )
