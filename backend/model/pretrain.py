"""Contrastive pretraining of the backbone on generated captions (PIGEON's StreetCLIP step).

Each sample is one view of a location and a caption made from the location's auxiliary data
(``backend.model.captions``); image and text towers train with the CLIP loss (open_clip's
``ClipLoss``; features gathered across ranks under ``torchrun``). Augmentation: a mild random
resized crop and colour jitter, NO horizontal flip (a flip swaps the driving side). The view
``k`` (1-based) of a location faces ``heading + 90 * (k - 1)`` degrees when the CSV gives a
heading. Randomness per sample comes from ``(seed, epoch, sample)``, so runs and resumes are
exact whatever the number of workers.

Outputs in ``--out``: ``clip.pt`` (``pigeon-openclip/1``: full CLIP with its config; pass it as
``--weights`` to ``pigeon embed`` / ``pigeon train --finetune``), ``checkpoint-last.pt``
(resume), ``train_log.jsonl``.

Usage::

    pigeon pretrain --model pigeon-tiny --data synth/train.csv --out runs/pretrain --epochs 5
    from backend.model.pretrain import main; main(["--data", ..., "--out", ...])
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from backend.cliutil import UserError, positive_int, progress
from backend.model.captions import make_caption
from backend.model.checkpoint import (
    check_resume_args,
    load_checkpoint,
    plain_args,
    restore_rng,
    save_checkpoint,
    seed_everything,
)
from backend.model.train_loop import DistContext, cosine_schedule, epoch_order, per_rank_count
from backend.model.weights import load_clip_model, save_clip_checkpoint

RESUME_MUST_MATCH = ("data", "model", "weights", "aux", "batch_size", "epochs", "max_steps",
                     "seed", "keep_prob", "min_crop", "warmup_steps", "lr")


def add_pretrain_arguments(p: argparse.ArgumentParser) -> None:
    """The ``pigeon pretrain`` options."""
    p.add_argument("--data", required=True, help="dataset CSV (generic layout)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--model", default="pigeon-tiny", help="backbone config name")
    p.add_argument("--weights", help="start from an open_clip tag or checkpoint "
                                     "(default: random init)")
    p.add_argument("--aux", default="auto", help="auto (GeoLookup, cached next to the CSV), "
                                                 "none, or an aux_targets.npz file")
    p.add_argument("--epochs", type=positive_int, default=5)
    p.add_argument("--max-steps", type=positive_int)
    p.add_argument("--stop-after", type=positive_int,
                   help="stop at step N and checkpoint (resume later)")
    p.add_argument("--batch-size", type=positive_int, default=128)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--warmup-steps", type=int, default=0)
    p.add_argument("--keep-prob", type=float, default=0.5, help="chance to keep each clause")
    p.add_argument("--min-crop", type=float, default=0.7, help="smallest crop area share")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", help="checkpoint or 'auto' (OUT/checkpoint-last.pt)")
    p.add_argument("--save-interval", type=float, default=600.0,
                   help="checkpoint at an epoch end when this many seconds passed since the "
                        "last save (always at the end and at --stop-after)")
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--quiet", action="store_true")


class CaptionedViews(torch.utils.data.Dataset):
    """(view image, caption tokens) pairs; one sample per readable-or-not view."""

    def __init__(self, locations: Sequence[Any], names: list[dict[str, str]],
                 model_cfg: dict[str, Any], *, seed: int, keep_prob: float,
                 min_crop: float) -> None:
        from open_clip.tokenizer import SimpleTokenizer
        from torchvision import transforms as T

        from backend.model.backbone import OPENAI_MEAN, OPENAI_STD
        from backend.model.registry import image_size

        self.locations, self.names = locations, names
        self.samples = [(i, v) for i, loc in enumerate(locations)
                        for v in range(min(4, len(loc.image_paths)))]
        self.seed, self.keep_prob, self.epoch = seed, keep_prob, 0
        size = image_size(model_cfg)
        self.tokenizer = SimpleTokenizer(context_length=model_cfg["text_cfg"]["context_length"])
        self.augment = T.Compose([  # deliberately no RandomHorizontalFlip
            T.RandomResizedCrop(size, scale=(min_crop, 1.0), ratio=(0.9, 1.1),
                                interpolation=T.InterpolationMode.BICUBIC),
            T.ColorJitter(0.2, 0.2, 0.1), T.ToTensor(), T.Normalize(OPENAI_MEAN, OPENAI_STD)])

    def __len__(self) -> int:
        return len(self.samples)

    def caption(self, j: int) -> str:
        i, v = self.samples[j]
        loc = self.locations[i]
        heading = None if loc.heading is None else (loc.heading + 90.0 * v) % 360.0
        return make_caption(self.names[i], heading=heading, month=loc.month, seed=self.seed,
                            epoch=self.epoch, index=j, keep_prob=self.keep_prob)

    def __getitem__(self, j: int) -> dict[str, Any] | None:
        i, v = self.samples[j]
        path = self.locations[i].image_paths[v]
        try:
            with Image.open(path) as img:
                img = img.convert("RGB")
        except Exception as exc:  # noqa: BLE001  unreadable image: skipped and counted by the collate
            return {"bad": f"{path}\t{type(exc).__name__}"}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(((self.seed * 1_000_003 + self.epoch) * 10_000_019 + j) % 2 ** 62)
            image = self.augment(img)
        return {"image": image, "text": self.tokenizer([self.caption(j)])[0]}


def _collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    good = [it for it in items if "image" in it]
    out: dict[str, Any] = {"bad": [it["bad"] for it in items if "bad" in it], "size": len(good)}
    if good:
        out["image"] = torch.stack([it["image"] for it in good])
        out["text"] = torch.stack([it["text"] for it in good])
    return out


def _all_ranks_can_step(size: int, dist: DistContext, dev: torch.device) -> bool:
    """Whether every rank has images for a contrastive step (ranks must agree, or the
    feature gather would wait forever): 2 in one process, 1 per rank when distributed."""
    if dist.world_size == 1:
        return size >= 2
    import torch.distributed as td

    least = torch.tensor([size], device=dev)
    td.all_reduce(least, op=td.ReduceOp.MIN)
    return int(least.item()) >= 1


def _names(args: argparse.Namespace, data: Any) -> list[dict[str, str]]:
    from backend.model.aux_targets import AuxTargets, cached_aux_targets

    ids = data.ids()
    if args.aux == "none":
        return [{} for _ in ids]
    aux = AuxTargets.load(args.aux) if args.aux != "auto" else cached_aux_targets(
        Path(args.data).parent, ids, np.stack([data.lats(), data.lngs()], axis=1))
    return aux.name_rows(ids)


def main(argv: Sequence[str] | None = None) -> int:
    """Pretrain; see the module docstring. Raises UserError on bad input."""
    p = argparse.ArgumentParser(prog="pigeon pretrain", description=__doc__.split("\n\n")[0])
    add_pretrain_arguments(p)
    run(p.parse_args(argv))
    return 0


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Pretrain with parsed arguments; returns a summary."""
    from open_clip.loss import ClipLoss

    from backend.eval.datasets import DatasetError, load_dataset

    if args.batch_size < 2 or args.epochs < 1 or args.lr <= 0:
        raise UserError("--batch-size must be >= 2 (contrastive), --epochs >= 1, --lr > 0")
    try:
        data = load_dataset(args.data, on_bad_row="skip")
    except DatasetError as exc:
        raise UserError(f"cannot read dataset {args.data}: {exc}") from exc
    out = Path(args.out)
    dist = DistContext.from_env(args.device)
    seed_everything(args.seed)
    model, cfg, name = load_clip_model(args.model, args.weights)
    ds = CaptionedViews(data.locations, _names(args, data), cfg, seed=args.seed,
                        keep_prob=args.keep_prob, min_crop=args.min_crop)
    dev = dist.device
    model.to(dev).train()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = max(1, math.ceil(per_rank_count(len(ds), dist.world_size) /
                                       args.batch_size))
    total = args.max_steps or args.epochs * steps_per_epoch
    sched = cosine_schedule(opt, total, args.warmup_steps)
    step, bad_images = 0, 0
    resume = out / "checkpoint-last.pt" if args.resume == "auto" else args.resume
    if resume and (args.resume != "auto" or Path(resume).is_file()):
        ck = load_checkpoint(resume, kind="pretrain")
        check_resume_args(ck["config"], plain_args(args), RESUME_MUST_MATCH, resume)
        model.load_state_dict(ck["model"]["clip"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        restore_rng(ck["rng"])
        step, bad_images = ck["step"], ck["metrics"].get("bad_images", 0)
    wrapped = dist.wrap(model)
    loss_fn = ClipLoss(local_loss=False, gather_with_grad=True, rank=dist.rank,
                       world_size=dist.world_size)
    extra = {"data": data.describe(), "model": name, "weights": args.weights}

    last_save = [time.monotonic()]

    def save(epoch: int) -> None:
        if not dist.is_main:
            return
        last_save[0] = time.monotonic()
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        save_checkpoint(out / "checkpoint-last.pt", kind="pretrain", config=plain_args(args),
                        model={"clip": state}, optimizer=opt, scheduler=sched, step=step,
                        epoch=epoch, metrics={"bad_images": bad_images}, extra=extra)
        save_clip_checkpoint(model, cfg, out / "clip.pt", config_name=name,
                             source={"pretrained_by": "backend.model.pretrain", "step": step,
                                     "from_weights": args.weights},
                             extra={**extra, "parameters": plain_args(args)})

    if dist.is_main:
        out.mkdir(parents=True, exist_ok=True)
    bar = progress(range(total), total=total, desc="pretrain", unit="step") \
        if dist.is_main and not args.quiet else None
    if bar is not None:
        bar.update(step)
    while step < total:
        epoch, offset = divmod(step, steps_per_epoch)
        ds.epoch = epoch
        order = epoch_order(len(ds), args.seed, epoch, dist.rank, dist.world_size)
        loader = torch.utils.data.DataLoader(
            torch.utils.data.Subset(ds, order[offset * args.batch_size:].tolist()),
            batch_size=args.batch_size, num_workers=args.workers, collate_fn=_collate)
        for batch in loader:
            bad_images += len(batch["bad"])
            if _all_ranks_can_step(batch["size"], dist, dev):
                img_f, txt_f, scale = wrapped(batch["image"].to(dev), batch["text"].to(dev))[:3]
                loss = loss_fn(img_f, txt_f, scale)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                with torch.no_grad():  # as in CLIP: logit scale at most 100
                    model.logit_scale.clamp_(0, math.log(100))
                value = float(loss.detach())
            else:
                value = None  # a batch without two readable images: nothing to contrast
            sched.step()
            step += 1
            if dist.is_main:
                with open(out / "train_log.jsonl", "a", encoding="utf-8") as fh:
                    fh.write(json.dumps({"step": step, "epoch": epoch, "loss": value,
                                         "lr": sched.get_last_lr()[0]}) + "\n")
            if bar is not None:
                bar.update(1)
            if step >= total or step == args.stop_after:
                break
        if step >= total or step == args.stop_after or \
                time.monotonic() - last_save[0] >= args.save_interval:
            save(epoch)
        if step == args.stop_after:
            break
    if bar is not None:
        bar.close()
    dist.close()
    return {"steps": step, "bad_images": bad_images, "out": str(out)}
