"""Images as a training source for ``pigeon train --finetune`` (last vision block unfrozen).

Same interface as ``training_data.EmbeddingSource`` (``targets``, ``batch(idx)``, ``split``)
plus ``embed_all`` (validation). :class:`FinetuneModel` joins backbone and heads into one
module, so that DDP synchronises the unfrozen backbone block as well as the heads.
Views are decoded in the main process, batch by batch; unreadable views are masked out and
locations with none left are dropped from the batch (counted in ``bad_images``).

Usage::

    train, val, desc = image_sources(args, load_aux)     # from train_heads
    model = FinetuneModel(backbone, heads)
    batch = train.batch(idx)
    outputs = model(batch["views"], batch["mask"])     # heads' dict of logits
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch

from backend.cliutil import UserError
from backend.model.backbone import Backbone, make_preprocess
from backend.model.training_data import Targets, split_indices, target_batch
from backend.model.views_dataset import ViewsDataset, collate_views


class ImageSource:
    """Locations with their views, targets and the backbone to embed them."""

    def __init__(self, locations: list[Any], targets: Targets, backbone: Backbone) -> None:
        self.locations, self.targets, self.backbone = locations, targets, backbone
        self.views = ViewsDataset(locations, make_preprocess(backbone.preprocess_cfg),
                                  backbone.image_size)
        self.bad_images = 0

    def __len__(self) -> int:
        return len(self.locations)

    def subset(self, idx: np.ndarray) -> ImageSource:
        return ImageSource([self.locations[i] for i in idx], self.targets.subset(idx),
                           self.backbone)

    def split(self, val_fraction: float, seed: int) -> tuple[ImageSource, ImageSource | None]:
        return split_indices(len(self), val_fraction, seed, self.subset)

    def batch(self, idx: torch.Tensor) -> dict[str, Any]:
        got = collate_views([self.views[int(i)] for i in idx])
        self.bad_images += len(got["bad_images"])
        if not got["size"]:
            raise UserError("a whole batch had no readable image; check the dataset's images")
        kept = got["index"]
        return {"views": got["views"], "mask": got["mask"], **target_batch(self.targets, kept)}

    @staticmethod
    def _autocast(dev: torch.device):
        if dev.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return nullcontext()


    @torch.no_grad()
    def embed_all(self, backbone: Backbone, dev: torch.device, batch_size: int = 64
                  ) -> torch.Tensor:
        """Embeddings of every location (NaN rows where no view could be read)."""
        backbone.eval()
        out = torch.full((len(self), backbone.embedding_dim), float("nan"))
        for s in range(0, len(self), batch_size):
            got = collate_views([self.views[i] for i in range(s, min(len(self), s + batch_size))])
            if got["size"]:
                with self._autocast(dev):
                    e = backbone.embed_views(got["views"].to(dev), got["mask"].to(dev))
                out[got["index"]] = e.float().cpu()
        backbone.train()
        return out


class FinetuneModel(torch.nn.Module):
    """Backbone (bf16 autocast on CUDA) -> panorama mean -> heads, as one module."""

    def __init__(self, backbone: Backbone, heads: torch.nn.Module) -> None:
        super().__init__()
        self.backbone, self.heads = backbone, heads

    def forward(self, views: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        with ImageSource._autocast(views.device):
            emb = self.backbone.embed_views(views, mask)
        return self.heads(emb.float())


def image_sources(args: Any, load_aux: Callable[..., Any]
                  ) -> tuple[ImageSource, ImageSource | None, dict[str, Any]]:
    """Training/validation image sources for ``--finetune`` from ``args.data``."""
    from backend.eval.datasets import DatasetError, load_dataset
    from backend.model.weights import load_backbone

    if not args.data:
        raise UserError("--finetune needs --data CSV (the images to train on)")
    try:
        data = load_dataset(args.data, on_bad_row="skip")
    except DatasetError as exc:
        raise UserError(f"cannot read dataset {args.data}: {exc}") from exc
    backbone = load_backbone(args.backbone, args.weights)
    latlng = np.stack([data.lats(), data.lngs()], axis=1)
    months = np.array([loc.month - 1 if loc.month else -1 for loc in data.locations], np.int64)
    targets = Targets.without_aux(latlng, months)
    aux = load_aux(args, Path(args.data).parent, data.ids(), latlng)
    if aux is not None:
        targets.koppen, targets.regression = aux.aligned(data.ids())
    src = ImageSource(list(data.locations), targets, backbone)
    try:
        train, val = src.split(args.val_fraction, args.seed)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    desc = {"backbone": backbone.describe(), "weights": args.weights, "data": data.describe()}
    return train, val, desc
