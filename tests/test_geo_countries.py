"""The country table: names, continents, driving side, Street View coverage (no assets needed)."""

from __future__ import annotations

import pytest

from backend.geo.countries import (
    LEFT_HAND_TRAFFIC,
    STREET_VIEW_COVERAGE,
    all_countries,
    country,
    covered_countries,
    driving_side,
)


def test_table_has_every_geonames_country():
    rows = all_countries()
    assert len(rows) >= 240
    assert [r.iso2 for r in rows] == sorted(r.iso2 for r in rows)
    assert {r.continent for r in rows} <= {"AF", "AN", "AS", "EU", "NA", "OC", "SA"}


@pytest.mark.parametrize("iso2, name, continent, side", [
    ("FR", "France", "EU", "right"), ("GB", "United Kingdom", "EU", "left"),
    ("JP", "Japan", "AS", "left"), ("ZA", "South Africa", "AF", "left"),
    ("US", "United States", "NA", "right"), ("AU", "Australia", "OC", "left"),
    ("BR", "Brazil", "SA", "right"), ("XK", "Kosovo", "EU", "right"),
    ("TH", "Thailand", "AS", "left"), ("ID", "Indonesia", "AS", "left"),
])
def test_known_rows(iso2, name, continent, side):
    c = country(iso2.lower())
    assert (c.iso2, c.name, c.continent, c.driving_side) == (iso2, name, continent, side)
    assert driving_side(iso2) == side
    assert c.population > 0


def test_driving_side_of_unknown_or_empty_is_right():
    assert driving_side("") == "right" and driving_side("ZZ") == "right"


def test_unknown_code_is_a_clear_error():
    with pytest.raises(KeyError, match="ZZ"):
        country("ZZ")


def test_coverage_list_is_sane():
    covered = covered_countries()
    assert {"US", "FR", "JP", "BR", "ZA", "AU", "RU", "TH"} <= set(covered)
    assert not {"CN", "KP", "IR", "SA", "DZ"} & set(covered)  # famously no Street View
    assert set(covered) == STREET_VIEW_COVERAGE  # every listed code is a real country
    assert country("FR").street_view and not country("CN").street_view
    assert all(len(c) == 2 and c.isupper() for c in LEFT_HAND_TRAFFIC)
