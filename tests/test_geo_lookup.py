"""GeoLookup and each gridded lookup on the real built assets (skipped, saying why, if none)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backend.core.geodesy import CoordinateError
from backend.geo import assets
from backend.geo.assets import AssetsMissing, data_dir
from backend.geo.lookup import FIELDS, GeoLookup


@pytest.fixture(scope="module")
def geo() -> GeoLookup:
    try:
        data_dir()
    except AssetsMissing as exc:
        pytest.skip(f"geographic assets not built: {exc}")
    return GeoLookup.default()


def test_paris_has_everything_the_issue_asks(geo):
    r = geo.lookup_records(48.8566, 2.3522)[0]
    assert (r["country"], r["country_name"], r["admin1"]) == ("FR", "France", "Île-de-France")
    assert r["koppen"] == "Cfb" and r["land"] is True
    assert 10 <= r["elevation_m"] <= 150  # "tens of metres"
    assert 10 < r["temp_mean_c"] < 14 and 12 < r["temp_range_c"] < 20
    assert 550 < r["precip_mm_year"] < 900
    assert r["town"] == "Paris" and r["town_population"] > 1_000_000
    assert r["place_distance_km"] < 2 and r["driving_side"] == "right"
    assert r["pop_density"] > 1000
    assert set(r) == set(FIELDS)
    json.dumps(r)  # plain Python values only


@pytest.mark.parametrize("lat, lng, koppen", [
    (1.3521, 103.8198, "Af"), (30.0444, 31.2357, "BWh"), (55.7558, 37.6173, "Dfb"),
    (-80.0, 0.0, "EF"), (0.0, -150.0, "Ocean"), (-33.87, 151.21, "Cfa"),
])
def test_koppen_classes(geo, lat, lng, koppen):
    assert str(geo.koppen(lat, lng)) == koppen


def test_koppen_coastal_fill_only_near_land(geo):
    k = geo._part("koppen")
    # search a coastal strip for a cell that is Ocean on the raster but land after the fill
    lat = np.full(2000, 43.3)
    lng = np.linspace(-10.0, 10.0, 2000)
    raw, filled = k.classify(lat, lng, fill_coast=False), k.classify(lat, lng)
    changed = raw != filled
    assert changed.any() and np.all(raw[changed] == "Ocean") and np.all(filled[changed] != "Ocean")
    assert str(k.classify(0.0, -30.0)) == "Ocean"
    # GeoLookup fills only where the land mask says land: sea next to a coast stays Ocean
    land = geo.is_land(lat, lng)
    got = geo.koppen(lat, lng)
    assert np.all(got[~land & (raw == "Ocean")] == "Ocean")
    assert np.array_equal(got[land], filled[land])
    assert "Ocean" not in k.classes and len(k.classes) == 31


def test_elevation_and_climate_are_plausible(geo):
    lat = np.array([27.9881, 52.37, 1.35, 23.0, -75.0])
    lng = np.array([86.925, 4.90, 103.82, 12.0, 0.0])
    elev = geo.elevation_m(lat, lng)
    assert elev[0] > 4000 and abs(elev[1]) < 60 and elev[4] > 1500
    c = geo.climate(lat, lng)
    assert c["temp_mean_c"][2] > 25 and c["temp_range_c"][2] < 4  # Singapore
    assert c["precip_mm_year"][3] < 100  # Libyan desert
    assert c["temp_mean_c"][4] < -20  # Antarctica
    t, p = geo._part("climate").monthly(48.8566, 2.3522)
    assert t.shape == (12,) and t[6] > t[0] + 10 and np.all(p > 20)


def test_land_sea_and_population(geo):
    lat = np.array([48.8566, 47.0, 0.0, 64.7337])
    lng = np.array([2.3522, 105.0, 0.0, 177.5089])
    land = geo.is_land(lat, lng)
    assert land.tolist() == [True, True, False, True]
    info = geo.lookup(lat, lng)
    d = info["pop_density"]
    assert d[0] > 50 * d[1] > 0 and d[2] == 0.0
    # Anadyr's harbour: outside Natural Earth's coastline, inside the land mask -> Russia
    assert info["country"].tolist() == ["FR", "MN", "", "RU"]
    assert info["koppen"][2] == "Ocean" and np.isnan(info["elevation_m"][2])
    assert info["driving_side"].tolist() == ["right", "right", "", "right"]


def test_shapes_are_preserved(geo):
    info = geo.lookup(48.8566, 2.3522)
    assert all(np.asarray(v).shape == () for v in info.values())
    lat = np.array([[48.8566, 51.5072], [40.7128, -33.87]])
    lng = np.array([[2.3522, -0.1276], [-74.006, 151.21]])
    info = geo.lookup(lat, lng)
    assert info["country"].tolist() == [["FR", "GB"], ["US", "AU"]]
    assert info["temp_mean_c"].shape == (2, 2)


def test_longitudes_wrap_and_echo(geo):
    r = geo.lookup_records([48.8566, 48.8566], [2.3522, 362.3522])
    assert r[0]["lng"] == 2.3522 and r[1]["country"] == "FR"
    assert abs(r[1]["lng"] - 2.3522) < 1e-9


@pytest.mark.parametrize("lat, lng, match", [
    ("Paris", 2.0, "numbers"), (float("nan"), 2.0, "finite"), (95.0, 2.0, "swap"),
    ([], [], "empty"), ([1.0, 2.0], [1.0], "shape"), (None, 1.0, "finite|numbers"),
])
def test_bad_input_is_a_clear_error(geo, lat, lng, match):
    with pytest.raises(CoordinateError, match=match):
        geo.lookup(lat, lng)
    with pytest.raises(CoordinateError):
        geo.lookup_records(lat, lng)


def test_places_nearest_and_within(geo):
    places = geo._part("places")
    assert len(places) > 200_000
    near = places.nearest([35.6762, -90.0], [139.6503, 0.0])
    assert near["country"][0] == "JP" and near["distance_km"][0] < 5
    assert near["distance_km"][1] > 1000  # the south pole is far from any town
    idx = places.within_km(48.8566, 2.3522, 3.0)
    assert len(idx) > 5 and "Paris" in set(places.name[idx])
    with pytest.raises(ValueError):
        places.within_km(48.8566, 2.3522, -1.0)


def test_every_asset_carries_metadata_and_provenance(geo):
    info = assets.manifest()
    assert info["format"] == assets.ASSETS_FORMAT and info["built_at"]
    for name in assets.ASSET_FILES:
        _, meta = assets.load_npz(name, [])
        assert meta["format"] == assets.ASSETS_FORMAT and meta["made_by"]
        src = meta["source"]
        assert src["package"] and src["version"] and len(src["sha256"]) == 64 and src["licence"]
    rows = assets.status()
    assert rows and all(ok for _, ok, _ in rows), rows


def test_status_reports_missing_assets(tmp_path, monkeypatch):
    monkeypatch.setenv("PIGEON_DATA_DIR", str(tmp_path))
    rows = assets.status()
    assert rows == [(rows[0][0], False, rows[0][2])] and "make setup" in rows[0][2]
    (tmp_path / "ASSETS.json").write_text(json.dumps({"built_at": "x"}))
    rows = {n: (ok, d) for n, ok, d in assets.status()}
    assert rows["geo assets"][0] and not rows["geo koppen"][0]
    assert "make setup" in rows["geo koppen"][1]
    with pytest.raises(AssetsMissing, match="make setup"):
        assets.asset_path("koppen")
    # a file of another format version, and one that is not an npz at all
    (tmp_path / "geo").mkdir()
    np.savez(tmp_path / "geo" / "koppen.npz", meta=assets.pack_meta({"format": "old/0"}))
    (tmp_path / "geo" / "elevation.npz").write_bytes(b"not a zip")
    rows = {n: (ok, d) for n, ok, d in assets.status()}
    assert not rows["geo koppen"][0] and "old/0" in rows["geo koppen"][1]
    assert not rows["geo elevation"][0] and "unreadable" in rows["geo elevation"][1]
    with pytest.raises(AssetsMissing, match="old/0"):
        assets.load_npz("koppen")


# --- properties over the whole globe (hypothesis) ---------------------------------------------

lat_st = st.floats(-90.0, 90.0, allow_nan=False)
lng_st = st.floats(-540.0, 540.0, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(lat_st, lng_st), min_size=1, max_size=20))
def test_any_valid_point_gets_a_consistent_answer(geo, pts):
    lat = np.array([p[0] for p in pts])
    lng = np.array([p[1] for p in pts])
    info = geo.lookup(lat, lng)
    assert all(np.asarray(v).shape == lat.shape for v in info.values())
    country = info["country"]
    # a name exactly when a country; a driving side exactly when a country
    assert np.array_equal(country != "", info["country_name"] != "")
    assert np.array_equal(country != "", info["driving_side"] != "")
    assert set(info["koppen"].tolist()) <= set(geo._part("koppen").names.tolist()) - {""}
    assert np.all(info["pop_density"] >= 0) and np.all(info["place_distance_km"] >= 0)
    assert np.all(np.isfinite(info["temp_mean_c"]))
    admin = geo._part("admin")
    assert np.array_equal(admin.index_of(lat, lng), admin.index_of(lat, lng, exact=True))


def test_fast_grid_agrees_with_exact_on_real_polygons(geo):
    rng = np.random.default_rng(11)
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, 20000)))
    lng = rng.uniform(-180, 180, 20000)
    admin = geo._part("admin")
    assert admin.fast_grid is not None
    assert np.array_equal(admin.index_of(lat, lng), admin.index_of(lat, lng, exact=True))
