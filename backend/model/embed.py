"""Embed a dataset once, into resumable shards on disk (the fast path for training heads).

``embed_dataset`` reads a dataset CSV (``backend.eval.datasets``), runs the backbone over each
location's 1-4 views (panorama embedding = mean of the views), and writes
``shard-00000.npz, ...`` plus ``embeddings.json`` (format ``pigeon-embeddings/1``: backbone
config and weights, the weights' sha256 (``weights_sha256``, checked by ``pigeon index
build``), the precision they were computed in (``precision``: ``fp32`` or ``bf16``),
embedding kind, dataset, parameters, created). Shards already on disk are
kept, so a killed job resumes where it stopped. Under ``torchrun`` each rank embeds the
shards ``k`` with ``k % world_size == rank`` (no communication needed). Unreadable images are
counted and skipped; each shard lists them.

Usage::

    from backend.model.embed import embed_dataset, load_embeddings
    summary = embed_dataset(backbone, "data/train.csv", "cache/train-emb", batch_size=64)
    emb = load_embeddings("cache/train-emb")      # EmbeddingSet: ids, latlng, embeddings, ...
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import zipfile
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from backend.cliutil import UserError, progress
from backend.model.backbone import Backbone, make_preprocess, weights_sha256
from backend.model.sharded_rows import ShardedRows, npz_member_memmap
from backend.model.views_dataset import LocationTable, ViewsDataset, collate_views

EMBEDDINGS_FORMAT = "pigeon-embeddings/1"
META_FILE = "embeddings.json"


@dataclass
class EmbeddingSet:
    """Embeddings of a dataset, in dataset order (locations with no readable view left out)."""

    ids: list[str]
    latlng: np.ndarray       # [N, 2] float64
    embeddings: Any          # [N, D] float32: an array, or ShardedRows (memory-mapped)
    month: np.ndarray        # [N] int64, 0..11 or -1 unknown
    heading: np.ndarray      # [N] float32, NaN unknown
    n_views: np.ndarray      # [N] int64
    meta: dict[str, Any]

    def __len__(self) -> int:
        return len(self.ids)


def dist_env() -> tuple[int, int]:
    """``(rank, world_size)`` from torchrun's environment (``(0, 1)`` outside torchrun)."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def _fingerprint(locations: list[Any], backbone_desc: dict[str, Any], weights: Any) -> str:
    h = hashlib.sha256()
    for loc in locations:
        h.update(f"{loc.id}|{loc.lat:.7f}|{loc.lng:.7f}|{len(loc.image_paths)};".encode())
    h.update(json.dumps([backbone_desc, weights], sort_keys=True, default=str).encode())
    return h.hexdigest()[:16]


def effective_precision(device: torch.device, amp: str) -> str:
    """``"bf16"`` when ``amp`` means bf16 autocast on this device, else ``"fp32"``."""
    if amp == "auto":
        amp = "bf16" if device.type == "cuda" else "off"
    if amp not in ("bf16", "off"):
        raise UserError(f"--amp must be auto, bf16 or off, got {amp!r}")
    return "bf16" if amp == "bf16" else "fp32"


def _autocast(device: torch.device, amp: str):
    if effective_precision(device, amp) == "fp32":
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def _write_shard(path: Path, rows: dict[str, list], bad: list, dropped: list) -> None:
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, index=np.asarray(rows["index"], np.int64), ids=np.asarray(rows["id"], str),
             latlng=np.asarray(rows["latlng"], np.float64).reshape(-1, 2),
             embeddings=np.concatenate(rows["emb"]).astype(np.float32) if rows["emb"]
             else np.zeros((0, 0), np.float32),
             month=np.asarray(rows["month"], np.int64),
             heading=np.asarray(rows["heading"], np.float32),
             n_views=np.asarray(rows["n_views"], np.int64),
             bad_images=np.asarray([f"{p}\t{r}" for p, r in bad], str),
             dropped=np.asarray(dropped, str))
    os.replace(tmp, path)


