"""Reading points files for the geocell builder: formats, extra columns and every bad input."""

from __future__ import annotations

import numpy as np
import pytest

from backend.cliutil import UserError
from backend.geocells.points_io import read_points


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_csv_with_extra_columns_and_osv5m_names(tmp_path):
    p = _write(tmp_path, "a.csv", "id,latitude,longitude,country\n1,48.85,2.35,FR\n2,-33.9,18.4,ZA\n")
    pts = read_points(p)
    np.testing.assert_array_equal(pts.lat, [48.85, -33.9])
    np.testing.assert_array_equal(pts.lng, [2.35, 18.4])
    assert pts.columns == {"id": ["1", "2"], "country": ["FR", "ZA"]}
    d = pts.describe()
    assert d["file"] == "a.csv" and d["n_points"] == 2 and len(d["sha256"]) == 64


def test_npy(tmp_path):
    p = tmp_path / "a.npy"
    np.save(p, np.array([[1.0, 2.0], [3.0, 4.0]]))
    pts = read_points(p)
    np.testing.assert_array_equal(pts.lng, [2.0, 4.0])


@pytest.mark.parametrize("name, text, match", [
    ("empty.csv", "", "is empty"),
    ("header.csv", "lat,lng\n", "no rows"),
    ("nolng.csv", "lat,x\n1,2\n", "no lng column"),
    ("nolat.csv", "y,lng\n1,2\n", "no lat column"),
    ("text.csv", "lat,lng\n1,2\nabc,3\n", "row 3 has no numeric"),
    ("short.csv", "lat,lng\n1\n", "row 2 has no numeric"),
    ("lat.csv", "lat,lng\n1,2\n95,3\n", "latitude in row 3"),
    ("lng.csv", "lat,lng\n1,2\n5,181\n", "longitude in row 3"),
    ("nan.csv", "lat,lng\nnan,2\n", "latitude in row 2"),
    ("a.txt", "lat,lng\n1,2\n", "unsupported"),
])
def test_bad_files_are_clear_user_errors(tmp_path, name, text, match):
    with pytest.raises(UserError, match=match):
        read_points(_write(tmp_path, name, text))


def test_missing_file_and_bad_npy(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        read_points(tmp_path / "none.csv")
    p = tmp_path / "b.npy"
    np.save(p, np.zeros((3, 3)))
    with pytest.raises(UserError, match=r"\(N, 2\)"):
        read_points(p)
    _write(tmp_path, "c.npy", "not numpy")
    with pytest.raises(UserError, match="not a readable"):
        read_points(tmp_path / "c.npy")
