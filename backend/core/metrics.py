"""The paper's per-item metric math on numpy arrays (sans-I/O).

Each function turns predictions and truths into per-item columns — a distance, an
indicator (1.0 / 0.0) or an absolute error, with NaN where an item has no value — so that
one bootstrap over items gives every metric's interval (see ``backend.eval.bootstrap``).

Distances are haversine km on the mean-radius sphere (``EARTH_RADIUS_KM`` = 6371.0088 km);
pass ``radius_km`` to reproduce the public PIGEON code (6378.137) or OSV-5M (6371).

Usage::

    >>> import numpy as np
    >>> from backend.core.metrics import distance_errors_km, within_thresholds
    >>> d = distance_errors_km([0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.1, 10.0])
    >>> within_thresholds(d)["city"].tolist()
    [1.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from backend.core.geodesy import EARTH_RADIUS_KM, haversine_km, validate_latlng

DISTANCE_THRESHOLDS_KM: dict[str, float] = {
    "street": 1.0, "city": 25.0, "region": 200.0, "country": 750.0, "continent": 2500.0,
}
"""The paper's five accuracy thresholds, named as in its tables."""

REGRESSION_TASKS: dict[str, str] = {
    "elevation": "m",
    "population_density": "log10(1+/km²)",
    "temperature": "°C",
    "precipitation": "mm/day",
}
"""Auxiliary regression tasks whose error is reported as a mean absolute error (unit).
Population density is compared as log10(1 + people per km²), as the model predicts it."""

CLASSIFICATION_TASKS: tuple[str, ...] = ("climate_zone", "month", "season")
"""Auxiliary classification tasks whose error is reported as an accuracy."""

SEASONS: tuple[str, ...] = ("winter", "spring", "summer", "autumn")


def distance_errors_km(true_lat: Any, true_lng: Any, pred_lat: Any, pred_lng: Any, *,
                       radius_km: float = EARTH_RADIUS_KM) -> np.ndarray:
    """Great-circle km between each guess and its truth.

    Args:
        true_lat, true_lng: true coordinates in degrees, shape ``(n,)``.
        pred_lat, pred_lng: guessed coordinates in degrees, shape ``(n,)``.
        radius_km: sphere radius.

    Returns:
        float64 ``(n,)`` distances in km.

    Raises:
        CoordinateError: non-finite or out-of-range coordinates, or mismatched shapes.
    """
    tl, tg = validate_latlng(np.atleast_1d(true_lat), np.atleast_1d(true_lng))
    pl, pg = validate_latlng(np.atleast_1d(pred_lat), np.atleast_1d(pred_lng))
    if tl.shape != pl.shape:
        raise ValueError(f"{tl.shape[0]} truths but {pl.shape[0]} guesses; give one guess each")
    return haversine_km(tl, tg, pl, pg, radius_km=radius_km)


def within_thresholds(distance_km: Any,
                      thresholds: Mapping[str, float] | None = None) -> dict[str, np.ndarray]:
    """Indicator columns: 1.0 where the guess is within each threshold (inclusive).

    Args:
        distance_km: ``(n,)`` distances.
        thresholds: name → km (default: the paper's five).

    Returns:
        name → float64 ``(n,)`` of 0.0/1.0.
    """
    d = np.asarray(distance_km, dtype=np.float64)
    thresholds = DISTANCE_THRESHOLDS_KM if thresholds is None else thresholds
    return {name: (d <= km).astype(np.float64) for name, km in thresholds.items()}


def label_match(true_labels: Sequence[Any], pred_labels: Sequence[Any]) -> np.ndarray:
    """Indicator column for categorical answers (country, climate zone, month, ...).

    An item whose TRUE label is missing (None, "" or NaN) gets NaN (no verdict); a missing
    guess where the truth is known counts as wrong.

    Returns:
        float64 ``(n,)`` of 1.0 / 0.0 / NaN.
    """
    if len(true_labels) != len(pred_labels):
        raise ValueError(f"{len(true_labels)} true labels but {len(pred_labels)} guesses")
    numeric = _as_numeric(true_labels), _as_numeric(pred_labels)
    if numeric[0] is not None and numeric[1] is not None:  # fast path: class indices
        t, p = numeric
        out = np.where(np.isnan(p), 0.0, (t == p).astype(np.float64))
        out[np.isnan(t)] = np.nan
        return out
    out = np.empty(len(true_labels), dtype=np.float64)
    for i, (t, p) in enumerate(zip(true_labels, pred_labels)):
        if _missing(t):
            out[i] = np.nan
        else:
            out[i] = 0.0 if _missing(p) else float(_norm(t) == _norm(p))
    return out


def _as_numeric(labels: Sequence[Any]) -> np.ndarray | None:
    """Labels as a float array when they are all numbers (NaN = missing), else None."""
    arr = np.asarray(labels)
    if arr.dtype.kind not in "biuf":
        return None
    return arr.astype(np.float64).ravel()


