"""A torch ``Dataset`` of locations with 1-4 views each, tolerant of unreadable images.

Reads the locations of ``backend.eval.datasets.load_dataset`` (generic CSV layout:
``id,lat,lng,image_1..image_4,heading,month``). Each item is padded to ``max_views`` views
with a mask; an image that cannot be decoded is masked out and reported (never a crash); a
location with no readable view is reported and left out by :func:`collate_views`.

Usage::

    ds = ViewsDataset(load_dataset("data.csv").locations, make_preprocess(bb.preprocess_cfg))
    loader = DataLoader(ds, batch_size=64, num_workers=4, collate_fn=collate_views)
    for batch in loader:
        emb = bb.embed_views(batch["views"], batch["mask"])
        batch["bad_images"]     # [(path, reason), ...] skipped in this batch
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

MAX_VIEWS = 4


def _month_index(month: int | None) -> int:
    return int(month) - 1 if month is not None else -1


def _heading(heading: float | None) -> float:
    return float(heading) if heading is not None else math.nan


class LocationTable:
    """Locations as flat numpy arrays (fixed-width bytes for ids and paths, no Python object
    per row). DataLoader workers are forked: reading a list of millions of ``Location`` objects
    there touches every object's reference count and so copies the pages holding them into
    every worker (gigabytes at OSV-5M's size); these arrays stay shared.

    ``table[i]`` gives a ``backend.eval.datasets.Location`` back.
    """

    def __init__(self, locations: Sequence[Any]) -> None:
        self.ids = np.array([str(loc.id) for loc in locations], dtype=np.bytes_)
        self.latlng = np.array([(loc.lat, loc.lng) for loc in locations],
                               dtype=np.float64).reshape(-1, 2)
        self.heading = np.array([_heading(loc.heading) for loc in locations], dtype=np.float64)
        self.month = np.array([0 if loc.month is None else int(loc.month)
                               for loc in locations], dtype=np.int8)
        self.paths = np.array(["\n".join(str(p) for p in loc.image_paths)
                               for loc in locations], dtype=np.bytes_)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> Any:
        from backend.eval.datasets import Location

        heading = float(self.heading[i])
        paths = self.paths[i].decode()
        return Location(self.ids[i].decode(), float(self.latlng[i, 0]), float(self.latlng[i, 1]),
                        [Path(p) for p in paths.split("\n")] if paths else [],
                        None if math.isnan(heading) else heading,
                        int(self.month[i]) or None)


class ViewsDataset(torch.utils.data.Dataset):
    """Locations -> dicts of padded views, mask, coordinates, month and bad-image reports.

    Args:
        locations: ``backend.eval.datasets.Location`` objects (anything with ``id``, ``lat``,
            ``lng``, ``image_paths``, ``heading``, ``month``).
        preprocess: PIL image -> ``[3, H, W]`` tensor (e.g. ``make_preprocess(cfg)``).
        image_size: side length the preprocess yields (for the padding tensor).
        max_views: views kept per location (extra ones are ignored).
        indices: which locations this dataset serves (default: all), e.g. one shard.
    """

    def __init__(self, locations: Sequence[Any], preprocess: Callable[[Image.Image], torch.Tensor],
                 image_size: int, *, max_views: int = MAX_VIEWS,
                 indices: Sequence[int] | None = None) -> None:
        self.locations = locations
        self.preprocess = preprocess
        self.image_size = image_size
        self.max_views = max_views
        self.indices = list(range(len(locations))) if indices is None else list(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> dict[str, Any]:
        idx = self.indices[i]
        loc = self.locations[idx]
        views = torch.zeros(self.max_views, 3, self.image_size, self.image_size)
        mask = torch.zeros(self.max_views, dtype=torch.bool)
        bad: list[tuple[str, str]] = []
        for v, path in enumerate(list(loc.image_paths)[: self.max_views]):
            try:
                with Image.open(path) as img:
                    img.load()
                    views[v] = self.preprocess(img)
                mask[v] = True
            except Exception as exc:  # noqa: BLE001  PIL raises many kinds on broken files: skip and report
                bad.append((str(path), f"{type(exc).__name__}: {str(exc)[:80]}"))
        return {"index": idx, "id": str(loc.id), "lat": float(loc.lat), "lng": float(loc.lng),
                "heading": _heading(loc.heading), "month": _month_index(loc.month),
                "views": views, "mask": mask, "bad_images": bad}


def collate_views(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack items; locations without any readable view go to ``dropped`` instead."""
    bad = [b for it in items for b in it["bad_images"]]
    keep = [it for it in items if bool(it["mask"].any())]
    dropped = [it["id"] for it in items if not bool(it["mask"].any())]
    out: dict[str, Any] = {"bad_images": bad, "dropped": dropped, "size": len(keep)}
    if not keep:
        return out
    out["index"] = torch.tensor([it["index"] for it in keep], dtype=torch.long)
    out["id"] = [it["id"] for it in keep]
    out["latlng"] = torch.tensor([[it["lat"], it["lng"]] for it in keep], dtype=torch.float64)
    out["heading"] = torch.tensor([it["heading"] for it in keep], dtype=torch.float32)
    out["month"] = torch.tensor([it["month"] for it in keep], dtype=torch.long)
    out["views"] = torch.stack([it["views"] for it in keep])
    out["mask"] = torch.stack([it["mask"] for it in keep])
    return out
