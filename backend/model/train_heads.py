"""Train PIGEON's heads: on cached embeddings (fast path) or fine-tuning the last vision block.

Entry point ``main(argv)`` (as in open_clip's training), so tests and recipes call
``main(["--embeddings", ..., "--geocells", ..., "--out", ...])``; ``pigeon train`` is the same.

- Loss: haversine-smoothed geocell cross-entropy (``backend.model.label_smoothing``,
  tau 75 km) + 8 x MSE of 6 standardised regressions + 2 x Köppen CE + 1 x month CE.
  ``--labels own-cell`` trains the geocell head on hard labels instead: one-hot on the cell
  that holds the point (``Geocells.assign``), PIGEON's setting without label smoothing.
- Every epoch: validation in km (argmax-cell centroid vs truth) on a held-out split.
- ``out/checkpoint-last.pt`` carries config, optimizer, scheduler, RNG and step; ``--resume``
  continues exactly (same data order, same losses). ``out/heads.pt`` is the result (config,
  target statistics, backbone description and metrics inside); ``train_log.jsonl`` has one
  line per step. Under ``torchrun`` (WORLD_SIZE > 1) the heads train with DDP.

Usage::

    pigeon train --embeddings cache/train-emb --geocells cells/geocells.json --out runs/heads
    pigeon train --finetune --data train.csv --backbone ViT-L-14-336 --weights openai \\
        --geocells cells/geocells.json --out runs/ft
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from backend.cliutil import UserError, progress
from backend.model.checkpoint import (
    check_resume_args,
    load_checkpoint,
    plain_args,
    restore_rng,
    save_checkpoint,
    seed_everything,
)
from backend.model.heads import HeadsConfig, PigeonHeads, known_target_counts, multitask_loss
from backend.model.label_smoothing import smoothed_targets
from backend.model.loss_weights import loss_weights_option, parse_loss_weights
from backend.model.train_loop import DistContext, cosine_schedule, epoch_order, per_rank_count
from backend.model.validation import geo_validation


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pigeon train", description=__doc__.split("\n\n")[0])
    add_train_arguments(p)
    return p


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    """The ``pigeon train`` options (shared with the CLI module)."""
    p.add_argument("--embeddings", help="folder made by `pigeon embed` (fast path)")
    p.add_argument("--val-embeddings", help="validation embeddings (default: a split)")
    p.add_argument("--geocells", required=True, help="geocells.json")
    p.add_argument("--out", required=True, help="output folder (checkpoints, heads.pt, logs)")
    p.add_argument("--finetune", action="store_true",
                   help="train on images with the backbone's last block unfrozen")
    p.add_argument("--data", help="dataset CSV (with --finetune)")
    p.add_argument("--backbone", default="pigeon-tiny", help="config name (with --finetune)")
    p.add_argument("--weights", help="open_clip tag or checkpoint (with --finetune)")
    p.add_argument("--aux", default="auto",
                   help="auxiliary targets: auto (cache next to the data, computed with "
                        "GeoLookup), none (the geocell head alone: no Koppen, regression or "
                        "month targets), or an aux_targets.npz file")
    p.add_argument("--loss-weights", type=loss_weights_option, default=None,
                   help="multi-task loss weights to change, e.g. regression=1,koppen=1 "
                        "(default PIGEON's: geocell=1,regression=8,koppen=2,month=1)")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--max-steps", type=int, help="stop after this many steps in total")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--backbone-lr", type=float, default=1e-5, help="last-block lr (finetune)")
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup-steps", type=int, default=0)
    p.add_argument("--tau-km", type=float, default=75.0, help="label smoothing temperature")
    p.add_argument("--labels", default="smoothed", choices=["smoothed", "own-cell"],
                   help="geocell targets: haversine-smoothed (PIGEON) or one-hot on the "
                        "point's own cell (no label smoothing)")
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", help="checkpoint to continue from, or 'auto' (OUT/checkpoint-last.pt)")
    p.add_argument("--save-every", type=int, default=0, help="also checkpoint every N steps")
    p.add_argument("--stop-after", type=int,
                   help="stop this run at step N and checkpoint (the schedule still spans the "
                        "whole run); continue later with --resume")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _load_aux(args: argparse.Namespace, folder: Path, ids: list[str], latlng: np.ndarray):
    from backend.model.aux_targets import AuxTargets, cached_aux_targets

    if args.aux == "none":
        return None
    if args.aux != "auto":
        return AuxTargets.load(args.aux)
    return cached_aux_targets(folder, ids, latlng)


def _sources(args: argparse.Namespace) -> tuple[Any, Any, dict[str, Any]]:
    """Training and validation sources, plus the backbone description they come from."""
    from backend.model.embed import load_embeddings
    from backend.model.training_data import EmbeddingSource

    if args.finetune:
        from backend.model.finetune_data import image_sources

        return image_sources(args, _load_aux)
    if not args.embeddings:
        raise UserError("give --embeddings DIR (from `pigeon embed`), or --finetune --data CSV")
    emb = load_embeddings(args.embeddings)
    src = EmbeddingSource.from_embedding_set(
        emb, _load_aux(args, Path(args.embeddings), emb.ids, emb.latlng))
    if args.val_embeddings:
        v = load_embeddings(args.val_embeddings)
        val = EmbeddingSource.from_embedding_set(
            v, _load_aux(args, Path(args.val_embeddings), v.ids, v.latlng))
        train = src
    else:
        try:
            train, val = src.split(args.val_fraction, args.seed)
        except ValueError as exc:
            raise UserError(str(exc)) from exc
    desc = {"backbone": emb.meta["backbone"], "weights": emb.meta.get("weights"),
            "data": emb.meta.get("dataset"), "embeddings": str(args.embeddings)}
    return train, val, desc


def _check_args(args: argparse.Namespace) -> None:
    for name in ("epochs", "batch_size"):
        if getattr(args, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be >= 1")
    if args.lr <= 0 or args.tau_km <= 0:
        raise UserError("--lr and --tau-km must be positive")
    if args.max_steps is not None and args.max_steps < 1:
        raise UserError("--max-steps must be >= 1")


RESUME_MUST_MATCH = ("embeddings", "val_embeddings", "data", "backbone", "weights",
                     "batch_size", "epochs", "max_steps", "seed", "val_fraction", "tau_km",
                     "warmup_steps", "dropout", "labels", "loss_weights")



def main(argv: Sequence[str] | None = None) -> int:
    """Train heads; see the module docstring. Returns 0 (raises UserError on bad input)."""
    args = build_parser().parse_args(argv)
    run(args)
    return 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Train with parsed arguments; returns the final metrics."""
    from backend.geocells import Geocells

    _check_args(args)
    out = Path(args.out)
    dist = DistContext.from_env(args.device)
    seed_everything(args.seed)
    try:
        geocells = Geocells.load(args.geocells)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    centroids = torch.as_tensor(geocells.centroids, dtype=torch.float32)
    train, val, desc = _sources(args)
    if args.aux == "none":   # the geocell head alone: the month is an auxiliary task too
        for src in (train, val):
            if src is not None:
                src.targets.month[:] = -1
    if len(train) < 1:
        raise UserError("no training locations")
    backbone = getattr(train, "backbone", None)
    emb_dim = backbone.embedding_dim if backbone is not None else int(train.embeddings.shape[1])
    torch.manual_seed(args.seed)
    weights = parse_loss_weights(args.loss_weights or "")
    heads = PigeonHeads(HeadsConfig(embedding_dim=emb_dim, num_cells=len(centroids),
                                    dropout=args.dropout, loss_weights=weights))
    mean, std = train.targets.regression_stats()
    heads.set_target_stats(torch.from_numpy(mean), torch.from_numpy(std))
    dev = dist.device
    heads.to(dev)
    params = [{"params": list(heads.parameters()), "lr": args.lr}]
    if backbone is not None:
        backbone.to(dev).set_trainable("last_block")
        params.append({"params": [p for p in backbone.parameters() if p.requires_grad],
                       "lr": args.backbone_lr})
    opt = torch.optim.AdamW(params, weight_decay=args.weight_decay)
    n_rank = per_rank_count(len(train), dist.world_size)
    steps_per_epoch = max(1, math.ceil(n_rank / args.batch_size))
    total = args.max_steps or args.epochs * steps_per_epoch
    sched = cosine_schedule(opt, total, args.warmup_steps)
    step, metrics = 0, {}
    resume = out / "checkpoint-last.pt" if args.resume == "auto" else args.resume
    if resume and (args.resume != "auto" or Path(resume).is_file()):
        ck = load_checkpoint(resume, kind="finetune" if args.finetune else "heads")
        check_resume_args(ck["config"], plain_args(args), RESUME_MUST_MATCH, resume)
        heads.load_state_dict(ck["model"]["heads"]["state_dict"])
        if backbone is not None:
            backbone.visual.load_state_dict(ck["model"]["backbone"]["state_dict"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        restore_rng(ck["rng"])
        step, metrics = ck["step"], ck["metrics"]
    if backbone is not None:
        from backend.model.finetune_data import FinetuneModel

        net: torch.nn.Module = FinetuneModel(backbone, heads)
    else:
        net = heads
    model = dist.wrap(net, find_unused=True)  # aux heads may lack targets in a batch
    cents = centroids.to(dev)

    def geocell_targets(latlng: torch.Tensor) -> torch.Tensor:
        if args.labels == "smoothed":
            return smoothed_targets(latlng.to(dev), cents, args.tau_km)
        # hard labels: the cell the point lies in (not the nearest centroid); per batch,
        # because a fine-tuning batch leaves out locations whose images are unreadable
        ll = latlng.numpy()
        own = torch.as_tensor(geocells.assign(ll[:, 0], ll[:, 1]), dtype=torch.long)
        return torch.nn.functional.one_hot(own, len(centroids)).to(dev, torch.float32)

    true_cells_val = geocells.assign(val.targets.latlng[:, 0], val.targets.latlng[:, 1]) \
        if val is not None else None

    def save(epoch: int) -> None:
        if dist.is_main:
            state = {"heads": heads.state()}
            if backbone is not None:
                state["backbone"] = backbone.state()
            save_checkpoint(out / "checkpoint-last.pt", kind="finetune" if args.finetune
                            else "heads", config=plain_args(args), model=state, optimizer=opt,
                            scheduler=sched, step=step, epoch=epoch, metrics=metrics,
                            extra=desc)

    def validate(epoch: int) -> None:
        if val is None or not dist.is_main:
            return
        emb = val.embed_all(backbone, dev) if backbone is not None else val.embeddings
        # read in blocks; rows without a readable view (NaN) are left out
        m = geo_validation(heads, emb, val.targets.latlng, geocells.centroids, true_cells_val)
        metrics[f"epoch_{epoch}"] = m
        metrics["last"] = m
        _log(out, {"event": "validation", "epoch": epoch, "step": step, **m})

    if dist.is_main:
        out.mkdir(parents=True, exist_ok=True)
    bar = progress(range(total), total=total, desc="train", unit="step") \
        if dist.is_main and not args.quiet else None
    if bar is not None:
        bar.update(step)
    net.train()
    while step < total:
        epoch, offset = divmod(step, steps_per_epoch)
        order = epoch_order(len(train), args.seed, epoch, dist.rank, dist.world_size)
        for b in range(offset, steps_per_epoch):
            idx = order[b * args.batch_size:(b + 1) * args.batch_size]
            batch = train.batch(idx)
            if backbone is not None:
                outputs = model(batch["views"].to(dev), batch["mask"].to(dev))
            else:
                outputs = model(batch["embedding"].to(dev))
            targets = {"geocell": geocell_targets(batch["latlng"]),
                       "regression": heads.standardise(batch["regression"].to(dev)),
                       "koppen": batch["koppen"].to(dev), "month": batch["month"].to(dev)}
            scales = dist.global_mean_scales(known_target_counts(targets))
            loss, parts = multitask_loss(outputs, targets, weights=weights, scales=scales)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if dist.is_main:
                _log(out, {"step": step, "epoch": epoch, "loss": float(loss.detach()),
                           **{f"loss_{k}": v for k, v in parts.items()},
                           "lr": sched.get_last_lr()[0]})
            if bar is not None:
                bar.update(1)
            if args.save_every and step % args.save_every == 0 and step < total:
                save(epoch)
            if step >= total or step == args.stop_after:
                break
        if step % steps_per_epoch == 0 or step >= total:
            validate(epoch)
            save(epoch)
        if step == args.stop_after and step < total:
            save(epoch)
            if bar is not None:
                bar.close()
            dist.close()
            return metrics
    if bar is not None:
        bar.close()
    if dist.is_main:
        _write_heads(out, heads, backbone, args, desc, metrics)
    dist.close()
    return metrics


def _log(out: Path, record: dict[str, Any]) -> None:
    with open(out / "train_log.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")


def _write_heads(out: Path, heads: PigeonHeads, backbone: Any, args: argparse.Namespace,
                 desc: dict[str, Any], metrics: dict[str, Any]) -> None:
    state = heads.state()
    state["training"] = {"made_by": "backend.model.train_heads", "parameters": plain_args(args),
                         "metrics": metrics.get("last", {}), **desc}
    if backbone is not None:
        torch.save(backbone.state(), out / "backbone.pt")
        state["training"]["backbone_file"] = "backbone.pt"
    torch.save(state, out / "heads.pt")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2), encoding="utf-8")
