"""Contrastive (CLIP) pretraining of a small open_clip model on SynthWorld views and captions.

PIGEON's first stage: image and text towers learn together that a view matches its caption
(town, region, country, climate, driving side, direction, month; see ``captions``). Here
the model starts from scratch (no weights can be downloaded), so this stage is where the
vision tower learns everything. Training is budgeted in wall-clock minutes: the learning
rate follows a cosine over the elapsed share of the budget, so a busy machine trains fewer
steps but always finishes on time. Augmentation: random ±``shift`` px translations; never
horizontal flips (a flip swaps the driving side).

Usage::

    model, stats = pretrain_clip(cfg, images_uint8, captions, minutes=8, seed=0)
    acc = zero_shot_accuracy(model, cfg, val_images_uint8, val_countries,
                             {c: [ZERO_SHOT_TEMPLATE.format(c)] for c in countries})
    save_clip_checkpoint(model, cfg, "clip.pt", config_name="synthworld-tiny",
                         source={"trained_by": "backend.synthworld.contrastive"}, extra=stats)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from backend.model.backbone import OPENAI_MEAN, OPENAI_STD, build_clip
from backend.model.train_loop import budgeted_batches


def tokenize(captions: Sequence[str], context_length: int) -> torch.Tensor:
    """open_clip's BPE tokenizer (ships with the package, no download), truncated to fit."""
    import open_clip

    tok = open_clip.tokenizer.SimpleTokenizer(context_length=context_length)
    return tok(list(captions), context_length=context_length)


def normalise(batch_uint8: torch.Tensor, mean: Sequence[float] = OPENAI_MEAN,
              std: Sequence[float] = OPENAI_STD) -> torch.Tensor:
    """``[B, H, W, 3]`` uint8 → ``[B, 3, H, W]`` float, normalised as the Backbone's preprocess."""
    x = batch_uint8.permute(0, 3, 1, 2).float().div_(255.0)
    m = torch.tensor(mean).view(1, 3, 1, 1)
    s = torch.tensor(std).view(1, 3, 1, 1)
    return (x - m) / s


