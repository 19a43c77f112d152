"""Results side by side with their comparison periods, as JSON-ready dicts and CSV tables.

Every report family computes one span at a time; `compare` runs it for the span, the span
before and the same span last year, and gives all three the same rows in the same order —
a group missing from a period appears there with zeros — so each figure can sit beside its
comparisons.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from leadflow.reports.periods import Span, comparisons


@dataclass
class Compared:
    """One report for a span and its two comparison spans."""

    report: str
    periods: dict[str, str]  # comparison -> span label
    current: Any
    previous: Any
    last_year: Any

    def by_comparison(self) -> dict[str, Any]:
        return {role: getattr(self, role) for role in self.periods}


def compare(
    report: str,
    span: Span,
    compute: Callable[[Span], Any],
    zero_row: Callable[[str], Any] | None = None,
    expected: Callable[[Span], list[str]] | None = None,
    sort_key: Callable[[Any], Any] | None = None,
) -> Compared:
    """Run `compute` for the span, the previous span and the same span last year.

    With `zero_row`, rows are aligned: every result gets the union of all groups (plus
    `expected(span)` for each span), zeros where a group had nothing, in one order. Group
    labels of period dimensions differ between spans (2026-01 vs 2025-12), so they are
    aligned by position instead, each span with its own periods. `sort_key` orders the
    aligned rows (the total stays first).
    """
    spans = comparisons(span)
    # For a 12-month span, "previous" and "last year" are the same months: compute them once.
    computed: dict[Span, Any] = {}
    results = {}
    for role, s in spans.items():
        if s not in computed:
            computed[s] = compute(s)
            results[role] = computed[s]
        else:
            results[role] = copy.deepcopy(computed[s])
    if zero_row is not None:
        if expected is not None and expected(span):
            for role, s in spans.items():
                _fill(results[role], expected(s), zero_row)
        else:
            labels: list[str] = []
            for result in results.values():
                labels += [r.group for r in result.rows if r.group not in labels]
            if sort_key is not None:
                first = {}
                for result in results.values():
                    for r in result.rows:
                        first.setdefault(r.group, r)
                labels = sorted(labels, key=lambda label: sort_key(first[label]))
            for result in results.values():
                _fill(result, labels, zero_row)
    return Compared(report, {role: s.label for role, s in spans.items()}, **results)


def _fill(result, labels: Sequence[str], zero_row: Callable[[str], Any]) -> None:
    """Rows in `labels` order (a leading total row stays first), zeros for missing ones."""
    by_label = {r.group: r for r in result.rows}
    head = [r for r in result.rows if getattr(r, "total", False)]
    ordered = [by_label.get(label) or zero_row(label) for label in labels]
    ordered = [r for r in ordered if not getattr(r, "total", False)]
    extra = [r for r in result.rows if r.group not in labels and r not in head]
    result.rows = head + ordered + extra


# --- JSON ----------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Plain JSON values: dataclasses as dicts, money as numbers, moments as ISO 8601."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


# --- CSV -----------------------------------------------------------------------------------


def flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    """Nested dicts and dataclasses as flat columns: {'reached': {'mql': 3}} -> reached_mql."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # `total` only marks the "All" row for the code; the table says "All".
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        value.pop("total", None)
    if isinstance(value, dict):
        for key, item in value.items():
            flatten(f"{prefix}_{key}" if prefix else str(key), item, out)
    elif isinstance(value, list | tuple):
        out[prefix] = "; ".join(str(v) for v in value)
    else:
        out[prefix] = value


def table(rows: Sequence[Any], leading: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Rows (dataclasses) as flat dicts, each prefixed with the `leading` columns."""
    out = []
    for row in rows:
        flat: dict[str, Any] = dict(leading or {})
        flatten("", row, flat)
        out.append(flat)
    return out


def compared_table(compared: Compared, rows_of: Callable[[Any], Sequence[Any]]) -> list[dict]:
    """The rows of each comparison, one after another, labelled with comparison and period."""
    out = []
    for role, result in compared.by_comparison().items():
        out += table(rows_of(result), {"comparison": role, "period": compared.periods[role]})
    return out


def _cell(value: Any) -> Any:
    # An undefined rate (zero denominator) is an empty cell: a spreadsheet reads it as blank,
    # not as text in a numeric column.
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    """Flat dict rows as CSV text with a header (the union of keys, in first-seen order)."""
    header: list[str] = []
    for row in rows:
        header += [k for k in row if k not in header]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(row.get(k)) for k in header])
    return buffer.getvalue()
