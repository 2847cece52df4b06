"""The pin that maximises the expected GeoGuessr score under a discrete location distribution.

Given candidate locations ``c_j`` with probabilities ``p_j`` (the predictor's belief about
where the round is), the expected score of a pin ``x`` is::

    E(x) = sum_j p_j * 5000 * exp(-d(x, c_j) / scale)        (scale 1492.7 km: world map)

``best_pin`` returns the ``x`` that maximises ``E`` and the maximum itself, which is the
*projected score* the bot reports. Because ``exp(-d)`` has a cusp at ``d = 0`` the optimum is
often a candidate itself (two far-apart modes: pick one, never the ocean between them), but
a ring of nearby candidates can pull it to the middle (the term is then nearly linear in
``d``, and the problem becomes a weighted geometric median).

The search: evaluate ``E`` at the most probable candidates and at a few weighted spherical
means (global, top-2/3/5, and each top candidate's neighbourhood), then run a safeguarded
Weiszfeld-type fixed-point iteration on the sphere from the best starts. The fixed point
``x = normalise(sum_j a_j c_j)`` with ``a_j = p_j exp(-d_j/scale) / sin(theta_j)`` is exactly
the stationarity condition of ``E`` on the sphere; each step is accepted only if ``E``
rises (else it is halved), so the result is never worse than the best start.

Usage::

    >>> from backend.core.best_pin import best_pin
    >>> lat, lng, score = best_pin([48.85, 40.71], [2.35, -74.0], [0.7, 0.3])
    >>> (round(lat, 2), round(lng, 2), round(score))
    (48.85, 2.35, 3530)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backend.core.geodesy import (
    EARTH_RADIUS_KM,
    from_unit_vectors,
    haversine_km,
    to_unit_vectors,
    validate_latlng,
)
from backend.core.scoring import MAX_SCORE, score_scale_km

N_CANDIDATE_STARTS = 24
"""How many of the most probable candidates are tried as starting points."""
N_REFINED_STARTS = 4
"""How many of the best starting points are refined by the fixed-point iteration."""
MAX_ITERATIONS = 50
TOLERANCE_KM = 0.01
"""Stop refining a start once a step moves it less than this (10 m)."""
GAIN_TOLERANCE = 1e-3
"""... or once a step gains less than this many points."""
PRUNE_MASS = 1e-4
"""The search ignores the least probable candidates holding this much mass together."""
MAX_STEP = 4.0
"""Longest step, in units of the fixed-point step (over-relaxation speeds up flat beliefs)."""
MAX_HALVINGS = 8
SNAP_KM = 0.05
"""A pin this close to a candidate is put exactly on it."""


class DistributionError(ValueError):
    """Candidate probabilities that do not form a usable distribution."""


def check_distribution(lat: Any, lng: Any, probs: Any) -> tuple[np.ndarray, np.ndarray,
                                                                 np.ndarray]:
    """Validate candidates and normalise their probabilities to sum 1.

    Args:
        lat, lng: candidate coordinates in degrees (1-D, same length, at least one).
        probs: non-negative weights, same length, not all zero.

    Returns:
        ``(lat, lng, probs)`` as 1-D float64 arrays, ``probs`` summing to 1.

    Raises:
        CoordinateError: bad coordinates (see ``validate_latlng``).
        DistributionError: wrong shapes, negative/NaN weights, or all-zero weights.
    """
    la, lo = validate_latlng(np.atleast_1d(np.asarray(lat, dtype=np.float64)),
                             np.atleast_1d(np.asarray(lng, dtype=np.float64)))
    raw = np.atleast_1d(np.asarray(lng, dtype=np.float64))
    lo = np.where(np.abs(raw) <= 180.0, raw, lo)  # in-range values keep their exact bits
    p = np.atleast_1d(np.asarray(probs, dtype=np.float64))
    if la.ndim != 1 or p.shape != la.shape:
        raise DistributionError(
            f"need 1-D candidates and one probability each, got {la.shape} and {p.shape}")
    if not np.isfinite(p).all() or (p < 0).any():
        raise DistributionError("candidate probabilities must be finite and non-negative")
    total = p.sum()
    if total <= 0:
        raise DistributionError("candidate probabilities are all zero: nothing to aim at")
    return la, lo, p / total


def expected_score_at(pin_lat: Any, pin_lng: Any, lat: Any, lng: Any, probs: Any, *,
                      map_size_km: float | None = None) -> np.ndarray:
    """Expected GeoGuessr score of pin(s) under the candidate distribution.

    Args:
        pin_lat, pin_lng: pin coordinate(s) in degrees (scalar or 1-D).
        lat, lng, probs: the candidate distribution (probs are normalised here).
        map_size_km: the map's diagonal (None: world map).

    Returns:
        float64 array of expected scores, one per pin (0-d for a scalar pin).
    """
    la, lo, p = check_distribution(lat, lng, probs)
    pl, pg = validate_latlng(pin_lat, pin_lng)
    d = haversine_km(pl.reshape(-1, 1), pg.reshape(-1, 1), la[None, :], lo[None, :])
    vals = MAX_SCORE * (np.exp(-d / score_scale_km(map_size_km)) @ p)
    return vals.reshape(pl.shape)


def _arc_km(pins: np.ndarray, cands: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(S,3) x (K,3) unit vectors → (cosines (S,K), distances km (S,K))."""
    cos = np.clip(pins @ cands.T, -1.0, 1.0)
    return cos, EARTH_RADIUS_KM * np.arccos(cos)


