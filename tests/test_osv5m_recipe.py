"""``pigeon recipe osv5m`` end to end on a fake OSV-5M hub with a tiny backbone: every step
runs for real (download, split, geocells, fine-tuning or heads, bundle, embeddings, index,
calibration, eval with OSV-5M's metrics), and a rerun skips what is finished."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from osv5m_fake_hub import FakeHub, make_osv5m_repo

from backend.model.backbone import build_backbone

REPO = Path(__file__).resolve().parent.parent
TINY = ["--model", "pigeon-tiny", "--device", "cpu", "--nproc", "1", "--finetune-epochs", "2",
        "--epochs", "2", "--batch-size", "8", "--embed-batch", "16", "--workers", "0",
        "--save-every", "3", "--val-frac", "0.2", "--min-km", "0.5", "--cell-min", "4",
        "--cell-max", "12", "--optics", "3,.05", "--calibration-rounds", "20"]


def _recipe(endpoint: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_ENDPOINT=endpoint, OMP_NUM_THREADS="1",
               HF_HUB_DISABLE_PROGRESS_BARS="1")
    return subprocess.run([sys.executable, "-m", "bot.cli", "recipe", "osv5m", *args],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=900,
                          check=False)


@pytest.mark.slow
def test_recipe_runs_every_step_and_resumes(tmp_path):
    torch.save(build_backbone("pigeon-tiny", seed=0).state(), tmp_path / "bb.pt")
    repo = make_osv5m_repo(shards={"train": [30, 30], "test": [12]}, extra_rows=0)
    data, out = tmp_path / "osv5m", tmp_path / "run"
    common = ["--data", str(data), "--weights", str(tmp_path / "bb.pt"), *TINY]
    with FakeHub(repo.files) as hub:
        first = _recipe(hub.url, *common, "--out", str(out), "--steps",
                        "data-train,data-test,split,geocells")  # as if killed after geocells
        assert first.returncode == 0, first.stdout + first.stderr[-3000:]
        full = _recipe(hub.url, *common, "--out", str(out))
        assert full.returncode == 0, full.stdout + full.stderr[-3000:]
        for part in ("split", "cells"):  # the frozen-backbone path from the same split/cells
            shutil.copytree(out / part, tmp_path / "frozen" / part)
        frozen = _recipe(hub.url, *common, "--out", str(tmp_path / "frozen"), "--no-finetune")
        assert frozen.returncode == 0, frozen.stdout + frozen.stderr[-3000:]
    for name in ("data-train", "data-test", "split", "geocells"):
        assert f"{name}] done already, skipped" in full.stdout
    for name in ("finetune", "bundle", "embed-train", "index", "calibrate", "eval"):
        assert f"{name}] finished in" in full.stdout, name
    for name in ("embed-val", "heads"):
        assert f"{name}] finished in" in frozen.stdout, name
    for run in (out, tmp_path / "frozen"):
        files = json.loads((run / "bundle" / "bundle.json").read_text())["files"]
        assert {"index", "calibration"} <= set(files)
        summary = json.loads((run / "report" / "summary.json").read_text())
        assert summary["data"]["evaluated"] == 12  # the fake test split, all of it
        assert summary["osv5m"]["truth_labels"] == "the CSV's unique_* columns"
        assert 0 <= summary["osv5m"]["metrics"]["geoscore"]["value"] <= 5000
    log = [json.loads(s) for s in (out / "recipe_log.jsonl").read_text().splitlines()]
    assert [r["status"] for r in log[-1]["steps"]][:4] == ["skipped"] * 4
    again = _recipe("http://127.0.0.1:9", *common, "--out", str(out))  # hub gone: all done
    assert again.returncode == 0 and again.stdout.count("done already") == 10, again.stderr


def test_dry_run_lists_the_commands_and_bad_steps_are_refused(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "recipe", "osv5m", "--data", "d",
                           "--out", "o", "--nproc", "8", "--dry-run"], capture_output=True,
                          text=True, cwd=REPO, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 10 and "--min 1000 --max 2000" in lines[3]
    assert "torchrun --standalone --nproc_per_node=8 -m bot.cli train --finetune" in lines[4]
    assert not (tmp_path / "o").exists()
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "recipe", "osv5m", "--data", "d",
                           "--out", "o", "--steps", "nonsense", "--dry-run"],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=120,
                          check=False)
    assert proc.returncode == 2 and "unknown step(s) ['nonsense']" in proc.stderr
