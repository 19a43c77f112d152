"""What a CSV column can be imported as, and the built-in column mappings.

A mapping takes a column's header to a target:
- a lead field (`email`, `company`, …), `source`, `campaign`, `created_at`;
- a history column: the moment the lead first reached a stage (`mql_date`, `sal_date`,
  `sql_date`, `opportunity_date`, `won_date`, `lost_date`), the opportunity's `amount`, the
  loss reason (`outcome_reason`), the qualification evidence (`decision_maker`, `need`,
  `compelling_event`);
- `custom.<key>`: a custom attribute;
- `-`: skipped.
A column the mapping does not name is matched to a target of the same name (case and spaces
aside: "First Name" is `first_name`); failing that it becomes a custom attribute named after
the header (`Lead Status` -> `custom.lead_status`).
"""

from __future__ import annotations

import re

SKIP = "-"
CUSTOM = "custom."

LEAD_FIELDS = (
    "first_name", "last_name", "title", "email", "phone", "company", "domain", "country",
    "industry", "employee_count", "external_id",
)
ORIGIN_FIELDS = ("source", "campaign", "created_at")
# In the order the lead reached them: each is a transition of leadflow.leads.lifecycle.
STAGE_DATES = ("mql_date", "sal_date", "sql_date", "opportunity_date", "won_date", "lost_date")
HISTORY_FIELDS = (*STAGE_DATES, "amount", "outcome_reason")
EVIDENCE_FIELDS = ("decision_maker", "need", "compelling_event")
TARGETS = (*LEAD_FIELDS, *ORIGIN_FIELDS, *HISTORY_FIELDS, *EVIDENCE_FIELDS)

# Other names the same targets go by in CSV files.
ALIASES = {
    "created": "created_at",
    "created_date": "created_at",
    "create_date": "created_at",
    "job_title": "title",
    "company_name": "company",
    "website": "domain",
    "lead_source": "source",
    "employees": "employee_count",
    "no_of_employees": "employee_count",
    "number_of_employees": "employee_count",
    "id": "external_id",
    "mql_at": "mql_date",
    "sal_at": "sal_date",
    "sql_at": "sql_date",
    "opportunity_at": "opportunity_date",
    "won_at": "won_date",
    "lost_at": "lost_date",
    "loss_reason": "outcome_reason",
}

BUILT_IN = {
    # Salesforce: Leads report or Data Export (Lead.csv), with the columns' labels.
    "salesforce-leads": {
        "Lead ID": "external_id",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Title": "title",
        "Company": "company",
        "Email": "email",
        "Phone": "phone",
        "Website": "domain",
        "Lead Source": "source",
        "Lead Status": "custom.lead_status",
        "Country": "country",
        "Industry": "industry",
        "No. of Employees": "employee_count",
        "Created Date": "created_at",
        "Rating": "custom.rating",
        "Annual Revenue": "custom.annual_revenue",
        "Lead Owner": "custom.salesforce_owner",
        "Converted Date": "sql_date",
    },
    # HubSpot: Contacts > Export, with the properties' labels.
    "hubspot-contacts": {
        "Record ID": "external_id",
        "First Name": "first_name",
        "Last Name": "last_name",
        "Email": "email",
        "Phone Number": "phone",
        "Company Name": "company",
        "Job Title": "title",
        "Website URL": "domain",
        "Country/Region": "country",
        "Industry": "industry",
        "Number of Employees": "employee_count",
        "Original Source": "source",
        "Lifecycle Stage": "custom.lifecycle_stage",
        "Lead Status": "custom.lead_status",
        "Contact owner": "custom.hubspot_owner",
        "Create Date": "created_at",
        "Became a Marketing Qualified Lead Date": "mql_date",
        "Became a Sales Qualified Lead Date": "sql_date",
        "Became an Opportunity Date": "opportunity_date",
        "Became a Customer Date": "won_date",
    },
}


def slug(header: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")


def is_target(target: str) -> bool:
    return target == SKIP or target in TARGETS or (
        target.startswith(CUSTOM) and bool(slug(target[len(CUSTOM):]))
    )


def target_for(header: str, mapping: dict[str, str]) -> str:
    """Where the column `header` goes under `mapping` (see the module docstring)."""
    if header in mapping:
        return mapping[header]
    name = slug(header)
    name = ALIASES.get(name, name)
    if name in TARGETS:
        return name
    return f"{CUSTOM}{name}" if name else SKIP


class MappingError(ValueError):
    pass


def resolve(header: list[str], mapping: dict[str, str]) -> list[str]:
    """The target of each column, in order. Refuses unknown targets and two columns mapped to
    the same target (which one should win?), naming the columns."""
    unknown = [f"{c!r} -> {t!r}" for c, t in mapping.items() if not is_target(t)]
    if unknown:
        raise MappingError(
            f"unknown target(s): {', '.join(unknown)}; a target is one of "
            f"{', '.join(TARGETS)}, custom.<key> or - (skip)"
        )
    missing = [c for c in mapping if c not in header]
    if missing:
        raise MappingError(f"the file has no column(s) {', '.join(map(repr, missing))}")
    targets = [target_for(h, mapping) for h in header]
    seen: dict[str, str] = {}
    for column, target in zip(header, targets, strict=True):
        if target == SKIP:
            continue
        if target in seen:
            raise MappingError(
                f"columns {seen[target]!r} and {column!r} are both mapped to {target!r}: "
                f"map one of them elsewhere or to - (skip)"
            )
        seen[target] = column
    return targets


def preset_mapping(name: str) -> tuple[dict[str, str], dict]:
    """The mapping and options of a built-in or saved preset."""
    if name in BUILT_IN:
        return dict(BUILT_IN[name]), {}
    from leadflow.transfer.models import ImportPreset

    preset = ImportPreset.objects.filter(name=name).first()
    if preset is None:
        names = [*BUILT_IN, *ImportPreset.objects.values_list("name", flat=True)]
        raise MappingError(f"there is no preset {name!r} (there are: {', '.join(names)})")
    return dict(preset.mapping), dict(preset.options)
