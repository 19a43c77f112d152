"""The definition leads are scored against: the active version, parsed once per process."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from leadflow.leads.models import LeadDefinition
from leadflow.scoring import document
from leadflow.scoring.document import Definition, DocumentInvalid

_parsed: dict[tuple[int, str], Definition | DocumentInvalid] = {}


@dataclass(frozen=True)
class Scoring:
    """A definition version and its parsed rules."""

    row: LeadDefinition
    rules: Definition

    @property
    def version(self) -> int:
        return self.row.version


def parsed(row: LeadDefinition) -> Definition:
    """The rules of a stored version (DocumentInvalid if its document is not valid). Versions
    past draft never change, so the parse is kept; a draft is keyed by its text."""
    key = (row.pk, hashlib.sha1(row.document.encode()).hexdigest())
    if key not in _parsed:
        if len(_parsed) > 64:
            _parsed.clear()
        try:
            _parsed[key] = document.parse(row.document)
        except DocumentInvalid as invalid:
            _parsed[key] = invalid
    found = _parsed[key]
    if isinstance(found, DocumentInvalid):
        raise found
    return found


def active() -> Scoring | None:
    """The active version, or None when there is none or its document cannot be read (then
    leads keep the scores they have; the definitions page says why)."""
    row = LeadDefinition.active()
    if row is None:
        return None
    try:
        return Scoring(row, parsed(row))
    except DocumentInvalid:
        return None
