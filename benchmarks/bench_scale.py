"""Scale benchmark: geocells, refinement index and predictor at OSV-5M sizes (up to 5M places).

Five stages, each size in its own subprocess (so its peak RSS is its own), results kept as
JSON in ``--work`` so a stage can run later than another and the table is printed from them:

1. ``geocells``: GeoGuessr-like points (``backend.geo.sampler.sample_points``: GeoNames places
   weighted by population ** 0.5, jittered up to 10 km, on land in Street View countries;
   seed 0) -> semantic geocells with PIGEOTTO's sizes (MIN 1000, MAX 2000, OPTICS
   ``(300,.05),(400,.005),(1000,1e-4)``), the recipe's setting for millions of points.
   Sampling is timed apart from the build.
2. ``split``: the recipe's validation split of those points (2 %, every validation point
   at least 1 km from every training point: ``backend.eval.split.split_indices``).
3. ``index``: synthetic ``--dim``-dimensional embeddings (a random direction per geocell
   plus noise, norms in the tens like raw CLIP mean-hidden states), written as a
   memory-mapped float16 ``.npy`` (timed apart), then ``backend.predict.index_writer.
   write_index`` streams them into a refinement index (fp16 members on disk); the input is
   deleted afterwards (disk).
4. ``predict``: a ``Predictor`` on that index (memory-mapped) and random heads over the
   geocells (a trained-like classifier: each cell's direction): latency after the backbone
   (heads + refinement of the top-5 cells + pin) over ``--repeats`` queries, wall and CPU
   time (the machine is shared), peak RSS; the 50k size is the reference the 5M figure is
   compared with. torch runs on one thread (one query at a time). Each query set runs twice:
   ``cold`` (the top cells' pages read for the first time: from disk when the index is bigger
   than the page cache, as the 22 GB one at 5M is on this 24 GB machine) and ``warm`` (50
   queries asked 4 times: their pages cached, the compute a server holding the index pays).
5. ``same_cells`` (``--sizes 50000 --same-cells-from 5000000``): the predictor on the 5M
   run's geocells with an index of 50k of its points: the cells and heads of the 5M row,
   100x fewer members.

Memory: ``peak_rss_mb`` (the kernel's high-water mark) counts the resident pages of
memory-mapped files too (page cache: shared, reclaimable), so ``peak_anon_mb``, the sampled
peak of private memory, is what a stage holds.

Growth: for each stage, the exponent ``b`` of ``cost ~ n^b`` fitted by least squares on
log-log over the sizes run.

Usage::

    python benchmarks/bench_scale.py                      # quick: 50k and 100k
    nice -n 10 python benchmarks/bench_scale.py --sizes 50000,100000,1000000,5000000 \\
        --work /tmp/scale                                 # the full run (hours on 2 cores)
    python benchmarks/bench_scale.py --work /tmp/scale --report   # table from saved results
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

from machine_info import machine, peak_rss_mb

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

STAGES = ("geocells", "split", "index", "predict", "same_cells")
MIN_POINTS, MAX_POINTS = 1000, 2000
SEED = 0


class AnonPeak:
    """Peak of this process's anonymous (private) resident memory, sampled every 0.1 s.

    Peak RSS also counts the pages of memory-mapped files that are resident (page cache,
    shared, reclaimable); at millions of rows that is most of it and says nothing about what
    the process holds. ``RssAnon`` (Linux ``/proc/self/status``) is the private part."""

    def __init__(self) -> None:
        import threading

        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def now_mb() -> float:
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) / 1024.0
        except OSError:
            pass
        return float("nan")

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak_mb = max(self.peak_mb, self.now_mb())

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return max(self.peak_mb, self.now_mb())


def _size_dir(work: Path, n: int) -> Path:
    d = work / f"n{n}"
    d.mkdir(parents=True, exist_ok=True)
    return d


def stage_geocells(n: int, work: Path) -> dict:
    """Sample n points and build geocells; saves points.npz (lat, lng, labels) and cells."""
    import numpy as np

    from backend.geo.sampler import sample_points
    from backend.geocells.areas import load_areas
    from backend.geocells.build import GeocellParams, build_geocells
    from backend.geocells.optics_split import PIGEOTTO_OPTICS

    d = _size_dir(work, n)
    t0 = time.perf_counter()
    lat, lng = sample_points(n, seed=SEED)
    t_sample = time.perf_counter() - t0
    areas = load_areas()
    import sklearn.cluster  # noqa: F401  (import time is not build time)
    t0 = time.perf_counter()
    cells, labels = build_geocells(lat, lng, areas,
                                   GeocellParams(MIN_POINTS, MAX_POINTS, PIGEOTTO_OPTICS))
    t_build = time.perf_counter() - t0
    cells.save(d / "geocells.json")
    np.savez(d / "points.npz", lat=lat, lng=lng, labels=labels)
    return {"sample_s": round(t_sample, 1), "seconds": round(t_build, 1),
            "cells": len(cells), "median_points": int(np.median(cells.n_points)),
            "max_points": int(cells.n_points.max())}


def stage_split(n: int, work: Path) -> dict:
    """The recipe's validation split (2 %, 1 km from every training point) of the n points."""
    import numpy as np

    from backend.eval.split import split_indices

    pts = np.load(_size_dir(work, n) / "points.npz")
    t0 = time.perf_counter()
    train, val = split_indices(pts["lat"], pts["lng"], test_frac=0.02, min_km=1.0, seed=0)
    return {"seconds": round(time.perf_counter() - t0, 1), "train": len(train),
            "val": len(val)}


