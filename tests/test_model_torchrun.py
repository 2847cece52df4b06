"""`torchrun --nproc_per_node 2` (gloo, CPU) of embed + train gives what one process gives.

Two ranks with ``--batch-size B`` see, step for step, the same samples as one process with
``--batch-size 2B`` (``epoch_order`` deals one permutation out to the ranks), and DDP averages
their gradients; with the loss terms scaled to the global known-target counts
(``DistContext.global_mean_scales``) that average is the one process's gradient, so the heads
agree to float rounding — auxiliary targets with unknown values included.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from test_model_embed import make_dataset
from test_model_train_heads import make_geocells

from backend.model.aux_targets import AUX_FORMAT, AuxTargets
from backend.model.backbone import build_backbone
from backend.model.embed import load_embeddings
from backend.model.heads import HeadsConfig, PigeonHeads

REPO = Path(__file__).resolve().parent.parent


def _run(cmd: list[str]) -> str:
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1",
               HF_HUB_DISABLE_PROGRESS_BARS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env, timeout=400,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def _pigeon(nproc: int, *args: str) -> str:
    if nproc == 1:
        return _run([sys.executable, "-m", "bot.cli", *args])
    return _run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                 f"--nproc_per_node={nproc}", "-m", "bot.cli", *args])


def _aux(path: Path, emb) -> Path:
    """Auxiliary targets with unknown values spread unevenly over the rows."""
    n = len(emb)
    lat = emb.latlng[:, 0]
    reg = np.stack([lat * 10, emb.latlng[:, 1], np.cos(np.radians(lat)), np.ones(n),
                    np.where(np.arange(n) % 5 == 0, np.nan, lat), lat / 3], 1).astype(np.float32)
    koppen = np.where(np.arange(n) % 7 == 3, -1, (np.abs(lat) // 10).astype(np.int64))
    AuxTargets(list(emb.ids), koppen, reg, meta={"format": AUX_FORMAT}).save(path)
    return path


def test_two_rank_torchrun_embed_and_train_equal_one_process(tmp_path):
    csv_path = make_dataset(tmp_path / "d", n=64, views=2, style="colour")
    bb = build_backbone("pigeon-tiny", seed=0)
    torch.save(bb.state(), tmp_path / "bb.pt")
    gc = make_geocells(tmp_path / "geocells.json")
    heads = {}
    for nproc, batch in ((1, 16), (2, 8)):
        emb_dir, run = tmp_path / f"emb{nproc}", tmp_path / f"run{nproc}"
        _pigeon(nproc, "embed", "--model", "pigeon-tiny", "--weights", str(tmp_path / "bb.pt"),
                "--data", str(csv_path), "--out", str(emb_dir), "--shard-size", "8",
                "--workers", "0", "--device", "cpu", "--quiet")
        if nproc == 1:
            aux = _aux(tmp_path / "aux.npz", load_embeddings(emb_dir))
        _pigeon(nproc, "train", "--embeddings", str(emb_dir), "--geocells", str(gc), "--out",
                str(run), "--aux", str(aux), "--epochs", "3", "--batch-size", str(batch),
                "--val-fraction", "0.25", "--lr", "1e-2", "--device", "cpu", "--quiet")
        heads[nproc] = torch.load(run / "heads.pt", weights_only=True)["state_dict"]
    one, two = load_embeddings(tmp_path / "emb1"), load_embeddings(tmp_path / "emb2")
    assert one.ids == two.ids and np.allclose(one.embeddings[:], two.embeddings[:], atol=1e-6)
    assert heads[1].keys() == heads[2].keys()
    for k in heads[1]:
        assert torch.allclose(heads[1][k], heads[2][k], atol=1e-5, rtol=1e-4), k
    # the heads did train: 48 training rows, 3 steps of 16 (or 2 x 8) an epoch, 3 epochs
    for nproc in (1, 2):
        log = [json.loads(s) for s in (tmp_path / f"run{nproc}" / "train_log.jsonl")
               .read_text().splitlines()]
        assert sum("loss" in r for r in log) == 9
    torch.manual_seed(0)
    init = PigeonHeads(HeadsConfig(embedding_dim=128, num_cells=4)).state_dict()
    assert (heads[1]["geocell.weight"] - init["geocell.weight"]).abs().max() > 1e-2
