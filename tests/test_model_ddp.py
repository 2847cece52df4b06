"""torchrun-style DDP of the heads training: two CPU processes with the gloo backend."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import torch
from test_model_train_heads import make_embeddings, make_geocells

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_rank_gloo_training(tmp_path):
    gc = make_geocells(tmp_path / "geocells.json")
    make_embeddings(tmp_path / "emb", n=100)
    port = str(_free_port())
    argv = ["--embeddings", str(tmp_path / "emb"), "--geocells", str(gc), "--out",
            str(tmp_path / "run"), "--aux", "none", "--epochs", "3", "--batch-size", "16",
            "--quiet", "--device", "cpu", "--lr", "1e-2"]
    code = f"import sys; from backend.model.train_heads import main; sys.exit(main({argv!r}))"
    procs = []
    for rank in (0, 1):
        env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2",
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=port, OMP_NUM_THREADS="1",
                   PYTHONPATH=REPO)
        procs.append(subprocess.Popen([sys.executable, "-c", code], env=env, cwd=REPO,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    outs = [p.communicate(timeout=240)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    log = [json.loads(s) for s in (tmp_path / "run" / "train_log.jsonl").read_text().splitlines()]
    steps = [r for r in log if "loss" in r]
    # 90 training locations -> 45 per rank -> 3 steps of 16 per epoch, 3 epochs; rank 0 logs
    assert len(steps) == 9 and steps[-1]["loss"] < steps[0]["loss"]
    assert sum(1 for r in log if r.get("event") == "validation") == 3
    state = torch.load(tmp_path / "run" / "heads.pt", weights_only=True)
    assert state["training"]["parameters"]["batch_size"] == 16


def test_two_rank_gloo_pretraining_gathers_features(tmp_path):
    from test_model_embed import make_dataset

    csv_path = make_dataset(tmp_path / "d", n=8, views=1, style="colour")
    port = str(_free_port())
    argv = ["--data", str(csv_path), "--out", str(tmp_path / "o"), "--aux", "none",
            "--batch-size", "4", "--epochs", "2", "--quiet", "--device", "cpu"]
    code = f"import sys; from backend.model.pretrain import main; sys.exit(main({argv!r}))"
    procs = []
    for rank in (0, 1):
        env = dict(os.environ, RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2",
                   MASTER_ADDR="127.0.0.1", MASTER_PORT=port, OMP_NUM_THREADS="1",
                   PYTHONPATH=REPO)
        procs.append(subprocess.Popen([sys.executable, "-c", code], env=env, cwd=REPO,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    outs = [p.communicate(timeout=240)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    log = [json.loads(s) for s in (tmp_path / "o" / "train_log.jsonl").read_text().splitlines()]
    # 8 views / 2 ranks / batch 4 -> one step per epoch; the loss is over the 8 gathered pairs,
    # so at random init it sits near ln(8) = 2.08, not ln(4) = 1.39
    assert len(log) == 2 and log[0]["loss"] > 1.7
    assert (tmp_path / "o" / "clip.pt").is_file()
