"""The SynthWorld CLIP base: disjoint places, a resumable pretraining run, its record.

Needs the geographic assets (``make setup``); the training test renders 160 places and runs a
few steps of the tiny config (about half a minute on two shared cores).
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from backend.cliutil import UserError

TESTS = Path(__file__).resolve().parent
PROBE_MARGIN = 0.10
"""Measured when the base was committed: see test_committed_base_knows_countries..."""


def _assets():
    try:
        from backend.geo.assets import data_dir

        data_dir()
    except UserError as exc:
        pytest.skip(f"geographic assets unavailable ({exc}); run `make setup`")


def _module(name: str):
    spec = importlib.util.spec_from_file_location(name, TESTS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_reserved_sets_are_the_places_the_demo_ladder_and_tests_use():
    """RESERVED must name exactly how those datasets are drawn, or the distance rule misses."""
    from backend.synthworld.base_places import BASE_SEED, RESERVED
    from backend.synthworld.train_demo import DemoConfig

    drawn = {(r.n, r.seed, r.countries) for r in RESERVED}
    assert (DemoConfig.n_places, DemoConfig.seed, None) in drawn  # the demo and the ladder
    learns = _module("test_synthworld_learns")
    assert (learns.N_PLACES, learns.SEED, tuple(learns.COUNTRIES)) in drawn
    demo_test = _module("test_synthworld_train_demo")
    assert (demo_test.N_PLACES, demo_test.SEED, None) in drawn
    assert BASE_SEED not in {r.seed for r in RESERVED}


def test_base_places_keep_their_distance_from_reserved_places():
    _assets()
    from backend.synthworld.base_places import (
        BASE_SEED,
        ReservedSet,
        base_places,
        check_disjoint,
        nearest_km,
        reserved_places,
    )

    # a deliberately wide rule against one small reserved set: it must drop candidates
    wide = (ReservedSet("a test set", 300, 1),)
    lat, lng, meta = base_places(400, min_km=150.0, reserved=wide)
    r_lat, r_lng = reserved_places(wide)
    assert len(lat) == 400 and nearest_km(lat, lng, r_lat, r_lng).min() >= 150.0
    assert meta["dropped_near_reserved"] > 0 and meta["seed"] == BASE_SEED
    # the real rule, against every reserved dataset
    lat, lng, _ = base_places(500)
    assert check_disjoint(lat, lng) >= 5.0
    with pytest.raises(ValueError, match="within 5.0 km"):
        check_disjoint(r_lat[:3] + 1e-4, r_lng[:3], reserved=wide)
    with pytest.raises(ValueError, match="reserved dataset's seed"):
        base_places(10, seed=wide[0].seed, reserved=wide)


@pytest.fixture(scope="module")
def base_run(tmp_path_factory):
    """A tiny base pretraining run, paused at step 4 and resumed to step 6."""
    _assets()
    from backend.synthworld.base_pretrain import BaseConfig, pretrain_base

    root = tmp_path_factory.mktemp("base")
    cfg = BaseConfig(data_dir=root / "data", out=root / "resumed", n_places=160,
                     val_places=20, model="pigeon-tiny", steps=6, batch_size=32,
                     eval_every=3, warmup_steps=2, workers=1, max_steps_now=4)
    paused = pretrain_base(cfg)
    done = pretrain_base(replace(cfg, max_steps_now=None))
    return cfg, paused, done


@pytest.mark.slow
def test_pretrain_base_resumes_exactly_and_records_its_recipe(base_run):
    from backend.model.weights import load_clip_model
    from backend.synthworld.base_pretrain import pretrain_base

    cfg, paused, done = base_run
    assert not paused.finished and paused.step == 4 and "resume" in paused.summary()
    assert done.finished and done.step == 6
    # the same recipe in one go gives the same weights: the resume is exact
    straight = pretrain_base(replace(cfg, out=cfg.data_dir.parent / "straight",
                                     max_steps_now=None))
    a, _, _ = load_clip_model("pigeon-tiny", done.out / "base-clip.pt")
    b, _, _ = load_clip_model("pigeon-tiny", straight.out / "base-clip.pt")
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(x, y), name
    record = json.loads((done.out / "base.json").read_text())
    assert record["format"] == "synthworld-base/1" and record["budget"]["steps"] == 6
    assert record["data"]["places"]["seed"] == 2_100_021
    assert record["data"]["places"]["closest_reserved_km"] >= 5.0
    zs = record["curves"]["zero_shot"]
    assert [row["step"] for row in zs] == [0, 3, 6]  # the curve over time, from step 0
    final = record["zero_shot_final"]
    assert final["n"] == 4 * record["data"]["split"]["val"] and final["classes"] >= 2
    assert 0 < final["chance_top1"] < 1 and 0 <= final["template_top1"] <= 1
    recipe = (done.out / "RECIPE.md").read_text()
    assert "Zero-shot country accuracy" in recipe and "2100021" in recipe
    assert (done.out / "curves.png").stat().st_size > 0


@pytest.mark.slow
def test_pretrain_base_refuses_another_recipe_and_bad_settings(base_run):
    from backend.synthworld.base_pretrain import BaseConfig, pretrain_base

    cfg, _, _ = base_run
    with pytest.raises(UserError, match="--lr 0.001 -> 0.002"):
        pretrain_base(replace(cfg, lr=2e-3))
    with pytest.raises(UserError, match="--val-places"):
        pretrain_base(replace(cfg, val_places=100))
    with pytest.raises(UserError, match="--size 32"):
        pretrain_base(replace(cfg, size=32))
    with pytest.raises(UserError, match="unknown backbone"):
        pretrain_base(BaseConfig(model="nope"))


def test_zero_shot_country_counts_hits_and_baselines():
    """The zero-shot report on a fake two-tower model whose image side knows the answer."""
    from backend.synthworld.zero_shot import country_prompts, zero_shot_country

    class Fake(torch.nn.Module):
        """Image i encodes to its country's axis; text encodes to the axis of its country."""

        training = False

        def encode_text(self, tokens):
            # "A Street View photo in X." and captions: the first token after BOS tells
            return torch.nn.functional.one_hot((tokens[:, 1] % 2), 2).float()

        def encode_image(self, x):
            return torch.nn.functional.one_hot((x[:, 0, 0, 0] > 0).long(), 2).float()

    from backend.synthworld.contrastive import tokenize

    a, b = tokenize(["Alpha"], 8)[0, 1] % 2, tokenize(["Beta"], 8)[0, 1] % 2
    assert a != b  # the fake needs the two names to land on different axes
    names = ["Alpha", "Beta"] if a == 0 else ["Beta", "Alpha"]
    views = np.zeros((6, 8, 8, 3), np.uint8)
    views[3:] = 255
    truth = [names[0]] * 3 + [names[1]] * 3
    train_c = ["Alpha"] * 5 + ["Beta"] * 2
    caps = [f"{c} place {i}" for i, c in enumerate(train_c)]
    cfg = {"text_cfg": {"context_length": 8}}
    report = zero_shot_country(Fake(), cfg, views, truth, train_c, caps)
    assert report["classes"] == 2 and report["n"] == 6
    assert report["captions_top1"] == 1.0 and report["chance_top1"] == 0.5
    assert report["majority_country"] == "Alpha" and report["majority_top1"] == 0.5
    prompts = country_prompts(train_c, caps, per_country=3)
    assert len(prompts["Alpha"]) == 3 and len(prompts["Beta"]) == 2


