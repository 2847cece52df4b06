"""Contrastive pretraining main(argv): loss falls, exact resume, output usable as weights."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from test_model_embed import make_dataset
from test_model_fakes import one_torch_thread  # noqa: F401  (autouse fixture)

from backend.cliutil import UserError
from backend.model.aux_targets import AUX_FORMAT, AuxTargets
from backend.model.pretrain import main
from backend.model.weights import load_backbone


def _aux(path, n):
    names = {"country": np.array([f"Country{i}" for i in range(n)]),
             "region": np.array([f"Region{i}" for i in range(n)]),
             "town": np.array(["Rennes", "Lyon", "Oslo", "Lima", "Perth", "Cairo"][:n]),
             "koppen_name": np.array(["Cfb"] * n), "driving_side": np.array(["left"] * n)}
    AuxTargets([f"loc{i}" for i in range(n)], np.full(n, -1), np.full((n, 6), np.nan,
               np.float32), names, {"format": AUX_FORMAT}).save(path)
    return path


def _losses(out):
    return [json.loads(s)["loss"] for s in (out / "train_log.jsonl").read_text().splitlines()]


def test_loss_falls_resume_exact_and_weights_load(tmp_path):
    csv_path = make_dataset(tmp_path / "d", n=6, views=1, corrupt={5: [0]}, style="colour")
    aux = _aux(tmp_path / "aux.npz", 6)
    base = ["--data", str(csv_path), "--aux", str(aux), "--batch-size", "8", "--lr", "2e-3",
            "--quiet", "--seed", "2", "--epochs", "30"]
    main(base + ["--out", str(tmp_path / "a")])
    losses = _losses(tmp_path / "a")
    assert len(losses) == 30 and np.mean(losses[-5:]) < 0.6 * np.mean(losses[:3])
    ck = torch.load(tmp_path / "a" / "checkpoint-last.pt", weights_only=True)
    assert ck["metrics"]["bad_images"] == 30  # the corrupt view, once per epoch
    # interrupted at step 11 and resumed: the same losses
    main(base + ["--out", str(tmp_path / "b"), "--stop-after", "11"])
    assert len(_losses(tmp_path / "b")) == 11
    main(base + ["--out", str(tmp_path / "b"), "--resume", "auto"])
    assert _losses(tmp_path / "b") == losses
    # the pretrained CLIP is a weights file for the backbone
    bb = load_backbone("pigeon-tiny", tmp_path / "a" / "clip.pt")
    assert bb.embed(torch.zeros(1, 3, 64, 64)).shape == (1, 128)


def test_bad_inputs(tmp_path):
    with pytest.raises(UserError, match="cannot read dataset"):
        main(["--data", str(tmp_path / "x.csv"), "--out", str(tmp_path / "o"), "--quiet"])
    csv_path = make_dataset(tmp_path / "d", n=2, views=1)
    with pytest.raises(UserError, match="batch-size must be >= 2"):
        main(["--data", str(csv_path), "--out", str(tmp_path / "o"), "--batch-size", "1"])


def test_same_run_with_dataloader_workers(tmp_path):
    """Per-sample seeding: augmentation and captions do not depend on the worker count."""
    csv_path = make_dataset(tmp_path / "d", n=4, views=2, style="colour")
    for w in ("0", "2"):
        main(["--data", str(csv_path), "--aux", "none", "--batch-size", "4", "--quiet",
              "--seed", "1", "--max-steps", "2", "--workers", w, "--out", str(tmp_path / w)])
    assert _losses(tmp_path / "0") == _losses(tmp_path / "2")
