"""Heads training at OSV-5M's shape: seconds per step and per epoch of `pigeon train`.

Random embeddings (1024-d, ViT-L/14's mean hidden state) with random auxiliary targets,
memory-mapped from shards as `load_embeddings` gives them, ~3,000 geocells (what MIN 1000 /
MAX 2000 make of OSV-5M's 4.4 M training points), batch 256: the real training loop
(`backend.model.train_heads.run`: label smoothing, the four heads, AdamW, cosine schedule)
runs twice, for a few and for more steps; the difference gives the time per step without
the set-up, and the epoch time at OSV-5M's size follows (4.4 M rows / 256 per step).

Usage::

    python benchmarks/bench_train_heads.py                  # CPU
    python benchmarks/bench_train_heads.py --device cuda    # a GPU, when there is one
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely
from machine_info import machine, peak_rss_mb

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

OSV5M_TRAIN_ROWS = 4_400_000  # 4.9 M train images less a 2 % validation split, about


def _setup(root: Path, n: int, dim: int, n_cells: int) -> tuple[Path, Path, Path]:
    from backend.geocells import Geocells
    from backend.model.aux_targets import AUX_FORMAT, AuxTargets
    from backend.model.embed import EmbeddingSet, save_embedding_set

    rng = np.random.default_rng(0)
    cents = np.stack([np.degrees(np.arcsin(rng.uniform(-0.8, 0.9, n_cells))),
                      rng.uniform(-180, 180, n_cells)], 1)
    polys = [shapely.box(lo - 1, la - 1, lo + 1, la + 1) for la, lo in cents]
    Geocells(polys, cents, countries=["X"] * n_cells, iso2=["XX"] * n_cells,
             admin1=["-"] * n_cells, n_points=[1] * n_cells).save(root / "cells.json")
    cell = rng.integers(0, n_cells, n)
    latlng = cents[cell] + rng.normal(0, 0.5, (n, 2))
    latlng[:, 0] = latlng[:, 0].clip(-89, 89)
    es = EmbeddingSet(ids=[str(i) for i in range(n)], latlng=latlng,
                      embeddings=rng.normal(size=(n, dim)).astype(np.float32),
                      month=rng.integers(-1, 12, n), heading=np.zeros(n, np.float32),
                      n_views=np.ones(n, np.int64),
                      meta={"backbone": {"config_name": "synthetic", "embedding_dim": dim}})
    save_embedding_set(es, root / "emb", shard_size=4096)
    reg = rng.normal(size=(n, 6)).astype(np.float32)
    reg[rng.random((n, 6)) < 0.05] = np.nan
    AuxTargets(es.ids, rng.integers(-1, 31, n), reg, meta={"format": AUX_FORMAT}).save(
        root / "aux.npz")
    return root / "emb", root / "cells.json", root / "aux.npz"


def _train_seconds(emb: Path, cells: Path, aux: Path, out: Path, steps: int, batch: int,
                   device: str) -> float:
    from backend.model.train_heads import build_parser, run

    args = build_parser().parse_args([
        "--embeddings", str(emb), "--geocells", str(cells), "--aux", str(aux), "--out",
        str(out), "--max-steps", str(steps), "--batch-size", str(batch), "--val-fraction",
        "0.002", "--device", device, "--quiet"])
    t0 = time.perf_counter()
    run(args)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000, help="synthetic rows on disk")
    ap.add_argument("--dim", type=int, default=1024)
    ap.add_argument("--cells", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--steps", type=int, default=60, help="steps of the longer run")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    import torch

    print(f"bench_train_heads — {machine()}")
    with tempfile.TemporaryDirectory(prefix="bench_heads_") as tmp:
        root = Path(tmp)
        emb, cells, aux = _setup(root, args.rows, args.dim, args.cells)
        short = _train_seconds(emb, cells, aux, root / "a", 5, args.batch, args.device)
        long = _train_seconds(emb, cells, aux, root / "b", 5 + args.steps, args.batch,
                              args.device)
    step = (long - short) / args.steps
    epoch_steps = OSV5M_TRAIN_ROWS // args.batch
    print(f"heads training, {args.cells} cells, {args.dim}-d, batch {args.batch}, aux on, "
          f"memory-mapped embeddings, {args.device} (torch {torch.get_num_threads()} threads): "
          f"{step * 1e3:.1f} ms/step ({args.batch / step:,.0f} rows/s); an OSV-5M epoch "
          f"({epoch_steps:,} steps) = {epoch_steps * step / 3600:.2f} h; peak RSS "
          f"{peak_rss_mb():.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
