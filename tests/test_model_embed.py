"""Embedding a dataset: shards, metadata, resume, ranks, corrupt images, workers."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from test_model_fakes import one_torch_thread  # noqa: F401  (autouse fixture)

from backend.cliutil import UserError
from backend.model.backbone import build_backbone
from backend.model.embed import embed_dataset, load_embeddings


def make_dataset(root: Path, n: int = 7, views: int = 4, seed: int = 0,
                 corrupt: dict[int, list[int]] | None = None, style: str = "noise") -> Path:
    """A generic-layout CSV of ``n`` locations with random images; ``corrupt`` = {row: views}.

    ``style="colour"`` draws each location in its own colour with a stripe (learnable)."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    (root / "img").mkdir(exist_ok=True)
    rows = []
    for i in range(n):
        paths = []
        for v in range(views):
            p = root / "img" / f"{i}_{v}.png"
            if corrupt and v in corrupt.get(i, []):
                p.write_bytes(b"\x89PNG broken")
            elif style == "colour":
                px = np.zeros((40, 56, 3), np.uint8) + (np.array([37, 91, 151]) * (i + 1)) % 256
                px[:, 8 * (i % 6):8 * (i % 6) + 8] = 255 - px[:, 8 * (i % 6):8 * (i % 6) + 8]
                Image.fromarray(px.astype(np.uint8)).save(p)
            else:
                Image.fromarray(rng.integers(0, 255, (40, 56, 3), np.uint8)).save(p)
            paths.append(f"img/{p.name}")
        rows.append([f"loc{i}", f"{rng.uniform(-60, 60):.5f}", f"{rng.uniform(-170, 170):.5f}",
                     *paths, f"{90 * (i % 4)}", str(1 + i % 12) if i % 3 else ""])
    csv_path = root / "data.csv"
    with csv_path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "lat", "lng", *[f"image_{v + 1}" for v in range(views)], "heading",
                    "month"])
        w.writerows(rows)
    return csv_path


def test_embed_matches_direct_and_reports_corrupt(tmp_path):
    csv_path = make_dataset(tmp_path / "d", corrupt={1: [2], 4: [0, 1, 2, 3]})
    bb = build_backbone("pigeon-tiny", seed=0)
    s = embed_dataset(bb, csv_path, tmp_path / "emb", batch_size=2, shard_size=3,
                      show_progress=False)
    assert s["shards_written"] == 3 and s["bad_images"] == 5 and s["dropped"] == 1
    e = load_embeddings(tmp_path / "emb")
    assert e.ids == ["loc0", "loc1", "loc2", "loc3", "loc5", "loc6"]
    assert e.embeddings.shape == (6, 128) and e.embeddings.dtype == np.float32
    assert list(e.n_views) == [4, 3, 4, 4, 4, 4]
    assert e.month.tolist() == [-1, 1, 2, -1, 5, -1]
    assert len(e.meta["bad_images"]) == 5 and e.meta["dropped"] == ["loc4"]
    assert e.meta["backbone"]["config_name"] == "pigeon-tiny"
    assert e.meta["format"] == "pigeon-embeddings/1" and e.meta["dataset"]["locations"] == 7
    # direct computation for location 1 (view 3 unreadable -> mean of the other three)
    imgs = [Image.open(tmp_path / "d" / "img" / f"1_{v}.png") for v in (0, 1, 3)]
    with torch.no_grad():
        ref = bb.embed(torch.stack([bb.preprocess(im) for im in imgs])).mean(0)
    assert np.allclose(e.embeddings[1], ref.numpy(), atol=1e-5)


