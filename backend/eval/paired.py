"""Paired differences between two evaluations of the same test items, with bootstrap intervals.

Two models scored on the same places differ far less than their two intervals suggest:
most of the spread is between places, and it is shared. The paired difference takes
``a - b`` per item and bootstraps its mean over items (``backend.eval.bootstrap``), so a
small gain or loss of one model over another shows. ``scripts/compare_predictions.py`` runs it
on two ``predictions.csv`` files (read by :func:`read_column`); ``pigeon ablate`` runs it between consecutive rungs.

Usage::

    r = paired_difference({"p1": 4200.0, ...}, {"p1": 3900.0, ...}, n_boot=10_000)
    r["diff"], r["low"], r["high"]
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

import numpy as np


def read_column(path: str | Path, column: str) -> dict[str, float]:
    """``id -> value`` of one column of a predictions CSV (``pigeon eval --out``).

    Raises:
        ValueError: no ``id`` or no such column; OSError: unreadable.
    """
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "id" not in rows[0] or column not in rows[0]:
        raise ValueError(f"{path}: need columns 'id' and {column!r} (a `pigeon eval --out` "
                         "predictions.csv)")
    return {r["id"]: float(r[column]) for r in rows}


def paired_difference(a: Mapping[str, float], b: Mapping[str, float], *, n_boot: int = 10_000,
                      seed: int = 0) -> dict[str, float]:
    """Mean of ``a - b`` over the items both hold, with its 95 % bootstrap interval.

    Returns:
        ``{"n", "mean_a", "mean_b", "diff", "low", "high"}``.

    Raises:
        ValueError: the two sides do not cover the same items, or cover none.
    """
    from backend.eval.bootstrap import bootstrap_intervals

    if set(a) != set(b):
        only = sorted(set(a) ^ set(b))
        raise ValueError(f"the two evaluations cover different items ({len(only)} differ, e.g. "
                         f"{only[:3]}): evaluate both models on the same dataset")
    if not a:
        raise ValueError("no items to compare")
    ids = sorted(a)
    diff = np.array([a[i] - b[i] for i in ids], dtype=np.float64)
    low, high = bootstrap_intervals({"diff": diff}, n_boot=n_boot, seed=seed)["diff"]
    return {"n": len(ids), "mean_a": float(np.mean([a[i] for i in ids])),
            "mean_b": float(np.mean([b[i] for i in ids])), "diff": float(diff.mean()),
            "low": float(low), "high": float(high)}