@pytest.mark.slow
def test_exported_tower_loads_as_weights_and_starts_the_demo(base_run, tmp_path):
    """export-base keeps the image tower (fp16) and its record; the demo recipe starts from
    it and fine-tunes only its last block (PIGEON's last-layer fine-tuning)."""
    from backend.model.bundle import load_bundle
    from backend.model.weights import load_backbone, load_clip_model
    from backend.synthworld.base_tower import export_base, load_base_tower
    from backend.synthworld.train_demo import DemoConfig, train_demo

    _, _, done = base_run
    path = export_base(done.out, tmp_path / "base")
    assert {p.name for p in path.parent.iterdir()} >= {"base-visual.pt", "base.json",
                                                      "RECIPE.md", "curves.png"}
    tower = load_base_tower(path.parent)
    assert tower.record["format"] == "synthworld-base/1"
    clip, _, _ = load_clip_model("pigeon-tiny", done.out / "base-clip.pt")
    bb = load_backbone("pigeon-tiny", path)  # what `pigeon ablate --weights` does with it
    for name, w in clip.visual.state_dict().items():
        assert torch.allclose(bb.visual.state_dict()[name], w, atol=2e-3, rtol=1e-2), name
    demo_test = _module("test_synthworld_train_demo")
    cfg = DemoConfig(out=tmp_path / "bundle", base=path, minutes=0.1, n_places=demo_test.N_PLACES,
                     seed=demo_test.SEED, size=64, data_dir=tmp_path / "data", workers=1,
                     arena_places=5, n_boot=20)
    result = train_demo(cfg)
    record = json.loads((result.bundle / "demo_metrics.json").read_text())
    assert record["base"]["places"]["seed"] == 2_100_021 and record["pretrain"] is None
    assert record["train"]["params"]["trainable"] == "last_block"
    recipe = (result.bundle / "RECIPE.md").read_text()
    assert "SynthWorld CLIP base" in recipe and "last-layer fine-tuning" in recipe
    trained = load_bundle(result.bundle).backbone.visual.state_dict()
    last = f"transformer.resblocks.{len(bb.visual.transformer.resblocks) - 1}."
    changed = {n for n, w in tower.state.items() if not torch.equal(trained[n], w)}
    assert changed and all(n.startswith((last, "ln_post")) for n in changed), sorted(changed)
    with pytest.raises(UserError, match="--size 32 does not match"):
        train_demo(replace(cfg, size=32))
    with pytest.raises(UserError, match="--pretrain-minutes"):
        train_demo(replace(cfg, pretrain_minutes=1.0))


