"""PIGEON's prediction heads on top of an image embedding, and their multi-task loss.

- geocell: linear classifier over the C geocells, trained with haversine label smoothing
  (targets from ``backend.model.label_smoothing.smoothed_targets``), weight 1;
- regression: 6 auxiliary regressions on standardised targets (:data:`REGRESSION_TARGETS`),
  MSE, weight 8 (unknown values, NaN, are left out);
- koppen: Köppen-Geiger climate class (31 classes, index 0..30), cross-entropy, weight 2;
- month: month of capture (12 classes, index 0..11), cross-entropy, weight 1.
  Unknown classes are given as -1 and ignored.

Usage::

    heads = PigeonHeads(HeadsConfig(embedding_dim=1024, num_cells=2000))
    out = heads(emb)                     # dict(geocell=[B,C], koppen=[B,31], month=[B,12],
                                         #      regression=[B,6])
    loss, parts = multitask_loss(out, targets)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from backend.model.loss_weights import DEFAULT_LOSS_WEIGHTS

REGRESSION_TARGETS = ("elevation", "population_density", "temperature_mean",
                      "temperature_range", "precipitation_mean", "precipitation_range")
"""The 6 auxiliary regression targets, in column order."""
NUM_KOPPEN = 31
NUM_MONTHS = 12


class EmbeddingSizeError(ValueError):
    """Heads were given embeddings of the wrong size (backbone and heads do not match)."""


@dataclass
class HeadsConfig:
    """Shape of the heads; stored inside every heads file and checkpoint."""

    embedding_dim: int
    num_cells: int
    num_koppen: int = NUM_KOPPEN
    num_months: int = NUM_MONTHS
    num_regression: int = len(REGRESSION_TARGETS)
    dropout: float = 0.0
    loss_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_LOSS_WEIGHTS))

    def __post_init__(self) -> None:
        for name in ("embedding_dim", "num_cells", "num_koppen", "num_months"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"HeadsConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HeadsConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})


class PigeonHeads(nn.Module):
    """Linear geocell classifier plus auxiliary heads, all reading the same embedding."""

    def __init__(self, config: HeadsConfig) -> None:
        super().__init__()
        self.config = config
        d = config.embedding_dim
        self.dropout = nn.Dropout(config.dropout)
        self.geocell = nn.Linear(d, config.num_cells)
        self.regression = nn.Linear(d, config.num_regression)
        self.koppen = nn.Linear(d, config.num_koppen)
        self.month = nn.Linear(d, config.num_months)
        # standardisation of the regression targets (set from training data, saved with heads)
        self.register_buffer("reg_mean", torch.zeros(config.num_regression))
        self.register_buffer("reg_std", torch.ones(config.num_regression))

    def forward(self, emb: torch.Tensor) -> dict[str, torch.Tensor]:
        """Logits of every head.

        Args:
            emb: ``[B, D]`` embeddings, ``D = config.embedding_dim``.

        Returns:
            ``dict(geocell=[B,C], koppen=[B,31], month=[B,12], regression=[B,6])``;
            regression outputs are standardised (see :meth:`regression_to_units`).

        Raises:
            EmbeddingSizeError: ``emb`` is not ``[B, D]``.
        """
        if emb.ndim != 2 or emb.shape[1] != self.config.embedding_dim:
            raise EmbeddingSizeError(
                f"these heads take [B, {self.config.embedding_dim}] embeddings, got "
                f"{tuple(emb.shape)}: the embeddings come from a different backbone or "
                "embedding kind than the heads were trained on")
        x = self.dropout(emb.to(self.geocell.weight.dtype))
        return {"geocell": self.geocell(x), "koppen": self.koppen(x), "month": self.month(x),
                "regression": self.regression(x)}

    def set_target_stats(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Store the per-target mean/std used to standardise regression targets."""
        self.reg_mean.copy_(torch.as_tensor(mean, dtype=self.reg_mean.dtype))
        self.reg_std.copy_(torch.as_tensor(std, dtype=self.reg_std.dtype).clamp_min(1e-6))

    def standardise(self, values: torch.Tensor) -> torch.Tensor:
        """Raw regression targets (units) -> standardised."""
        return (values - self.reg_mean) / self.reg_std

    def regression_to_units(self, standardised: torch.Tensor) -> torch.Tensor:
        """Standardised regression outputs -> physical units (m, people/km², °C, mm)."""
        return standardised * self.reg_std + self.reg_mean

    def state(self) -> dict[str, Any]:
        """Everything to rebuild the heads (see :func:`heads_from_state`)."""
        return {"format": "pigeon-heads/1", "config": self.config.to_dict(),
                "regression_targets": list(REGRESSION_TARGETS),
                "state_dict": {k: v.detach().cpu() for k, v in self.state_dict().items()}}


