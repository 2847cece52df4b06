"""Calibration of the projected score: one temperature so that projected matches actual.

The predictor's belief is a discrete distribution over candidate locations; its
*projected score* is the expected GeoGuessr score of the best pin under that belief
(``backend.core.best_pin``). An over-confident model projects more than it scores. We fit
one temperature ``T`` on held-out rounds and sharpen/flatten the belief with
``softmax(log p / T)`` (``T > 1`` flattens) so that, on average, the projected score equals
the actual score of the pin. The pin itself moves with ``T`` and is recomputed at every
trial value.

Fit: the gap ``mean projected - mean actual`` is evaluated on a log-spaced grid of ``T``;
the first sign change is bisected in ``log T``; without a sign change the grid point with
the smallest gap wins. Every candidate of a round takes part (the predictor serves them
all; ``max_candidates`` can cut them for speed, at the price of a fit on another
distribution). Reported: mean projected and mean actual before (T = 1) and after, and the
expected calibration error (ECE): rounds binned by projected score into equal-width bins
over [0, 5000], ``sum_b (n_b / N) * |mean projected_b - mean actual_b|`` in points. The
"after" figures are IN-SAMPLE (measured on the rounds T was fitted on: the mean gap is ~0
by construction); :func:`cross_fitted_stats` gives held-out ones (2-fold: each half scored
at the T fitted on the other half).

Usage::

    result = fit_temperature(log_probs, cand_lat, cand_lng, true_lat, true_lng)
    result.temperature, result.after.mean_projected, result.after.mean_actual, result.after.ece
    probs = apply_temperature(log_p, result.temperature)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from backend.core.best_pin import best_pin
from backend.core.geodesy import haversine_km, validate_latlng
from backend.core.scoring import MAX_SCORE, geoguessr_score

FORMAT = "pigeon-calibration/1"
T_MIN, T_MAX = 0.05, 20.0
GRID_POINTS = 15
BISECTIONS = 12
DEFAULT_BINS = 10
DEFAULT_MAX_CANDIDATES: int | None = None
"""Per round, every candidate takes part in the fit (the predictor serves all of them)."""
MIN_CROSS_FIT_ROUNDS = 20
"""Fewer rounds than this: no held-out (2-fold) statistics."""


class CalibrationError(ValueError):
    """Calibration data that cannot be used (empty, mismatched, non-finite)."""


def apply_temperature(log_probs: Any, temperature: float) -> np.ndarray:
    """``softmax(log_probs / T)``: the calibrated candidate probabilities.

    Args:
        log_probs: 1-D log-probabilities or logits (``-inf`` allowed for impossible ones).
        temperature: T > 0 (T = 1 leaves normalised probabilities as they are).

    Returns:
        float64 probabilities summing to 1.

    Raises:
        CalibrationError: a non-positive temperature or no finite entry.
    """
    if not (temperature > 0 and math.isfinite(temperature)):
        raise CalibrationError(f"temperature must be a positive number, got {temperature!r}")
    z = np.asarray(log_probs, dtype=np.float64) / temperature
    finite = np.isfinite(z)
    if not finite.any():
        raise CalibrationError("no finite log-probability: nothing to calibrate")
    z = np.where(finite, z, -np.inf)
    e = np.exp(z - z[finite].max())
    return e / e.sum()


def log_probs_of(probs: Any) -> np.ndarray:
    """``log p`` with zeros mapped to ``-inf`` (no warning)."""
    p = np.asarray(probs, dtype=np.float64)
    out = np.full(p.shape, -np.inf)
    np.log(p, out=out, where=p > 0)
    return out


@dataclass(frozen=True)
class CalibrationStats:
    """Projected vs. actual on a set of rounds at one temperature."""

    temperature: float
    mean_projected: float
    mean_actual: float
    ece: float
    bins: list[dict[str, float]] = field(default_factory=list)


@dataclass(frozen=True)
class CalibrationResult:
    """The fitted temperature with the numbers before (T = 1) and after."""

    temperature: float
    n_rounds: int
    before: CalibrationStats
    after: CalibrationStats
    format: str = FORMAT
    after_is_in_sample: bool = True
    """``after`` is measured on the rounds ``temperature`` was fitted on."""
    held_out: dict[str, Any] | None = None
    """2-fold cross-fitted statistics (:func:`cross_fitted_stats`), when computed."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (what ``calibration.json`` holds, plus metadata)."""
        return asdict(self)


