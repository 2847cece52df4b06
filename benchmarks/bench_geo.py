"""Geo layer speed and memory: 100,000 random land points through every lookup.

Target (issue 3): 100,000 random land points through every lookup (country, admin-1, land,
Köppen, elevation, climate, population density, nearest place, town) in a few seconds (we say
<= 5 s) on 2 cores, assets already loaded; the asset load time and the process's peak memory are
printed apart. Points are uniform on the sphere, kept where the land mask says land (seed 0).
A second run uses GeoGuessr-like points from ``backend.geo.sampler`` (denser near borders and
coasts, where the exact polygon test is needed more often).

Usage::

    python benchmarks/bench_geo.py
    python benchmarks/bench_geo.py --n 20000 --check      # exit 1 if the target is missed
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from machine_info import machine, peak_rss_mb

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TARGET_S, TARGET_N = 5.0, 100_000




def random_land_points(geo, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lat_parts, lng_parts, have = [], [], 0
    while have < n:
        k = 4 * (n - have) + 16
        lat = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, k)))
        lng = rng.uniform(-180.0, 180.0, k)
        land = geo.is_land(lat, lng)
        lat_parts.append(lat[land])
        lng_parts.append(lng[land])
        have += int(land.sum())
    return np.concatenate(lat_parts)[:n], np.concatenate(lng_parts)[:n]


CPU: dict[str, float] = {}


def timed(fn, *args):
    """Wall seconds (returned) and CPU seconds of this process (kept in CPU["last"]): on a
    shared machine the CPU figure shows the work itself, the wall figure what a user waits."""
    t, c = time.perf_counter(), time.process_time()
    out = fn(*args)
    CPU["last"] = time.process_time() - c
    return time.perf_counter() - t, out


def run(n: int) -> bool:
    from backend.geo.lookup import GeoLookup
    from backend.geo.sampler import sample_points

    print(f"# bench_geo: {n:,} points through every lookup")
    print(f"machine: {machine()}")
    geo = GeoLookup.default()
    t_load = 0.0
    for part in ("admin", "landmask", "koppen", "elevation", "climate", "places", "population"):
        dt, _ = timed(geo._part, part)
        t_load += dt
        print(f"  load {part:<11} {dt:6.2f} s")
    print(f"  load total       {t_load:6.2f} s   peak memory so far {peak_rss_mb():,.0f} MB")
    lat, lng = random_land_points(geo, n, seed=0)
    print(f"random land points ({n:,}):")
    for name, fn in (("country+admin1", geo.admin_index), ("land", geo.is_land),
                     ("koppen", geo.koppen), ("elevation", geo.elevation_m),
                     ("climate", geo.climate), ("population", geo.population_density),
                     ("nearest place", geo.nearest_place), ("town", geo.town)):
        dt, _ = timed(fn, lat, lng)
        print(f"  {name:<15} {dt:6.2f} s wall  {CPU['last']:6.2f} s CPU")
    dt_all, info = timed(geo.lookup, lat, lng)
    ok = dt_all <= TARGET_S * n / TARGET_N
    print(f"  lookup() all    {dt_all:6.2f} s wall  {CPU['last']:6.2f} s CPU  = "
          f"{n / dt_all:,.0f} points/s   "
          f"[target <= {TARGET_S * n / TARGET_N:.1f} s: {'PASS' if ok else 'MISS'}]")
    print(f"  at sea after all: {(info['country'] == '').mean():.2%} of land-mask points "
          "(lakes and specks Natural Earth leaves out)")
    dt_s, (slat, slng) = timed(sample_points, n, 0)
    print(f"GeoGuessr-like points: sample_points({n:,}) {dt_s:.2f} s")
    dt_g, _ = timed(geo.lookup, slat, slng)
    print(f"  lookup() all    {dt_g:6.2f} s wall  {CPU['last']:6.2f} s CPU  = "
          f"{n / dt_g:,.0f} points/s")
    admin = geo._part("admin")
    if admin.fast_grid is not None:
        r, c = admin.fast_spec.indices(slat, slng)
        share = float((admin.fast_grid[r, c] == -1).mean())
        print(f"  share needing the exact polygon test: {share:.1%}")
    print(f"peak memory (max RSS): {peak_rss_mb():,.0f} MB")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     epilog="example:\n  python benchmarks/bench_geo.py",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=TARGET_N, help="points (default 100000)")
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be >= 1")
    ok = run(args.n)
    return 1 if (args.check and not ok) else 0


if __name__ == "__main__":
    sys.exit(main())
