"""Country names as people type them into forms, to ISO 3166-1 alpha-2 codes.

The names are the tz database's table (iso3166.py, public domain),
plus the usual other spellings. Anything not recognised is left to the caller: a web form
keeps it as a custom attribute rather than guessing.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from leadflow.intake.iso3166 import TABLE

# Spellings the table does not carry (it writes "Britain (UK)", "Korea (South)"…).
ALIASES = {
    "usa": "US", "us": "US", "u s a": "US", "u s": "US", "america": "US",
    "united states of america": "US",
    "uk": "GB", "u k": "GB", "great britain": "GB", "united kingdom": "GB", "england": "GB",
    "scotland": "GB", "wales": "GB", "northern ireland": "GB",
    "deutschland": "DE", "osterreich": "AT", "schweiz": "CH", "suisse": "CH",
    "espana": "ES", "italia": "IT", "nederland": "NL", "holland": "NL", "the netherlands": "NL",
    "belgique": "BE", "belgie": "BE", "sverige": "SE", "norge": "NO", "danmark": "DK",
    "suomi": "FI", "polska": "PL", "czechia": "CZ", "turkiye": "TR", "brasil": "BR",
    "mexico": "MX", "south korea": "KR", "republic of korea": "KR", "north korea": "KP",
    "russian federation": "RU", "uae": "AE", "emirates": "AE", "viet nam": "VN",
    "ivory coast": "CI", "cote d ivoire": "CI", "burma": "MM", "swaziland": "SZ",
    "samoa": "WS", "american samoa": "AS", "hong kong sar": "HK", "macao": "MO", "taiwan roc": "TW",
    "democratic republic of the congo": "CD", "republic of the congo": "CG",
}


def _plain(text: str) -> str:
    """Lower case, accents and punctuation gone, '&' as 'and', single spaces."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = text.lower().replace("&", " and ")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


@cache
def _names() -> dict[str, str]:
    names: dict[str, str] = {}
    bases: dict[str, set[str]] = {}
    for line in TABLE.splitlines():
        code, name = line.split("\t", 1)
        names[_plain(name)] = code
        names[code.lower()] = code
        if "(" in name:  # "Britain (UK)" is also typed "Britain"
            bases.setdefault(_plain(name.split("(", 1)[0]), set()).add(code)
    # …but "Congo" or "Korea" alone could be either of two: not recognised.
    names.update({base: codes.pop() for base, codes in bases.items() if len(codes) == 1})
    names.update(ALIASES)
    return names


def iso2(value: str | None) -> str | None:
    """The ISO alpha-2 code of a country name or code, or None if it is not recognised."""
    if not value or not value.strip():
        return None
    return _names().get(_plain(value))
