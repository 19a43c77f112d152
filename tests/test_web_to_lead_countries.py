"""Country names as people type them become ISO alpha-2 codes; ambiguous or unknown ones don't."""

import pytest

from leadflow.intake.countries import iso2


@pytest.mark.parametrize(
    "typed, code",
    [
        ("Germany", "DE"), ("germany ", "DE"), ("DE", "DE"), ("de", "DE"), ("Deutschland", "DE"),
        ("United States", "US"), ("USA", "US"), ("U.S.A.", "US"), ("United Kingdom", "GB"),
        ("UK", "GB"), ("Britain", "GB"), ("South Korea", "KR"), ("Korea (South)", "KR"),
        ("Côte d'Ivoire", "CI"), ("Trinidad and Tobago", "TT"), ("Trinidad & Tobago", "TT"),
        ("Czechia", "CZ"), ("Samoa", "WS"),
    ],
)
def test_a_recognisable_name_becomes_its_code(typed, code):
    assert iso2(typed) == code


@pytest.mark.parametrize("typed", ["Congo", "Korea", "Narnia", "", "  ", None])
def test_an_ambiguous_or_unknown_name_is_not_guessed(typed):
    assert iso2(typed) is None
