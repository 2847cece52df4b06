"""Geocell build speed and memory: GeoGuessr-like sampled points → PIGEON geocells.

Target (issue 4): 100,000 points → geocells in <= 60 s with <= 4 GB peak memory on 2 cores.
Each size runs in its own subprocess so its peak RSS is its own; sampling the points is
timed apart from the build. Points come from ``backend.geo.sampler.sample_points`` (seed 0,
official Street View countries); admin polygons are Natural Earth admin-1.

Usage::

    python benchmarks/bench_geocells.py                       # 10k, 100k, 1M
    python benchmarks/bench_geocells.py --sizes 10000,100000 --check
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from machine_info import machine

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TARGET_S, TARGET_GB, TARGET_N = 60.0, 4.0, 100_000


def run_one(n: int, check: bool) -> dict:
    """Build geocells for n sampled points in this process; returns the figures."""
    import numpy as np

    from backend.geo.sampler import sample_points
    from backend.geocells.areas import assign_points_to_areas, load_areas
    from backend.geocells.build import GeocellParams, build_geocells

    t0 = time.perf_counter()
    lat, lng = sample_points(n, seed=0)
    t_sample = time.perf_counter() - t0
    t0 = time.perf_counter()
    areas = load_areas()
    import sklearn.cluster  # noqa: F401  (import time is not build time)
    t_areas = time.perf_counter() - t0
    t0 = time.perf_counter()
    cells, labels = build_geocells(lat, lng, areas, GeocellParams(30, 60))
    t_build = time.perf_counter() - t0
    out = {"n": n, "sample_s": round(t_sample, 1), "areas_s": round(t_areas, 1),
           "build_s": round(t_build, 1),
           "cells": len(cells), "countries": len(set(cells.iso2)),
           "median_points": int(np.median(cells.n_points)),
           "below_min": len(cells.metadata["below_min"]),
           "above_max": len(cells.metadata["above_max"])}
    if check:
        from backend.geocells.invariants import check_geocells
        country = np.array([areas[i].iso2 for i in assign_points_to_areas(lat, lng, areas)])
        problems = check_geocells(cells, labels, lat, lng, country, min_points=30,
                                  max_points=60)
        out["invariants"] = "ok" if not problems else f"{len(problems)} problems: {problems[:3]}"
    out["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--check", action="store_true", help="also check every invariant")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # child mode
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one, args.check)))
        return 0
    print(f"bench_geocells — machine: {machine()}")
    print(f"target: {TARGET_N} points -> geocells in <= {TARGET_S:.0f} s, <= {TARGET_GB:.0f} GB "
          "peak (areas = admin polygons + imports, build = the rest; sampling apart)")
    print(f"{'points':>9} {'sample s':>9} {'areas s':>8} {'build s':>8} {'peak GB':>8} "
          f"{'cells':>6} {'countries':>9} {'median':>6} {'<MIN':>5} {'>MAX':>5}  invariants")
    failed = False
    for n in (int(s) for s in args.sizes.split(",") if s.strip()):
        cmd = [sys.executable, __file__, "--one", str(n)] + (["--check"] if args.check else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO,
                              check=False)
        if proc.returncode != 0:
            print(f"{n:>9} failed: {proc.stderr.strip().splitlines()[-1:]}")
            failed = True
            continue
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"{r['n']:>9} {r['sample_s']:>9} {r['areas_s']:>8} {r['build_s']:>8} {r['peak_rss_gb']:>8} "
              f"{r['cells']:>6} {r['countries']:>9} {r['median_points']:>6} "
              f"{r['below_min']:>5} {r['above_max']:>5}  {r.get('invariants', '-')}")
        if n == TARGET_N:
            ok = r["areas_s"] + r["build_s"] <= TARGET_S and r["peak_rss_gb"] <= TARGET_GB
            print(f"          target {'met' if ok else 'MISSED'}: {r['areas_s']} + {r['build_s']} s, "
                  f"{r['peak_rss_gb']} GB")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
