"""The expected-score-maximising pin (backend.core.best_pin)."""

import numpy as np
import pytest

from backend.core.best_pin import (
    DistributionError,
    best_pin,
    expected_score_at,
    probability_within,
)
from backend.core.geodesy import CoordinateError, destination_point, haversine_km
from backend.core.scoring import geoguessr_score


def test_point_mass_pin_on_it_projected_5000():
    lat, lng, score = best_pin([35.6762], [139.6503], [1.0])
    assert (lat, lng) == (35.6762, 139.6503)
    assert score == pytest.approx(5000.0)


def test_point_mass_among_zero_weights():
    lat, lng, score = best_pin([10, -33.9, 60], [10, 18.4, 100], [0, 1, 0])
    assert (lat, lng) == (-33.9, 18.4)
    assert score == pytest.approx(5000.0)


def test_two_equal_far_modes_pick_a_mode_not_the_ocean_between():
    # Lisbon and New York, 50/50: the midpoint is in the Atlantic and scores far less
    la, lo = [38.72, 40.71], [-9.14, -74.0]
    lat, lng, score = best_pin(la, lo, [0.5, 0.5])
    d = haversine_km(38.72, -9.14, 40.71, -74.0)
    assert (lat, lng) in {(38.72, -9.14), (40.71, -74.0)}
    assert score == pytest.approx(2500 + 2500 * float(geoguessr_score(d)) / 5000)
    mid = destination_point(38.72, -9.14, 290, float(d) / 2)
    assert expected_score_at(*mid, la, lo, [0.5, 0.5]) < score - 1000


def test_ties_are_deterministic_first_most_probable():
    a = best_pin([38.72, 40.71], [-9.14, -74.0], [0.5, 0.5])
    assert a == best_pin([38.72, 40.71], [-9.14, -74.0], [0.5, 0.5])
    assert a[:2] == (38.72, -9.14)


def test_ring_of_nearby_modes_pulls_the_pin_to_the_middle():
    # six equal modes 300 km around a centre: the centre really scores higher than any mode
    c = (47.0, 8.0)
    ring = [destination_point(*c, b, 300.0) for b in range(0, 360, 60)]
    la, lo = [r[0] for r in ring], [r[1] for r in ring]
    lat, lng, score = best_pin(la, lo, np.full(6, 1 / 6))
    assert float(haversine_km(lat, lng, *c)) < 5.0
    at_mode = float(expected_score_at(la[0], lo[0], la, lo, np.full(6, 1 / 6)))
    assert score > at_mode + 50


def test_dominant_mode_wins_over_weighted_mean():
    lat, lng, _ = best_pin([0.0, 0.0], [0.0, 5.0], [0.8, 0.2])
    assert (lat, lng) == (0.0, 0.0)


def test_antimeridian_cluster():
    la = [10.0, 10.5, 9.5, 10.0]
    lo = [179.8, -179.9, 179.9, -179.7]
    lat, lng, score = best_pin(la, lo, [0.25] * 4)
    assert float(haversine_km(lat, lng, 10.0, 180.0)) < 60
    assert score > 4700


@pytest.mark.parametrize("seed", range(12))
def test_never_worse_than_a_dense_grid(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 9))
    c = (rng.uniform(-50, 50), rng.uniform(-170, 170))
    pts = [destination_point(*c, rng.uniform(0, 360), rng.uniform(0, 2500)) for _ in range(k)]
    la, lo = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
    p = rng.dirichlet(np.ones(k))
    lat, lng, score = best_pin(la, lo, p)
    g = np.linspace(-1, 1, 161)
    glat = np.clip(c[0] + g[:, None] * 30 + 0 * g[None, :], -90, 90)
    glng = c[1] + g[None, :] * 40 + 0 * g[:, None]
    grid = expected_score_at(glat.ravel(), glng.ravel(), la, lo, p)
    assert score >= grid.max() - 1e-6
    assert score == pytest.approx(float(expected_score_at(lat, lng, la, lo, p)), abs=1e-6)


def test_unnormalised_weights_are_normalised():
    assert best_pin([1, 2], [3, 4], [2, 6]) == best_pin([1, 2], [3, 4], [0.25, 0.75])


def test_custom_map_size_scales_the_score():
    _, _, world = best_pin([0, 0], [0, 1], [0.5, 0.5])
    _, _, small = best_pin([0, 0], [0, 1], [0.5, 0.5], map_size_km=1000)
    assert small < world


def test_probability_within():
    la, lo, p = [0, 0, 0], [0, 5, 60], [0.5, 0.3, 0.2]
    assert probability_within(0, 0, la, lo, p, radius_km=750) == pytest.approx(0.8)
    assert probability_within(0, 0, la, lo, p, radius_km=10) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        probability_within(0, 0, la, lo, p, radius_km=-1)


@pytest.mark.parametrize("args, err", [
    (([], [], []), CoordinateError),
    (([1, 2], [1, 2], [1]), DistributionError),
    (([1], [1], [-1]), DistributionError),
    (([1], [1], [np.nan]), DistributionError),
    (([1, 2], [1, 2], [0, 0]), DistributionError),
    (([95], [0], [1]), CoordinateError),
    (([np.nan], [0], [1]), CoordinateError),
])
def test_bad_distributions_are_rejected(args, err):
    with pytest.raises(err):
        best_pin(*args)


def test_dense_cluster_of_improbable_candidates_beats_scattered_probable_ones():
    # 40 candidates at 1.5 % each (60 %) scattered from the Americas to Africa vs 100
    # candidates at 0.4 % each (40 %) within 60 km of Tokyo: the pin belongs in Tokyo
    # although no Tokyo candidate is among the 40 most probable
    rng = np.random.default_rng(0)
    s_lat, s_lng = rng.uniform(-50, 60, 40), rng.uniform(-170, 40, 40)
    pts = [destination_point(35.68, 139.69, rng.uniform(0, 360), rng.uniform(0, 60))
           for _ in range(100)]
    lat = np.r_[s_lat, [q[0] for q in pts]]
    lng = np.r_[s_lng, [q[1] for q in pts]]
    p = np.r_[np.full(40, 0.015), np.full(100, 0.004)]
    pl, pg, score = best_pin(lat, lng, p)
    assert float(haversine_km(pl, pg, 35.68, 139.69)) < 60
    assert score > 1800


def test_many_candidates_never_worse_than_any_candidate():
    rng = np.random.default_rng(5)
    lat = np.degrees(np.arcsin(rng.uniform(-0.8, 0.9, 600)))
    lng = rng.uniform(-180, 180, 600)
    for alpha in (0.05, 1.0, 20.0):
        p = rng.dirichlet(np.full(600, alpha))
        _, _, score = best_pin(lat, lng, p)
        at_cands = expected_score_at(lat, lng, lat, lng, p)
        assert score >= at_cands.max() - 0.5 * 5000 * 1e-4 * 2
