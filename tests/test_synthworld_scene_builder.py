"""SynthWorld scene builder: facts from the geo layer end up in the scene."""

from __future__ import annotations

import numpy as np
import pytest

from backend.core.geodesy import CoordinateError
from backend.synthworld.scene_builder import (
    SceneBuilder,
    destinations,
    horizon_profiles,
    script_of_languages,
)


def test_scripts_from_languages():
    assert script_of_languages("sr,hu,bs,rom") == "cyrillic"
    assert script_of_languages("en-IN,hi,bn,te") == "devanagari"
    assert script_of_languages("fr-FR,frp,br") == "latin"
    assert script_of_languages("ja") == "cjk"
    assert script_of_languages("") == "latin"
    assert script_of_languages("he,ar-IL,en-IL") == "hebrew"


def test_horizon_sees_a_mountain_in_its_direction():
    # a 2000 m high ridge 5-10 km east of the point (0, 0); flat elsewhere
    def elevation(lat, lng):
        lat, lng = np.asarray(lat), np.asarray(lng)
        return np.where((lng > 0.04) & (lng < 0.1) & (np.abs(lat) < 0.2), 2000.0, 100.0)

    prof = horizon_profiles(elevation, np.array([0.0]), np.array([0.0]), np.array([100.0]))[0]
    assert prof[4] > 10  # azimuth 90°
    assert abs(prof[12]) < 1e-6 and abs(prof[0]) < 1e-6
    la, lo = destinations(np.array([0.0]), np.array([0.0]), np.array([90.0]), 111.195)
    assert abs(lo[0, 0] - 1.0) < 1e-3 and abs(la[0, 0]) < 1e-6


def _fake_builder(places=None) -> SceneBuilder:
    def country(lat, lng):
        return np.where(np.asarray(lng) > 0, "GB", "FR")

    return SceneBuilder(
        country_of=country, admin1_of=lambda la, lo: np.array(["Kent"] * len(la)),
        koppen_of=lambda la, lo: np.array(["Cfb"] * (len(la) - 1) + ["Ocean"]),
        elevation_of=lambda la, lo: np.full(np.shape(la), 50.0),
        density_of=lambda la, lo: np.full(np.shape(la), 300.0),
        driving_side_of=lambda iso: np.where(np.asarray(iso) == "GB", "left", "right"),
        places=places)


def test_builder_fills_scenes_from_the_facts():
    b = _fake_builder()
    scenes = b.build([51.0, 48.0, 0.0], [1.0, -1.0, 0.0], [1, 7, 3], [1, 2, 3])
    assert [s.country for s in scenes] == ["GB", "FR", "FR"]
    assert [s.driving_side for s in scenes] == ["left", "right", "right"]
    assert scenes[0].admin1 == "GB:Kent" and scenes[0].continent == "EU"
    assert scenes[2].koppen == "Cfb"  # 'Ocean' falls back to a land class
    assert scenes[1].month == 7 and scenes[1].seed == 2
    with pytest.raises(ValueError, match="one month and seed"):
        b.build([1.0, 2.0], [1.0, 2.0], [1], [1, 2])
    with pytest.raises(ValueError, match="1-12"):
        b.build([1.0], [1.0], [13], [1])
    with pytest.raises(CoordinateError):
        b.build([95.0], [1.0], [1], [1])


def test_landmarks_come_from_nearby_geonames_places():
    from backend.synthworld.scene_builder import PlacesIndex

    idx = PlacesIndex.default()
    b = _fake_builder(idx)
    # 3 km north of the centre of Canterbury (GeoNames 2653877): it lies to the south
    s = b.build([51.3060], [1.0799], [6], [0])[0]
    ids = [m.place_id for m in s.landmarks]
    assert 2653877 in ids
    lm = s.landmarks[ids.index(2653877)]
    assert 170 < lm.azimuth_deg < 190 and 2.0 < lm.distance_km < 4.0
    far = b.build([0.0], [-30.0], [6], [0])[0]  # mid-Atlantic: no places
    assert far.landmarks == ()
