"""Training checkpoints that carry their config and resume exactly.

A checkpoint (format ``pigeon-train-ckpt/1``) holds the model state, optimizer, scheduler,
step/epoch, every RNG state (python, numpy, torch CPU and CUDA), the training arguments and
the metrics so far. Loading never depends on outside flags: the config is inside.
Writes are atomic (temp file + rename), so a job killed while saving keeps the previous one.

Usage::

    save_checkpoint(path, kind="heads", config=vars(args), model=heads.state(),
                    optimizer=opt, scheduler=sched, step=step, epoch=epoch, metrics=m)
    ck = load_checkpoint(path)           # dict; ck["step"], ck["config"], ...
    restore_rng(ck["rng"])
"""

from __future__ import annotations

import datetime as _dt
import os
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from backend.cliutil import UserError

CHECKPOINT_FORMAT = "pigeon-train-ckpt/1"


def capture_rng() -> dict[str, Any]:
    """Every global RNG state, in a form ``torch.load(weights_only=True)`` accepts."""
    np_state = np.random.get_state()
    state = {"python": random.getstate(), "torch": torch.get_rng_state(),
             "numpy": [np_state[0], np_state[1].tolist(), int(np_state[2]), int(np_state[3]),
                       float(np_state[4])]}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Restore what :func:`capture_rng` captured."""
    random.setstate(_as_tuple(state["python"]))
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n[0], np.asarray(n[1], dtype=np.uint32), n[2], n[3], n[4]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _as_tuple(x: Any) -> Any:
    return tuple(_as_tuple(v) for v in x) if isinstance(x, (list, tuple)) else x


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)


def plain_args(args: Any) -> dict[str, Any]:
    """An argparse namespace as JSON-like data (drops the CLI's function objects etc.)."""
    items = vars(args).items() if not isinstance(args, dict) else args.items()
    return {k: v for k, v in items if isinstance(v, (str, int, float, bool, type(None)))}


def check_resume_args(saved: dict[str, Any], now: dict[str, Any], keys: Sequence[str],
                      path: Any) -> None:
    """Refuse to resume with options that would change the run (data, order, schedule).

    Raises:
        UserError: naming each option that differs, old -> new.
    """
    diff = [f"--{k.replace('_', '-')} {saved.get(k)!r} -> {now.get(k)!r}"
            for k in keys if saved.get(k) != now.get(k)]
    if diff:
        raise UserError(f"{path} was made with other options ({'; '.join(diff)}); resume with "
                        "the same options, or train into a new --out")


def save_checkpoint(path: str | Path, *, kind: str, config: dict[str, Any],
                    model: dict[str, Any], optimizer: torch.optim.Optimizer | None = None,
                    scheduler: Any = None, step: int = 0, epoch: int = 0,
                    metrics: dict[str, Any] | None = None,
                    extra: dict[str, Any] | None = None) -> Path:
    """Write a resumable checkpoint atomically.

    Args:
        path: output file.
        kind: what trains (``"heads"``, ``"finetune"``, ``"pretrain"``).
        config: the run's arguments/parameters (JSON-like).
        model: model state(s), e.g. ``{"heads": heads.state()}``.
        optimizer, scheduler: their ``state_dict`` is stored.
        step, epoch: progress counters (the step about to run next).
        metrics: results so far.
        extra: anything else (data description...).

    Returns:
        The written path.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    obj = {"format": CHECKPOINT_FORMAT, "kind": kind, "config": plain_args(config),
           "model": model,
           "optimizer": optimizer.state_dict() if optimizer is not None else None,
           "scheduler": scheduler.state_dict() if scheduler is not None else None,
           "step": int(step), "epoch": int(epoch), "rng": capture_rng(),
           "metrics": metrics or {}, "extra": extra or {},
           "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
    tmp = out.with_name(out.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, out)
    return out


def load_checkpoint(path: str | Path, *, kind: str | None = None) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Args:
        path: the file.
        kind: when given, the checkpoint must be of this kind.

    Raises:
        UserError: missing, unreadable, not a pigeon checkpoint, or of another kind.
    """
    p = Path(path)
    if not p.is_file():
        raise UserError(f"checkpoint {p} does not exist")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserError(f"checkpoint {p} cannot be read ({type(exc).__name__}); it is "
                        "corrupt or not a torch file") from exc
    if not isinstance(obj, dict) or obj.get("format") != CHECKPOINT_FORMAT:
        raise UserError(f"{p} is not a pigeon training checkpoint ({CHECKPOINT_FORMAT})")
    if kind is not None and obj["kind"] != kind:
        raise UserError(f"{p} is a {obj['kind']!r} checkpoint, expected {kind!r}")
    return obj
