"""``pigeon recipe osv5m``: PIGEON trained and evaluated on OSV-5M, every step in order.

The recipe is a list of ordinary ``pigeon`` commands (``--dry-run`` prints them: that is the
documented command sequence of docs/TRAINING.md). The driver runs each as a subprocess (under
``torchrun`` for the GPU steps when ``--nproc`` > 1), skips the steps whose output is already
complete, and prints the wall time of each. Killed, it resumes: finished steps are skipped,
and the step that was running resumes inside itself where it can (downloads to the byte,
embeddings by shard, training from its last checkpoint); the short steps start again.

Steps (PIGEON's pipeline; OSV-5M sizes):

 1. ``data-train``, ``data-test``: ``pigeon data osv5m`` (train 4.9 M images, test 210 k);
 2. ``split``: a validation split carved from train, 1 km from every training point;
 3. ``geocells``: semantic geocells with PIGEOTTO's sizes for millions of points (MIN 1000,
    MAX 2000, OPTICS ``(300,.05),(400,.005),(1000,1e-4)``);
 4. ``finetune``: heads (haversine label smoothing, tau 75 km; the auxiliary tasks from our
    geo layer: climate, Köppen, elevation, population, month) trained with the backbone's
    last block unfrozen, on the images (``--no-finetune``: frozen backbone, heads trained on
    cached embeddings: steps ``embed-val`` and ``heads`` instead);
 5. ``bundle``; 6. ``embed-train``: the training images through the bundle's backbone
    (resumable shards; ``torchrun``); 7. ``index``: the refinement index (streamed,
    memory-mapped, fp16 members); 8. ``calibrate`` on the validation split;
 9. ``eval`` on the OSV-5M test split (our metrics and OSV-5M's own, beside its leaderboard).

Usage::

    pigeon recipe osv5m --data data/osv5m --out runs/osv5m --weights streetclip.pt \\
        --device cuda --nproc 8
    pigeon recipe osv5m --data data/osv5m --out runs/osv5m --dry-run
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.cliutil import UserError

PIGEOTTO_OPTICS = "300,.05;400,.005;1000,1e-4"


@dataclass(frozen=True)
class Step:
    """One command of the recipe, and how to tell that it has finished."""

    name: str
    argv: list[str]
    done: Callable[[], bool]
    distributed: bool = False  # run under torchrun when --nproc > 1


def _json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _data_done(data: Path, split: str) -> Callable[[], bool]:
    return lambda: bool(_json(data / "osv5m.json").get("splits", {}).get(split, {})
                        .get("complete"))


def _embeddings_done(folder: Path) -> Callable[[], bool]:
    def done() -> bool:
        meta = _json(folder / "embeddings.json")
        n = meta.get("num_shards")
        return bool(n) and all((folder / f"shard-{k:05d}.npz").is_file() for k in range(n))
    return done


def _bundle_has(bundle: Path, part: str) -> Callable[[], bool]:
    return lambda: part in _json(bundle / "bundle.json").get("files", {})


def build_steps(args: Any) -> list[Step]:
    """The recipe's steps for parsed ``pigeon recipe osv5m`` arguments."""
    data, out = Path(args.data), Path(args.out)
    split, cells = out / "split", out / "cells" / "geocells.json"
    bundle, emb_train = out / "bundle", out / "emb" / "train"
    dev = ["--device", args.device]
    limit = [] if args.limit is None else ["--limit", str(args.limit)]
    weights = [] if args.weights is None else ["--weights", args.weights]
    train_opts = ["--geocells", str(cells), "--aux", "auto", "--tau-km", "75",
                  "--batch-size", str(args.batch_size), "--resume", "auto",
                  "--save-every", str(args.save_every), *dev]
    steps = [
        Step("data-train", ["data", "osv5m", "--out", str(data), "--split", "train", *limit],
             _data_done(data, "train")),
        Step("data-test", ["data", "osv5m", "--out", str(data), "--split", "test",
                           *([] if args.test_limit is None else ["--limit",
                                                                 str(args.test_limit)])],
             _data_done(data, "test")),
        Step("split", ["data", "split", str(data / "train.csv"), "--test-frac",
                       str(args.val_frac), "--min-km", str(args.min_km), "--seed", "0",
                       "--out", str(split), "--on-bad-row", "skip"],
             lambda: (split / "split.json").is_file()),
        Step("geocells", ["geocells", "build", "--points", str(split / "train.csv"), "--out",
                          str(cells.parent), "--min", str(args.cell_min), "--max",
                          str(args.cell_max), "--optics", args.optics, "--no-plot"],
             cells.is_file),
    ]
    if args.finetune:
        run = out / "runs" / "finetune"
        steps.append(Step("finetune", ["train", "--finetune", "--data", str(split / "train.csv"),
                                       "--backbone", args.model, *weights, "--out", str(run),
                                       "--epochs", str(args.finetune_epochs),
                                       "--val-fraction", "0.01", *train_opts],
                          (run / "heads.pt").is_file, distributed=True))
        make = ["bundle", "make", "--run", str(run), "--geocells", str(cells), "--out",
                str(bundle), "--overwrite"]
        embed_src = ["--bundle", str(bundle)]
    else:
        run, emb_val = out / "runs" / "heads", out / "emb" / "val"
        embed_src = ["--model", args.model, *weights]
        steps += [
            Step("embed-train", ["embed", *embed_src, "--data", str(split / "train.csv"),
                                 "--out", str(emb_train), "--batch-size",
                                 str(args.embed_batch), "--workers", str(args.workers), *dev],
                 _embeddings_done(emb_train), distributed=True),
            Step("embed-val", ["embed", *embed_src, "--data", str(split / "test.csv"), "--out",
                               str(emb_val), "--batch-size", str(args.embed_batch),
                               "--workers", str(args.workers), *dev],
                 _embeddings_done(emb_val), distributed=True),
            Step("heads", ["train", "--embeddings", str(emb_train), "--val-embeddings",
                           str(emb_val), "--out", str(run), "--epochs", str(args.epochs),
                           *train_opts], (run / "heads.pt").is_file, distributed=True),
        ]
        make = ["bundle", "make", "--run", str(run), "--geocells", str(cells), "--out",
                str(bundle), "--overwrite", *weights]
    steps.append(Step("bundle", make, lambda: (bundle / "bundle.json").is_file()))
    if args.finetune:  # the index needs the fine-tuned backbone's embeddings
        steps.append(Step("embed-train", ["embed", *embed_src, "--data",
                                          str(split / "train.csv"), "--out", str(emb_train),
                                          "--batch-size", str(args.embed_batch), "--workers",
                                          str(args.workers), *dev],
                          _embeddings_done(emb_train), distributed=True))
    steps += [
        Step("index", ["index", "build", "--bundle", str(bundle), "--embeddings",
                       str(emb_train), "--member-dtype", "float16"],
             _bundle_has(bundle, "index")),
        Step("calibrate", ["calibrate", "--bundle", str(bundle), "--data",
                           str(split / "test.csv"), "--limit", str(args.calibration_rounds),
                           *dev], _bundle_has(bundle, "calibration")),
        Step("eval", ["eval", "--model", str(bundle), "--data", str(data / "test.csv"),
                      "--out", str(out / "report"), "--on-bad-row", "skip", *dev],
             lambda: (out / "report" / "summary.json").is_file()),
    ]
    return steps