def random_shift(x: torch.Tensor, shift: int, gen: torch.Generator) -> torch.Tensor:
    """Translate each image by up to ``shift`` px in x and y (edge pixels repeat)."""
    if shift <= 0:
        return x
    b, _, h, w = x.shape
    pad = F.pad(x, (shift, shift, shift, shift), mode="replicate")
    dx = torch.randint(0, 2 * shift + 1, (b,), generator=gen)
    dy = torch.randint(0, 2 * shift + 1, (b,), generator=gen)
    return torch.stack([pad[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(b)])


def caption_loss(img_f: torch.Tensor, txt_f: torch.Tensor, tokens: torch.Tensor,
                 logit_scale: torch.Tensor) -> torch.Tensor:
    """CLIP's symmetric cross-entropy over a batch of normalised image and text features.

    Captions repeat (the four views of a place share most of theirs, and places near one
    town share all of it): identical token rows in a batch are all positives, so each row's
    target spreads evenly over them.
    """
    logits = logit_scale.exp() * img_f @ txt_f.t()
    same = (tokens[:, None, :] == tokens[None, :, :]).all(-1).float()
    target = same / same.sum(1, keepdim=True)
    return 0.5 * (torch.sum(-target * F.log_softmax(logits, 1), 1).mean() +
                  torch.sum(-target * F.log_softmax(logits.t(), 1), 1).mean())


def caption_step(model: torch.nn.Module, opt: torch.optim.Optimizer, img_f: torch.Tensor,
                 txt_f: torch.Tensor, tokens: torch.Tensor) -> float:
    """One optimiser step on :func:`caption_loss`, with CLIP's cap on the logit scale (at
    most 100); returns the loss."""
    loss = caption_loss(img_f, txt_f, tokens, model.logit_scale)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    with torch.no_grad():
        model.logit_scale.clamp_(0, math.log(100))
    return float(loss.detach())


def pretrain_clip(model_cfg: dict[str, Any], images: torch.Tensor, captions: Sequence[str], *,
                  minutes: float, batch_size: int = 128, lr: float = 1e-3,
                  weight_decay: float = 0.05, warmup_frac: float = 0.03, shift: int = 3,
                  seed: int = 0, max_steps: int | None = None, views_per_caption: int = 1,
                  on_step: Callable[[int, float, float], None] | None = None,
                  ) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Train a CLIP from scratch on (view, caption) pairs for a wall-clock budget.

    Args:
        model_cfg: open_clip config (image size must match ``images``).
        images: ``[N, H, W, 3]`` uint8 views.
        captions: ``N`` captions, one per view.
        minutes: time budget (the cosine schedule runs over it).
        batch_size: (image, caption) pairs a step.
        views_per_caption: 1 pairs each view with its caption. ``k > 1`` reads ``images`` as
            places of ``k`` consecutive views (a panorama): the image side of a pair is the
            normalised mean of the place's ``k`` view embeddings (PIGEON's four-view idea), the
            text side one of its views' captions drawn at random; ``N`` must divide by ``k``.
        lr, weight_decay, warmup_frac, shift: optimisation settings.
        seed: initialisation and batch order.
        max_steps: stop after this many steps even with time left (tests).
        on_step: called as ``on_step(step, elapsed_s, loss)`` after every step.

    Returns:
        ``(model, stats)``: the trained CLIP (eval mode) and what happened (steps, images
        seen, images/s, first and last losses, parameters).

    Raises:
        ValueError: mismatched inputs, a batch larger than the data, or a wrong image size.
    """
    n = len(images)
    if n != len(captions):
        raise ValueError(f"need one caption per image: {n} images, {len(captions)} captions")
    k = int(views_per_caption)
    if k < 1 or n % k:
        raise ValueError(f"views_per_caption must be >= 1 and divide the {n} images, got {k}")
    size = int(model_cfg["vision_cfg"]["image_size"])
    if images.ndim != 4 or tuple(images.shape[1:]) != (size, size, 3):
        raise ValueError(f"images must be [N, {size}, {size}, 3] uint8, got {tuple(images.shape)}")
    if not 2 <= batch_size <= n // k:
        raise ValueError(f"batch size must be 2..{n // k} (the number of image-caption pairs), "
                         f"got {batch_size}")
    if not minutes > 0:
        raise ValueError(f"minutes must be > 0, got {minutes}")
    torch.manual_seed(seed)
    model = build_clip(model_cfg)
    model.train()
    ctx = int(model_cfg["text_cfg"].get("context_length", 77))
    tokens = tokenize(captions, ctx)
    decay = [p for name, p in model.named_parameters() if p.ndim >= 2 and "logit" not in name]
    other = [p for name, p in model.named_parameters() if not (p.ndim >= 2 and "logit" not in name)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                             {"params": other, "weight_decay": 0.0}], lr=lr)
    gen = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    step, seen, losses = 0, 0, []
    for idx, lr_factor in budgeted_batches(n // k, batch_size, minutes=minutes, gen=gen,
                                           warmup_frac=warmup_frac, lr_floor=0.02,
                                           max_steps=max_steps):
        for g in opt.param_groups:
            g["lr"] = lr * lr_factor
        views = (idx[:, None] * k + torch.arange(k)).reshape(-1)
        x = random_shift(normalise(images[views]), shift, gen)
        cap = idx if k == 1 else idx * k + torch.randint(0, k, (len(idx),), generator=gen)
        img_f = F.normalize(model.encode_image(x, normalize=True).reshape(len(idx), k, -1)
                            .mean(1), dim=-1)
        txt_f = model.encode_text(tokens[cap], normalize=True)
        losses.append(caption_step(model, opt, img_f, txt_f, tokens[cap]))
        step += 1
        seen += len(views)
        if on_step is not None:
            on_step(step, time.perf_counter() - t0, losses[-1])
    took = time.perf_counter() - t0
    model.eval()
    tail = max(1, min(20, len(losses) // 5 or 1))
    stats = {"steps": step, "images_seen": seen, "epochs": round(seen / n, 2),
             "seconds": round(took, 1), "images_per_s": round(seen / max(took, 1e-9), 1),
             "loss_first": float(np.mean(losses[:tail])) if losses else None,
             "loss_last": float(np.mean(losses[-tail:])) if losses else None,
             "params": {"batch_size": batch_size, "lr": lr, "weight_decay": weight_decay,
                        "warmup_frac": warmup_frac, "shift_px": shift, "flips": False,
                        "schedule": "cosine over the wall-clock budget", "seed": seed,
                        "minutes": minutes, "views_per_caption": k}}
    return model, stats


ZERO_SHOT_TEMPLATE = "A Street View photo in {}."


def zero_shot_accuracy(model: torch.nn.Module, model_cfg: dict[str, Any], images: torch.Tensor,
                       labels: Sequence[str], prompts: dict[str, Sequence[str]], *,
                       batch_size: int = 256) -> float:
    """Top-1 zero-shot accuracy: each image goes to the class whose prompts it matches best.

    The CLIP way of asking what the two towers learnt together, with no head trained on top
    (StreetCLIP reports its country accuracy this way). A class is the normalised mean of its
    prompts' text embeddings (CLIP's prompt ensembling); ``labels`` are the true class names
    of ``images`` (``[N, H, W, 3]`` uint8), and a label with no prompts counts as a miss.

    Raises:
        ValueError: no classes, a class without prompts, or labels that do not line up.
    """
    if not prompts or any(len(v) == 0 for v in prompts.values()):
        raise ValueError("zero-shot needs at least one class, each with at least one prompt")
    if len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    if len(images) == 0:
        return float("nan")
    ctx = int(model_cfg["text_cfg"].get("context_length", 77))
    classes = list(prompts)
    index = {name: i for i, name in enumerate(classes)}
    was_training = model.training
    model.eval()
    with torch.no_grad():
        text = torch.stack([F.normalize(F.normalize(model.encode_text(tokenize(
            list(prompts[c]), ctx)), dim=-1).mean(0), dim=0) for c in classes])
        hits = 0
        for i in range(0, len(images), batch_size):
            img = F.normalize(model.encode_image(normalise(images[i:i + batch_size])), dim=-1)
            pred = (img @ text.t()).argmax(1).tolist()
            hits += sum(int(p == index.get(lab, -1))
                        for p, lab in zip(pred, labels[i:i + batch_size], strict=True))
    model.train(was_training)
    return hits / len(images)
