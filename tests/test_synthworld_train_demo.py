"""``train_demo`` from scratch end to end on a tiny budget: a loadable bundle, its recipe, metrics,
arena places (the recipe from a base: ``test_synthworld_base.py``).

Needs the geographic assets (``make setup``); about half a minute on two cores.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.cliutil import UserError

N_PLACES = 240
SEED = 3
"""This test's places (``backend.synthworld.base_places.RESERVED`` keeps the base away)."""


@pytest.mark.slow
def test_train_demo_writes_a_working_bundle(tmp_path):
    try:
        from backend.geo.assets import data_dir

        data_dir()
    except UserError as exc:
        pytest.skip(f"geographic assets unavailable ({exc}); run `make setup`")
    from backend.model.bundle import load_bundle
    from backend.synthworld.train_demo import DemoConfig, train_demo

    cfg = DemoConfig(out=tmp_path / "bundle", base=None, minutes=0.1, pretrain_minutes=0.05,
                     n_places=N_PLACES, seed=SEED, size=32, patch=16,
                     data_dir=tmp_path / "data", workers=1, arena_places=5, n_boot=20)
    result = train_demo(cfg)
    bundle = load_bundle(result.bundle)
    assert bundle.num_cells >= 2
    recipe = (result.bundle / "RECIPE.md").read_text()
    assert "best constant guess" in recipe and "demo bundle (PIGEON pipeline)" in recipe
    record = json.loads((result.bundle / "demo_metrics.json").read_text())
    assert record["train"]["steps"] >= 1 and record["dataset"]["n_places"] == N_PLACES
    # the contrastive stage ran, was checked zero-shot, and left both towers for the ladder
    pre = record["pretrain"]
    assert pre["steps"] >= 1 and pre["zero_shot_classes"] >= 2
    assert 0.0 <= pre["zero_shot_country_top1"] <= 1.0
    assert "Zero-shot country accuracy" in recipe
    from backend.model.weights import load_clip_model

    for name in ("init-clip.pt", "pretrain-clip.pt"):
        clip, _, _ = load_clip_model("pigeon-tiny", tmp_path / "data" / "work" / name)
        assert hasattr(clip, "encode_text")
    rows = [r for r in record["metrics"] if r not in ("constant_pin", "n_test")]
    assert len(rows) == 3
    arena = (result.bundle / "arena_places" / "test.csv").read_text().splitlines()
    assert len(arena) == 6 and all(Path(result.bundle / "arena_places").glob("images/*.jpg"))
    # the same data folder is reused the second time (same seed, size and count)
    before = (tmp_path / "data" / "all" / "synthworld.json").stat().st_mtime
    train_demo(DemoConfig(**{**cfg.__dict__, "minutes": 0.05, "pretrain_minutes": 0.0}))
    assert (tmp_path / "data" / "all" / "synthworld.json").stat().st_mtime == before
    assert "Contrastive pretraining: skipped" in (result.bundle / "RECIPE.md").read_text()
    # the panorama pairing of the caption stage (a caption against its place's 4 views)
    train_demo(DemoConfig(**{**cfg.__dict__, "minutes": 0.02, "pretrain_minutes": 0.02,
                             "pretrain_panorama": True}))
    assert "mean of its place's 4 views" in (result.bundle / "RECIPE.md").read_text()


def test_train_demo_rejects_bad_settings(tmp_path):
    from backend.synthworld.train_demo import DemoConfig, train_demo

    with pytest.raises(UserError, match="--n"):
        train_demo(DemoConfig(out=tmp_path / "b", n_places=10, data_dir=tmp_path / "d"))
    with pytest.raises(UserError, match="patch"):
        train_demo(DemoConfig(out=tmp_path / "b", base=None, size=40, patch=16,
                              data_dir=tmp_path / "d"))
    with pytest.raises(UserError, match="no SynthWorld CLIP base at .*pretrain-base"):
        train_demo(DemoConfig(out=tmp_path / "b", base=tmp_path / "none.pt",
                              data_dir=tmp_path / "d"))
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="cannot read .*junk.pt"):
        train_demo(DemoConfig(out=tmp_path / "b", base=tmp_path / "junk.pt",
                              data_dir=tmp_path / "d"))
