"""Geodesy core: haversine, validation, spherical helpers."""

import math

import numpy as np
import pytest

from backend.core.geodesy import (
    EARTH_RADIUS_KM,
    PIGEON_EARTH_RADIUS_KM,
    CoordinateError,
    destination_point,
    from_unit_vectors,
    haversine_km,
    haversine_matrix_km,
    spherical_mean,
    validate_latlng,
    wrap_longitude,
)


def test_known_distances():
    # Paris - London, about 343.5 km on the mean sphere
    assert float(haversine_km(48.8566, 2.3522, 51.5072, -0.1276)) == pytest.approx(343.53, abs=0.05)
    # a quarter of a great circle
    quarter = math.pi / 2 * EARTH_RADIUS_KM
    assert float(haversine_km(0, 0, 0, 90)) == pytest.approx(quarter, rel=1e-12)
    assert float(haversine_km(0, 0, 90, 0)) == pytest.approx(quarter, rel=1e-12)
    # antipodes: half the circumference
    assert float(haversine_km(10, 20, -10, -160)) == pytest.approx(math.pi * EARTH_RADIUS_KM)


def test_radius_is_a_parameter():
    d_mean = float(haversine_km(0, 0, 0, 1))
    d_pigeon = float(haversine_km(0, 0, 0, 1, radius_km=PIGEON_EARTH_RADIUS_KM))
    assert d_pigeon / d_mean == pytest.approx(PIGEON_EARTH_RADIUS_KM / EARTH_RADIUS_KM)


def test_antimeridian_and_poles():
    assert float(haversine_km(0, 179.5, 0, -179.5)) == pytest.approx(111.19, abs=0.05)
    # at the pole every longitude is the same point
    assert float(haversine_km(90, 0, 90, 123)) == pytest.approx(0.0, abs=1e-9)


def test_vectorised_and_matrix_agree():
    rng = np.random.default_rng(0)
    la, lo = rng.uniform(-80, 80, 5), rng.uniform(-180, 180, 5)
    lb, gb = rng.uniform(-80, 80, 7), rng.uniform(-180, 180, 7)
    m = haversine_matrix_km(la, lo, lb, gb)
    assert m.shape == (5, 7)
    for i in range(5):
        np.testing.assert_allclose(m[i], haversine_km(la[i], lo[i], lb, gb))


def test_validation_messages():
    with pytest.raises(CoordinateError, match="latitude #0 is 91.0"):
        validate_latlng(91, 0)
    with pytest.raises(CoordinateError, match="finite"):
        validate_latlng([0, float("nan")], [0, 0])
    with pytest.raises(CoordinateError, match="must be numbers"):
        validate_latlng("north", 0)
    with pytest.raises(CoordinateError, match="empty batch"):
        validate_latlng([], [])
    with pytest.raises(CoordinateError, match="same shape"):
        validate_latlng([1, 2], [1])
    with pytest.raises(CoordinateError, match="longitude"):
        validate_latlng(0, 200, wrap_lng=False)
    _lat, lng = validate_latlng([10, 20], [190, -180])
    np.testing.assert_allclose(lng, [-170, -180])


def test_wrap_longitude():
    np.testing.assert_allclose(wrap_longitude([180, 540, -181, 0]), [-180, -180, 179, 0])


def test_spherical_mean_across_antimeridian():
    lat, lng = spherical_mean([0, 0], [179, -179])
    assert lat == pytest.approx(0, abs=1e-9)
    assert abs(lng) == pytest.approx(180, abs=1e-6)


def test_means_on_the_antimeridian_say_minus_180_like_wrap_longitude():
    # the project's longitudes live in [-180, 180): 180 is written -180
    for lats, lngs in (([0, 0], [180, 180]), ([0, 0], [179, -179]), ([10], [180.0])):
        _, lng = spherical_mean(lats, lngs)
        assert -180.0 <= lng < 180.0, (lats, lngs, lng)
    _, lng = from_unit_vectors(np.array([-1.0, 0.0, 0.0]))
    assert lng == -180.0


def test_destination_point_round_trip():
    lat, lng = destination_point(48.0, 2.0, 90.0, 100.0)
    assert float(haversine_km(48.0, 2.0, lat, lng)) == pytest.approx(100.0, rel=1e-9)