def embed_dataset(backbone: Backbone, data: str | Path | Any, out_dir: str | Path, *,
                  batch_size: int = 64, num_workers: int = 0, shard_size: int = 4096,
                  device: str = "cpu", amp: str = "auto", weights: Any = None,
                  rank: int | None = None, world_size: int | None = None,
                  show_progress: bool = True) -> dict[str, Any]:
    """Embed every location of a dataset into shards under ``out_dir`` (resumable).

    Args:
        backbone: the :class:`Backbone` to run (moved to ``device``, eval mode).
        data: a dataset CSV path or a loaded ``backend.eval.datasets.Dataset``.
        out_dir: output folder (created); existing complete shards are kept.
        batch_size: locations per forward pass.
        num_workers: DataLoader worker processes (image decoding + preprocessing).
        shard_size: locations per shard file.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        amp: ``"auto"`` (bf16 autocast on CUDA, off on CPU), ``"bf16"`` or ``"off"``.
        weights: where the backbone's weights came from (an open_clip tag or a file path;
            stored in the metadata so a bundle can rebuild the backbone). When None, the
            backbone is saved as ``out_dir/backbone.pt`` and that file is recorded.
        rank, world_size: this process's share (default: torchrun's environment).

    Returns:
        Summary dict: locations, shards written/kept by this rank, bad images, dropped ids.

    Raises:
        UserError: bad parameters, unreadable dataset, or an ``out_dir`` that holds
            embeddings of another dataset or model.
    """
    from backend.eval.datasets import DatasetError, load_dataset

    if batch_size < 1 or shard_size < 1 or num_workers < 0:
        raise UserError("batch size and shard size must be >= 1 and workers >= 0")
    if amp not in ("auto", "bf16", "off"):
        raise UserError(f"--amp must be auto, bf16 or off, got {amp!r}")
    env_rank, env_world = dist_env()
    rank = env_rank if rank is None else rank
    world_size = env_world if world_size is None else world_size
    if isinstance(data, (str, Path)):
        try:
            data = load_dataset(data, on_bad_row="skip")
        except DatasetError as exc:
            raise UserError(f"cannot read dataset {data}: {exc}") from exc
    locations = list(data.locations)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    desc = backbone.describe()
    given_weights = weights
    if weights is None:  # weights from nowhere (random init, in-memory training): keep them
        weights = str((out / "backbone.pt").resolve())
        if rank == 0 and not (out / "backbone.pt").is_file():
            torch.save(backbone.state(), out / "backbone.pt")
    fp = _fingerprint(locations, desc, given_weights)
    n_shards = max(1, -(-len(locations) // shard_size))
    meta = {"format": EMBEDDINGS_FORMAT, "fingerprint": fp, "backbone": desc,
            "weights": weights, "weights_sha256": weights_sha256(backbone.visual),
            "precision": effective_precision(torch.device(device), amp),
            "dataset": data.describe(),
            "dataset_bad_rows": [str(b) for b in getattr(data, "bad_rows", [])][:100],
            "parameters": {"shard_size": shard_size, "batch_size": batch_size, "amp": amp,
                           "world_size": world_size, "panorama": "mean of view embeddings"},
            "num_locations": len(locations), "num_shards": n_shards,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
    meta_path = out / META_FILE
    if meta_path.is_file():
        old = json.loads(meta_path.read_text(encoding="utf-8"))
        if old.get("fingerprint") != fp or old["parameters"]["shard_size"] != shard_size:
            raise UserError(f"{out} holds embeddings of another dataset, model or shard size; "
                            "use another --out (or delete it to start over)")
    elif rank == 0:
        tmp = out / (META_FILE + ".tmp")
        tmp.write_text(json.dumps(meta, indent=2), encoding="utf-8")
        os.replace(tmp, meta_path)
    table = LocationTable(locations)  # shared by forked DataLoader workers, not copied
    n_locations, n_bad_rows = len(locations), len(getattr(data, "bad_rows", []))
    del locations, data  # the Location objects are not needed any more (millions of rows)
    dev = torch.device(device)
    backbone = backbone.to(dev).eval()
    preprocess = make_preprocess(backbone.preprocess_cfg)
    mine = [k for k in range(n_shards) if k % world_size == rank]
    todo = [k for k in mine if not (out / f"shard-{k:05d}.npz").is_file()]
    summary = {"locations": n_locations, "shards_total": n_shards, "shards_kept": len(mine)
               - len(todo), "shards_written": 0, "bad_images": 0, "dropped": 0, "rank": rank,
               "bad_rows": n_bad_rows}
    total = sum(min(shard_size, n_locations - k * shard_size) for k in todo)
    bar = progress(range(total), total=total, desc=f"embed r{rank}", unit="loc") \
        if show_progress else None
    for k in todo:
        idx = range(k * shard_size, min(n_locations, (k + 1) * shard_size))
        ds = ViewsDataset(table, preprocess, backbone.image_size, indices=idx)
        loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, num_workers=num_workers,
                                             collate_fn=collate_views,
                                             pin_memory=dev.type == "cuda")
        rows: dict[str, list] = {k2: [] for k2 in ("index", "id", "latlng", "emb", "month",
                                                   "heading", "n_views")}
        bad: list = []
        dropped: list = []
        for batch in loader:
            bad += batch["bad_images"]
            dropped += batch["dropped"]
            if batch["size"]:
                with torch.no_grad(), _autocast(dev, amp):
                    emb = backbone.embed_views(batch["views"].to(dev, non_blocking=True),
                                               batch["mask"].to(dev))
                rows["emb"].append(emb.float().cpu().numpy())
                rows["index"] += batch["index"].tolist()
                rows["id"] += batch["id"]
                rows["latlng"] += batch["latlng"].tolist()
                rows["month"] += batch["month"].tolist()
                rows["heading"] += batch["heading"].tolist()
                rows["n_views"] += batch["mask"].sum(1).tolist()
            if bar is not None:   # update(): an iterator left unfinished stops short
                bar.update(batch["size"] + len(batch["dropped"]))
        _write_shard(out / f"shard-{k:05d}.npz", rows, bad, dropped)
        summary["shards_written"] += 1
        summary["bad_images"] += len(bad)
        summary["dropped"] += len(dropped)
    if bar is not None:
        bar.close()
    return summary


def save_embedding_set(emb: EmbeddingSet, out_dir: str | Path, *,
                       shard_size: int = 65536) -> Path:
    """Write embeddings computed elsewhere (e.g. SynthWorld, tests) in the same shard format.

    ``emb.meta`` should describe the backbone (``"backbone": Backbone.describe()``) and data.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    n = len(emb)
    n_shards = max(1, -(-n // shard_size))
    meta = {**emb.meta, "format": EMBEDDINGS_FORMAT, "num_locations": n, "num_shards": n_shards,
            "parameters": {**emb.meta.get("parameters", {}), "shard_size": shard_size},
            "fingerprint": emb.meta.get("fingerprint", "external")}
    meta.setdefault("created", _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    for k in range(n_shards):
        sl = slice(k * shard_size, min(n, (k + 1) * shard_size))
        rows = {"index": list(range(sl.start, sl.stop)), "id": list(emb.ids[sl]),
                "latlng": emb.latlng[sl].tolist(), "emb": [emb.embeddings[sl]],
                "month": emb.month[sl].tolist(), "heading": emb.heading[sl].tolist(),
                "n_views": emb.n_views[sl].tolist()}
        _write_shard(out / f"shard-{k:05d}.npz", rows, [], [])
    (out / META_FILE).write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    return out


def load_embeddings(path: str | Path) -> EmbeddingSet:
    """Read the shards of :func:`embed_dataset` back, in dataset order, without loading the
    embeddings: ``EmbeddingSet.embeddings`` is a :class:`~backend.model.sharded_rows.ShardedRows`
    over read-only memory maps of the shards (ids, coordinates and the other per-row columns
    are read into memory: a few hundred bytes a row).

    Raises:
        UserError: not an embeddings folder, or shards still missing (embedding unfinished),
            or a shard that cannot be read.
    """
    root = Path(path)
    meta_path = root / META_FILE
    if not meta_path.is_file():
        raise UserError(f"{root} has no {META_FILE}; make embeddings with `pigeon embed`")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta.get("format") != EMBEDDINGS_FORMAT:
        raise UserError(f"{meta_path} is format {meta.get('format')!r}, not {EMBEDDINGS_FORMAT}")
    shards = [root / f"shard-{k:05d}.npz" for k in range(meta["num_shards"])]
    missing = [p.name for p in shards if not p.is_file()]
    if missing:
        raise UserError(f"{root} is incomplete ({len(missing)} of {len(shards)} shards missing, "
                        f"e.g. {missing[0]}); run the same `pigeon embed` again to finish it")
    small = ("index", "ids", "latlng", "month", "heading", "n_views")
    cols: dict[str, list[np.ndarray]] = {k: [] for k in small}
    blocks, bad, dropped = [], [], []
    for p in shards:
        try:
            with np.load(p, allow_pickle=False) as z:
                part = {k: z[k] for k in (*small, "bad_images", "dropped")}
            emb = npz_member_memmap(p, "embeddings") if len(part["index"]) else None
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            raise UserError(f"{p} cannot be read ({exc}); delete it and run the same "
                            "`pigeon embed` again to redo it") from None
        bad += [str(x) for x in part["bad_images"]]
        dropped += [str(x) for x in part["dropped"]]
        if emb is None:
            continue
        if emb.shape[0] != len(part["index"]):
            raise UserError(f"{p} holds {emb.shape[0]} embeddings for {len(part['index'])} "
                            "rows; delete it and run the same `pigeon embed` again")
        blocks.append(emb)
        for k in small:
            cols[k].append(part[k])
    meta["bad_images"], meta["dropped"] = bad, dropped
    if not blocks:
        raise UserError(f"{root} holds no embeddings (every image was unreadable?)")
    cat = {k: np.concatenate(v) for k, v in cols.items()}
    order = np.argsort(cat["index"], kind="stable")
    in_order = bool((order == np.arange(len(order))).all())
    rows = ShardedRows(blocks, None if in_order else order)
    return EmbeddingSet(ids=[str(s) for s in cat["ids"][order]], latlng=cat["latlng"][order],
                        embeddings=rows, month=cat["month"][order],
                        heading=cat["heading"][order], n_views=cat["n_views"][order], meta=meta)