def test_resume_and_ranks(tmp_path):
    csv_path = make_dataset(tmp_path / "d", n=8, views=1)
    bb = build_backbone("pigeon-tiny", seed=0)
    # two "ranks" (as torchrun would run them), each its own shards
    s0 = embed_dataset(bb, csv_path, tmp_path / "e", shard_size=2, rank=0, world_size=2,
                       show_progress=False)
    with pytest.raises(UserError, match="incomplete"):
        load_embeddings(tmp_path / "e")
    s1 = embed_dataset(bb, csv_path, tmp_path / "e", shard_size=2, rank=1, world_size=2,
                       show_progress=False)
    assert s0["shards_written"] == 2 and s1["shards_written"] == 2
    full = load_embeddings(tmp_path / "e")
    assert len(full) == 8
    # resume: remove one shard, rerun single-process -> only that shard is recomputed
    (tmp_path / "e" / "shard-00002.npz").unlink()
    s = embed_dataset(bb, csv_path, tmp_path / "e", shard_size=2, rank=0, world_size=1,
                      show_progress=False)
    assert s["shards_written"] == 1 and s["shards_kept"] == 3
    assert np.allclose(load_embeddings(tmp_path / "e").embeddings, full.embeddings, atol=1e-6)
    # another model into the same folder is refused
    with pytest.raises(UserError, match="another dataset, model"):
        embed_dataset(build_backbone("pigeon-tiny", embedding_kind="pooled"), csv_path,
                      tmp_path / "e", shard_size=2, show_progress=False)


def test_workers_give_same_result(tmp_path):
    csv_path = make_dataset(tmp_path / "d", n=4, views=2)
    bb = build_backbone("pigeon-tiny", seed=0)
    embed_dataset(bb, csv_path, tmp_path / "a", show_progress=False)
    embed_dataset(bb, csv_path, tmp_path / "b", num_workers=2, batch_size=1,
                  show_progress=False)
    assert np.allclose(load_embeddings(tmp_path / "a").embeddings,
                       load_embeddings(tmp_path / "b").embeddings, atol=1e-5)


def test_bad_inputs(tmp_path):
    bb = build_backbone("pigeon-tiny")
    with pytest.raises(UserError, match="cannot read dataset"):
        embed_dataset(bb, tmp_path / "missing.csv", tmp_path / "o", show_progress=False)
    with pytest.raises(UserError, match="no embeddings.json"):
        load_embeddings(tmp_path)
    (tmp_path / "embeddings.json").write_text(json.dumps({"format": "x"}))
    with pytest.raises(UserError, match="not pigeon-embeddings/1"):
        load_embeddings(tmp_path)


def test_bf16_autocast_path_close_to_fp32(tmp_path):
    """The mixed-precision path (bf16 autocast, used on CUDA) runs here on the CPU."""
    csv_path = make_dataset(tmp_path / "d", n=3, views=2)
    bb = build_backbone("pigeon-tiny", seed=0)
    embed_dataset(bb, csv_path, tmp_path / "fp32", amp="off", show_progress=False)
    embed_dataset(bb, csv_path, tmp_path / "bf16", amp="bf16", show_progress=False)
    a = load_embeddings(tmp_path / "fp32").embeddings[:]  # memory-mapped: read the rows
    b = load_embeddings(tmp_path / "bf16").embeddings[:]
    assert b.dtype == np.float32 and not np.array_equal(a, b)
    assert np.abs(a - b).max() < 0.05 * np.abs(a).max()
    with pytest.raises(UserError, match="--amp must be"):
        embed_dataset(bb, csv_path, tmp_path / "x", amp="fp8", show_progress=False)


def test_location_table_round_trip_without_python_objects(tmp_path):
    from backend.eval.datasets import load_dataset
    from backend.model.views_dataset import LocationTable

    locs = load_dataset(make_dataset(tmp_path / "d", n=7, views=3)).locations
    table = LocationTable(locs)
    fields = ("id", "lat", "lng", "image_paths", "heading", "month")
    for i in (0, 3, 6):  # what the embedding reads (not the CSV line or extra columns)
        assert [getattr(table[i], f) for f in fields] == [getattr(locs[i], f) for f in fields]
    assert len(table) == 7
    assert {locs[i].month for i in range(7)} >= {None} and table[0].month == locs[0].month
    arrays = [v for v in vars(table).values() if isinstance(v, np.ndarray)]
    assert arrays and all(a.dtype != object for a in arrays)  # nothing for workers to copy
