"""``pigeon synthworld make``: the dataset layout, its metadata, determinism, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from backend.cliutil import UserError
from backend.eval.datasets import load_dataset
from backend.synthworld.make_dataset import make_dataset
from backend.synthworld.scene import Scene


def _scenes(lat, lng, months, seeds):
    return [Scene(lat=float(a), lng=float(o), month=int(m), seed=s, country="FR",
                  admin1="FR:Bretagne", koppen="Cfb", elevation_m=20.0, pop_density=100.0,
                  continent="EU") for a, o, m, s in zip(lat, lng, months, seeds)]


POINTS = (np.array([48.1, 47.9, 48.4, 48.0, 47.5]), np.array([-1.7, -2.1, -4.4, -3.0, -2.5]))


def _make(out, **kw):
    return make_dataset(5, out, seed=3, size=32, workers=kw.pop("workers", 1),
                        scene_source=_scenes, points=POINTS, **kw)


def test_layout_metadata_and_reader(tmp_path):
    csv_path = _make(tmp_path / "a", workers=2)
    ds = load_dataset(csv_path)
    assert len(ds) == 5 and ds.layout == "generic"
    loc = ds[0]
    assert len(loc.image_paths) == 4 and loc.heading == 0.0 and 1 <= loc.month <= 12
    assert loc.extra["country"] == "FR" and loc.extra["koppen"] == "Cfb"
    with Image.open(loc.image_paths[2]) as im:
        assert im.size == (32, 32) and im.format == "JPEG"
    meta = json.loads((tmp_path / "a" / "synthworld.json").read_text())
    assert meta["format"] == "synthworld-dataset/1" and meta["seed"] == 3
    assert meta["n_views"] == 20 and meta["params"]["size"] == 32
    assert meta["renderer"].startswith("synthworld-render/")


def test_same_seed_same_pixels(tmp_path):
    a, b = _make(tmp_path / "a"), _make(tmp_path / "b", workers=2)
    for k in range(5):
        pa = (a.parent / "images").glob(f"*-{k}_1.jpg")
        pb = (b.parent / "images").glob(f"*-{k}_1.jpg")
        assert np.array_equal(np.asarray(Image.open(next(pa))), np.asarray(Image.open(next(pb))))


def test_existing_dataset_needs_force(tmp_path):
    _make(tmp_path / "a")
    with pytest.raises(UserError, match="--force"):
        _make(tmp_path / "a")
    _make(tmp_path / "a", force=True)


@pytest.mark.parametrize("kw,match", [({"size": 8}, "--size"), ({"quality": 20}, "quality"),
                                      ({"workers": 0}, "--workers")])
def test_bad_arguments(tmp_path, kw, match):
    with pytest.raises(UserError, match=match):
        make_dataset(5, tmp_path / "x", scene_source=_scenes, points=POINTS, **kw)
    with pytest.raises(UserError, match="--n"):
        make_dataset(0, tmp_path / "y", scene_source=_scenes, points=POINTS)


def test_cli_reports_bad_input_in_one_line(tmp_path, capsys):
    from bot.cli import main

    assert main(["synthworld", "render", "95", "0", "--out", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert "latitude" in err and "Traceback" not in err
    with pytest.raises(SystemExit):
        main(["synthworld", "make", "--n", "-3", "--out", str(tmp_path)])


def test_cli_render_one_place(tmp_path, capsys):
    from bot.cli import main

    try:
        from backend.geo.assets import data_dir

        data_dir()
    except UserError as exc:
        pytest.skip(f"geographic assets unavailable ({exc}); run `make setup`")
    out = tmp_path / "tokyo.png"
    assert main(["synthworld", "render", "35.68", "139.69", "--month", "1", "--size", "32",
                 "--out", str(out)]) == 0
    with Image.open(out) as im:
        assert im.size == (4 * 32, 32)
    said = capsys.readouterr().out
    assert "JP" in said and "drives on the left" in said and "cjk" in said
