"""Train a small vision tower on PIGEON's multi-task loss (the demo's main stage).

Every view is a sample labelled with its place: haversine-smoothed geocell targets (tau
75 km, normalised), the 6 standardised auxiliary regressions, Köppen class and month —
``backend.model.heads.multitask_loss`` with PIGEON's weights (1, 8, 2, 1). From random
weights all layers train; from a pretrained tower (``init_visual``, e.g. the SynthWorld CLIP
base) ``trainable="last_block"`` unfreezes only the last block, as PIGEON does, at
``backbone_lr``. Budgeted in wall-clock minutes with a cosine over the elapsed share,
AdamW, random ±3 px shifts and no horizontal flips (a flip swaps the driving side).

Usage::

    backbone, heads, stats = train_multitask(cfg, views_uint8, latlng, koppen, month, reg,
                                             centroids, minutes=10)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from backend.model.backbone import Backbone, build_vision_tower
from backend.model.heads import HeadsConfig, PigeonHeads, multitask_loss
from backend.model.label_smoothing import smoothed_targets
from backend.model.train_loop import budgeted_batches
from backend.synthworld.contrastive import normalise, random_shift


def train_multitask(model_cfg: dict[str, Any], views: torch.Tensor, latlng: np.ndarray,
                    koppen: np.ndarray, month: np.ndarray, regression: np.ndarray,
                    centroids: np.ndarray, *, minutes: float, batch_size: int = 128,
                    lr: float = 1e-3, weight_decay: float = 0.05, warmup_frac: float = 0.03,
                    shift: int = 3, tau_km: float = 75.0, seed: int = 0,
                    config_name: str = "synthworld-tiny", max_steps: int | None = None,
                    init_visual: dict[str, torch.Tensor] | None = None,
                    trainable: str = "all", backbone_lr: float | None = None,
                    on_step: Callable[[int, float, dict[str, float]], None] | None = None,
                    ) -> tuple[Backbone, PigeonHeads, dict[str, Any]]:
    """Train backbone + heads on single views for a wall-clock budget.

    Args:
        model_cfg: open_clip config of the tower (image size must match the views).
        views: ``[N, V, H, W, 3]`` uint8, V views per place.
        latlng: ``[N, 2]`` degrees; koppen ``[N]`` (-1 unknown); month ``[N]`` 0..11 (-1
            unknown); regression ``[N, 6]`` raw units (NaN unknown).
        centroids: ``[C, 2]`` geocell centroids.
        minutes: time budget; batch_size, lr, weight_decay, warmup_frac, shift, tau_km: the
            optimisation; seed: initialisation and order; max_steps: cap (tests).
        init_visual: start the tower from these weights (e.g. after contrastive pretraining).
        trainable: ``"all"`` or ``"last_block"`` (PIGEON's fine-tuning: the last block and
            ``ln_post``; the other layers stay frozen).
        backbone_lr: learning rate of the tower's trainable weights (default ``lr``).
        on_step: ``on_step(step, elapsed_s, loss_parts)`` after each step.

    Returns:
        ``(backbone, heads, stats)`` in eval mode; stats has steps, images/s, losses.

    Raises:
        ValueError: inputs that do not line up, or an image size the config does not take.
    """
    n, v = views.shape[:2]
    size = int(model_cfg["vision_cfg"]["image_size"])
    if views.ndim != 5 or tuple(views.shape[2:]) != (size, size, 3):
        raise ValueError(f"views must be [N, V, {size}, {size}, 3] uint8, got {tuple(views.shape)}")
    for name, arr, shape in (("latlng", latlng, (n, 2)), ("koppen", koppen, (n,)),
                             ("month", month, (n,)), ("regression", regression, (n, 6))):
        if np.shape(arr) != shape:
            raise ValueError(f"{name} must have shape {shape}, got {np.shape(arr)}")
    if not minutes > 0:
        raise ValueError(f"minutes must be > 0, got {minutes}")
    torch.manual_seed(seed)
    backbone = Backbone(build_vision_tower(model_cfg), model_cfg, config_name=config_name)
    if init_visual is not None:
        backbone.visual.load_state_dict(init_visual)
    heads = PigeonHeads(HeadsConfig(embedding_dim=backbone.embedding_dim,
                                    num_cells=len(centroids)))
    reg = torch.as_tensor(regression, dtype=torch.float32)
    known = np.isfinite(regression)
    mean = torch.tensor([float(regression[known[:, j], j].mean()) if known[:, j].any() else 0.0
                         for j in range(regression.shape[1])])
    std = torch.tensor([float(regression[known[:, j], j].std()) if known[:, j].sum() > 1 else 1.0
                        for j in range(regression.shape[1])])
    heads.set_target_stats(mean, std)
    backbone.set_trainable(trainable)
    backbone.train()
    heads.train()
    tower_lr = lr if backbone_lr is None else float(backbone_lr)
    groups = [{"params": [p for p in backbone.parameters() if p.requires_grad], "lr": tower_lr,
               "base_lr": tower_lr},
              {"params": list(heads.parameters()), "lr": lr, "base_lr": lr}]
    opt = torch.optim.AdamW(groups, lr=lr, weight_decay=weight_decay)
    cents = torch.as_tensor(centroids, dtype=torch.float32)
    ll = torch.as_tensor(latlng, dtype=torch.float32)
    kop = torch.as_tensor(koppen, dtype=torch.long)
    mon = torch.as_tensor(month, dtype=torch.long)
    mean_px, std_px = backbone.preprocess_cfg["mean"], backbone.preprocess_cfg["std"]
    flat = views.reshape(n * v, size, size, 3)
    gen = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    step, seen, history = 0, 0, []
    for idx, lr_factor in budgeted_batches(n * v, batch_size, minutes=minutes, gen=gen,
                                           warmup_frac=warmup_frac, lr_floor=0.01,
                                           max_steps=max_steps):
        for g in opt.param_groups:
            g["lr"] = g["base_lr"] * lr_factor
        place = idx // v
        x = random_shift(normalise(flat[idx], mean_px, std_px), shift, gen)
        out = heads(backbone.embed(x))
        targets = {"geocell": smoothed_targets(ll[place], cents, tau_km),
                   "regression": heads.standardise(reg[place]),
                   "koppen": kop[place], "month": mon[place]}
        loss, parts = multitask_loss(out, targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        seen += len(idx)
        history.append({"total": float(loss.detach()), **parts})
        if on_step is not None:
            on_step(step, time.perf_counter() - t0, history[-1])
    took = time.perf_counter() - t0
    backbone.eval()
    heads.eval()
    backbone.set_trainable("all")  # the returned tower is a plain module again
    k = max(1, min(20, len(history) // 5))
    first = {key: float(np.mean([h.get(key, np.nan) for h in history[:k]])) for key in
             history[0]} if history else {}
    last = {key: float(np.mean([h.get(key, np.nan) for h in history[-k:]])) for key in
            history[-1]} if history else {}
    stats = {"steps": step, "images_seen": seen, "epochs": round(seen / (n * v), 2),
             "seconds": round(took, 1), "images_per_s": round(seen / max(took, 1e-9), 1),
             "loss_first": first, "loss_last": last,
             "params": {"batch_size": batch_size, "lr": lr, "weight_decay": weight_decay,
                        "warmup_frac": warmup_frac, "shift_px": shift, "flips": False,
                        "tau_km": tau_km, "schedule": "cosine over the wall-clock budget",
                        "seed": seed, "minutes": minutes, "samples": "single views",
                        "trainable": trainable, "backbone_lr": tower_lr,
                        "init": "given weights" if init_visual is not None else "random",
                        "loss_weights": "PIGEON (geocell 1, regression 8, koppen 2, month 1)"}}
    return backbone, heads, stats
