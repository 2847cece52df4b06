"""Geocells on realistic world points: no cell spans an ocean, every centroid sits on its land.

Samples N GeoGuessr-like points (``backend.geo.sampler.sample_points``: GeoNames places
weighted by population ** 0.5, moved up to 10 km, kept on land in Street View countries),
builds PIGEON geocells (MIN 30, MAX 60, PIGEON's OPTICS settings) over Natural Earth admin-1
and reports, with the time each step took:

- cells, countries, cells below MIN / above MAX;
- the farthest point from its own cell's centroid: every cell with a point more than
  ``--limit-km`` (1000) away that is not its country's only cell is a failure;
- each centroid's distance to its own cell's land (0 inside the polygon): the worst ones;
- cells whose own points mostly put their label-smoothing peak (the nearest centroid) on a
  cell of ANOTHER country: such classes are dead.

It writes a PNG of the cells (centroids as dots; failing cells outlined in red, their centroids
as red crosses) and exits 1 when a cell fails.

Usage::

    python scripts/check_geocells_world.py --n 50000 --png docs/img/geocells_world.png
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def centroid_to_land_km(cells, labels: np.ndarray, area_of_point: np.ndarray,
                        areas, *, whole_country: bool = False) -> np.ndarray:
    """Distance from each centroid to its own points' land, in km (0 on it): the admin areas
    holding its points, or with ``whole_country`` every admin area of its country."""
    import shapely

    from backend.core.geodesy import haversine_km

    out = np.zeros(len(cells))
    for i in range(len(cells)):
        own = np.unique(area_of_point[labels == i])
        if whole_country:
            own = [k for k, a in enumerate(areas) if a.iso2 == cells.iso2[i]]
        geoms = [areas[a].geometry for a in own]
        pt = shapely.points(cells.centroids[i, 1], cells.centroids[i, 0])
        if any(shapely.intersects(g, pt) for g in geoms):
            continue
        best = np.inf
        for g in geoms:
            lng, lat = shapely.get_coordinates(shapely.shortest_line(g, pt))[0]
            best = min(best, float(haversine_km(lat, lng, *cells.centroids[i])))
        out[i] = best
    return out


def farthest_point_km(cells, labels: np.ndarray, lat: np.ndarray, lng: np.ndarray) -> np.ndarray:
    """Per cell, the largest distance from one of its points to its centroid (km)."""
    from backend.core.geodesy import haversine_km

    d = haversine_km(lat, lng, cells.centroids[labels, 0], cells.centroids[labels, 1])
    out = np.zeros(len(cells))
    np.maximum.at(out, labels, d)
    return out


def foreign_peak_share(cells, labels: np.ndarray, lat: np.ndarray, lng: np.ndarray
                       ) -> np.ndarray:
    """Per cell, the share of its points whose nearest centroid is another country's cell."""
    from scipy.spatial import cKDTree

    from backend.core.geodesy import to_unit_vectors

    _, nearest = cKDTree(to_unit_vectors(cells.centroids[:, 0], cells.centroids[:, 1])).query(
        to_unit_vectors(lat, lng))
    iso = np.array(cells.iso2)
    foreign = iso[nearest] != iso[labels]
    n = np.bincount(labels, minlength=len(cells))
    return np.bincount(labels, weights=foreign, minlength=len(cells)) / np.maximum(n, 1)


def cell_name(cells, i: int) -> str:
    regions = ", ".join(cells.admin1_all[i][:4]) + (" ..." if len(cells.admin1_all[i]) > 4
                                                    else "")
    return f"cell {i} {cells.iso2[i]} [{regions}] ({cells.n_points[i]} points)"


