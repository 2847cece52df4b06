"""SynthWorld renderer: determinism, consistency of the four headings, and that geography shows."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image, ImageDraw

from backend.synthworld.camera import Camera
from backend.synthworld.glyphs import draw_glyph_row
from backend.synthworld.landmarks import apparent_height_frac, landmark_look
from backend.synthworld.layout import LANE_OFFSET_M, make_layout
from backend.synthworld.render import render_panorama, render_view
from backend.synthworld.scene import SCRIPTS, Landmark, Scene, SceneError
from backend.synthworld.sky import sun_position
from backend.synthworld.styles import place_style
from backend.synthworld.terrain import horizon_angles, snow_cover

BASE = Scene(lat=48.85, lng=2.35, month=6, seed=3, country="FR", admin1="FR-IDF", koppen="Cfb",
             elevation_m=35.0, pop_density=800.0, driving_side="right", script="latin",
             continent="EU")


def test_panorama_shape_and_determinism():
    a = render_panorama(BASE, 48)
    b = render_panorama(BASE, 48)
    assert len(a) == 4
    for x, y in zip(a, b):
        assert x.shape == (48, 48, 3) and x.dtype == np.uint8
        assert np.array_equal(x, y)
    # the four headings are different views, and another seed is another place
    assert not np.array_equal(a[0], a[2])
    c = render_panorama(dataclasses.replace(BASE, seed=4), 48)
    assert np.abs(c[0].astype(int) - a[0].astype(int)).mean() > 3


@pytest.mark.parametrize("size", [0, 8, 10_000, 64.5, "64"])
def test_bad_size_is_rejected(size):
    with pytest.raises(ValueError, match="size"):
        render_view(BASE, 0.0, size)


@pytest.mark.parametrize("field,value,match", [
    ("koppen", "Xyz", "koppen"), ("month", 13, "month"), ("driving_side", "middle", "driving"),
    ("script", "klingon", "script"), ("lat", 95.0, "lat"), ("horizon_deg", (0.0,) * 3, "horizon"),
    ("pop_density", -1.0, "pop_density"),
])
def test_bad_scene_is_rejected(field, value, match):
    with pytest.raises(SceneError, match=match):
        render_view(dataclasses.replace(BASE, **{field: value}), 0.0, 32)


def _diff_per_view(scene_a: Scene, scene_b: Scene) -> list[float]:
    va, vb = render_panorama(scene_a, 64), render_panorama(scene_b, 64)
    return [float(np.abs(x.astype(int) - y.astype(int)).sum()) for x, y in zip(va, vb)]


def test_landmark_appears_only_in_the_view_facing_it():
    lm = Landmark(place_id=2988507, azimuth_deg=92.0, distance_km=2.0)
    diff = _diff_per_view(BASE, dataclasses.replace(BASE, landmarks=(lm,)))
    assert diff[1] > 2000  # heading 90° sees it
    assert diff[3] == 0 and diff[2] == 0  # facing away: nothing changes


def test_landmarks_shrink_with_distance_and_differ_by_place():
    sizes = [apparent_height_frac(d) for d in (0.5, 3, 6, 11)]
    assert sizes == sorted(sizes, reverse=True)
    looks = {landmark_look(i) for i in range(1000, 3000)}
    assert len(looks) > 500
    assert landmark_look(42) == landmark_look(42)


def test_terrain_is_fixed_in_world_direction():
    hills = tuple(4.0 if 3 <= i <= 5 else 0.0 for i in range(16))  # high ground to the east
    scene = dataclasses.replace(BASE, horizon_deg=hills)
    phases = np.zeros(4)
    east = horizon_angles(Camera(90, 64, 64), scene, phases).mean()
    west = horizon_angles(Camera(270, 64, 64), scene, phases).mean()
    assert east > west + 8
    diff = _diff_per_view(BASE, scene)
    assert diff[1] > 5 * max(diff[3], 1)


def test_sun_follows_latitude_season_and_hemisphere():
    elev_n, az_n = sun_position(48.0, 6, 12.0)
    assert abs(az_n - 180) < 1 and 60 < elev_n < 70
    elev_s, az_s = sun_position(-34.0, 6, 12.0)
    assert min(az_s, 360 - az_s) < 1 and 25 < elev_s < 40
    assert sun_position(48.0, 12, 12.0)[0] < 25
    assert sun_position(70.0, 12, 12.0)[0] < 0  # polar night


def test_snow_in_cold_winters_only():
    cold = dataclasses.replace(BASE, koppen="Dfc", lat=62.0)
    assert snow_cover(dataclasses.replace(cold, month=1)) > 0.5
    assert snow_cover(dataclasses.replace(cold, month=7)) == 0
    south = dataclasses.replace(cold, lat=-50.0)
    assert snow_cover(dataclasses.replace(south, month=7)) > 0.5
    assert snow_cover(dataclasses.replace(BASE, koppen="Af")) == 0


@pytest.mark.parametrize("side", ["right", "left"])
def test_driving_side_decides_lane_cars_and_signs(side):
    sign = 1.0 if side == "right" else -1.0
    for seed in range(40):
        lay = make_layout(dataclasses.replace(BASE, seed=seed, driving_side=side,
                                              pop_density=5000.0))
        u, n = lay.road_axes()
        # the centre line is LANE_OFFSET_M on the camera's left (right traffic) or right
        assert lay.road_shift == pytest.approx(-sign * LANE_OFFSET_M)
        for o in lay.objects:
            lateral = float(np.dot(o.xy, n)) - lay.road_shift  # from the centre line
            if o.kind == "car":
                travel = float(np.dot(o.params["travel"], u))
                assert np.sign(lateral) * np.sign(travel) == sign
            if o.kind == "sign":
                faces = float(np.dot(o.params["faces"], u))  # faces the traffic it serves
                assert np.sign(lateral) * -np.sign(faces) == sign


def test_region_colours_are_shared_across_a_border_but_plates_are_not():
    fr = dataclasses.replace(BASE, lat=49.5, lng=5.0)
    be = dataclasses.replace(fr, country="BE", admin1="BE-WAL", lng=5.5)
    assert place_style(fr).sign_bg == place_style(be).sign_bg
    styles = {place_style(dataclasses.replace(BASE, admin1=f"FR-{i}")).bollard_band
              for i in range(40)}
    assert len(styles) > 4


def test_scripts_draw_differently():
    images = []
    for script in SCRIPTS:
        img = Image.new("RGB", (60, 12))
        draw_glyph_row(ImageDraw.Draw(img), (1, 1, 59, 11), script, seed=5, colour=(255, 255, 255))
        images.append(np.asarray(img).tobytes())
    assert len(set(images)) == len(SCRIPTS)