def _missing(x: Any) -> bool:
    if x is None:
        return True
    if isinstance(x, str):
        return x.strip() == ""
    try:
        return bool(np.isnan(x))
    except TypeError:
        return False


def _norm(x: Any) -> Any:
    if isinstance(x, str):
        return x.strip().upper()
    if isinstance(x, (float, np.floating)) and float(x).is_integer():
        return int(x)
    return x.item() if isinstance(x, np.generic) else x


def topk_hits(cell_logits: Any, true_cells: Any, ks: Sequence[int] = (1, 5)) -> dict[int, np.ndarray]:
    """Indicator columns: 1.0 where the true geocell is among the k highest logits.

    Args:
        cell_logits: ``(n, C)`` scores (logits or probabilities; only their order matters).
        true_cells: ``(n,)`` integer cell ids in ``[0, C)``; a negative id (no cell) gives NaN.
        ks: the k values.

    Returns:
        k → float64 ``(n,)``.

    Raises:
        ValueError: shapes that disagree or a cell id ``>= C``.
    """
    logits = np.asarray(cell_logits, dtype=np.float64)
    cells = np.asarray(true_cells).astype(np.int64).ravel()
    if logits.ndim != 2 or logits.shape[0] != cells.shape[0]:
        raise ValueError(f"cell logits must be (n, C) with n = {cells.shape[0]}, "
                         f"got {logits.shape}")
    n_cells = logits.shape[1]
    if (cells >= n_cells).any():
        raise ValueError(f"true cell id {int(cells.max())} is outside the {n_cells} cells")
    valid = cells >= 0
    true_logit = logits[np.arange(len(cells)), np.where(valid, cells, 0)]
    # rank = number of cells strictly better than the true one (ties favour the truth)
    rank = (logits > true_logit[:, None]).sum(axis=1)
    out: dict[int, np.ndarray] = {}
    for k in ks:
        hit = (rank < k).astype(np.float64)
        hit[~valid] = np.nan
        out[int(k)] = hit
    return out


def absolute_errors(true_values: Any, pred_values: Any) -> np.ndarray:
    """``|pred - true|`` per item; NaN where either side is missing (NaN)."""
    t = np.asarray(true_values, dtype=np.float64).ravel()
    p = np.asarray(pred_values, dtype=np.float64).ravel()
    if t.shape != p.shape:
        raise ValueError(f"{t.shape[0]} true values but {p.shape[0]} predictions")
    return np.abs(p - t)


def month_to_season(month: Any, lat: Any) -> np.ndarray:
    """Meteorological season index (0 winter, 1 spring, 2 summer, 3 autumn) of a month
    at a latitude: DJF is winter in the north and summer in the south.

    Args:
        month: ``(n,)`` months 1-12 (NaN or 0 for unknown).
        lat: ``(n,)`` latitudes in degrees (0 counts as north).

    Returns:
        float64 ``(n,)`` season index, NaN where the month is unknown.
    """
    m = np.asarray(month, dtype=np.float64).ravel()
    la = np.broadcast_to(np.asarray(lat, dtype=np.float64).ravel(), m.shape)
    known = np.isfinite(m) & (m >= 1) & (m <= 12)
    north = (np.where(known, m, 1).astype(np.int64) % 12) // 3  # Dec,Jan,Feb -> 0
    season = np.where(la < 0, (north + 2) % 4, north).astype(np.float64)
    season[~known] = np.nan
    return season


def calibration_bins(projected: Any, actual: Any, *, n_bins: int = 10,
                     max_score: float = 5000.0) -> dict[str, np.ndarray]:
    """Reliability table of the projected score: equal-width bins of the projection.

    Args:
        projected: ``(n,)`` projected scores.
        actual: ``(n,)`` actual scores.
        n_bins: number of bins over ``[0, max_score]``.

    Returns:
        ``{"edges", "count", "mean_projected", "mean_actual"}``; empty bins hold NaN means.
    """
    p = np.asarray(projected, dtype=np.float64).ravel()
    a = np.asarray(actual, dtype=np.float64).ravel()
    edges = np.linspace(0.0, max_score, n_bins + 1)
    idx = np.clip(np.digitize(p, edges[1:-1]), 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mp = np.bincount(idx, weights=p, minlength=n_bins) / count
        ma = np.bincount(idx, weights=a, minlength=n_bins) / count
    return {"edges": edges, "count": count, "mean_projected": mp, "mean_actual": ma}


def expected_calibration_error(projected: Any, actual: Any, *, n_bins: int = 10,
                               max_score: float = 5000.0) -> float:
    """Count-weighted mean of ``|mean projected - mean actual|`` over the bins (points)."""
    b = calibration_bins(projected, actual, n_bins=n_bins, max_score=max_score)
    ok = b["count"] > 0
    if not ok.any():
        return float("nan")
    gap = np.abs(b["mean_projected"][ok] - b["mean_actual"][ok])
    return float((gap * b["count"][ok]).sum() / b["count"][ok].sum())