def command_line(step: Step, nproc: int) -> list[str]:
    """The full command of a step (``python -m bot.cli ...`` is ``pigeon ...``)."""
    if step.distributed and nproc > 1:
        return [sys.executable, "-m", "torch.distributed.run", "--standalone",
                f"--nproc_per_node={nproc}", "-m", "bot.cli", *step.argv]
    return [sys.executable, "-m", "bot.cli", *step.argv]


def run_recipe(args: Any, *, say: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Run (or with ``args.dry_run`` list) the steps; returns one record per step.

    Raises:
        UserError: a step failed (its command and exit status are named; rerun to resume).
    """
    steps = build_steps(args)
    wanted = set(args.steps.split(",")) if args.steps else None
    unknown = (wanted or set()) - {s.name for s in steps}
    if unknown:
        raise UserError(f"unknown step(s) {sorted(unknown)}; the steps are "
                        + ", ".join(s.name for s in steps))
    records = []
    for k, step in enumerate(steps, start=1):
        head = f"[{k}/{len(steps)} {step.name}]"
        cmd = command_line(step, args.nproc)
        shown = "pigeon " + shlex.join(step.argv) if cmd[1:3] == ["-m", "bot.cli"] else \
            shlex.join(["torchrun", *cmd[3:5], "-m", "bot.cli", *step.argv])
        if wanted is not None and step.name not in wanted:
            continue
        if args.dry_run:
            say(f"{head} {shown}")
            records.append({"step": step.name, "command": shown, "status": "planned"})
            continue
        if step.done():
            say(f"{head} done already, skipped")
            records.append({"step": step.name, "status": "skipped"})
            continue
        say(f"{head} {shown}")
        t0 = time.perf_counter()
        code = subprocess.run(cmd, check=False).returncode
        took = time.perf_counter() - t0
        if code != 0:
            raise UserError(f"step {step.name} failed (exit {code}) after {took:.0f} s: "
                            f"{shown}; fix what it said and rerun the recipe: finished steps "
                            "are skipped")
        if not step.done():
            raise UserError(f"step {step.name} ended without its output; rerun the recipe")
        say(f"{head} finished in {took:.0f} s")
        records.append({"step": step.name, "status": "ran", "seconds": round(took, 1)})
    if not args.dry_run:
        log = Path(args.out) / "recipe_log.jsonl"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                 "steps": records}) + "\n")
    return records
