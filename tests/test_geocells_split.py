"""Geocell splitting: the lean OPTICS graph, OPTICS parts, the balanced fallback, split bounds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import OPTICS

from backend.geocells.optics_graph import optics_graph, optics_xi_labels
from backend.geocells.optics_split import PIGEON_OPTICS, balanced_split, optics_parts, split_points


def _blobs(seed: int, n_blobs: int = 6, spread=(0.05, 0.3)):
    rng = np.random.default_rng(seed)
    centres = np.stack([rng.uniform(40, 50, n_blobs), rng.uniform(0, 15, n_blobs)], 1)
    parts = [c + rng.normal(0, rng.uniform(*spread), (rng.integers(30, 120), 2)) for c in centres]
    pts = np.concatenate(parts + [np.stack([rng.uniform(40, 50, 40), rng.uniform(0, 15, 40)], 1)])
    return pts[:, 0], pts[:, 1]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("ms,xi", PIGEON_OPTICS)
def test_lean_optics_gives_sklearns_labels(seed, ms, xi):
    rng = np.random.default_rng(seed)
    c = rng.uniform(0, 100, (5, 3))
    x = np.concatenate([c[k] + rng.normal(0, rng.uniform(1, 4), (rng.integers(20, 70), 3))
                        for k in range(5)] + [rng.uniform(0, 100, (25, 3))])
    want = OPTICS(min_samples=ms, xi=xi).fit(x).labels_
    np.testing.assert_array_equal(optics_xi_labels(x, ms, xi), want)


def test_lean_optics_graph_rejects_too_few_points():
    with pytest.raises(ValueError, match="min_samples"):
        optics_graph(np.zeros((3, 3)), 8)


def test_optics_parts_separates_two_far_blobs():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(0, 1, (50, 3)), rng.normal(100, 1, (50, 3))])
    parts = optics_parts(x, 30, 8, 0.05)
    assert sorted(len(p) for p in parts) == [50, 50]
    assert {tuple(sorted(set((p >= 50).tolist()))) for p in parts} == {(False,), (True,)}


def test_optics_parts_gives_up_on_too_few_points():
    assert optics_parts(np.zeros((40, 3)), 30, 8, 0.05) == []


@pytest.mark.parametrize("n", [61, 89, 90, 119, 121, 250, 1001])
def test_balanced_split_sizes_within_bounds(n):
    rng = np.random.default_rng(n)
    lat, lng = rng.uniform(40, 45, n), rng.uniform(170, 190, n) % 360 - 180  # antimeridian
    parts = balanced_split(lat, lng, 30, 60)
    sizes = [len(p) for p in parts]
    assert all(30 <= s <= 60 for s in sizes), sizes
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(n))


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 500), mn=st.integers(1, 40), extra=st.integers(0, 60))
def test_balanced_split_bounds_property(n, mn, extra):
    mx = 2 * mn - 1 + extra
    rng = np.random.default_rng(n)
    parts = balanced_split(rng.uniform(-10, 10, n), rng.uniform(-10, 10, n), mn, mx)
    sizes = [len(p) for p in parts]
    assert sum(sizes) == n
    if n >= mn:
        assert all(mn <= s <= mx for s in sizes), sizes
    else:
        assert sizes == [n]


def test_balanced_split_keeps_min_when_max_is_tight():
    # MAX < 2*MIN - 1: 55 points cannot be cut into parts of 40..50; MIN wins over MAX
    parts = balanced_split(np.linspace(0, 1, 55), np.zeros(55), 40, 50)
    assert [len(p) for p in parts] == [55]
    parts = balanced_split(np.linspace(0, 1, 90), np.zeros(90), 40, 50)
    assert sorted(len(p) for p in parts) == [45, 45]


@pytest.mark.parametrize("seed", [0, 1])
def test_split_points_partitions_within_bounds(seed):
    lat, lng = _blobs(seed)
    parts = split_points(lat, lng, 30, 60)
    sizes = [len(p) for p in parts]
    assert all(30 <= s <= 60 for s in sizes), sizes
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(len(lat)))


def test_split_points_uniform_noise_falls_back_to_bisection():
    rng = np.random.default_rng(5)
    lat, lng = rng.uniform(0, 1, 300), rng.uniform(0, 1, 300)
    parts = split_points(lat, lng, 30, 60)
    assert all(30 <= len(p) <= 60 for p in parts)


def test_split_points_is_deterministic():
    lat, lng = _blobs(4)
    a = split_points(lat, lng, 30, 60)
    b = split_points(lat.copy(), lng.copy(), 30, 60)
    assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_duplicates_never_push_a_part_over_max_when_a_cut_exists():
    """Duplicates unified into one part can leave another below MIN; it merges back and the
    result used to exceed MAX by up to MIN - 1 more points. Now that part is cut again
    between distinct coordinates."""
    import shapely

    from backend.geocells.split_cell import split_cell

    lng = np.array([0, 1, 2, 3, 4, 5, 5, 5, 5, 5, 6, 7], dtype=float) * 0.1
    lat = np.zeros(12) + 10.0
    parent = shapely.box(-1, 9, 2, 11)
    parts = split_cell(parent, lat, lng, 3, 6, ((20, 0.05),))  # OPTICS cannot run: bisection
    sizes = sorted(len(p) for p, _ in parts)
    assert sum(sizes) == 12 and max(sizes) <= 7, sizes  # 5 copies of x=5 force 7 at worst
    owner = {}
    for k, (p, _) in enumerate(parts):  # identical coordinates stay in one part
        for x in lng[p]:
            assert owner.setdefault(float(x), k) == k


def test_optics_never_runs_on_more_than_its_cap(monkeypatch):
    """OPTICS is quadratic: a cell above OPTICS_MAX_POINTS is cut into compact parts first."""
    from backend.geocells import optics_split

    seen = []
    real = optics_split.optics_xi_labels
    monkeypatch.setattr(optics_split, "OPTICS_MAX_POINTS", 400)
    monkeypatch.setattr(optics_split, "optics_xi_labels",
                        lambda x, ms, xi: seen.append(len(x)) or real(x, ms, xi))
    lat, lng = _blobs(7, n_blobs=20)
    assert len(lat) > 1000
    parts = split_points(lat, lng, 30, 60)
    assert seen and max(seen) <= 400
    assert all(30 <= len(p) <= 60 for p in parts)
    np.testing.assert_array_equal(np.sort(np.concatenate(parts)), np.arange(len(lat)))