def plot(cells, bad: np.ndarray, out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PathCollection

    from backend.geocells.plot import cell_paths, polygon_path

    paths, colours = cell_paths(cells, 0.05)
    fig, ax = plt.subplots(figsize=(14, 7))
    ax.add_collection(PathCollection(paths, facecolors=colours, edgecolors="#333333",
                                     linewidths=0.1))
    good = np.setdiff1d(np.arange(len(cells)), bad)
    ax.scatter(cells.centroids[good, 1], cells.centroids[good, 0], s=0.6, c="black",
               linewidths=0, label="centroid")
    for i in bad:
        p = polygon_path(cells.polygons[i], 0.05)
        if p is not None:
            ax.add_collection(PathCollection([p], facecolors="none", edgecolors="red",
                                             linewidths=0.8))
    if len(bad):
        ax.scatter(cells.centroids[bad, 1], cells.centroids[bad, 0], s=30, c="red",
                   marker="x", label="centroid of a failing cell")
    ax.set_xlim(-180, 180)
    ax.set_ylim(-60, 85)
    ax.set_aspect("equal")
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="lower left", fontsize=8)
    out.parent.mkdir(parents=True, exist_ok=True)
    info = {k: cells.metadata.get(k) for k in ("format", "parameters", "input")}
    fig.savefig(out, dpi=110, bbox_inches="tight",
                metadata={"Software": "pigeon-bot scripts/check_geocells_world.py",
                          "Description": json.dumps(info, default=str)})
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=50_000, help="points to sample (50,000)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit-km", type=float, default=1000.0,
                    help="largest point-to-centroid distance allowed (1000)")
    ap.add_argument("--max-radius-km", type=float, default=1000.0,
                    help="the build's radius rule (ours; 0: PIGEON's rules alone)")
    ap.add_argument("--png", type=Path, help="write the map here")
    ap.add_argument("--worst", type=int, default=8, help="list this many worst cells")
    args = ap.parse_args(argv)

    import collections

    from backend.geo.sampler import sample_points
    from backend.geocells.areas import load_areas
    from backend.geocells.build import GeocellParams, build_geocells

    print(f"machine: {platform.machine()}, {platform.python_version()}, "
          f"load average {tuple(round(x, 1) for x in __import__('os').getloadavg())}")
    t0 = time.perf_counter()
    lat, lng = sample_points(args.n, seed=args.seed)
    t_sample = time.perf_counter() - t0
    t0 = time.perf_counter()
    areas = load_areas()
    t_areas = time.perf_counter() - t0
    t0 = time.perf_counter()
    radius = args.max_radius_km or None
    cells, labels = build_geocells(lat, lng, areas, GeocellParams(30, 60, max_radius_km=radius),
                                   input_meta={"file": "sample_points", "seed": args.seed,
                                               "n_points": args.n})
    t_build = time.perf_counter() - t0
    per_country = collections.Counter(cells.iso2)
    far = farthest_point_km(cells, labels, lat, lng)
    whole_country = np.array([per_country[c] == 1 for c in cells.iso2])
    bad = np.flatnonzero((far > args.limit_km) & ~whole_country)
    from backend.geocells.areas import assign_points_to_areas

    area_of_point = assign_points_to_areas(lat, lng, areas)
    land = centroid_to_land_km(cells, labels, area_of_point, areas)
    country_land = centroid_to_land_km(cells, labels, area_of_point, areas, whole_country=True)
    foreign = foreign_peak_share(cells, labels, lat, lng)
    print(f"radius rule: {'none (PIGEON alone)' if radius is None else f'{radius:g} km'}")
    print(f"{args.n} points (seed {args.seed}): sampling {t_sample:.1f} s, admin areas "
          f"{t_areas:.1f} s, geocell build {t_build:.1f} s")
    print(f"{len(cells)} cells in {len(per_country)} countries; "
          f"{len(cells.metadata['below_min'])} below MIN, "
          f"{len(cells.metadata['above_max'])} above MAX")
    print(f"cells with a point > {args.limit_km:.0f} km from their centroid: "
          f"{int((far > args.limit_km).sum())} ({int(((far > args.limit_km) & whole_country).sum())}"
          f" of them a whole country, {len(bad)} failing)")
    for i in np.argsort(-far)[:args.worst]:
        tag = "whole country" if whole_country[i] else ("FAIL" if i in bad else "ok")
        print(f"  {far[i]:7.0f} km  {cell_name(cells, i)}  {tag}")
    reasons = collections.Counter(b["reason"] for b in cells.metadata["below_min"])
    for why, k in reasons.most_common():
        print(f"  below MIN, {k:3d} cells: {why}")
    print(f"centroid to its own points' land (the admin areas holding them): "
          f"{int((land > 0).sum())} centroids off that land, worst:")
    for i in np.argsort(-land)[:args.worst]:
        print(f"  {land[i]:7.1f} km  {cell_name(cells, i)}")
    print(f"centroid to its country's land: {int((country_land > 0).sum())} centroids at sea, "
          f"worst:")
    for i in np.argsort(-country_land)[:args.worst]:
        if country_land[i] > 0:
            print(f"  {country_land[i]:7.1f} km  {cell_name(cells, i)}")
    dead = np.flatnonzero(foreign > 0.5)
    print(f"cells whose points mostly peak on another country's centroid: {len(dead)}")
    for i in dead[np.argsort(-foreign[dead])][:args.worst]:
        print(f"  {100 * foreign[i]:5.1f} %  {cell_name(cells, i)}")
    if args.png:
        title = (f"{len(cells)} PIGEON geocells (MIN 30 / MAX 60) from {args.n} GeoNames points "
                 f"(sqrt population), seed {args.seed}; failing cells (a point > "
                 f"{args.limit_km:.0f} km from the centroid, not a whole country): {len(bad)}; "
                 f"worst centroid to its points' land {land.max():.0f} km, to its country's "
                 f"land {country_land.max():.0f} km")
        plot(cells, bad, args.png, title)
        print(f"wrote {args.png}")
    return 1 if len(bad) else 0


if __name__ == "__main__":
    raise SystemExit(main())
