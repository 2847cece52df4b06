"""Training the heads with main(argv): loss falls, exact resume, checkpoints, validation, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import shapely
import torch
from test_model_fakes import one_torch_thread  # noqa: F401  (autouse fixture)

from backend.cliutil import UserError
from backend.geocells import Geocells
from backend.model.aux_targets import AUX_FORMAT, AuxTargets
from backend.model.checkpoint import load_checkpoint
from backend.model.embed import EmbeddingSet, save_embedding_set
from backend.model.heads import heads_from_state
from backend.model.train_heads import main

CENTRES = [(45.0, 5.0), (40.0, -100.0), (-25.0, 135.0), (-10.0, -55.0)]


def make_geocells(path: Path) -> Path:
    polys = [shapely.box(lng - 8, lat - 8, lng + 8, lat + 8) for lat, lng in CENTRES]
    cells = Geocells(polys, np.array(CENTRES), countries=["A", "B", "C", "D"],
                     iso2=["AA", "BB", "CC", "DD"], admin1=["a", "b", "c", "d"],
                     n_points=[50] * 4, metadata={"made_by": "test"})
    cells.save(path)
    return path


def make_embeddings(path: Path, n: int = 160, dim: int = 16, seed: int = 0) -> EmbeddingSet:
    rng = np.random.default_rng(seed)
    cell = rng.integers(0, 4, n)
    centres = np.array(CENTRES)
    latlng = centres[cell] + rng.normal(0, 2.0, (n, 2))
    protos = rng.normal(0, 1, (4, dim))
    emb = (protos[cell] + rng.normal(0, 0.7, (n, dim))).astype(np.float32)
    es = EmbeddingSet(ids=[f"p{i}" for i in range(n)], latlng=latlng, embeddings=emb,
                      month=rng.integers(-1, 12, n), heading=np.zeros(n, np.float32),
                      n_views=np.ones(n, np.int64),
                      meta={"backbone": {"config_name": "synthetic", "embedding_dim": dim},
                            "dataset": {"kind": "synthetic clusters"}})
    save_embedding_set(es, path, shard_size=64)
    return es


def make_aux(path: Path, es: EmbeddingSet) -> Path:
    n = len(es)
    reg = np.stack([es.latlng[:, 0] * 10, es.latlng[:, 1], np.cos(np.radians(es.latlng[:, 0])),
                    np.ones(n), np.full(n, np.nan), es.latlng[:, 0]], axis=1).astype(np.float32)
    koppen = (np.abs(es.latlng[:, 0]) // 10).astype(np.int64)
    AuxTargets(es.ids, koppen, reg, meta={"format": AUX_FORMAT}).save(path)
    return path


@pytest.fixture
def setup(tmp_path):
    gc = make_geocells(tmp_path / "geocells.json")
    es = make_embeddings(tmp_path / "emb")
    return tmp_path, gc, es


def _losses(out: Path) -> list[float]:
    lines = [json.loads(s) for s in (out / "train_log.jsonl").read_text().splitlines()]
    return [r["loss"] for r in lines if "loss" in r]


def _base(tmp_path: Path, gc: Path, out: str) -> list[str]:
    return ["--embeddings", str(tmp_path / "emb"), "--geocells", str(gc), "--out",
            str(tmp_path / out), "--quiet", "--seed", "1"]


def test_loss_falls_on_fixed_batch_and_validation_in_km(setup):
    tmp_path, gc, es = setup
    make_aux(tmp_path / "aux.npz", es)
    rc = main(_base(tmp_path, gc, "run") + ["--batch-size", "256", "--max-steps", "40",
                                            "--lr", "3e-2", "--aux", str(tmp_path / "aux.npz"),
                                            "--epochs", "40"])
    assert rc == 0
    losses = _losses(tmp_path / "run")
    assert len(losses) == 40 and losses[-1] < 0.5 * losses[0]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    last = metrics["last"]
    assert last["n"] == 16 and last["geocell_top1"] > 0.8 and last["median_km"] < 1000
    # the heads file carries config, target stats and where the embeddings came from
    state = torch.load(tmp_path / "run" / "heads.pt", weights_only=True)
    heads = heads_from_state(state)
    assert heads.config.num_cells == 4 and heads.config.embedding_dim == 16
    assert state["training"]["backbone"]["config_name"] == "synthetic"
    assert abs(float(heads.reg_mean[3]) - 1.0) < 1e-6 and float(heads.reg_std[4]) == 1.0
    log = [json.loads(s) for s in (tmp_path / "run" / "train_log.jsonl").read_text().splitlines()]
    assert {"loss_geocell", "loss_regression", "loss_koppen", "loss_month"} <= set(log[0])


def test_aux_none_trains_the_geocell_head_alone(setup):
    """`--aux none` (the ablation ladder's rungs before multi-task) trains no auxiliary head:
    not the month either, although the embeddings carry months."""
    tmp_path, gc, es = setup
    assert (es.month >= 0).sum() > 100
    main(_base(tmp_path, gc, "none") + ["--max-steps", "5", "--aux", "none"])
    log = [json.loads(s) for s in (tmp_path / "none" / "train_log.jsonl").read_text().splitlines()]
    steps = [r for r in log if "loss" in r]
    assert steps and all("loss_geocell" in r for r in steps)
    assert not any(k in r for r in steps
                   for k in ("loss_month", "loss_koppen", "loss_regression"))


def test_loss_weights_change_what_trains_and_are_recorded(setup):
    tmp_path, gc, es = setup
    aux = make_aux(tmp_path / "aux.npz", es)
    main(_base(tmp_path, gc, "w") + ["--max-steps", "5", "--aux", str(aux),
                                     "--loss-weights", "regression=0, koppen=0.5"])
    log = [json.loads(s) for s in (tmp_path / "w" / "train_log.jsonl").read_text().splitlines()]
    steps = [r for r in log if "loss" in r]
    assert steps and not any("loss_regression" in r for r in steps)   # weight 0: left out
    first = steps[0]
    assert first["loss"] == pytest.approx(first["loss_geocell"] + 0.5 * first["loss_koppen"]
                                          + first["loss_month"], rel=1e-5)
    heads = heads_from_state(torch.load(tmp_path / "w" / "heads.pt", weights_only=True))
    assert heads.config.loss_weights == {"geocell": 1.0, "regression": 0.0, "koppen": 0.5,
                                         "month": 1.0}


@pytest.mark.parametrize("bad, says", [
    ("speed=1", "name=value"), ("regression", "name=value"), ("koppen=-1", ">= 0"),
    ("month=nan", ">= 0"), ("month=inf", ">= 0"), ("month=x", ">= 0"),
    ("geocell=0", "geocell loss weight must be > 0"),
])
def test_bad_loss_weights_are_refused_before_training(setup, capsys, bad, says):
    tmp_path, gc, _ = setup
    with pytest.raises(SystemExit) as info:
        main(_base(tmp_path, gc, "bad") + ["--loss-weights", bad])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--loss-weights" in err and says in err
    assert not (tmp_path / "bad").exists()


def test_own_cell_labels_train_on_the_cell_that_holds_the_point(tmp_path):
    """No label smoothing = one-hot on the point's OWN cell. Here a long cell's points lie
    next to a small neighbour's centroid: a tiny tau (one-hot on the NEAREST centroid) would
    teach the head the neighbour; ``--labels own-cell`` teaches the cell itself."""
    long_cell, small = shapely.box(0, 0, 40, 2), shapely.box(40, 0, 44, 2)
    cells = Geocells([long_cell, small], np.array([[1.0, 5.0], [1.0, 42.0]]),
                     countries=["A", "A"], iso2=["AA", "AA"], admin1=["a", "a"],
                     n_points=[60, 60], metadata={"made_by": "test"})
    cells.save(tmp_path / "cells.json")
    rng = np.random.default_rng(0)
    n = 60
    lng = np.concatenate([rng.uniform(33, 39, n), rng.uniform(40.5, 43.5, n)])
    lat = rng.uniform(0.5, 1.5, 2 * n)
    emb = np.zeros((2 * n, 4), np.float32)
    emb[:n, 0], emb[n:, 1] = 3.0, 3.0
    emb += rng.normal(0, 0.2, emb.shape).astype(np.float32)
    save_embedding_set(EmbeddingSet(ids=[f"p{i}" for i in range(2 * n)],
                                    latlng=np.stack([lat, lng], 1), embeddings=emb,
                                    month=np.full(2 * n, -1), heading=np.zeros(2 * n, np.float32),
                                    n_views=np.ones(2 * n, np.int64),
                                    meta={"backbone": {"config_name": "synthetic"}}),
                       tmp_path / "emb")

    def predicted(out: str, labels: list[str]) -> np.ndarray:
        assert main(["--embeddings", str(tmp_path / "emb"), "--geocells",
                     str(tmp_path / "cells.json"), "--out", str(tmp_path / out), "--quiet",
                     "--aux", "none", "--val-fraction", "0", "--max-steps", "60", "--lr",
                     "5e-2", *labels]) == 0
        heads = heads_from_state(torch.load(tmp_path / out / "heads.pt", weights_only=False))
        with torch.no_grad():
            return heads(torch.from_numpy(emb[:n]))["geocell"].argmax(1).numpy()

    assert (predicted("own", ["--labels", "own-cell"]) == 0).mean() > 0.9
    assert (predicted("nearest", ["--tau-km", "0.001"]) == 1).mean() > 0.9


def test_resume_continues_exactly(setup):
    tmp_path, gc, _ = setup
    common = ["--batch-size", "32", "--epochs", "3", "--aux", "none", "--dropout", "0.2"]
    main(_base(tmp_path, gc, "full") + common)
    full = _losses(tmp_path / "full")
    assert len(full) == 15  # 144 train locations / 32 -> 5 steps x 3 epochs
    main(_base(tmp_path, gc, "part") + common + ["--stop-after", "7"])
    ck = load_checkpoint(tmp_path / "part" / "checkpoint-last.pt", kind="heads")
    assert ck["step"] == 7 and ck["config"]["batch_size"] == 32
    # continue (mid-epoch) to the full length: same losses, step for step
    with pytest.raises(UserError, match="--batch-size 32 -> 16"):
        main(_base(tmp_path, gc, "part") + common + ["--resume", "auto", "--batch-size", "16"])
    main(_base(tmp_path, gc, "part") + common + ["--resume", "auto"])
    assert _losses(tmp_path / "part") == full
    a = torch.load(tmp_path / "full" / "heads.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "part" / "heads.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_bad_inputs_are_user_errors(setup):
    tmp_path, gc, _ = setup
    with pytest.raises(UserError, match="--embeddings"):
        main(["--geocells", str(gc), "--out", str(tmp_path / "x"), "--quiet"])
    with pytest.raises(UserError, match="no embeddings.json"):
        main(["--embeddings", str(tmp_path), "--geocells", str(gc), "--out",
              str(tmp_path / "x"), "--quiet"])
    with pytest.raises(UserError, match="does not exist"):
        main(_base(tmp_path, tmp_path / "nope.json", "x"))
    with pytest.raises(UserError, match="--batch-size must be >= 1"):
        main(_base(tmp_path, gc, "x") + ["--batch-size", "0"])
    with pytest.raises(UserError, match="checkpoint .* does not exist"):
        main(_base(tmp_path, gc, "x") + ["--resume", str(tmp_path / "none.pt"), "--aux", "none"])


def test_finetune_last_block_on_images(tmp_path):
    from test_model_embed import make_dataset

    gc = make_geocells(tmp_path / "geocells.json")
    csv_path = make_dataset(tmp_path / "d", n=10, views=2, style="colour", corrupt={3: [0, 1]})
    torch.manual_seed(0)
    from backend.model.weights import load_clip_model, save_clip_checkpoint
    clip, cfg, name = load_clip_model("pigeon-tiny")
    save_clip_checkpoint(clip, cfg, tmp_path / "w.pt", config_name=name, source={"t": 1})
    out = tmp_path / "ft"
    main(["--finetune", "--data", str(csv_path), "--backbone", "pigeon-tiny", "--weights",
          str(tmp_path / "w.pt"), "--geocells", str(gc), "--out", str(out), "--quiet",
          "--aux", "none", "--batch-size", "4", "--epochs", "2", "--val-fraction", "0.2",
          "--backbone-lr", "1e-3"])
    ck = load_checkpoint(out / "checkpoint-last.pt", kind="finetune")
    before = clip.visual.state_dict()
    after = ck["model"]["backbone"]["state_dict"]
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(k.startswith(("transformer.resblocks.3.", "ln_post", "proj"))
                           for k in changed)
    assert (out / "backbone.pt").is_file() and (out / "heads.pt").is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["last"]["n"] >= 1 and np.isfinite(metrics["last"]["median_km"])