def _expected(pins: np.ndarray, cands: np.ndarray, p: np.ndarray, scale: float) -> np.ndarray:
    _, d = _arc_km(pins, cands)
    return MAX_SCORE * (np.exp(-d / scale) @ p)


def _normalise(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, 1e-300)


def _dense_bins(cands: np.ndarray, p: np.ndarray, deg: float, n: int) -> list[np.ndarray]:
    """Mean positions of the ``n`` heaviest lat/lng bins of ``deg`` degrees: they find a
    dense cluster of many individually improbable candidates, which top-k starts miss."""
    lat = np.degrees(np.arcsin(np.clip(cands[:, 2], -1.0, 1.0)))
    lng = np.degrees(np.arctan2(cands[:, 1], cands[:, 0]))
    cols = int(np.ceil(360.0 / deg))
    b = (np.floor((lat + 90.0) / deg) * cols + np.floor((lng + 180.0) / deg)).astype(np.int64)
    _, inv = np.unique(b, return_inverse=True)
    mass = np.bincount(inv, weights=p)
    best = np.argsort(-mass, kind="stable")[:n]
    sums = np.stack([np.bincount(inv, weights=p * cands[:, i]) for i in range(3)], axis=1)
    return list(sums[best])


def _starts(cands: np.ndarray, p: np.ndarray, scale: float) -> np.ndarray:
    """Starting points: top candidates, weighted means of the top few, local means, and the
    means of the heaviest 2-degree and 10-degree bins."""
    order = np.argsort(-p, kind="stable")
    top = order[:N_CANDIDATE_STARTS]
    starts = [cands[top]]
    means = [(cands * p[:, None]).sum(axis=0)]
    for k in (2, 3, 5):
        if len(order) >= k:
            idx = order[:k]
            means.append((cands[idx] * p[idx, None]).sum(axis=0))
    # each top candidate's neighbourhood (within about one score scale), kernel-weighted
    _, d = _arc_km(cands[order[:8]], cands)
    w = p[None, :] * np.exp(-d / scale) * (d < 2.0 * scale)
    means.extend(w @ cands)
    if len(p) > N_CANDIDATE_STARTS:
        means.extend(_dense_bins(cands, p, 2.0, 6))
        means.extend(_dense_bins(cands, p, 10.0, 4))
    m = np.asarray(means)
    ok = np.linalg.norm(m, axis=1) > 1e-9  # antipodal cancellations have no direction
    starts.append(_normalise(m[ok]))
    return np.concatenate(starts, axis=0)