def heads_from_state(state: dict[str, Any], device: str | torch.device = "cpu") -> PigeonHeads:
    """Rebuild :class:`PigeonHeads` from :meth:`PigeonHeads.state`.

    Raises:
        ValueError: not a heads state, or weights that do not fit its config.
    """
    if not isinstance(state, dict) or state.get("format") != "pigeon-heads/1":
        raise ValueError("not a pigeon heads file (format pigeon-heads/1 expected)")
    heads = PigeonHeads(HeadsConfig.from_dict(state["config"]))
    try:
        heads.load_state_dict(state["state_dict"])
    except RuntimeError as exc:
        raise ValueError(f"heads weights do not fit their config: {str(exc)[:300]}") from exc
    return heads.to(device).eval()


def soft_cross_entropy(logits: torch.Tensor, target_probs: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy against a probability vector per row (rows normalised here).

    PIGEON's public code feeds unnormalised smoothed labels to the loss; we normalise.
    """
    probs = target_probs / target_probs.sum(dim=1, keepdim=True).clamp_min(1e-12)
    return -(probs * F.log_softmax(logits.float(), dim=1)).sum(dim=1).mean()


def known_target_counts(targets: dict[str, torch.Tensor]) -> dict[str, int]:
    """How many targets of each loss term are known in a batch (what its mean divides by):
    rows for ``geocell``, known values for ``regression``, known classes for the others."""
    counts = {"geocell": int(targets["geocell"].shape[0])}
    if targets.get("regression") is not None:
        counts["regression"] = int(torch.isfinite(targets["regression"]).sum())
    for name in ("koppen", "month"):
        if targets.get(name) is not None:
            counts[name] = int((targets[name] >= 0).sum())
    return counts


def multitask_loss(outputs: dict[str, torch.Tensor], targets: dict[str, torch.Tensor],
                   weights: dict[str, float] | None = None,
                   scales: dict[str, float] | None = None
                   ) -> tuple[torch.Tensor, dict[str, float]]:
    """PIGEON's weighted multi-task loss.

    Args:
        outputs: :meth:`PigeonHeads.forward` result.
        targets: ``geocell`` ``[B, C]`` smoothed target probabilities (required);
            optional ``regression`` ``[B, 6]`` standardised values (NaN = unknown),
            ``koppen`` ``[B]`` and ``month`` ``[B]`` long class indices (-1 = unknown).
        weights: loss weights by head; PIGEON's (1, 8, 2, 1) by default.
        scales: extra factor per term (default 1): under DDP, ``world * local / global``
            known counts (``DistContext.global_mean_scales``), so that the averaged gradients
            are those of the mean over the whole global batch.

    Returns:
        ``(total_loss, parts)`` where ``parts`` holds each head's unweighted loss as a float.
    """
    w = dict(DEFAULT_LOSS_WEIGHTS, **(weights or {}))
    if scales:
        w = {k: v * scales.get(k, 1.0) for k, v in w.items()}
    geo = soft_cross_entropy(outputs["geocell"], targets["geocell"])
    total = w["geocell"] * geo
    parts = {"geocell": float(geo.detach())}
    reg = targets.get("regression")
    if reg is not None and w["regression"] > 0:
        known = torch.isfinite(reg)
        if bool(known.any()):
            diff = outputs["regression"].float()[known] - reg[known].float()
            loss = (diff ** 2).mean()
            total = total + w["regression"] * loss
            parts["regression"] = float(loss.detach())
    for name in ("koppen", "month"):
        t = targets.get(name)
        if t is not None and w[name] > 0 and bool((t >= 0).any()):
            loss = F.cross_entropy(outputs[name].float(), t.long(), ignore_index=-1)
            total = total + w[name] * loss
            parts[name] = float(loss.detach())
    return total, parts
