"""Statistics of experiments and score reports: Wilson interval, paired Wilcoxon, Elo, bootstrap.

Pure numpy/scipy functions with checked inputs; each returns plain numbers so reports can
write them as JSON.

Usage::

    >>> from bot.experiment.stats import wilson_interval
    >>> lo, hi = wilson_interval(8, 10)
    >>> round(lo, 3), round(hi, 3)
    (0.49, 0.943)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np


class StatsError(ValueError):
    """Inputs a statistic cannot use (empty, mismatched, out of range)."""


def wilson_interval(successes: int, n: int, *, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval of a proportion (95 % by default).

    Raises:
        StatsError: n < 1 or successes outside 0..n.
    """
    if n < 1 or not 0 <= successes <= n:
        raise StatsError(f"need 0 <= successes <= n and n >= 1, got {successes}/{n}")
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def paired_wilcoxon(a: Sequence[float], b: Sequence[float]) -> dict[str, float | int | None]:
    """Wilcoxon signed-rank test of paired samples (two-sided), e.g. person vs bot per round.

    Returns:
        ``{"n": pairs, "n_nonzero": ..., "statistic": W or None, "p_value": p or None,
        "median_difference": median(a - b)}``; the test is None when fewer than 6 pairs
        differ (too few for any conclusion).
    Raises:
        StatsError: lengths differ or no pair.
    """
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or len(x) == 0:
        raise StatsError(f"paired samples must be two equal non-empty lists, got {x.shape} and {y.shape}")
    d = x - y
    nz = int(np.count_nonzero(d))
    out: dict[str, float | int | None] = {"n": len(d), "n_nonzero": nz, "statistic": None,
                                          "p_value": None, "median_difference": float(np.median(d))}
    if nz >= 6:
        from scipy.stats import wilcoxon

        res = wilcoxon(x, y, zero_method="wilcox", alternative="two-sided")
        out["statistic"], out["p_value"] = float(res.statistic), float(res.pvalue)
    return out


def elo_ratings(matches: Sequence[tuple[str, str, float]], *, k: float = 32.0,
                initial: float = 1500.0) -> dict[str, float]:
    """Sequential Elo ratings from ``(player_a, player_b, score_of_a)`` in game order.

    ``score_of_a`` is 1 (a won), 0.5 (draw) or 0 (b won).

    Raises:
        StatsError: a score outside [0, 1] or a player against itself.
    """
    ratings: dict[str, float] = {}
    for a, b, s in matches:
        if a == b:
            raise StatsError(f"{a} cannot play against itself")
        if not 0.0 <= s <= 1.0:
            raise StatsError(f"score of {a} vs {b} must be 0, 0.5 or 1, got {s}")
        ra, rb = ratings.get(a, initial), ratings.get(b, initial)
        ea = 1.0 / (1.0 + 10 ** ((rb - ra) / 400.0))
        ratings[a] = ra + k * (s - ea)
        ratings[b] = rb + k * ((1 - s) - (1 - ea))
    return ratings


def bootstrap_ci(values: Sequence[float], *, stat: Callable[[np.ndarray], float] = np.mean,
                 n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> tuple[float, float, float]:
    """Percentile bootstrap: ``(estimate, low, high)`` of ``stat`` over ``values``.

    Raises:
        StatsError: no values, or a level outside (0, 1).
    """
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise StatsError("bootstrap of an empty sample")
    if not 0 < level < 1:
        raise StatsError(f"level must lie in (0, 1), got {level}")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(x), size=(n_boot, len(x)))
    boots = np.apply_along_axis(stat, 1, x[idx])
    alpha = (1 - level) / 2
    return float(stat(x)), float(np.quantile(boots, alpha)), float(np.quantile(boots, 1 - alpha))
