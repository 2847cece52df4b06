"""The places the SynthWorld CLIP base learns from: disjoint from every place we test on.

PIGEON starts from a CLIP that never saw its holdout. Our base must not see the places the
demo, the ablation ladder or the tests train or test on, so its places obey two rules:

1. **A separate sampler stream**: ``backend.geo.sampler.sample_points(n, BASE_SEED)``, a
   seed that no dataset of the recipes or tests uses (they use small seeds: 0, 3, 11...).
2. **A minimum distance**: every base place lies at least ``min_km`` (default
   :data:`BASE_MIN_KM`, 5 km — five times the 1 km gap between the demo's own training and
   test places) from every place of every :data:`RESERVED` dataset. Candidates closer than
   that are dropped, and more are drawn until ``n`` places remain.

:data:`RESERVED` lists those datasets by how they are drawn (count, seed, countries): the
demo's (``pigeon synthworld train-demo`` defaults, which the ladder also uses) and those of the
tests that train or evaluate a model on sampled places. Their places are recomputed from the
sampler, so the rule holds for exactly the places those datasets contain.

Usage::

    from backend.synthworld.base_places import base_places, reserved_places
    lat, lng, meta = base_places(40_000)            # meta says seed, rule and what was dropped
    check_disjoint(lat, lng)                        # raises if any place is too close
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

BASE_SEED = 2_100_021
"""The base's sampler seed (issue 21); no recipe or test draws with it."""

BASE_MIN_KM = 5.0
"""Smallest distance from a base place to any reserved place."""


@dataclass(frozen=True)
class ReservedSet:
    """A dataset whose places the base must stay away from, as the sampler draws it."""

    name: str
    n: int
    seed: int
    countries: tuple[str, ...] | None = None


RESERVED: tuple[ReservedSet, ...] = (
    ReservedSet("the demo recipe and the ablation ladder (train-demo defaults)", 6000, 0),
    ReservedSet("tests/test_synthworld_learns.py", 600, 11,
                ("FI", "ES", "BR", "AU", "JP", "ZA", "TH", "US")),
    ReservedSet("tests/test_synthworld_train_demo.py", 240, 3),
    ReservedSet("tests/test_synthworld_base.py (held-out places of the base's probe)", 300, 5),
)


def reserved_places(reserved: tuple[ReservedSet, ...] = RESERVED) -> tuple[np.ndarray, np.ndarray]:
    """Every place of the reserved datasets, recomputed with the sampler."""
    from backend.geo.sampler import sample_points

    lats, lngs = [], []
    for r in reserved:
        lat, lng = sample_points(r.n, r.seed, countries=r.countries)
        lats.append(lat)
        lngs.append(lng)
    return np.concatenate(lats), np.concatenate(lngs)


def nearest_km(lat: Any, lng: Any, ref_lat: Any, ref_lng: Any) -> np.ndarray:
    """Distance in km from each point to the nearest reference point (haversine BallTree)."""
    from sklearn.neighbors import BallTree

    from backend.core.geodesy import EARTH_RADIUS_KM

    tree = BallTree(np.radians(np.stack([ref_lat, ref_lng], 1)), metric="haversine")
    dist, _ = tree.query(np.radians(np.stack([np.asarray(lat), np.asarray(lng)], 1)), k=1)
    return dist[:, 0] * EARTH_RADIUS_KM


def base_places(n: int, *, seed: int = BASE_SEED, min_km: float = BASE_MIN_KM,
                reserved: tuple[ReservedSet, ...] = RESERVED,
                ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """``n`` GeoGuessr-like places at least ``min_km`` from every reserved place.

    Candidates come from ``sample_points(m, seed)`` with ``m`` growing (1.25 n, then x1.5)
    until ``n`` survive; the first ``n`` survivors in sampler order are kept, so the same
    arguments give the same places.

    Returns:
        ``(lat, lng, meta)``; ``meta`` records the seed, the rule, the reserved datasets and
        how many candidates the rule dropped.

    Raises:
        ValueError: ``n < 1``, a seed that a reserved dataset uses, or too few survivors.
    """
    from backend.geo.sampler import sample_points

    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if any(r.seed == seed for r in reserved):
        raise ValueError(f"seed {seed} is a reserved dataset's seed; the base needs its own "
                         "sampler stream")
    r_lat, r_lng = reserved_places(reserved)
    m = int(n * 1.25) + 16
    for _ in range(6):
        lat, lng = sample_points(m, seed)
        keep = nearest_km(lat, lng, r_lat, r_lng) >= min_km
        if keep.sum() >= n:
            idx = np.flatnonzero(keep)[:n]
            meta = {"sampler": "backend.geo.sampler.sample_points", "seed": seed,
                    "candidates": m, "dropped_near_reserved": int((~keep[:idx[-1] + 1]).sum()),
                    "min_km": min_km, "reserved": [asdict(r) for r in reserved],
                    "n_reserved_places": len(r_lat)}
            return lat[idx], lng[idx], meta
        m = int(m * 1.5)
    raise ValueError(f"fewer than {n} candidates lie {min_km} km from the reserved places")


def check_disjoint(lat: Any, lng: Any, *, min_km: float = BASE_MIN_KM,
                   reserved: tuple[ReservedSet, ...] = RESERVED) -> float:
    """The smallest distance from the given places to any reserved place, in km.

    Raises:
        ValueError: some place lies closer than ``min_km`` (the message says how many).
    """
    r_lat, r_lng = reserved_places(reserved)
    d = nearest_km(lat, lng, r_lat, r_lng)
    close = int((d < min_km).sum())
    if close:
        raise ValueError(f"{close} place(s) lie within {min_km} km of a reserved place "
                         f"(closest {d.min():.2f} km)")
    return float(d.min())
