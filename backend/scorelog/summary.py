"""Summaries of score-log rounds: distances, scores, projected-vs-actual, latency, duels.

Pure functions over :class:`backend.scorelog.db.RoundRecord` lists (no database access), so
the arena's reports and ``pigeon scores summary`` compute the same figures.

Usage::

    from backend.scorelog import ScoreLog, summarize
    print(summarize(ScoreLog("scores.sqlite").rounds(source="arena")))
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from backend.scorelog.db import DISTANCE_BANDS_KM, RoundRecord


def _stats(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    a = np.asarray(values, dtype=np.float64)
    return {"mean": float(a.mean()), "median": float(np.median(a)),
            "p95": float(np.percentile(a, 95))}


def summarize(records: Iterable[RoundRecord]) -> dict[str, Any]:
    """Figures over a set of rounds.

    Args:
        records: rounds from :meth:`ScoreLog.rounds`.

    Returns:
        A JSON-ready dict: ``rounds``, ``with_result``, ``distance_km`` / ``score`` /
        ``projected_score`` / ``latency_ms`` stats (mean, median, p95; ``None`` when empty),
        ``within_km`` (share of rounds with a distance within 1/25/200/750/2500 km),
        ``projected_minus_actual`` (mean over rounds with both: > 0 means over-confident),
        ``vs_opponent`` (wins/losses/ties where the opponent's score is known),
        ``by_source`` and ``models`` (round counts).
    """
    records = list(records)
    done = [r for r in records if r.result_at is not None]
    dists = [r.distance_km for r in done if r.distance_km is not None]
    scores = [r.score for r in done if r.score is not None]
    both = [(r.projected_score, r.score) for r in done
            if r.projected_score is not None and r.score is not None]
    duels = [(r.score, r.opponent_score) for r in done
             if r.score is not None and r.opponent_score is not None]
    by_source: dict[str, int] = {}
    models: dict[str, int] = {}
    for r in records:
        by_source[r.source] = by_source.get(r.source, 0) + 1
        models[r.model_id or "?"] = models.get(r.model_id or "?", 0) + 1
    return {
        "rounds": len(records),
        "with_result": len(done),
        "distance_km": _stats(dists),
        "within_km": ({f"{b:g}": sum(d <= b for d in dists) / len(dists)
                       for b in DISTANCE_BANDS_KM} if dists else None),
        "score": _stats(scores),
        "projected_score": _stats([r.projected_score for r in records
                                   if r.projected_score is not None]),
        "projected_minus_actual": (float(np.mean([p - s for p, s in both])) if both else None),
        "latency_ms": _stats([r.latency_ms for r in records if r.latency_ms is not None]),
        "vs_opponent": ({"wins": sum(a > b for a, b in duels),
                         "losses": sum(a < b for a, b in duels),
                         "ties": sum(a == b for a, b in duels)} if duels else None),
        "by_source": by_source,
        "models": models,
    }
