"""SynthWorld rendering speed: views per second at 64 and 96 px, one process and a pool.

Prints the figures and the machine. Scenes are hand-made (varied climates, cities, landmarks)
so the benchmark needs no geographic assets.

Usage::

    python benchmarks/bench_render.py [--places 200]
"""

from __future__ import annotations

import argparse
import io
import multiprocessing as mp
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image

from backend.synthworld.render import render_panorama
from backend.synthworld.scene import KOPPEN_CODES, SCRIPTS, Landmark, Scene


def scenes(n: int) -> list[Scene]:
    out = []
    for i in range(n):
        out.append(Scene(lat=-50 + (i * 7) % 110, lng=-170 + (i * 37) % 340, month=1 + i % 12,
                         seed=i, country="XX", admin1=f"XX-{i % 7}",
                         koppen=KOPPEN_CODES[i % len(KOPPEN_CODES)], elevation_m=(i * 131) % 3000,
                         pop_density=float((i * 97) % 5000), driving_side="left" if i % 4 == 0
                         else "right", script=SCRIPTS[i % len(SCRIPTS)], continent="EU",
                         horizon_deg=tuple(float((i + k) % 5) * 0.5 for k in range(16)),
                         landmarks=(Landmark(i, (i * 53) % 360, (i % 10) + 0.5),)))
    return out


def _one(args: tuple[Scene, int]) -> int:
    scene, size = args
    views = render_panorama(scene, size)
    for v in views:  # include the JPEG encoding the dataset writer does
        Image.fromarray(v).save(io.BytesIO(), format="JPEG", quality=90)
    return len(views)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--places", type=int, default=200)
    args = ap.parse_args()
    sc = scenes(args.places)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}")
    for size in (64, 96):
        t = time.perf_counter()
        views = sum(_one((s, size)) for s in sc)
        dt = time.perf_counter() - t
        print(f"size {size}: 1 process  {views / dt:7.0f} views/s  ({1000 * dt / views:.2f} ms/view, "
              "render + JPEG)")
    with mp.get_context("fork").Pool(2) as pool:
        t = time.perf_counter()
        views = sum(pool.map(_one, [(s, 64) for s in sc], chunksize=8))
        dt = time.perf_counter() - t
    print(f"size 64: 2 processes {views / dt:7.0f} views/s (shared machine: other load counts)")


if __name__ == "__main__":
    main()
