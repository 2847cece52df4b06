"""What the heads train on: cached embeddings (fast path) or images (fine-tuning), plus targets.

Both sources give the same thing per batch: an embedding (or views to embed), the true
``latlng``, and the auxiliary targets (``regression`` [B,6] with NaN unknown, ``koppen`` and
``month`` class indices with -1 unknown). The train/validation split is a seeded permutation.

Usage::

    src = EmbeddingSource.from_dir("cache/train-emb", aux=aux)
    train, val = src.split(val_fraction=0.1, seed=0)
    batch = train.batch(torch.tensor([0, 5, 9]))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from backend.model.heads import REGRESSION_TARGETS
from backend.model.sharded_rows import ShardedRows


@dataclass
class Targets:
    """Per-location targets, aligned with the inputs."""

    latlng: np.ndarray       # [N, 2] float64
    month: np.ndarray        # [N] int64, -1 unknown
    koppen: np.ndarray       # [N] int64, -1 unknown
    regression: np.ndarray   # [N, 6] float32, NaN unknown

    @classmethod
    def without_aux(cls, latlng: np.ndarray, month: np.ndarray) -> Targets:
        n = len(latlng)
        return cls(np.asarray(latlng, np.float64), np.asarray(month, np.int64),
                   np.full(n, -1, np.int64),
                   np.full((n, len(REGRESSION_TARGETS)), np.nan, np.float32))

    def subset(self, idx: np.ndarray) -> Targets:
        return Targets(self.latlng[idx], self.month[idx], self.koppen[idx], self.regression[idx])

    def regression_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-column mean and std over known values (0 / 1 where a column is all unknown)."""
        r = self.regression.astype(np.float64)
        known = np.isfinite(r)
        cnt = known.sum(axis=0)
        safe = np.where(known, r, 0.0)
        mean = np.where(cnt > 0, safe.sum(axis=0) / np.maximum(cnt, 1), 0.0)
        var = np.where(known, (r - mean) ** 2, 0.0).sum(axis=0) / np.maximum(cnt - 1, 1)
        std = np.where(cnt > 1, np.sqrt(var), 1.0)
        return mean.astype(np.float32), np.maximum(std, 1e-6).astype(np.float32)


@dataclass
class EmbeddingSource:
    """Cached embeddings with their targets.

    ``embeddings`` is ``[N, D]``: a numpy array or, from ``load_embeddings``, a memory-mapped
    :class:`~backend.model.sharded_rows.ShardedRows`; a batch reads only its own rows, and a
    subset is a view (nothing is copied), so millions of rows never sit in memory at once.
    """

    ids: list[str]
    embeddings: Any
    targets: Targets
    meta: dict[str, Any]

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_embedding_set(cls, emb: Any, aux: Any | None = None) -> EmbeddingSource:
        """From ``backend.model.embed.EmbeddingSet`` and optional ``AuxTargets`` (matched by id)."""
        t = Targets.without_aux(emb.latlng, emb.month)
        if aux is not None:
            t.koppen, t.regression = aux.aligned(emb.ids)
        return cls(list(emb.ids), emb.embeddings, t, dict(emb.meta))

    def subset(self, idx: np.ndarray) -> EmbeddingSource:
        idx = np.asarray(idx, dtype=np.int64)
        e = self.embeddings
        sub = e.take(idx) if isinstance(e, ShardedRows) else ShardedRows([e], idx)
        return EmbeddingSource([self.ids[i] for i in idx], sub, self.targets.subset(idx),
                               self.meta)

    def split(self, val_fraction: float, seed: int) -> tuple[EmbeddingSource,
                                                              EmbeddingSource | None]:
        return split_indices(len(self), val_fraction, seed, self.subset)

    def batch(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        rows = np.asarray(self.embeddings[idx.numpy()], dtype=np.float32)
        return {"embedding": torch.from_numpy(rows), **target_batch(self.targets, idx)}


def target_batch(t: Targets, idx: torch.Tensor) -> dict[str, torch.Tensor]:
    """The targets of rows ``idx`` as tensors."""
    i = idx.numpy()
    return {"latlng": torch.from_numpy(t.latlng[i]), "month": torch.from_numpy(t.month[i]),
            "koppen": torch.from_numpy(t.koppen[i]),
            "regression": torch.from_numpy(t.regression[i])}


def split_indices(n: int, val_fraction: float, seed: int, take: Any) -> tuple[Any, Any]:
    """Seeded split of ``range(n)`` into ``(take(train_idx), take(val_idx) or None)``."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val fraction must be in [0, 1), got {val_fraction}")
    perm = np.random.default_rng(seed).permutation(n)
    n_val = round(n * val_fraction)
    if n_val and n - n_val < 1:
        raise ValueError(f"{n} locations are too few for a validation split of {val_fraction}")
    val = take(np.sort(perm[:n_val])) if n_val else None
    return take(np.sort(perm[n_val:])), val