def expected_calibration_error(projected: Any, actual: Any, *, n_bins: int = DEFAULT_BINS
                               ) -> tuple[float, list[dict[str, float]]]:
    """Binned ECE of projected scores (points) and the reliability table.

    Args:
        projected, actual: per-round scores in [0, 5000], same length, at least one.
        n_bins: equal-width bins over [0, 5000].

    Returns:
        ``(ece, bins)``; each bin dict has lo, hi, n, mean_projected, mean_actual
        (empty bins are left out).

    Raises:
        CalibrationError: empty or mismatched inputs, n_bins < 1.
    """
    pr = np.asarray(projected, dtype=np.float64).ravel()
    ac = np.asarray(actual, dtype=np.float64).ravel()
    if pr.size == 0 or pr.shape != ac.shape or n_bins < 1:
        raise CalibrationError("need equally many projected and actual scores (>= 1) and "
                               "at least one bin")
    edges = np.linspace(0.0, MAX_SCORE, n_bins + 1)
    which = np.clip(np.searchsorted(edges, pr, side="right") - 1, 0, n_bins - 1)
    ece, table = 0.0, []
    for b in range(n_bins):
        sel = which == b
        n = int(sel.sum())
        if n == 0:
            continue
        mp, ma = float(pr[sel].mean()), float(ac[sel].mean())
        ece += n / pr.size * abs(mp - ma)
        table.append({"lo": float(edges[b]), "hi": float(edges[b + 1]), "n": n,
                      "mean_projected": mp, "mean_actual": ma})
    return float(ece), table


class _Rounds:
    """Validated, truncated calibration rounds."""

    def __init__(self, log_probs: Sequence[Any], cand_lat: Sequence[Any],
                 cand_lng: Sequence[Any], true_lat: Any, true_lng: Any,
                 max_candidates: int | None) -> None:
        n = len(log_probs)
        if n == 0:
            raise CalibrationError("no rounds to calibrate on: give at least one")
        if not (len(cand_lat) == len(cand_lng) == n):
            raise CalibrationError("need one candidate set (lat, lng) per round")
        try:
            self.true_lat, self.true_lng = validate_latlng(np.asarray(true_lat).ravel(),
                                                           np.asarray(true_lng).ravel())
        except ValueError as exc:
            raise CalibrationError(f"true locations: {exc}") from exc
        if self.true_lat.shape != (n,):
            raise CalibrationError(f"{self.true_lat.size} true locations for {n} rounds")
        self.rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for i in range(n):
            lp = np.asarray(log_probs[i], dtype=np.float64).ravel()
            la = np.asarray(cand_lat[i], dtype=np.float64).ravel()
            lo = np.asarray(cand_lng[i], dtype=np.float64).ravel()
            if not (lp.shape == la.shape == lo.shape) or lp.size == 0:
                raise CalibrationError(f"round {i}: log-probs and candidates differ in length")
            if np.isnan(lp).any() or not np.isfinite(lp).any():
                raise CalibrationError(f"round {i}: log-probs must be numbers, some finite")
            if max_candidates is not None and lp.size > max_candidates:
                keep = np.argsort(-lp, kind="stable")[:max_candidates]
                lp, la, lo = lp[keep], la[keep], lo[keep]
            self.rows.append((lp, la, lo))

    def scores(self, temperature: float) -> tuple[np.ndarray, np.ndarray]:
        proj, act = np.empty(len(self.rows)), np.empty(len(self.rows))
        for i, (lp, la, lo) in enumerate(self.rows):
            pl, pg, e = best_pin(la, lo, apply_temperature(lp, temperature))
            proj[i] = e
            act[i] = float(geoguessr_score(haversine_km(pl, pg, self.true_lat[i],
                                                        self.true_lng[i])))
        return proj, act


def _stats(rounds: _Rounds, temperature: float, n_bins: int) -> CalibrationStats:
    proj, act = rounds.scores(temperature)
    ece, table = expected_calibration_error(proj, act, n_bins=n_bins)
    return CalibrationStats(temperature=float(temperature), mean_projected=float(proj.mean()),
                            mean_actual=float(act.mean()), ece=ece, bins=table)


def evaluate_temperature(log_probs: Sequence[Any], cand_lat: Sequence[Any],
                         cand_lng: Sequence[Any], true_lat: Any, true_lng: Any,
                         temperature: float, *, n_bins: int = DEFAULT_BINS,
                         max_candidates: int | None = DEFAULT_MAX_CANDIDATES
                         ) -> CalibrationStats:
    """Projected vs. actual (means and ECE) at one temperature.

    Args: as ``fit_temperature``, plus the ``temperature`` to evaluate.

    Returns:
        ``CalibrationStats``.

    Raises:
        CalibrationError: unusable data.
    """
    rounds = _Rounds(log_probs, cand_lat, cand_lng, true_lat, true_lng, max_candidates)
    return _stats(rounds, temperature, n_bins)


