"""SynthWorld baselines: best constant guess and 1-NN on raw pixels."""

from __future__ import annotations

import numpy as np
import pytest

from backend.core.geodesy import CoordinateError, haversine_km
from backend.core.scoring import geoguessr_score
from backend.synthworld.baselines import (
    PixelNearestNeighbour,
    best_constant_guess,
    pixel_features,
)


def _mean_score(lat, lng, pin):
    return float(geoguessr_score(haversine_km(lat, lng, pin[0], pin[1])).mean())


def test_constant_guess_beats_other_constants():
    rng = np.random.default_rng(0)
    lat = np.concatenate([rng.normal(48, 3, 300), rng.normal(-25, 3, 100)])
    lng = np.concatenate([rng.normal(10, 4, 300), rng.normal(135, 4, 100)])
    pin = best_constant_guess(lat, lng)
    best = _mean_score(lat, lng, pin)
    assert haversine_km(pin[0], pin[1], 48, 10) < 800  # the big cluster wins
    for other in [(0.0, 0.0), (-25.0, 135.0), (30.0, 60.0), (float(lat.mean()), float(lng.mean()))]:
        assert best >= _mean_score(lat, lng, other)


def test_constant_guess_rejects_bad_input():
    with pytest.raises(CoordinateError):
        best_constant_guess([91.0], [0.0])
    with pytest.raises(CoordinateError):
        best_constant_guess([], [])


def test_pixel_nn_finds_the_matching_panorama():
    rng = np.random.default_rng(1)
    train = [[rng.integers(0, 255, (32, 32, 3), dtype=np.uint8) for _ in range(4)]
             for _ in range(30)]
    lat, lng = rng.uniform(-60, 60, 30), rng.uniform(-180, 180, 30)
    knn = PixelNearestNeighbour.fit(train, lat, lng)
    noisy = [[np.clip(v.astype(int) + rng.integers(-10, 10, v.shape), 0, 255).astype(np.uint8)
              for v in train[i]] for i in (3, 17)]
    p_lat, p_lng = knn.predict(noisy)
    assert np.allclose(p_lat, lat[[3, 17]]) and np.allclose(p_lng, lng[[3, 17]])
    assert pixel_features(train[0]).shape == (4 * 16 * 16 * 3,)
    with pytest.raises(ValueError, match="views"):
        knn.predict([train[0][:2]])
    with pytest.raises(ValueError, match="one location per panorama"):
        PixelNearestNeighbour.fit(train, lat[:5], lng[:5])
