"""Train/test split that keeps every test point at least ``min_km`` from every training point.

Points closer than ``min_km`` are linked; linked points (connected components, found with
a haversine ``BallTree``) always go to the same side, so no training photo sits next to a
test photo and nothing is thrown away. Components are shuffled with the seed and added to
the test side until it holds ``test_frac`` of the points (a component that would overshoot
is passed over). A final BallTree query checks the guarantee.

``pigeon data split CSV --test-frac 0.1 --min-km 1 --seed 0 --out DIR`` writes
``DIR/train.csv`` and ``DIR/test.csv`` (generic layout, image paths relative to DIR) and
``DIR/split.json`` (the metadata: source, parameters, counts, achieved gap).

Usage::

    from backend.eval.split import split_indices
    train_idx, test_idx = split_indices(lat, lng, test_frac=0.1, min_km=1.0, seed=0)
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

import numpy as np

from backend.core.geodesy import EARTH_RADIUS_KM, validate_latlng

SPLIT_FORMAT = "pigeon-split/1"


def _ball_tree(lat: np.ndarray, lng: np.ndarray) -> Any:
    from sklearn.neighbors import BallTree

    return BallTree(np.radians(np.stack([lat, lng], axis=1)), metric="haversine")


def linked_components(lat: Any, lng: Any, min_km: float) -> np.ndarray:
    """Component label of each point when points closer than ``min_km`` are linked.

    Args:
        lat, lng: ``(n,)`` degrees.
        min_km: link distance in km (0: every point is its own component).

    Returns:
        int ``(n,)`` component labels.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    la, lo = validate_latlng(np.atleast_1d(lat), np.atleast_1d(lng))
    n = len(la)
    if min_km <= 0:
        return np.arange(n)
    tree = _ball_tree(la, lo)
    # query_radius is inclusive: points exactly min_km apart are linked too
    neigh = tree.query_radius(np.radians(np.stack([la, lo], axis=1)),
                              r=min_km / EARTH_RADIUS_KM)
    rows = np.repeat(np.arange(n), [len(x) for x in neigh])
    cols = np.concatenate(neigh) if n else np.empty(0, dtype=np.int64)
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels


def min_gap_km(lat: Any, lng: Any, train_idx: np.ndarray, test_idx: np.ndarray) -> float:
    """Smallest distance in km from any test point to any training point (inf if a side is
    empty)."""
    la, lo = validate_latlng(np.atleast_1d(lat), np.atleast_1d(lng))
    if len(train_idx) == 0 or len(test_idx) == 0:
        return float("inf")
    tree = _ball_tree(la[train_idx], lo[train_idx])
    dist, _ = tree.query(np.radians(np.stack([la[test_idx], lo[test_idx]], axis=1)), k=1)
    return float(dist.min() * EARTH_RADIUS_KM)


def split_indices(lat: Any, lng: Any, *, test_frac: float = 0.1, min_km: float = 1.0,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split points into train and test with at least ``min_km`` between the two sides.

    Args:
        lat, lng: ``(n,)`` degrees.
        test_frac: wanted share of points in the test side, in (0, 1).
        min_km: smallest allowed test-to-train distance in km (>= 0).
        seed: seed of the shuffle.

    Returns:
        ``(train_idx, test_idx)``, sorted index arrays that together cover every point.

    Raises:
        ValueError: bad ``test_frac``/``min_km``, fewer than 2 points, or points so densely
            linked that no test side could be formed.
    """
    if not 0.0 < test_frac < 1.0:
        raise ValueError(f"test fraction must lie strictly between 0 and 1, got {test_frac}")
    if not np.isfinite(min_km) or min_km < 0:
        raise ValueError(f"min distance must be a non-negative number of km, got {min_km}")
    labels = linked_components(lat, lng, min_km)
    n = len(labels)
    if n < 2:
        raise ValueError(f"need at least 2 points to split, got {n}")
    sizes = np.bincount(labels)
    target = max(1, round(test_frac * n))
    rng = np.random.default_rng(seed)
    in_test = np.zeros(len(sizes), dtype=bool)
    have = 0
    for comp in rng.permutation(len(sizes)):
        if have >= target:
            break
        if have + sizes[comp] > target and have > 0:
            continue  # would overshoot; a smaller component may fit
        if sizes[comp] >= n:
            continue  # everything is one linked blob: cannot take it all
        in_test[comp] = True
        have += int(sizes[comp])
    if have == 0 or have == n:
        raise ValueError(f"all {n} points lie within {min_km} km chains of each other; "
                         "lower --min-km or add more spread-out points")
    test_mask = in_test[labels]
    return np.flatnonzero(~test_mask), np.flatnonzero(test_mask)


def write_split(dataset: Any, out_dir: str | Path, *, test_frac: float = 0.1,
                min_km: float = 1.0, seed: int = 0) -> dict[str, Any]:
    """Split a loaded :class:`backend.eval.datasets.Dataset` and write it to ``out_dir``.

    Returns:
        The metadata written to ``out_dir/split.json``.
    """
    from backend.eval.datasets import write_generic_csv

    out = Path(out_dir)
    lat, lng = dataset.lats(), dataset.lngs()
    train_idx, test_idx = split_indices(lat, lng, test_frac=test_frac, min_km=min_km, seed=seed)
    gap = min_gap_km(lat, lng, train_idx, test_idx)
    if gap < min_km * (1 - 1e-9):  # the construction guarantees it; check anyway
        raise AssertionError(f"split broke its guarantee: gap {gap} km < {min_km} km")
    locs = dataset.locations
    write_generic_csv(out / "train.csv", [locs[i] for i in train_idx])
    write_generic_csv(out / "test.csv", [locs[i] for i in test_idx])
    meta = {
        "format": SPLIT_FORMAT,
        "made_by": "pigeon data split (backend.eval.split)",
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "source": dataset.describe(),
        "params": {"test_frac": test_frac, "min_km": min_km, "seed": seed,
                   "earth_radius_km": EARTH_RADIUS_KM, "method": "linked components"},
        "counts": {"train": len(train_idx), "test": len(test_idx),
                   "skipped_bad_rows": len(dataset.bad_rows)},
        "achieved_test_frac": len(test_idx) / len(locs),
        "min_test_train_km": gap if np.isfinite(gap) else None,
        "files": {"train": "train.csv", "test": "test.csv"},
    }
    (out / "split.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return meta