def _cell_directions(n_cells: int, dim: int):
    """A fixed random direction per geocell, scaled so embeddings have norms in the tens."""
    import numpy as np

    d = np.random.default_rng(SEED).normal(size=(n_cells, dim)).astype(np.float32)
    return 20.0 * d / np.linalg.norm(d, axis=1, keepdims=True)


def _synthetic_embeddings(path: Path, labels, dim: int, n_cells: int):
    """(n, dim) float16 memory map: the point's cell direction + unit-variance noise."""
    import numpy as np

    dirs = _cell_directions(n_cells, dim)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(len(labels), dim))
    block = 8192
    for k, start in enumerate(range(0, len(labels), block)):
        rng = np.random.default_rng([SEED, k])
        lab = labels[start:start + block]
        noise = rng.standard_normal(size=(len(lab), dim), dtype=np.float32)
        out[start:start + len(lab)] = dirs[lab] + noise
    out.flush()
    return np.load(path, mmap_mode="r")


def stage_index(n: int, work: Path, dim: int) -> dict:
    """Synthetic embeddings (timed apart) -> a streamed, memory-mapped refinement index."""
    import numpy as np

    from backend.geocells import Geocells
    from backend.predict.index_writer import write_index

    d = _size_dir(work, n)
    pts = np.load(d / "points.npz")
    n_cells = len(Geocells.load(d / "geocells.json"))
    t0 = time.perf_counter()
    emb = _synthetic_embeddings(d / "embeddings.npy", pts["labels"], dim, n_cells)
    t_emb = time.perf_counter() - t0
    anon = AnonPeak()  # the build's own private memory (not the generation's)
    t0 = time.perf_counter()
    index = write_index(d / "index.npz", emb, pts["lat"], pts["lng"], pts["labels"],
                        num_cells=n_cells, member_dtype="float16")
    t_build = time.perf_counter() - t0
    anon_mb = anon.stop()
    del emb
    (d / "embeddings.npy").unlink()  # the input is not needed any more (disk)
    c = index.meta["counts"]
    return {"embeddings_s": round(t_emb, 1), "seconds": round(t_build, 1),
            "prototypes": c["prototypes"], "index_gb": round(
                (d / "index.npz").stat().st_size / 1e9, 2), "peak_anon_mb": round(anon_mb)}