def _weiszfeld(x: np.ndarray, cands: np.ndarray, p: np.ndarray, scale: float,
               fx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Safeguarded fixed-point ascent for a batch of points x (S,3); returns (x, E(x)).

    Each row keeps its own step length along ``target - x`` (doubled after a success, up to
    ``MAX_STEP``; halved until ``E`` rises, at most ``MAX_HALVINGS`` times). A row sitting on
    a candidate stops at once when that candidate is a local maximum: the pull of all other
    candidates, ``|sum_j p_j e^(-d_j/s) t_j|`` (``t_j`` the unit tangent towards ``c_j``), is
    no stronger than the cusp's slope, the mass ``p_k`` sitting there.
    """
    active = np.ones(len(x), dtype=bool)
    step = np.ones(len(x))
    for _ in range(MAX_ITERATIONS):
        if not active.any():
            break
        rows = np.flatnonzero(active)
        xa, fa = x[rows], fx[rows]
        cos, d = _arc_km(xa, cands)
        sin = np.sqrt(np.maximum(1.0 - cos * cos, 0.0))
        on = d < 1e-6
        # an iterate sitting on a candidate leaves that candidate out of the direction
        a = np.where(on, 0.0, p[None, :] * np.exp(-d / scale) / np.maximum(sin, 1e-12))
        target = a @ cands
        pull = np.linalg.norm(target - (a * cos).sum(axis=1)[:, None] * xa, axis=1)
        cusp = (on * p[None, :]).sum(axis=1)
        valid = (np.linalg.norm(target, axis=1) > 1e-12) & ~((cusp > 0) & (pull <= cusp))
        target = _normalise(target)
        accepted = np.zeros(len(rows), dtype=bool)
        new_x, new_f = xa.copy(), fa.copy()
        t = step[rows].copy()
        for _halving in range(MAX_HALVINGS):
            todo = valid & ~accepted
            if not todo.any():
                break
            trial = _normalise(xa[todo] + t[todo, None] * (target[todo] - xa[todo]))
            ft = _expected(trial, cands, p, scale)
            ok = ft > fa[todo] + 1e-12
            idx = np.flatnonzero(todo)[ok]
            new_x[idx], new_f[idx] = trial[ok], ft[ok]
            accepted[idx] = True
            t[todo & ~accepted] *= 0.5
        step[rows] = np.where(accepted, np.minimum(MAX_STEP, 2.0 * t), 1.0)
        # iterates creep towards a cusp slowly: jump onto the nearest candidate when it is
        # at least as good (the cusp test above then stops the row on the next iteration)
        nearest = cands[np.argmin(d, axis=1)]
        f_near = _expected(nearest, cands, p, scale)
        jump = (f_near >= new_f) & ~on.any(axis=1)
        new_x[jump], new_f[jump] = nearest[jump], f_near[jump]
        accepted |= jump
        moved_km = EARTH_RADIUS_KM * np.arccos(np.clip(np.sum(new_x * xa, axis=1), -1.0, 1.0))
        gain = new_f - fa
        x[rows], fx[rows] = new_x, new_f
        active[rows] = (accepted & (moved_km > TOLERANCE_KM) & (gain > GAIN_TOLERANCE)) | jump
        # rows that met another row's point are redundant: keep the better one
        act = np.flatnonzero(active)
        if len(act) > 1:
            close = np.triu(x[act] @ x[act].T > np.cos(1.0 / EARTH_RADIUS_KM), k=1)
            active[act[close.any(axis=0)]] = False
    return x, fx


def _search_set(p: np.ndarray) -> np.ndarray:
    """Indices of the candidates the search uses (see ``PRUNE_MASS``), original order."""
    if len(p) <= N_CANDIDATE_STARTS:
        return np.arange(len(p))
    asc = np.argsort(p, kind="stable")
    dropped = np.cumsum(p[asc]) <= PRUNE_MASS
    return np.sort(asc[~dropped])


def best_pin(lat: Any, lng: Any, probs: Any, *,
             map_size_km: float | None = None) -> tuple[float, float, float]:
    """The pin maximising the expected GeoGuessr score, and that expected score.

    Args:
        lat, lng: candidate coordinates in degrees (1-D, at least one).
        probs: candidate probabilities (non-negative; normalised here).
        map_size_km: the map's diagonal (None: the world map, scale 1492.7 km).

    Returns:
        ``(lat, lng, expected_score)``; deterministic for equal inputs. Ties between
        equally good points go to the most probable candidate (then the first one).

    Raises:
        CoordinateError, DistributionError: invalid candidates or probabilities.
    """
    la, lo, p = check_distribution(lat, lng, probs)
    scale = score_scale_km(map_size_km)
    keep = p > 0
    la, lo, p = la[keep], lo[keep], p[keep]
    # search on the candidates that carry all but PRUNE_MASS of the probability (the least
    # probable ones go: at most PRUNE_MASS * 5000 points anywhere); score on all of them
    search = _search_set(p)
    cands = to_unit_vectors(la[search], lo[search])
    ps = p[search]
    starts = _starts(cands, ps, scale)
    f0 = _expected(starts, cands, ps, scale)
    # the best few distinct starts (argsort is stable: ties keep the candidate order)
    order = np.argsort(-f0, kind="stable")[:N_REFINED_STARTS]
    x, fx = _weiszfeld(starts[order].copy(), cands, ps, scale, f0[order].copy())
    best = int(np.argmax(fx))
    x_best = x[best] if fx[best] > f0[order[0]] + 1e-9 else starts[order[0]]
    out_lat, out_lng = (float(v) for v in from_unit_vectors(x_best))
    # a pin on a candidate (the usual case: the score has a cusp there) gets its exact
    # coordinates back, without the unit-vector round trip's rounding
    d = haversine_km(out_lat, out_lng, la, lo)
    score = float(MAX_SCORE * (np.exp(-d / scale) @ p))
    # of the candidates within SNAP_KM, the one with the best expected score (not merely the
    # nearest: two near-duplicates millimetres apart can differ in the last digits)
    near = np.flatnonzero(d < SNAP_KM)
    if len(near):
        d_snap = haversine_km(la[near, None], lo[near, None], la[None, :], lo[None, :])
        snap_scores = MAX_SCORE * (np.exp(-d_snap / scale) @ p)
        k = int(np.argmax(snap_scores))
        if snap_scores[k] >= score - 1e-6:
            out_lat, out_lng = float(la[near[k]]), float(lo[near[k]])
            score = float(snap_scores[k])
    return out_lat, out_lng, min(score, MAX_SCORE)


def probability_within(pin_lat: float, pin_lng: float, lat: Any, lng: Any, probs: Any, *,
                       radius_km: float = 750.0) -> float:
    """Probability mass of the candidates within ``radius_km`` of the pin (the confidence).

    Args:
        pin_lat, pin_lng: the pin in degrees.
        lat, lng, probs: the candidate distribution (probs are normalised here).
        radius_km: the radius; 750 km is the paper's "country" threshold.

    Returns:
        A probability in [0, 1].

    Raises:
        ValueError: a negative radius; CoordinateError/DistributionError for bad candidates.
    """
    if not np.isfinite(radius_km) or radius_km < 0:
        raise ValueError(f"radius must be a non-negative number of km, got {radius_km!r}")
    la, lo, p = check_distribution(lat, lng, probs)
    d = haversine_km(pin_lat, pin_lng, la, lo)
    return float(min(1.0, p[d <= radius_km].sum()))
