"""The Geocells file (save/load round trip, metadata, errors) and point -> cell lookup."""

from __future__ import annotations

import json

import numpy as np
import pytest
import shapely

from backend.core.geodesy import CoordinateError
from backend.geocells.cells import FORMAT, Geocells, GeocellsFileError


def _cells() -> Geocells:
    polys = [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1),
             shapely.MultiPolygon([shapely.box(179, 10, 180, 11), shapely.box(-180, 10, -179, 11)])]
    return Geocells(polys, np.array([[0.5, 0.5], [0.5, 1.5], [10.5, 179.9]]),
                    countries=["Aland", "Aland", "Fiji"], iso2=["AA", "AA", "FJ"],
                    admin1=["a", "b", "Ëast"], n_points=[40, 50, 3],
                    admin2=[["x"], [], []], metadata={"parameters": {"min_points": 30}})


def test_assign_containment_border_and_nearest():
    cells = _cells()
    lat = np.array([0.5, 0.5, 0.5, 10.5, 10.5, 0.5, -5.0])
    lng = np.array([0.5, 1.5, 1.0, 179.5, -179.5, 2.4, 0.5])
    got = cells.assign(lat, lng)
    assert got.dtype == np.int64
    # inside, inside, shared border -> lower index, both sides of the antimeridian,
    # off the east edge -> nearest (cell 1), far south -> nearest (cell 0)
    np.testing.assert_array_equal(got, [0, 1, 0, 2, 2, 1, 0])
    assert int(cells.assign(0.5, 0.5)) == 0  # scalars work
    assert cells.assign(np.array([[0.5], [0.5]]), np.array([[0.5], [1.5]])).shape == (2, 1)


def test_assign_rejects_bad_coordinates():
    cells = _cells()
    with pytest.raises(CoordinateError, match="latitude"):
        cells.assign([91.0], [0.0])
    with pytest.raises(CoordinateError):
        cells.assign([float("nan")], [0.0])
    with pytest.raises(CoordinateError, match="empty"):
        cells.assign([], [])


def test_save_load_round_trip(tmp_path):
    cells = _cells()
    path = cells.save(tmp_path / "g.json")
    doc = json.loads(path.read_text())
    assert doc["type"] == "FeatureCollection"
    assert doc["metadata"]["format"] == FORMAT and doc["metadata"]["n_cells"] == 3
    assert "created" in doc["metadata"]
    back = Geocells.load(path)
    assert len(back) == 3
    np.testing.assert_array_equal(back.centroids, cells.centroids)
    assert back.countries == cells.countries and back.admin1 == cells.admin1
    assert back.admin2 == cells.admin2
    np.testing.assert_array_equal(back.n_points, cells.n_points)
    assert all(a.equals_exact(b, 0) for a, b in zip(back.polygons, cells.polygons))
    assert back.metadata["parameters"] == {"min_points": 30}
    np.testing.assert_array_equal(back.assign([0.5, 10.5], [1.5, -179.5]), [1, 2])


def test_load_errors(tmp_path):
    with pytest.raises(GeocellsFileError, match="does not exist"):
        Geocells.load(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(GeocellsFileError, match="not a readable"):
        Geocells.load(bad)
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    with pytest.raises(GeocellsFileError, match=FORMAT):
        Geocells.load(bad)
    bad.write_text(json.dumps({"type": "FeatureCollection", "metadata": {"format": FORMAT},
                               "features": [{"properties": {"cell": 0}}]}))
    with pytest.raises(GeocellsFileError, match="malformed"):
        Geocells.load(bad)


def test_constructor_checks_lengths():
    with pytest.raises(ValueError, match="centroids"):
        Geocells([shapely.box(0, 0, 1, 1)], np.zeros((2, 2)), countries=["A"], iso2=["A"],
                 admin1=["a"], n_points=[1])