def _latency(cells, index, dim: int, repeats: int) -> dict:
    """p50/p90 after the backbone: ``cold`` over ``repeats`` queries (the first time each
    query's top cells are read: from disk when the index is bigger than the page cache) and
    ``warm`` over 50 of them asked 4 times (their cells' pages cached: the compute, what a
    server whose RAM holds the index pays)."""
    from types import SimpleNamespace

    import numpy as np
    import torch

    from backend.model.heads import HeadsConfig, PigeonHeads
    from backend.predict.predictor import Predictor

    torch.set_num_threads(1)  # one query at a time: threads only wait for each other
    c = len(cells)
    torch.manual_seed(0)
    heads = PigeonHeads(HeadsConfig(embedding_dim=dim, num_cells=c)).eval()
    dirs = _cell_directions(c, dim)
    with torch.no_grad():  # a trained-like classifier: each cell's direction, sharp
        heads.geocell.weight.copy_(torch.from_numpy(dirs) * 0.5)
        heads.geocell.bias.zero_()
    bb = SimpleNamespace(embedding_dim=dim, eval=lambda: bb,
                         parameters=lambda: iter([torch.zeros(1)]))
    bundle = SimpleNamespace(backbone=bb, heads=heads, path="bench",
                             geocells=SimpleNamespace(centroids=cells.centroids, iso2=cells.iso2,
                                                      countries=cells.countries),
                             index_path=None, calibration=None)
    pred = Predictor(bundle, index=index, geo=None)
    rng = np.random.default_rng(1)
    truth = rng.integers(0, c, repeats)
    queries = dirs[truth] + rng.normal(size=(len(truth), dim)).astype(np.float32)
    pred.guess_from_embedding(dirs[0])  # imports, first allocations
    out = {}
    for run, qs in (("cold", queries), ("warm", np.tile(queries[:50], (4, 1)))):
        wall, cpu = [], []
        for q in qs:
            t, t_cpu = time.perf_counter(), time.process_time()
            g = pred.guess_from_embedding(q)
            wall.append(time.perf_counter() - t)
            cpu.append(time.process_time() - t_cpu)
            assert g.top_k
        ms, cpu_ms = np.asarray(wall) * 1e3, np.asarray(cpu) * 1e3
        out[f"{run}_p50_ms"] = round(float(np.percentile(ms, 50)), 2)
        out[f"{run}_p90_ms"] = round(float(np.percentile(ms, 90)), 2)
        out[f"{run}_cpu_p50_ms"] = round(float(np.percentile(cpu_ms, 50)), 2)
    return out


def stage_predict(n: int, work: Path, dim: int, repeats: int) -> dict:
    """Latency after the backbone on the memory-mapped index: heads + refinement + pin."""
    from backend.geocells import Geocells
    from backend.predict.index import RefinementIndex

    d = _size_dir(work, n)
    cells = Geocells.load(d / "geocells.json")
    t0 = time.perf_counter()
    index = RefinementIndex.load(d / "index.npz")
    t_open = time.perf_counter() - t0
    return {"cells": len(cells), "members": int(index.table.member_lat.shape[0]),
            "open_s": round(t_open, 2), **_latency(cells, index, dim, repeats)}


def stage_same_cells(n: int, work: Path, dim: int, repeats: int, big: int) -> dict:
    """The predictor on the geocells of the ``big`` run with an index of only ``n`` of its
    points: the same heads and cells, 100x fewer members (what the member count alone
    costs)."""
    import numpy as np

    from backend.geocells import Geocells
    from backend.predict.index_writer import write_index

    src = _size_dir(work, big)
    d = work / f"n{n}_cells_of_{big}"
    d.mkdir(exist_ok=True)
    pts = np.load(src / "points.npz")
    cells = Geocells.load(src / "geocells.json")
    keep = np.sort(np.random.default_rng(2).choice(len(pts["lat"]), n, replace=False))
    emb = _synthetic_embeddings(d / "embeddings.npy", pts["labels"][keep], dim, len(cells))
    index = write_index(d / "index.npz", emb, pts["lat"][keep], pts["lng"][keep],
                        pts["labels"][keep], num_cells=len(cells), member_dtype="float16")
    (d / "embeddings.npy").unlink()
    return {"cells": len(cells), "members": n, **_latency(cells, index, dim, repeats)}


