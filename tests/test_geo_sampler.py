"""The GeoGuessr-like sampler: deterministic, on land, in the asked countries, near places."""

from __future__ import annotations

import numpy as np
import pytest

from backend.geo.assets import AssetsMissing, data_dir
from backend.geo.countries import STREET_VIEW_COVERAGE
from backend.geo.sampler import SamplerError, sample_points


@pytest.fixture(scope="module")
def geo():
    try:
        data_dir()
    except AssetsMissing as exc:
        pytest.skip(f"geographic assets not built: {exc}")
    from backend.geo.lookup import GeoLookup

    return GeoLookup.default()


def test_deterministic_for_a_seed(geo):
    a = sample_points(300, seed=7)
    b = sample_points(300, seed=7)
    c = sample_points(300, seed=8)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    assert a[0].shape == (300,) and a[0].dtype == np.float64


def test_points_on_land_in_covered_countries(geo):
    lat, lng = sample_points(500, seed=1)
    assert geo.is_land(lat, lng).all()
    iso = geo.country(lat, lng)
    assert set(iso.tolist()) <= STREET_VIEW_COVERAGE
    assert len(set(iso.tolist())) > 20  # spread over many countries


def test_country_filter_and_jitter_distance(geo):
    lat, lng = sample_points(200, seed=2, countries="fr,de", jitter_km=0.0)
    assert set(geo.country(lat, lng).tolist()) <= {"FR", "DE"}
    places = geo._part("places")
    near = places.nearest(lat, lng)
    assert np.all(near["distance_km"] < 1e-3)  # no jitter: the places themselves
    lat2, lng2 = sample_points(200, seed=2, countries=["FR", "DE"], jitter_km=5.0)
    near2 = places.nearest(lat2, lng2)
    assert np.all(near2["distance_km"] <= 5.0 + 1e-6)
    assert np.median(near2["distance_km"]) > 0.5  # points really moved


def test_population_weighting_favours_big_places(geo):
    lat, lng = sample_points(2000, seed=3, jitter_km=0.0, pop_exponent=1.0)
    lat0, lng0 = sample_points(2000, seed=3, jitter_km=0.0, pop_exponent=0.0)
    places = geo._part("places")
    big = np.median(places.nearest(lat, lng)["population"])
    flat = np.median(places.nearest(lat0, lng0)["population"])
    assert big > 20 * flat


@pytest.mark.parametrize("kwargs, match", [
    ({"n": 0}, "positive"), ({"n": 2.5}, "positive"), ({"n": True}, "positive"),
    ({"n": 5, "jitter_km": -1.0}, "jitter"), ({"n": 5, "jitter_km": float("nan")}, "jitter"),
    ({"n": 5, "pop_exponent": 7.0}, "pop_exponent"), ({"n": 5, "countries": ["France"]}, "ISO"),
    ({"n": 5, "countries": []}, "ISO"), ({"n": 5, "countries": ["ZZ"]}, "no GeoNames place"),
])
def test_bad_arguments(geo, kwargs, match):
    n = kwargs.pop("n")
    with pytest.raises(SamplerError, match=match):
        sample_points(n, 0, **kwargs)
