"""GeoGuessr-like random locations: near real places, on land, in Street View countries.

GeoGuessr rounds fall where Google's cars drove: along roads in covered countries, denser where
people live, but far from proportional to population (a megacity does not get a thousand times
the rounds of a town). The sampler draws a GeoNames place (≥ 500 people) in a covered country
with probability ∝ population ** ``pop_exponent`` (default 0.5, which damps megacities), moves it
a random distance up to ``jitter_km`` in a random direction (uniform over the disc), and keeps
the point only if the land mask says land and the admin polygons put it in a covered country
(candidates that fail are redrawn). The same ``seed`` always gives the same points.

Usage::

    from backend.geo.sampler import sample_points
    lat, lng = sample_points(1000, seed=0)                    # world map
    lat, lng = sample_points(200, seed=1, countries=["FR", "DE"], jitter_km=3.0)
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from backend.core.geodesy import destination_point
from backend.geo.countries import STREET_VIEW_COVERAGE

MAX_ROUNDS = 50
"""Redraw rounds before giving up (each round draws 1.5x the points still missing)."""


class SamplerError(ValueError):
    """The request cannot be met (bad argument, or no candidate place survives the filters)."""


def sample_points(n: int, seed: int, *, jitter_km: float = 10.0, pop_exponent: float = 0.5,
                  countries: Iterable[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` GeoGuessr-like locations.

    Args:
        n: number of points (>= 1).
        seed: random seed; the same seed and arguments give the same points.
        jitter_km: largest distance a point is moved from its place (uniform over the disc);
            0 returns the places themselves.
        pop_exponent: places are weighted by population ** pop_exponent (0 = uniform over
            places, 1 = proportional to population).
        countries: ISO2 codes to sample from; default the official Street View countries
            (:data:`backend.geo.countries.STREET_VIEW_COVERAGE`).

    Returns:
        ``(lat, lng)`` float64 arrays of length ``n``, degrees.

    Raises:
        SamplerError: bad arguments, unknown countries, or no point survives the filters.
        AssetsMissing: the geographic assets are not built.
    """
    from backend.geo.lookup import GeoLookup

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise SamplerError(f"n must be a positive integer, got {n!r}")
    if not (np.isfinite(jitter_km) and jitter_km >= 0):
        raise SamplerError(f"jitter_km must be a finite number >= 0, got {jitter_km!r}")
    if not (np.isfinite(pop_exponent) and 0 <= pop_exponent <= 2):
        raise SamplerError(f"pop_exponent must lie in [0, 2], got {pop_exponent!r}")
    allowed = _allowed_countries(countries)
    geo = GeoLookup.default()
    places = geo._part("places")
    cand = np.flatnonzero(np.isin(places.country, list(allowed)))
    if cand.size == 0:
        raise SamplerError(f"no GeoNames place in {sorted(allowed)}; check the country codes")
    weight = places.population[cand].astype(np.float64).clip(min=1.0) ** pop_exponent
    prob = weight / weight.sum()
    rng = np.random.default_rng(seed)
    out_lat: list[np.ndarray] = []
    out_lng: list[np.ndarray] = []
    missing = n
    for _ in range(MAX_ROUNDS):
        k = int(missing * 1.5) + 8
        pick = cand[rng.choice(cand.size, size=k, p=prob)]
        lat, lng = places.lat[pick], places.lng[pick]
        if jitter_km > 0:
            dist = jitter_km * np.sqrt(rng.random(k))
            bearing = rng.uniform(0.0, 360.0, k)
            moved = [destination_point(a, b, c, d) for a, b, c, d in zip(lat, lng, bearing, dist)]
            lat = np.array([m[0] for m in moved])
            lng = np.array([m[1] for m in moved])
        ok = geo.is_land(lat, lng) & np.isin(geo.country(lat, lng), list(allowed))
        out_lat.append(lat[ok][:missing])
        out_lng.append(lng[ok][:missing])
        missing -= int(min(ok.sum(), missing))
        if missing == 0:
            return np.concatenate(out_lat), np.concatenate(out_lng)
    raise SamplerError(f"only {n - missing} of {n} points landed on land in "
                       f"{len(allowed)} countries after {MAX_ROUNDS} rounds; lower jitter_km")


def _allowed_countries(countries: Iterable[str] | None) -> set[str]:
    if countries is None:
        return set(STREET_VIEW_COVERAGE)
    if isinstance(countries, str):
        countries = [c for c in countries.replace(",", " ").split() if c]
    codes = {str(c).strip().upper() for c in countries}
    bad = sorted(c for c in codes if len(c) != 2 or not c.isalpha())
    if bad or not codes:
        raise SamplerError(f"countries must be ISO 3166-1 alpha-2 codes like FR, got "
                           f"{bad or 'nothing'}")
    return codes
