"""Metric table speed: 100,000 predictions through every metric with bootstrap intervals.

Target (issue 7): the full table — 5 distance shares, country accuracy, mean/median km,
score, geocell top-1/top-5 (200 cells), 4 auxiliary tasks, projected-score calibration —
each with a 1,000-resample bootstrap 95 % interval, for 100,000 predictions in <= 10 s.
The data are synthetic (seed 0): truths uniform over the inhabited latitudes, guesses at
log-normal errors, 20 % of countries wrong. The machine and its load are printed, since
the figures move with both. Also times the bootstrap alone and the naive loop it replaces
(on 10,000 items, so the naive loop finishes quickly).

Usage::

    python benchmarks/bench_metrics.py
    python benchmarks/bench_metrics.py --n 20000 --n-boot 500 --check   # exit 1 if missed
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
from machine_info import machine

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TARGET_S, TARGET_N = 10.0, 100_000


def synthetic(n: int, seed: int = 0) -> dict[str, object]:
    """Arrays shaped like an evaluation of ``n`` locations."""
    rng = np.random.default_rng(seed)
    t_lat = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(-55)), np.sin(np.radians(70)),
                                             n)))
    t_lng = rng.uniform(-180, 180, n)
    err_km = rng.lognormal(np.log(60), 1.6, n)
    bearing = rng.uniform(0, 2 * np.pi, n)
    dlat = np.degrees(err_km / 6371.0088 * np.cos(bearing))
    p_lat = np.clip(t_lat + dlat, -89.9, 89.9)
    p_lng = (t_lng + np.degrees(err_km / 6371.0088 * np.sin(bearing)) /
             np.maximum(np.cos(np.radians(t_lat)), 0.05) + 180) % 360 - 180
    countries = np.array([f"C{i}" for i in range(150)])
    t_c = countries[rng.integers(0, 150, n)]
    p_c = np.where(rng.random(n) < 0.8, t_c, countries[rng.integers(0, 150, n)])
    logits = rng.normal(size=(n, 200)).astype(np.float32)
    cells = rng.integers(0, 200, n)
    aux_t = {"elevation": rng.gamma(2, 200, n), "temperature": rng.normal(15, 10, n),
             "climate_zone": rng.integers(0, 31, n).astype(float),
             "month": rng.integers(1, 13, n).astype(float)}
    aux_p = {k: v + rng.normal(0, 5, n) if k in ("elevation", "temperature") else
             np.where(rng.random(n) < 0.5, v, (v + 1) % 12 + 1) for k, v in aux_t.items()}
    return {"true_lat": t_lat, "true_lng": t_lng, "pred_lat": p_lat, "pred_lng": p_lng,
            "true_country": list(t_c), "pred_country": list(p_c), "cell_logits": logits,
            "true_cells": cells, "aux_true": aux_t, "aux_pred": aux_p,
            "projected_score": rng.uniform(1500, 5000, n)}


def main(argv: list[str] | None = None) -> int:
    from backend.eval.bootstrap import bootstrap_intervals
    from backend.eval.metrics import compute_metrics, format_report

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=TARGET_N, help="predictions")
    ap.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples")
    ap.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = ap.parse_args(argv)

    print(f"# bench_metrics: the full metric table for {args.n:,} predictions, "
          f"{args.n_boot} bootstrap resamples")
    print(f"machine: {machine()}")
    data = synthetic(args.n)
    t0 = time.perf_counter()
    t_cpu = time.process_time()
    report = compute_metrics(n_boot=args.n_boot, seed=0, **data)
    dt = time.perf_counter() - t0
    dcpu = time.process_time() - t_cpu
    print(f"  compute_metrics      {dt:6.2f} s wall, {dcpu:6.2f} s CPU  "
          f"({len(report.metrics)} metrics, target <= {TARGET_S:g} s for {TARGET_N:,})")

    d = report.items["distance_km"]
    t0, c0 = time.perf_counter(), time.process_time()
    bootstrap_intervals({"km": d, "score": report.items["score"]}, {"med": (d, 0.5)},
                        n_boot=args.n_boot, seed=0)
    print(f"  bootstrap alone      {time.perf_counter() - t0:6.2f} s wall, "
          f"{time.process_time() - c0:6.2f} s CPU  (2 means + 1 median)")
    # against a naive loop over resamples, for the whole table's 18 means + 1 median
    small = {k: v[:10_000] for k, v in report.items.items()}
    c0 = time.process_time()
    bootstrap_intervals(small, {"med": (small["distance_km"], 0.5)}, n_boot=args.n_boot,
                        seed=0)
    fast = time.process_time() - c0
    rng = np.random.default_rng(0)
    cols = np.stack(list(small.values()), axis=1)
    c0 = time.process_time()
    for _ in range(args.n_boot):
        x = cols[rng.integers(0, len(cols), len(cols))]
        np.nanmean(x, axis=0), np.median(x[:, 0])
    naive = time.process_time() - c0
    print(f"  10,000 items x {cols.shape[1]} columns: vectorised {fast:.2f} s CPU vs naive "
          f"loop {naive:.2f} s CPU ({naive / max(fast, 1e-9):.1f}x)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"  peak memory (max RSS) {peak:,.0f} MB")
    print(format_report(report))
    missed = args.n >= TARGET_N and dt > TARGET_S
    if missed:
        print(f"TARGET MISSED: {dt:.2f} s > {TARGET_S:g} s")
    return 1 if (args.check and missed) else 0


if __name__ == "__main__":
    sys.exit(main())
