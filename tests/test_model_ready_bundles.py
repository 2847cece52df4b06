"""`pigeon bundle zero-shot` and `pigeon bundle geoclip` end to end, and everything that takes a
bundle working on them unchanged: predict, calibrate, eval, embed + index build.

Real weights cannot be downloaded here, so the CLIPs are tiny random ones (the maths against
Hugging Face and the geoclip package is checked in test_model_zero_shot / test_model_geoclip).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from test_model_fakes import one_torch_thread  # noqa: F401  (autouse fixture)
from test_model_geoclip import tiny_768_checkpoint

from backend.cliutil import UserError
from backend.model.bundle import BundleError, load_bundle
from bot.arena.sample_dataset import write_sample_dataset
from bot.cli import main


def _needs_geo():
    from backend.geo.assets import AssetsMissing
    from backend.geo.places import Places

    try:
        Places.load()
    except AssetsMissing as exc:
        pytest.skip(f"geo assets not built: {exc}")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_sample_dataset(tmp_path_factory.mktemp("d"), n=6, size=96)


@pytest.fixture(scope="module")
def zero_shot(tmp_path_factory):
    _needs_geo()
    out = tmp_path_factory.mktemp("zs") / "b"
    assert main(["bundle", "zero-shot", "--model", "pigeon-tiny", "--weights", "random",
                 "--countries", "FR,JP,BR", "--towns-per-region", "1", "--template",
                 "caption", "--template", "road", "--out", str(out), "--quiet"]) == 0
    return out


def test_zero_shot_bundle_predicts_calibrates_and_evaluates(zero_shot, data, tmp_path,
                                                            capsys):
    from backend.predict.predictor import Predictor

    b = load_bundle(zero_shot)
    assert b.meta["heads"]["kind"] == "zero-shot" and b.meta["heads"]["templates"] == [
        "caption", "road"]
    assert b.meta["backbone"]["embedding_kind"] == "pooled"
    assert set(b.geocells.iso2) == {"FR", "JP", "BR"} and len(b.geocells) > 40
    rows = [line.split(",") for line in data.read_text().splitlines()[1:]]
    round_views = [str(data.parent / v) for v in rows[0][3:7]]
    guess = Predictor(b, geo=None).predict(round_views)
    assert guess.country in {"FR", "JP", "BR"} and 0 < guess.projected_score <= 5000
    assert abs(sum(c.prob for c in guess.top_k) - 1) < 1  # top-5 of a full distribution
    # calibration, then eval (geocell metrics use the point cells' nearest-point assignment)
    assert main(["calibrate", "--bundle", str(zero_shot), "--data", str(data)]) == 0
    assert "temperature" in json.loads((zero_shot / "calibration.json").read_text())
    assert main(["eval", "--model", str(zero_shot), "--data", str(data), "--n-boot", "20",
                 "--no-plots", "--out", str(tmp_path / "rep")]) == 0
    out = capsys.readouterr().out
    assert "mean km" in out or "median" in out
    assert load_bundle(zero_shot).calibration is not None  # still loads, checksums updated


def test_zero_shot_refinement_index_on_point_cells(zero_shot, data, tmp_path):
    from backend.predict.predictor import Predictor

    assert main(["embed", "--bundle", str(zero_shot), "--data", str(data), "--out",
                 str(tmp_path / "emb"), "--workers", "0", "--quiet"]) == 0
    assert main(["index", "build", "--bundle", str(zero_shot), "--embeddings",
                 str(tmp_path / "emb"), "--out", str(tmp_path / "index.npz")]) == 0
    from backend.predict.index import RefinementIndex

    index = RefinementIndex.load(tmp_path / "index.npz")
    b = load_bundle(zero_shot)
    rows = [line.split(",") for line in data.read_text().splitlines()[1:]]
    g = Predictor(b, index=index, geo=None, max_move_km=None).predict(
        [str(data.parent / v) for v in rows[2][3:7]])
    assert index.meta["counts"]["points"] == 6 and index.n_cells == len(b.geocells)
    assert 0 < g.projected_score <= 5000


def test_geoclip_bundle_on_a_small_gallery(tmp_path, data, capsys):
    pytest.importorskip("geoclip", reason="the geoclip package (dev extra) is missing")
    from backend.predict.predictor import Predictor

    gallery = tmp_path / "gallery.csv"
    pts = [(48.8566, 2.3522), (35.68, 139.65), (-23.55, -46.63), (40.71, -74.0),
           (0.0, -140.0)]  # the last one at sea: no country
    gallery.write_text("LAT,LON\n" + "".join(f"{a},{b}\n" for a, b in pts))
    out = tmp_path / "gc"
    assert main(["bundle", "geoclip", "--weights", tiny_768_checkpoint(tmp_path), "--gallery",
                 str(gallery), "--out", str(out), "--quiet"]) == 0
    assert "5 gallery points" in capsys.readouterr().out
    b = load_bundle(out)
    assert b.meta["heads"]["kind"] == "geoclip-gallery" and len(b.geocells) == 5
    assert b.geocells.iso2 in (["FR", "JP", "BR", "US", None], [None] * 5)  # None: no assets
    rows = [line.split(",") for line in data.read_text().splitlines()[1:]]
    g = Predictor(b, geo=None).predict([str(data.parent / v) for v in rows[1][3:7]])
    d = np.min([abs(g.lat - a) + abs(g.lng - c) for a, c in pts])
    assert 0 < g.projected_score <= 5000 and len(g.top_k) == 5
    # every candidate, the one at sea too, goes out on the wire (the server's message check)
    from backend.server.model_info import guess_message

    guess_message("r1", g, latency_ms=1.0, model_id="m", timings={}).check()
    assert torch.isfinite(b.heads.gallery_features).all() and d < 90
    assert main(["bundle", "info", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["head"] == "geoclip-gallery"


def test_bad_options_are_one_clear_line(tmp_path, capsys):
    _needs_geo()
    base = ["bundle", "zero-shot", "--model", "pigeon-tiny", "--weights", "random", "--quiet"]
    assert main([*base, "--countries", "XX,FR", "--out", str(tmp_path / "a")]) == 2
    assert "unknown: XX" in capsys.readouterr().err
    assert main([*base, "--prior-strength", "-1", "--out", str(tmp_path / "a")]) == 2
    assert "--prior-strength" in capsys.readouterr().err
    assert main([*base, "--towns-per-region", "0", "--out", str(tmp_path / "a")]) == 2
    assert "1..50" in capsys.readouterr().err
    (tmp_path / "exists").mkdir()
    assert main([*base, "--out", str(tmp_path / "exists")]) == 2
    assert "already exists" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*base, "--template", "nope", "--out", str(tmp_path / "a")])
    assert main(["bundle", "geoclip", "--geoclip-dir", str(tmp_path), "--weights", "random",
                 "--out", str(tmp_path / "g")]) == 2
    assert "pip install geoclip" in capsys.readouterr().err


def test_geoclip_refuses_features_of_the_wrong_size(tmp_path):
    pytest.importorskip("geoclip", reason="the geoclip package (dev extra) is missing")
    from backend.model.bundle_geoclip import make_geoclip_bundle
    from backend.model.weights import load_clip_model, save_clip_checkpoint

    clip, cfg, _ = load_clip_model("pigeon-tiny", None)
    path = save_clip_checkpoint(clip, cfg, tmp_path / "tiny64.pt", config_name="tiny",
                                source={"test": "random"})
    with pytest.raises(UserError, match="768-d"):
        make_geoclip_bundle(tmp_path / "g", weights=str(path), show_progress=False)
    with pytest.raises(BundleError, match="already exists"):
        make_geoclip_bundle(tmp_path, weights=str(path), show_progress=False)
