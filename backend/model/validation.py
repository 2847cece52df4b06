"""Validation in kilometres: argmax geocell centroid vs the true location (every epoch).

Usage::

    m = geo_validation(heads, emb_val, latlng_val, centroids)
    m["median_km"], m["mean_km"], m["within_km"]["25"], m["geocell_top1"], m["score_mean"]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from backend.core.geodesy import haversine_km
from backend.core.scoring import geoguessr_score

THRESHOLDS_KM = (1, 25, 200, 750, 2500)


@torch.no_grad()
def predict_cells(heads: torch.nn.Module, embeddings: Any, *,
                  batch_size: int = 4096) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-1 and top-5 geocell indices per embedding (heads in eval mode), read in blocks.

    Args:
        embeddings: ``[N, D]`` tensor, array or memory-mapped ``ShardedRows``.

    Returns:
        ``(top1 [N], top5 [N, k], finite [N])``; rows with NaN (no readable view) get
        cell -1 and ``finite`` False.
    """
    was_training = heads.training
    heads.eval()
    top1, top5, finite = [], [], []
    dev = next(heads.parameters()).device
    for i in range(0, len(embeddings), batch_size):
        block = embeddings[i:i + batch_size]
        x = block if isinstance(block, torch.Tensor) else torch.from_numpy(
            np.array(block, dtype=np.float32))  # a copy: memory maps are read-only
        ok = torch.isfinite(x).all(dim=1)
        logits = heads(torch.nan_to_num(x).to(dev))["geocell"]
        k = min(5, logits.shape[1])
        top = logits.topk(k, dim=1).indices.cpu()
        top[~ok] = -1
        top1.append(top[:, 0].numpy())
        top5.append(top.numpy())
        finite.append(ok.numpy())
    heads.train(was_training)
    return np.concatenate(top1), np.concatenate(top5), np.concatenate(finite)


def geo_validation(heads: torch.nn.Module, embeddings: Any, latlng: np.ndarray,
                   centroids: np.ndarray, true_cells: np.ndarray | None = None
                   ) -> dict[str, Any]:
    """Distance metrics of the argmax-cell guess.

    Args:
        heads: the heads (any module returning ``{"geocell": logits}``).
        embeddings: ``[N, D]`` validation embeddings (tensor, array or ``ShardedRows``);
            rows with NaN (no readable view) are left out.
        latlng: ``[N, 2]`` true locations.
        centroids: ``[C, 2]`` geocell centroids.
        true_cells: ``[N]`` true cell indices (for top-1/top-5 accuracy), optional.

    Returns:
        ``n, mean_km, median_km, within_km{1,25,200,750,2500} (shares), score_mean`` and,
        with ``true_cells``, ``geocell_top1``/``geocell_top5``.
    """
    top1, top5, ok = predict_cells(heads, embeddings)
    top1, top5, latlng = top1[ok], top5[ok], np.asarray(latlng)[ok]
    guess = np.asarray(centroids)[top1]
    d = haversine_km(guess[:, 0], guess[:, 1], latlng[:, 0], latlng[:, 1])
    out: dict[str, Any] = {
        "n": len(d), "mean_km": float(np.mean(d)), "median_km": float(np.median(d)),
        "within_km": {str(t): float(np.mean(d <= t)) for t in THRESHOLDS_KM},
        "score_mean": float(np.mean(geoguessr_score(d))),
    }
    if true_cells is not None:
        tc = np.asarray(true_cells)[ok]
        out["geocell_top1"] = float(np.mean(top1 == tc))
        out["geocell_top5"] = float(np.mean((top5 == tc[:, None]).any(axis=1)))
    return out