def fit_temperature(log_probs: Sequence[Any], cand_lat: Sequence[Any], cand_lng: Sequence[Any],
                    true_lat: Any, true_lng: Any, *, n_bins: int = DEFAULT_BINS,
                    max_candidates: int | None = DEFAULT_MAX_CANDIDATES,
                    on_step: Callable[[int, int], None] | None = None) -> CalibrationResult:
    """Fit the temperature that makes the mean projected score match the mean actual one.

    Args:
        log_probs: per round, the candidates' log-probabilities (uncalibrated, T = 1).
        cand_lat, cand_lng: per round, the candidates' locations (degrees).
        true_lat, true_lng: per round, the true location.
        n_bins: bins of the ECE.
        max_candidates: per round, keep only this many most probable candidates
            (None: all; slower for models with thousands of cells).
        on_step: called as ``on_step(done, total)`` after each temperature tried (progress).

    Returns:
        ``CalibrationResult`` with the temperature and the before/after statistics.

    Raises:
        CalibrationError: empty, mismatched or non-finite data.
    """
    rounds = _Rounds(log_probs, cand_lat, cand_lng, true_lat, true_lng, max_candidates)
    total = GRID_POINTS + BISECTIONS + 2
    done = 0

    def gap(t: float) -> float:
        nonlocal done
        proj, act = rounds.scores(t)
        done += 1
        if on_step is not None:
            on_step(done, total)
        return float(proj.mean() - act.mean())

    grid = np.exp(np.linspace(math.log(T_MIN), math.log(T_MAX), GRID_POINTS))
    gaps = [gap(float(t)) for t in grid]
    best_t = float(grid[int(np.argmin(np.abs(gaps)))])
    for i in range(GRID_POINTS - 1):
        if gaps[i] == 0.0:
            best_t = float(grid[i])
            break
        if np.sign(gaps[i]) != np.sign(gaps[i + 1]):
            lo, hi, g_lo = math.log(grid[i]), math.log(grid[i + 1]), gaps[i]
            best_abs, best_t = abs(g_lo), float(grid[i])
            if abs(gaps[i + 1]) < best_abs:
                best_abs, best_t = abs(gaps[i + 1]), float(grid[i + 1])
            for _ in range(BISECTIONS):
                mid = 0.5 * (lo + hi)
                g = gap(math.exp(mid))
                if abs(g) < best_abs:
                    best_abs, best_t = abs(g), math.exp(mid)
                if np.sign(g) == np.sign(g_lo):
                    lo, g_lo = mid, g
                else:
                    hi = mid
            break
    before = _stats(rounds, 1.0, n_bins)
    after = _stats(rounds, best_t, n_bins)
    if on_step is not None:
        on_step(total, total)
    return CalibrationResult(temperature=float(best_t), n_rounds=len(rounds.rows),
                             before=before, after=after)


def _pick(seq: Sequence[Any], idx: np.ndarray) -> list[Any]:
    return [seq[int(i)] for i in idx]


def cross_fitted_stats(log_probs: Sequence[Any], cand_lat: Sequence[Any],
                       cand_lng: Sequence[Any], true_lat: Any, true_lng: Any, *,
                       n_bins: int = DEFAULT_BINS,
                       max_candidates: int | None = DEFAULT_MAX_CANDIDATES
                       ) -> dict[str, Any] | None:
    """Held-out calibration figures: 2-fold cross-fitting.

    Rounds are split by position (even / odd); a temperature is fitted on each half and the
    other half is scored at it. The pooled projected and actual scores give the means and
    the ECE a new round can expect, unlike the in-sample "after" figures.

    Returns:
        ``{"folds": 2, "split": ..., "temperatures": [T_even, T_odd], "n_rounds",
        "mean_projected", "mean_actual", "ece", "bins"}``, or None with fewer than
        ``MIN_CROSS_FIT_ROUNDS`` rounds.

    Raises:
        CalibrationError: unusable data.
    """
    rounds = _Rounds(log_probs, cand_lat, cand_lng, true_lat, true_lng, max_candidates)
    n = len(rounds.rows)
    if n < MIN_CROSS_FIT_ROUNDS:
        return None
    halves = [np.arange(0, n, 2), np.arange(1, n, 2)]
    proj, act = np.empty(n), np.empty(n)
    temps = []
    for fit_on, score_on in (halves, halves[::-1]):
        t = fit_temperature(_pick(log_probs, fit_on), _pick(cand_lat, fit_on),
                            _pick(cand_lng, fit_on), np.asarray(true_lat)[fit_on],
                            np.asarray(true_lng)[fit_on], n_bins=n_bins,
                            max_candidates=max_candidates).temperature
        temps.append(float(t))
        part = _Rounds(_pick(log_probs, score_on), _pick(cand_lat, score_on),
                       _pick(cand_lng, score_on), np.asarray(true_lat)[score_on],
                       np.asarray(true_lng)[score_on], max_candidates)
        proj[score_on], act[score_on] = part.scores(t)
    ece, table = expected_calibration_error(proj, act, n_bins=n_bins)
    return {"folds": 2, "split": "rounds at even / odd positions", "temperatures": temps,
            "n_rounds": n, "mean_projected": float(proj.mean()),
            "mean_actual": float(act.mean()), "ece": float(ece), "bins": table}
