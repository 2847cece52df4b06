"""Point cells: nearest-point assignment on the sphere, the file round trip, bad files."""

from __future__ import annotations

import numpy as np
import pytest

from backend.core.geodesy import haversine_matrix_km
from backend.geocells.point_cells import PointCells, PointCellsFileError, load_cells


def _cells():
    return PointCells([48.85, 40.71, -33.87, 64.1, 0.0], [2.35, -74.0, 151.2, -21.9, 179.9],
                      name=["Paris", "New York", "Sydney", "Reykjavik", "antimeridian"],
                      country=["France", "United States", "Australia", "Iceland", ""],
                      iso2=["FR", "US", "AU", "IS", ""], metadata={"made_by": "test"})


def test_assign_is_the_great_circle_nearest_point():
    cells = _cells()
    rng = np.random.default_rng(0)
    lat, lng = rng.uniform(-89, 89, 500), rng.uniform(-180, 180, 500)
    want = np.argmin(haversine_matrix_km(lat, lng, cells.centroids[:, 0],
                                         cells.centroids[:, 1]), axis=1)
    assert np.array_equal(cells.assign(lat, lng), want)
    # across the antimeridian: -179.95 is 11 km from the point at 179.9, not 20,000
    assert int(cells.assign(0.0, -179.95)) == 4
    assert cells.assign(np.array([[48.0, 40.0]]), np.array([[2.0, -73.0]])).shape == (1, 2)


def test_round_trip_keeps_everything(tmp_path):
    cells = _cells()
    path = cells.save(tmp_path / "cells.npz")
    back = load_cells(path)
    assert isinstance(back, PointCells)
    assert np.array_equal(back.centroids, cells.centroids)
    assert back.countries == cells.countries and back.iso2 == cells.iso2
    assert back.iso2[4] is None and back.countries[4] is None  # unknown: None, never ""
    assert list(back.names) == list(cells.names)
    assert back.metadata["made_by"] == "test" and back.metadata["n_cells"] == 5
    assert back.metadata["format"] == "pigeon-point-cells/1"


def test_bad_inputs_and_files(tmp_path):
    with pytest.raises(ValueError, match="at least one"):
        PointCells([], [])
    with pytest.raises(ValueError, match="2 entries for 1 points"):
        PointCells([1.0], [2.0], name=["a", "b"])
    with pytest.raises(ValueError):
        PointCells([91.0], [0.0])
    with pytest.raises(PointCellsFileError, match="does not exist"):
        PointCells.load(tmp_path / "none.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(PointCellsFileError, match="not a readable"):
        PointCells.load(tmp_path / "junk.npz")
    np.savez(tmp_path / "other.npz", lat=[0.0], lng=[0.0], name=["x"], country=[""],
             iso2=[""], admin1=[""], meta=np.array('{"format": "something/9"}'))
    with pytest.raises(PointCellsFileError, match="something/9"):
        PointCells.load(tmp_path / "other.npz")