@pytest.mark.slow
def test_zero_shot_and_export_commands(base_run, tmp_path, capsys):
    from bot.cli import main

    cfg, _, done = base_run
    rc = main(["synthworld", "zero-shot", "--clip", str(done.out / "base-clip.pt"),
               "--data", str(cfg.data_dir / "all" / "data.csv"), "--base-data",
               str(cfg.data_dir), "--limit", "6"])
    out = capsys.readouterr().out
    assert rc == 0 and "24 views of 6 places" in out and "chance" in out, out
    assert main(["synthworld", "zero-shot", "--clip", str(done.out / "checkpoint-last.pt"),
                 "--data", str(cfg.data_dir / "all" / "data.csv")]) == 2
    assert "not a finished SynthWorld CLIP base" in capsys.readouterr().err
    assert main(["synthworld", "export-base", "--run", str(tmp_path), "--out",
                 str(tmp_path / "x")]) == 2
    assert "finish `pigeon synthworld pretrain-base` first" in capsys.readouterr().err
    assert main(["synthworld", "export-base", "--run", str(done.out), "--out",
                 str(tmp_path / "x")]) == 0
    assert (tmp_path / "x" / "base-visual.pt").is_file()


def test_committed_base_says_how_it_was_made():
    """The repository's base carries its record: the data rule it obeyed, budget, curves."""
    from backend.synthworld.base_places import BASE_MIN_KM, BASE_SEED, RESERVED
    from backend.synthworld.base_tower import load_base_tower

    tower = load_base_tower()
    rec = tower.record
    places = rec["data"]["places"]
    assert places["seed"] == BASE_SEED and places["min_km"] >= BASE_MIN_KM
    assert places["closest_reserved_km"] >= BASE_MIN_KM
    # it kept away from every dataset reserved today
    kept = {(r["n"], r["seed"], tuple(r["countries"]) if r["countries"] else None)
            for r in places["reserved"]}
    assert {(r.n, r.seed, r.countries) for r in RESERVED} <= kept
    assert rec["budget"]["steps"] == rec["recipe"]["steps"] > 0
    assert rec["curves"]["zero_shot"][0]["step"] == 0 and len(rec["curves"]["zero_shot"]) > 2
    assert tower.config_name == "synthworld-base"
    assert all(v.dtype == torch.float32 for v in tower.state.values())


@pytest.mark.slow
def test_committed_base_knows_countries_a_random_tower_does_not(tmp_path):
    """A linear probe on frozen embeddings of places the base never saw (a reserved stream):
    the base's image tower must carry far more country information than random weights."""
    _assets()
    from sklearn.linear_model import LogisticRegression

    from backend.eval.datasets import load_dataset
    from backend.model.backbone import build_backbone
    from backend.synthworld.base_places import RESERVED
    from backend.synthworld.base_tower import load_base_tower
    from backend.synthworld.make_dataset import make_dataset
    from backend.synthworld.train_demo import embed_panoramas, load_views

    probe = next(r for r in RESERVED if r.name.startswith("tests/test_synthworld_base.py"))
    ds = load_dataset(make_dataset(probe.n, tmp_path / "probe", seed=probe.seed, size=64,
                                   workers=1))
    views = load_views(ds, 64, "probe views")
    country = np.array([loc.extra.get("country", "") for loc in ds])
    train, test = np.arange(len(ds)) % 3 != 0, np.arange(len(ds)) % 3 == 0
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        acc = {}
        for name, bb in (("base", load_base_tower().backbone()),
                         ("random", build_backbone("synthworld-base", seed=0))):
            emb = embed_panoramas(bb, views)
            emb = (emb - emb[train].mean(0)) / (emb[train].std(0) + 1e-6)
            clf = LogisticRegression(max_iter=2000, C=0.5).fit(emb[train], country[train])
            acc[name] = float((clf.predict(emb[test]) == country[test]).mean())
    finally:
        torch.set_num_threads(threads)
    values, counts = np.unique(country[train], return_counts=True)
    majority = float((country[test] == values[counts.argmax()]).mean())
    print(f"country from a linear probe: base {acc['base']:.3f}, random tower "
          f"{acc['random']:.3f}, most common country {majority:.3f}")
    assert acc["base"] > acc["random"] + PROBE_MARGIN and acc["base"] > majority + PROBE_MARGIN
