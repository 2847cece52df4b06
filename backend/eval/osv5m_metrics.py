"""OSV-5M's own evaluation, computed the way its benchmark code does, so that a bundle's row
can sit beside the OSV-5M leaderboard.

What the benchmark computes (``metrics/distance_based.py`` ``HaversineMetrics`` and
``metrics/utils.py`` of github.com/gastruc/osv5m, read for this module; reimplemented here):

- distance: haversine on a sphere of radius **6371 km** (our own table uses the mean radius
  6371.0088 km); ``Haversine`` = the mean distance in km;
- ``Geoguessr`` (the *GeoScore*) = mean of ``5000 * exp(-d / 1492.7)``;
- accuracy within 1 / 25 / 200 / 750 / 2500 km counts ``d < r`` (strictly less; ours counts
  ``<=``);
- area accuracy: the guess is reverse-geocoded with the ``reverse_geocoder`` package (the
  nearest of its GeoNames places of 1000+ people) and turned into OSV-5M's label strings —
  country ``cc``; region ``admin1_cc``; sub-region ``admin2_admin1_cc``; city
  ``name_admin2_admin1_cc`` — which are compared, as strings, with the truth's labels in the
  CSV's ``unique_country``, ``unique_region``, ``unique_sub-region`` and ``unique_city``
  columns. As in their code, an item whose truth label is missing (their loader fills it with
  ``"NaN"``) still counts, as a miss; and since the CSV writes a missing admin-2 as ``NaN``
  inside a city label (``Waitangi_NaN_Chatham Islands_NZ``) while ``reverse_geocoder`` gives
  ``""`` (``Waitangi__Chatham Islands_NZ``), such cities never match — their leaderboard
  numbers include these quirks, so ours do too.

When a dataset has no ``unique_*`` columns, the truth's labels are made the same way as the
guess's (reverse geocoding the true coordinates), and the report says so.

Usage::

    truth = truth_labels(locations)                # from the CSV, or None
    rep = osv5m_metrics(t_lat, t_lng, p_lat, p_lng, truth=truth)
    print(format_osv5m(rep))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from backend.core.metrics import distance_errors_km
from backend.eval.bootstrap import bootstrap_intervals

OSV5M_RADIUS_KM = 6371.0
RADII_KM = (1, 25, 200, 750, 2500)
AREAS = ("country", "region", "sub-region", "city")
MISSING = "NaN"
LEADERBOARD: tuple[tuple[str, dict[str, float]], ...] = (
    ("OSV-5M baseline (osv5m/baseline)", {"geoscore": 3361, "haversine_km": 1814,
                                          "country_acc": 68.0, "region_acc": 39.4,
                                          "sub-region_acc": 10.3, "city_acc": 5.9}),
    ("PLONK", {"geoscore": 3767, "country_acc": 76.0}),
)
"""Published rows (the osv5m/baseline model card; PLONK's paper): what we have of them."""

Search = Callable[[list[tuple[float, float]]], list[dict[str, str]]]


def reverse_geocode(points: list[tuple[float, float]]) -> list[dict[str, str]]:
    """``reverse_geocoder.search`` in one process (their code used the package's default,
    which gives the same answers with worker processes)."""
    import reverse_geocoder

    return reverse_geocoder.search(points, mode=1, verbose=False) if points else []


def area_labels(lat: Any, lng: Any, *, search: Search | None = None) -> dict[str, list[str]]:
    """OSV-5M's area labels of points, from their nearest ``reverse_geocoder`` place.

    Returns:
        area -> labels, e.g. ``{"country": ["FR"], "region": ["Ile-de-France_FR"],
        "sub-region": ["Paris_Ile-de-France_FR"], "city": ["Paris_Paris_Ile-de-France_FR"]}``.
    """
    pts = [(float(a), float(b)) for a, b in zip(np.ravel(lat), np.ravel(lng))]
    places = (search or reverse_geocode)(pts)
    out: dict[str, list[str]] = {a: [] for a in AREAS}
    for p in places:
        cc, a1, a2 = p.get("cc", ""), p.get("admin1", ""), p.get("admin2", "")
        out["country"].append(cc)
        out["region"].append(f"{a1}_{cc}")
        out["sub-region"].append(f"{a2}_{a1}_{cc}")
        out["city"].append(f"{p.get('name', '')}_{a2}_{a1}_{cc}")
    return out


def truth_labels(locations: Sequence[Any]) -> dict[str, list[str]] | None:
    """The truth's labels from the CSV's ``unique_*`` columns (``Location.extra``), missing
    ones as ``"NaN"``; None when the dataset has no such columns."""
    cols = [f"unique_{a}" for a in AREAS]
    if not locations or not any(c in getattr(locations[0], "extra", {}) for c in cols):
        return None
    out: dict[str, list[str]] = {}
    for area, col in zip(AREAS, cols):
        vals = [(loc.extra.get(col) or "").strip() for loc in locations]
        out[area] = [v if v and v.lower() != "nan" else MISSING for v in vals]
    return out


def osv5m_metrics(true_lat: Any, true_lng: Any, pred_lat: Any, pred_lng: Any, *,
                  truth: dict[str, list[str]] | None = None, search: Search | None = None,
                  n_boot: int = 1000, seed: int = 0, ci: float = 0.95) -> dict[str, Any]:
    """The OSV-5M benchmark's numbers for ``n`` guesses (see the module docstring).

    Args:
        true_lat, true_lng, pred_lat, pred_lng: ``(n,)`` degrees.
        truth: area -> the truth's labels (:func:`truth_labels`); None: reverse-geocode the
            true coordinates.
        search: the reverse geocoder (default ``reverse_geocoder``; tests pass a fake).
        n_boot, seed, ci: bootstrap settings for the intervals.

    Returns:
        ``{"n", "metrics": {key: {"value", "low", "high"}}, "definitions"}`` with keys
        ``geoscore``, ``haversine_km``, ``acc_<r>km`` (%), ``<area>_acc`` (%).

    Raises:
        ValueError: mismatched lengths, bad coordinates, truth labels of the wrong length.
    """
    d = distance_errors_km(true_lat, true_lng, pred_lat, pred_lng, radius_km=OSV5M_RADIUS_KM)
    n = len(d)
    cols: dict[str, np.ndarray] = {"geoscore": 5000.0 * np.exp(-d / 1492.7),
                                   "haversine_km": d}
    for r in RADII_KM:
        cols[f"acc_{r}km"] = (d < r) * 100.0
    source = "the CSV's unique_* columns"
    if truth is None:
        truth = area_labels(true_lat, true_lng, search=search)
        source = "reverse_geocoder on the true coordinates (the CSV has no unique_* columns)"
    guess = area_labels(pred_lat, pred_lng, search=search)
    for area in AREAS:
        if len(truth[area]) != n:
            raise ValueError(f"{len(truth[area])} truth labels for {area}, need {n}")
        cols[f"{area}_acc"] = np.array([g == t for g, t in zip(guess[area], truth[area])],
                                       dtype=np.float64) * 100.0
    iv = bootstrap_intervals(cols, n_boot=n_boot, seed=seed, ci=ci)
    metrics = {k: {"value": float(v.mean()), "low": _finite(iv[k][0]),
                   "high": _finite(iv[k][1])} for k, v in cols.items()}
    return {"n": n, "metrics": metrics, "truth_labels": source,
            "definitions": {"radius_km": OSV5M_RADIUS_KM, "within": "d < r (strict)",
                            "geoscore": "mean 5000*exp(-d/1492.7)",
                            "areas": "reverse_geocoder place of the guess vs truth labels, "
                                     "as strings (country cc, region admin1_cc, sub-region "
                                     "admin2_admin1_cc, city name_admin2_admin1_cc)",
                            "source": "github.com/gastruc/osv5m metrics/distance_based.py, "
                                      "metrics/utils.py"}}


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def format_osv5m(result: dict[str, Any], *, name: str = "this model") -> str:
    """The leaderboard's columns: our row (with its 95 % interval on GeoScore) and the
    published rows."""
    m = result["metrics"]
    cols = [("GeoScore", "geoscore", "{:.0f}"), ("distance km", "haversine_km", "{:.0f}"),
            ("country %", "country_acc", "{:.1f}"), ("region %", "region_acc", "{:.1f}"),
            ("area %", "sub-region_acc", "{:.1f}"), ("city %", "city_acc", "{:.1f}")]
    rows = [["OSV-5M benchmark", *[c[0] for c in cols]],
            [f"{name} (n={result['n']})",
             *[c[2].format(m[c[1]]["value"]) for c in cols]]]
    for label, vals in LEADERBOARD:
        rows.append([label, *[c[2].format(vals[c[1]]) if c[1] in vals else "-" for c in cols]])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                       enumerate(zip(r, widths))) for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    g = m["geoscore"]
    iv = "-" if g["low"] is None else f"[{g['low']:.0f}, {g['high']:.0f}]"
    lines.append(f"GeoScore 95 % interval {iv}; radius 6371 km, "
                 f"within = d < r; areas: reverse_geocoder on the guess vs "
                 f"{result['truth_labels']}")
    return "\n".join(lines)
