"""The ablation ladder as data: the rungs of the PIGEON paper's Table 1 and ours (Table 2),
the settings of a ladder run, and the training arguments each rung passes.

Each rung adds one idea to the one before:

 1. CLIP base — frozen backbone, one view, hard labels (label smoothing off: one-hot on the
    cell that holds the point), plain equal-area grid cells, argmax pin;
 2. + label smoothing (haversine, tau 75 km);   3. + four views (mean embedding);
 4. + last-layer fine-tuning;   5. + multi-task (auxiliary heads);
 6. + semantic geocells instead of the plain grid;   7. + contrastive pretraining;
 8. + refinement (retrieval index);   9. ours: + expected-score pin.

Usage::

    from backend.eval.ladder import LADDER, select_rungs, train_argv
    [r.name for r in select_rungs("CLIP base,+ refinement")]
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backend.cliutil import UserError


@dataclass(frozen=True)
class Rung:
    """One configuration of the ladder (cumulative: each adds one idea)."""

    name: str
    table: str = "paper"          # "paper" (Table 1) or "ours" (Table 2)
    label_smoothing: bool = False
    views: int = 1
    finetune: bool = False
    multitask: bool = False
    semantic_cells: bool = False
    contrastive: bool = False
    refinement: bool = False
    pin: str = "argmax"           # "argmax" (paper) or "expected" (ours)


def _ladder() -> list[Rung]:
    steps: list[tuple[str, dict[str, Any]]] = [
        ("CLIP base", {}),
        ("+ label smoothing", {"label_smoothing": True}),
        ("+ four views", {"views": 4}),
        ("+ last-layer fine-tuning", {"finetune": True}),
        ("+ multi-task", {"multitask": True}),
        ("+ semantic geocells", {"semantic_cells": True}),
        ("+ contrastive pretraining", {"contrastive": True}),
        ("+ refinement", {"refinement": True}),
        ("+ expected-score pin (ours)", {"pin": "expected", "table": "ours"}),
    ]
    out, cur = [], Rung("")
    for name, change in steps:
        cur = dataclasses.replace(cur, name=name, **change)
        out.append(cur)
    return out


LADDER: list[Rung] = _ladder()


def rung_folder(out: str | Path, index: int, rung: Rung) -> Path:
    """The folder of rung ``index`` in a ladder run: ``OUT/NN-name`` (``04-last-layer-fine-tuning``)."""
    return Path(out) / f"{index:02d}-{re.sub(r'[^a-z0-9]+', '-', rung.name.lower()).strip('-')}"


@dataclass
class RungResult:
    """What one rung produced: a metric report, or the reason it was skipped."""

    index: int
    rung: Rung
    report: Any = None
    skipped: str | None = None
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    folder: str = ""
    scores: dict[str, float] | None = None
    """Per test place: id -> GeoGuessr score (the paired differences between rungs)."""

    @property
    def label(self) -> str:
        return self.rung.name + (f" ({'; '.join(self.notes)})" if self.notes else "")


@dataclass
class AblationSettings:
    """Everything a ladder run depends on (stored in ``ladder.json``)."""

    train_csv: str
    test_csv: str
    out: str
    backbone: str = "pigeon-tiny"
    weights: str | None = None
    contrastive_weights: str | None = None
    geocells: str | None = None
    grid_bands: int = 18
    grid_min_points: int = 1
    cell_min: int = 30
    cell_max: int = 60
    epochs: int = 10
    pretrain_epochs: int | None = None
    backbone_lr: float | None = None
    """Last-block learning rate of the fine-tuning rungs (None: ``pigeon train``'s 1e-5)."""
    loss_weights: str | None = None
    """Multi-task loss weights for every rung, ``pigeon train --loss-weights`` (None: PIGEON's)."""
    batch_size: int = 256
    tau_km: float = 75.0
    limit: int | None = None
    n_boot: int = 1000
    seed: int = 0
    device: str = "cpu"
    on_bad_row: str = "fail"
    quiet: bool = False
    without: tuple[str, ...] = ()
    """Ideas to leave out on purpose (e.g. ``("finetune",)`` when fine-tuning is too slow)."""


IDEAS: tuple[str, ...] = ("label_smoothing", "finetune", "multitask", "semantic_cells",
                          "contrastive", "refinement")
"""The ideas a rung can add (the boolean fields of :class:`Rung`)."""


def parse_without(text: str | None) -> tuple[str, ...]:
    """``"finetune,contrastive"`` -> ideas to leave out.

    Raises:
        UserError: a name that is not an idea (the message lists them).
    """
    names = tuple(w.strip() for w in (text or "").split(",") if w.strip())
    bad = [n for n in names if n not in IDEAS]
    if bad:
        raise UserError(f"unknown idea(s) {bad} for --without; choose from {', '.join(IDEAS)}")
    return names


def new_idea(rung: Rung) -> str | None:
    """The boolean idea a rung adds (the field that differs from the rung before)."""
    i = LADDER.index(rung) if rung in LADDER else 0
    if i == 0:
        return None
    prev = LADDER[i - 1]
    for f in IDEAS:
        if getattr(rung, f) != getattr(prev, f):
            return f
    return None


def select_rungs(only: str | None) -> list[Rung]:
    """The rungs named in a comma-separated list (all when None), ladder order kept.

    Raises:
        UserError: a name that is not a rung (the message lists them).
    """
    if not only:
        return list(LADDER)
    wanted = [w.strip().lower() for w in only.split(",") if w.strip()]
    names = {r.name.lower(): r for r in LADDER}
    bad = [w for w in wanted if w not in names]
    if bad:
        raise UserError(f"unknown rung(s) {bad}; choose from: " +
                        ", ".join(repr(r.name) for r in LADDER))
    return [r for r in LADDER if r.name.lower() in wanted]


def train_argv(rung: Rung, s: AblationSettings, *, cells: Path, run_dir: Path,
               embeddings: Path | None, weights: str | None) -> list[str]:
    """Arguments for ``backend.model.train_heads.main`` for one rung."""
    argv = ["--geocells", str(cells), "--out", str(run_dir),
            "--aux", "auto" if rung.multitask else "none",
            "--labels", "smoothed" if rung.label_smoothing else "own-cell",
            "--tau-km", repr(s.tau_km),
            "--epochs", str(s.epochs), "--batch-size", str(s.batch_size),
            "--seed", str(s.seed), "--device", s.device]
    if rung.finetune:
        argv += ["--finetune", "--data", str(s.train_csv), "--backbone", s.backbone]
        if weights:
            argv += ["--weights", str(weights)]
        if s.backbone_lr is not None:
            argv += ["--backbone-lr", repr(s.backbone_lr)]
    else:
        argv += ["--embeddings", str(embeddings)]
    if s.loss_weights:
        argv += ["--loss-weights", s.loss_weights]
    if s.quiet:
        argv.append("--quiet")
    return argv
