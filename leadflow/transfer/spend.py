"""Marketing spend per source (and campaign) per month, entered on the spend page or imported
from a CSV file: what the lead-source table divides by (DOMAIN.md "Cost per stage").

A spend file has a header line and one row per source, campaign and month:

    month,source,campaign,amount,currency
    2026-01,Webinars,Pricing webinar,1000.00,USD
    2026-01,Webinars,,250

- `month`: 2026-01 (or any day of the month: 2026-01-15);
- `source`: the name of a source leadflow knows (case does not matter);
- `campaign` (optional column, blank allowed): one of that source's campaigns; blank books the
  amount on the source as a whole;
- `amount`: zero or more, with up to two decimals (a thousands separator is not accepted);
- `currency` (optional): three letters, USD by default.

A row for a source, campaign and month that already has spend replaces its amount: the file
is the truth for the months it names, so importing a corrected file twice is harmless. Bad
rows are reported by line, column and reason; the good rows are stored.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import transaction

from leadflow.leads.models import Campaign, Source, Spend

REQUIRED = ("month", "source", "amount")
OPTIONAL = ("campaign", "currency")
_MONTH = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
_AMOUNT = re.compile(r"^\d+(\.\d{1,2})?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class SpendFileError(ValueError):
    """The file cannot be read as a spend file at all (its header); says what is wrong."""


@dataclass
class BadRow:
    line: int
    column: str
    reason: str


@dataclass
class SpendResult:
    added: int = 0
    replaced: int = 0
    bad: list[BadRow] = field(default_factory=list)


@dataclass(frozen=True)
class SpendEntry:
    source: Source
    campaign: Campaign | None
    month: date
    amount: Decimal
    currency: str


def read_csv(text: str) -> tuple[list[tuple[int, dict[str, str]]], list[BadRow]]:
    """(line number, {column: value}) for each data row of a spend file's text, and the rows
    with more fields than the header (fewer: the missing trailing ones are blank)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if not header:
        raise SpendFileError("the file is empty: it needs a header line")
    columns = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise SpendFileError(
            f"the header has no {', '.join(missing)} column (needed: {', '.join(REQUIRED)}; "
            f"optional: {', '.join(OPTIONAL)})"
        )
    rows, bad = [], []
    for values in reader:
        if not any(v.strip() for v in values):
            continue  # a blank line
        if len(values) > len(columns):
            bad.append(BadRow(reader.line_num, "",
                              f"{len(values)} fields where the header has {len(columns)}"))
            continue
        values += [""] * (len(columns) - len(values))  # trailing empty fields left out
        rows.append((reader.line_num, dict(zip(columns, (v.strip() for v in values), strict=True))))
    return rows, bad


class _Parser:
    """Turns one row's text into a `SpendEntry`, or the first problem found in it."""

    def __init__(self) -> None:
        self.sources = {s.name.lower(): s for s in Source.objects.all()}
        self.campaigns = {
            (c.source_id, c.name.lower()): c for c in Campaign.objects.select_related("source")
        }

    def __call__(self, values: dict[str, str]) -> SpendEntry | tuple[str, str]:
        m = _MONTH.match(values.get("month", ""))
        if not m or not 1 <= int(m[2]) <= 12:
            return "month", f"'{values.get('month', '')}' is not a month: use 2026-01"
        month = date(int(m[1]), int(m[2]), 1)
        name = values.get("source", "")
        source = self.sources.get(name.lower())
        if source is None:
            return "source", f"unknown source '{name}'" if name else "the source is blank"
        campaign = None
        if campaign_name := values.get("campaign", ""):
            campaign = self.campaigns.get((source.pk, campaign_name.lower()))
            if campaign is None:
                return "campaign", f"'{source.name}' has no campaign '{campaign_name}'"
        text = values.get("amount", "").replace("$", "")
        if not _AMOUNT.match(text):
            return "amount", f"'{values.get('amount', '')}' is not an amount of zero or more"
        amount = Decimal(text)
        currency = (values.get("currency") or "USD").upper()
        if not _CURRENCY.match(currency):
            return "currency", f"'{values.get('currency')}' is not a three-letter currency"
        return SpendEntry(source, campaign, month, amount, currency)


def import_spend(
    rows: Iterable[tuple[int, dict[str, str]]], bad: Iterable[BadRow] = ()
) -> SpendResult:
    """Store the good rows (added, or replacing the amount already booked for their source,
    campaign and month) in one transaction; report the bad ones by line, column and reason.
    A second row for the same source, campaign and month in one file is a bad row: which of
    the two is right cannot be told. `bad`: rows already found bad while reading."""
    parse = _Parser()
    result = SpendResult(bad=list(bad))
    good: dict[tuple, tuple[int, SpendEntry]] = {}
    for line, values in rows:
        entry = parse(values)
        if isinstance(entry, tuple):
            result.bad.append(BadRow(line, *entry))
            continue
        key = (entry.source.pk, entry.campaign.pk if entry.campaign else None, entry.month)
        if key in good:
            result.bad.append(BadRow(line, "month", f"same source, campaign and month as line "
                                                    f"{good[key][0]}"))
            continue
        good[key] = (line, entry)
    with transaction.atomic():
        for _, entry in good.values():
            _, created = Spend.objects.update_or_create(
                source=entry.source,
                campaign=entry.campaign,
                month=entry.month,
                defaults={"amount": entry.amount, "currency": entry.currency},
            )
            if created:
                result.added += 1
            else:
                result.replaced += 1
    result.bad.sort(key=lambda b: b.line)
    return result


def spend_grid(months: list[date]) -> tuple[list[str], list[tuple[str, list[Decimal | None]]]]:
    """The spend of `months` as a grid: (month labels, [(source › campaign, amount per month)])."""
    booked: dict[str, dict[date, Decimal]] = {}
    rows = Spend.objects.filter(month__in=months).select_related("source", "campaign")
    for s in rows.order_by("source__name", "campaign__name"):
        label = s.source.name if s.campaign is None else f"{s.source.name} › {s.campaign.name}"
        booked.setdefault(label, {})[s.month] = s.amount
    return (
        [f"{m:%Y-%m}" for m in months],
        [(label, [amounts.get(m) for m in months]) for label, amounts in booked.items()],
    )
