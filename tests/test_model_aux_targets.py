"""Auxiliary targets from the real GeoLookup (when the assets are built) and their cache."""

from __future__ import annotations

import numpy as np
import pytest

from backend.model.aux_targets import AUX_FILE, AuxTargets, cached_aux_targets
from backend.model.geo_features import KOPPEN_CLASSES, features_from_lookup, koppen_index


def _geo():
    try:
        from backend.geo.koppen import Koppen
        from backend.geo.lookup import GeoLookup

        geo = GeoLookup.default()
        return geo, Koppen.load()
    except Exception as exc:  # noqa: BLE001  assets not built here
        pytest.skip(f"geographic assets unavailable ({type(exc).__name__}: {exc}); "
                    "run `make setup`")


def test_koppen_classes_match_the_raster():
    _, koppen = _geo()
    assert list(koppen.classes) == list(KOPPEN_CLASSES)
    assert koppen_index(np.array(["Af", "ET", "Ocean", ""])).tolist() == [0, 30, -1, -1]


def test_real_lookup_targets_and_cache(tmp_path):
    geo, _ = _geo()
    ids = ["paris", "sydney", "sea"]
    latlng = np.array([[48.8566, 2.3522], [-33.87, 151.21], [0.0, -30.0]])
    aux = cached_aux_targets(tmp_path, ids, latlng, geo)
    assert (tmp_path / AUX_FILE).is_file()
    paris, sydney, sea = aux.regression
    assert 0 < paris[0] < 200 and 8 < paris[2] < 15 and paris[1] > 3   # m, °C, log10 density
    assert sydney[2] > paris[2] and sea[1] == 0.0
    assert aux.koppen[0] == KOPPEN_CLASSES.index("Cfb") and aux.koppen[2] == -1
    rows = aux.name_rows(["paris", "missing"])
    assert rows[0]["country"] == "France" and rows[0]["town"] == "Paris"
    assert rows[0]["driving_side"] == "right" and rows[1]["country"] == ""
    again = AuxTargets.load(tmp_path / AUX_FILE)
    assert again.ids == ids and np.array_equal(again.koppen, aux.koppen)
    assert again.meta["format"] == "pigeon-aux/1"
    k, r = again.aligned(["sea", "nope"])
    assert k.tolist() == [-1, -1] and np.isnan(r[1]).all()


def test_features_from_lookup_without_assets():
    info = {"elevation_m": np.array([100.0, np.nan]), "pop_density": np.array([99.0, 0.0]),
            "temp_mean_c": np.array([10.0, 20.0]), "temp_range_c": np.array([5.0, 1.0]),
            "precip_mm_year": np.array([1200.0, 0.0]),
            "precip_range_mm_month": np.array([30.0, 0.0]),
            "town_distance_km": np.array([3.0, 80.0]), "town": np.array(["A", "B"], object),
            "country_name": np.array(["X", "Y"]), "admin1": np.array(["r", ""]),
            "koppen": np.array(["Cfb", "Ocean"]), "driving_side": np.array(["left", ""])}
    k, r, names = features_from_lookup(info)
    assert k.tolist() == [9, -1] and r[0, 1] == pytest.approx(2.0) and r[0, 4] == 100.0
    assert np.isnan(r[1, 0]) and names["town"].tolist() == ["A", ""]
    with pytest.raises(ValueError, match="koppen indices"):
        AuxTargets(["a"], np.array([31]), np.zeros((1, 6), np.float32))