def _run_child(stage: str, n: int, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--child", stage, "--sizes", str(n), "--work",
           str(args.work), "--dim", str(args.dim), "--repeats", str(args.repeats),
           "--same-cells-from", str(args.same_cells_from)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        return {"error": tail, "wall_s": round(time.perf_counter() - t0, 1)}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def growth_exponent(ns: list[int], costs: list[float]) -> float | None:
    """Least-squares slope of log(cost) on log(n); None with fewer than two usable points."""
    pts = [(math.log(n), math.log(c)) for n, c in zip(ns, costs) if c and c > 0]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx if sxx else None


def _results(work: Path) -> dict:
    path = work / "results.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _save_result(work: Path, stage: str, n: int, result: dict) -> None:
    res = _results(work)
    res.setdefault(stage, {})[str(n)] = result
    (work / "results.json").write_text(json.dumps(res, indent=2))


def report(work: Path) -> str:
    """The table of every saved result, with growth exponents."""
    res = _results(work)
    lines = []
    for stage in STAGES:
        rows = res.get(stage, {})
        if not rows:
            continue
        ns = sorted(int(k) for k in rows)
        lines.append(f"[{stage}]")
        keys = [k for k in rows[str(ns[0])] if k not in ("n", "machine")]
        lines.append(f"{'places':>9}  " + "  ".join(f"{k:>12}" for k in keys))
        for n in ns:
            r = rows[str(n)]
            lines.append(f"{n:>9}  " + "  ".join(f"{r.get(k, '-')!s:>12}" for k in keys))
        ok = [n for n in ns if "error" not in rows[str(n)] and n >= 100_000]
        for key in ("seconds", "warm_p50_ms", "warm_cpu_p50_ms", "peak_anon_mb",
                    "peak_rss_mb"):
            if all(key in rows[str(n)] for n in ok) and len(ok) >= 2:
                b = growth_exponent(ok, [float(rows[str(n)][key]) for n in ok])
                lines.append(f"  growth of {key} over {ok[0]:,}..{ok[-1]:,}: n^{b:.2f}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="50000,100000",
                    help="comma-separated place counts (full run: 50000,100000,1000000,5000000)")
    ap.add_argument("--stages", default=",".join(STAGES[:4]),
                    help="which stages to run (same_cells needs a --same-cells-from run)")
    ap.add_argument("--work", default=None, help="folder for the data and results.json "
                    "(default: a temporary folder, removed at the end)")
    ap.add_argument("--dim", type=int, default=1024, help="embedding size (ViT-L/14: 1024)")
    ap.add_argument("--repeats", type=int, default=200, help="predictor queries per size")
    ap.add_argument("--same-cells-from", type=int, default=5_000_000,
                    help="stage same_cells: use the geocells of this size's run")
    ap.add_argument("--report", action="store_true", help="print the saved results and exit")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if args.child:
        anon = AnonPeak()
        work = Path(args.work)
        if args.child == "geocells":
            out = stage_geocells(sizes[0], work)
        elif args.child == "split":
            out = stage_split(sizes[0], work)
        elif args.child == "index":
            out = stage_index(sizes[0], work, args.dim)
        elif args.child == "predict":
            out = stage_predict(sizes[0], work, args.dim, args.repeats)
        else:
            out = stage_same_cells(sizes[0], work, args.dim, args.repeats,
                                   args.same_cells_from)
        out.setdefault("peak_anon_mb", round(anon.stop()))
        out["peak_rss_mb"] = round(peak_rss_mb())
        print(json.dumps(out))
        return 0
    tmp = None
    if args.work is None:
        import tempfile

        tmp = tempfile.TemporaryDirectory(prefix="bench_scale_")
        args.work = tmp.name
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    if args.report:
        print(report(work))
        return 0
    print(f"bench_scale — {machine()}")
    print("(a shared 2-core machine: wall times include waiting for a core)")
    failed = False
    for stage in [s.strip() for s in args.stages.split(",") if s.strip()]:
        for n in sizes:
            print(f"  {stage} {n:,} ...", flush=True)
            r = _run_child(stage, n, args)
            r["machine"] = machine()
            _save_result(work, stage, n, r)
            failed |= "error" in r
            print(f"    {json.dumps({k: v for k, v in r.items() if k != 'machine'})}", flush=True)
    print(report(work))
    if tmp is not None:
        tmp.cleanup()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
