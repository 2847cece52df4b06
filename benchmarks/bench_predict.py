"""Benchmark the Predictor: the part after the backbone at full scale, and whole rounds.

1. After the backbone (heads + refinement + pin): 2,000 geocells, 50,000 index members in
   clusters of 1-8 over the cells, 1024-dim embeddings (ViT-L/14's width), a real
   ``PigeonHeads`` and a real ``RefinementTable``; the backbone is left out. Two belief shapes:
   "peaked" (a trained model: most mass on a few cells) and "flat" (random logits: mass on
   every cell, the pin search's worst case). Target: p50 <= 10 ms on this CPU.
2. A full round with the tiny open_clip backbone (``pigeon-tiny``, random weights): 4 JPEG
   views of 640x360 -> Guess, and a batch of 8 such rounds.

Prints the figures and the machine. Usage::

    python benchmarks/bench_predict.py [--repeats 200]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from machine_info import machine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

N_CELLS = 2000
N_MEMBERS = 50_000
DIM = 1024


def world_centroids(n: int, rng: np.random.Generator) -> np.ndarray:
    lat = np.degrees(np.arcsin(rng.uniform(-0.85, 0.95, n)))
    return np.stack([lat, rng.uniform(-180, 180, n)], axis=1)


def synthetic_table(centroids: np.ndarray, rng: np.random.Generator):
    from backend.core.geodesy import destination_point
    from backend.core.refinement import RefinementTable

    n_cells = len(centroids)
    per_cell = rng.multinomial(N_MEMBERS, np.full(n_cells, 1 / n_cells))
    # raw mean-hidden-state-like embeddings (norms in the tens), stored as the index does
    emb = (0.5 + rng.normal(size=(N_MEMBERS, DIM))).astype(np.float32)
    cell_off, mem_off, protos, lat, lng = [0], [0], [], [], []
    row = 0
    for c in range(n_cells):
        left = int(per_cell[c])
        while left:
            size = min(left, int(rng.integers(1, 9)))
            protos.append(emb[row:row + size].mean(axis=0))
            for _ in range(size):
                la, lo = destination_point(*centroids[c], rng.uniform(0, 360), rng.uniform(0, 400))
                lat.append(la)
                lng.append(lo)
            row += size
            left -= size
            mem_off.append(row)
        cell_off.append(len(protos))
    return RefinementTable(np.array(cell_off), np.array(protos, np.float32),
                           np.array(mem_off), emb, np.array(lat),
                           np.array(lng)).check()


class ExcludedBackbone:
    """Stands in for the backbone where the benchmark leaves it out (never called)."""

    def __init__(self, dim: int) -> None:
        import torch

        self.embedding_dim = dim
        self._p = torch.nn.Parameter(torch.zeros(1))

    def eval(self) -> ExcludedBackbone:
        return self

    def parameters(self):
        yield self._p


def pct(times: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(times) * 1e3, q))


def bench_after_backbone(repeats: int) -> None:
    import torch

    from backend.model.heads import HeadsConfig, PigeonHeads
    from backend.predict.index import RefinementIndex
    from backend.predict.predictor import Predictor

    rng = np.random.default_rng(0)
    cents = world_centroids(N_CELLS, rng)
    t0 = time.perf_counter()
    table = synthetic_table(cents, rng)
    print(f"index: {N_CELLS} cells, {len(table.prototypes)} prototypes, "
          f"{len(table.member_lat)} members, dim {DIM} (built in "
          f"{time.perf_counter() - t0:.1f} s, members {table.member_embeddings.nbytes / 2**20:.0f}"
          " MiB fp32)")
    torch.manual_seed(0)
    heads = PigeonHeads(HeadsConfig(embedding_dim=DIM, num_cells=N_CELLS)).eval()
    iso = ["XX"] * N_CELLS
    bundle = SimpleNamespace(backbone=ExcludedBackbone(DIM), heads=heads, path="bench",
                             geocells=SimpleNamespace(centroids=cents, iso2=iso, countries=iso),
                             index_path=None, calibration=None)
    index = RefinementIndex(table, np.arange(len(table.member_lat)), {"format": "bench"})
    pred = Predictor(bundle, index=index, geo=None)
    queries = rng.normal(size=(repeats, DIM)).astype(np.float32)
    for shape, scale in (("peaked", 40.0), ("flat", 1.0)):
        with torch.no_grad():  # scale the classifier: peaked (trained-like) or flat beliefs
            heads.geocell.weight.mul_(scale)
        for q in queries[:5]:
            pred.guess_from_embedding(q)  # warm-up
        times, cpu, stages = [], [], {k: [] for k in ("heads", "refine", "pin")}
        top_mass = []
        for q in queries:
            t, c = time.perf_counter(), time.process_time()
            g = pred.guess_from_embedding(q)
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            for k, v in stages.items():
                v.append(g.timings[k] / 1e3)
            top_mass.append(sum(cand.prob for cand in g.top_k))
        with torch.no_grad():
            heads.geocell.weight.div_(scale)
        print(f"after-backbone [{shape}: top-5 mass {np.mean(top_mass):.2f}] n={repeats}: "
              f"p50 {pct(times, 50):.2f} ms  p90 {pct(times, 90):.2f} ms  "
              f"max {pct(times, 100):.2f} ms  [CPU time p50 {pct(cpu, 50):.2f} ms]  (p50 heads {pct(stages['heads'], 50):.2f} / "
              f"refine {pct(stages['refine'], 50):.2f} / pin {pct(stages['pin'], 50):.2f} ms)"
              f"  target p50 <= 10 ms: {'OK' if pct(times, 50) <= 10 else 'MISSED'}")


def bench_full_round(repeats: int) -> None:
    import shapely

    from backend.geocells import Geocells
    from backend.model.bundle import load_bundle, make_tiny_bundle
    from backend.predict.predictor import Predictor

    rng = np.random.default_rng(1)
    cents = world_centroids(200, rng)
    polys = [shapely.box(lo - 1, la - 1, lo + 1, la + 1) for la, lo in cents]
    cells = Geocells(polys, cents, countries=["X"] * 200, iso2=["XX"] * 200,
                     admin1=["-"] * 200, n_points=[1] * 200)
    from PIL import Image

    views = []
    for i in range(4):
        buf = io.BytesIO()
        Image.fromarray(rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)).save(
            buf, format="JPEG", quality=85)
        views.append(buf.getvalue())
    with tempfile.TemporaryDirectory() as tmp:
        bundle = load_bundle(make_tiny_bundle(Path(tmp) / "b", cells, seed=0))
        pred = Predictor(bundle, geo=None)
        for _ in range(3):
            pred.predict(views)
        times, stage = [], {}
        for _ in range(repeats):
            t = time.perf_counter()
            g = pred.predict(views)
            times.append(time.perf_counter() - t)
            for k, v in g.timings.items():
                stage.setdefault(k, []).append(v / 1e3)
        print(f"full round, pigeon-tiny (64 px), 4 JPEG views 640x360, 200 cells, no index, "
              f"n={repeats}: p50 {pct(times, 50):.1f} ms  p90 {pct(times, 90):.1f} ms   ("
              + " / ".join(f"{k} {pct(v, 50):.1f}" for k, v in stage.items()) + " ms p50)")
        batch = [views] * 8
        t = time.perf_counter()
        n_batches = max(1, repeats // 8)
        for _ in range(n_batches):
            pred.predict_batch(batch)
        per = (time.perf_counter() - t) / (n_batches * 8)
        print(f"batch of 8 rounds: {per * 1e3:.1f} ms per round ({1 / per:.0f} rounds/s)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=200)
    args = ap.parse_args(argv)
    print(f"bench_predict — {machine()}; load average {os.getloadavg()[0]:.1f} at start "
          "(wall times on a shared machine include waiting for a core; CPU time does not)")
    bench_after_backbone(args.repeats)
    bench_full_round(max(10, args.repeats // 4))
    return 0


if __name__ == "__main__":
    sys.exit(main())
