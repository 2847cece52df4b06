"""`pigeon geo lookup` / `pigeon geo sample`: output, CSV batches, and one-line errors."""

from __future__ import annotations

import csv
import json

import pytest

from backend.geo.assets import AssetsMissing, data_dir
from bot.cli import main


@pytest.fixture(scope="module", autouse=True)
def built():
    try:
        data_dir()
    except AssetsMissing as exc:
        pytest.skip(f"geographic assets not built: {exc}")


def test_lookup_paris_text(capsys):
    assert main(["geo", "lookup", "48.8566", "2.3522"]) == 0
    out = capsys.readouterr().out
    for word in ("France", "Île-de-France", "Cfb", "Paris", " m", "people/km²"):
        assert word in out


def test_lookup_json_negative_coordinates(capsys):
    assert main(["geo", "lookup", "-33.87", "151.21", "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["country"] == "AU" and rec["admin1"] == "New South Wales"
    assert rec["town"] == "Sydney"


def test_lookup_csv_batch(tmp_path, capsys):
    src = tmp_path / "pts.csv"
    src.write_text("id,Latitude,Longitude\n1,48.8566,2.3522\n2,0,0\n3,35.6762,139.6503\n")
    out = tmp_path / "out.csv"
    assert main(["geo", "lookup", "--csv", str(src), "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["country"] for r in rows] == ["FR", "", "JP"]
    assert [r["id"] for r in rows] == ["1", "2", "3"]
    assert rows[1]["koppen"] == "Ocean" and rows[2]["driving_side"] == "left"
    assert main(["geo", "lookup", "--csv", str(src), "--json"]) == 0
    recs = json.loads(capsys.readouterr().out)
    assert len(recs) == 3 and recs[0]["admin1"] == "Île-de-France"


@pytest.mark.parametrize("argv, message", [
    (["geo", "lookup", "Paris", "2.35"], "not a number"),
    (["geo", "lookup", "95", "2.35"], "[-90, 90]"),
    (["geo", "lookup", "nan", "2.35"], "finite"),
    (["geo", "lookup"], "LAT LNG"),
    (["geo", "lookup", "--csv", "/nonexistent/pts.csv"], "does not exist"),
    (["geo", "sample", "--n", "0", "--out", "x.csv"], "at least 1"),
    (["geo", "sample", "--n", "5", "--out", "/nonexistent/dir/x.csv"], "does not exist"),
    (["geo", "sample", "--n", "5", "--countries", "France", "--out", "x.csv"], "ISO"),
])
def test_bad_input_is_one_line(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


@pytest.mark.parametrize("content, message", [
    ("a,b\n1,2\n", "lat and lng"), ("lat,lng\n", "no rows"),
    ("lat,lng\n1,2\nx,3\n", "line 3"), ("lat,lng\n1,2\n100,3\n", "[-90, 90]"),
])
def test_bad_csv_files(tmp_path, capsys, content, message):
    src = tmp_path / "bad.csv"
    src.write_text(content)
    assert main(["geo", "lookup", "--csv", str(src)]) == 2
    assert message in capsys.readouterr().err


def test_sample_writes_csv_and_metadata(tmp_path):
    out = tmp_path / "s.csv"
    assert main(["geo", "sample", "--n", "40", "--seed", "5", "--out", str(out),
                 "--countries", "JP,GB"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 40 and {r["country"] for r in rows} <= {"JP", "GB"}
    assert [int(r["id"]) for r in rows] == list(range(40))
    meta = json.loads((tmp_path / "s.csv.meta.json").read_text())
    assert meta["format"] == "pigeon-geo-sample/1" and meta["parameters"]["seed"] == 5
