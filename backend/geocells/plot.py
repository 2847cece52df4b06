"""A PNG map of geocells: each cell filled in its own colour, centroids as dots.

Colours come from a seeded generator, so the same cells and seed give the same picture.
Polygons are simplified for drawing only (the file keeps full detail).

Usage::

    from backend.geocells.plot import plot_geocells
    plot_geocells(cells, "cells/geocells.png", seed=0)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import shapely


def polygon_path(geom: Any, tolerance: float) -> Any:
    """One compound matplotlib Path for a (Multi)Polygon, holes included."""
    from matplotlib.path import Path as MplPath

    g = shapely.simplify(geom, tolerance, preserve_topology=True) if tolerance > 0 else geom
    verts, codes = [], []
    for poly in shapely.get_parts(g):
        if poly.geom_type != "Polygon" or poly.is_empty:
            continue
        for ring in [poly.exterior, *poly.interiors]:
            xy = np.asarray(ring.coords)
            if len(xy) < 3:
                continue
            verts.append(xy)
            codes.append(np.r_[MplPath.MOVETO, np.full(len(xy) - 2, MplPath.LINETO),
                               MplPath.CLOSEPOLY])
    if not verts:
        return None
    return MplPath(np.concatenate(verts), np.concatenate(codes).astype(np.uint8))


def cell_paths(cells: Any, tolerance: float, *, seed: int = 0) -> tuple[list[Any], list[Any]]:
    """Each cell's drawable path (simplified by ``tolerance`` degrees) and its seeded colour;
    cells with nothing to draw are left out."""
    palette = np.random.default_rng(seed).uniform(0.2, 0.8, size=(len(cells), 3))  # not sea-white
    paths, colours = [], []
    for i, g in enumerate(cells.polygons):
        path = polygon_path(g, tolerance)
        if path is not None:
            paths.append(path)
            colours.append(palette[i])
    return paths, colours


def plot_geocells(cells: Any, out_path: str | Path, *, seed: int = 0, dpi: int = 150,
                  title: str | None = None) -> Path:
    """Draw ``cells`` (a :class:`backend.geocells.cells.Geocells`) to a PNG file.

    Args:
        cells: the geocells.
        out_path: where to write the PNG.
        seed: colour seed.
        dpi: resolution; the figure is 12 x 6.5 inches.
        title: figure title (default: counts of cells, countries and points).

    Returns:
        The written path.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PathCollection

    minx, miny, maxx, maxy = shapely.total_bounds(cells.polygons)
    span = max(maxx - minx, maxy - miny, 1e-6)
    paths, colours = cell_paths(cells, span / 2000.0, seed=seed)
    fig, ax = plt.subplots(figsize=(12, 6.5))
    ax.add_collection(PathCollection(paths, facecolors=colours, edgecolors="#333333",
                                     linewidths=0.15))
    ax.scatter(cells.centroids[:, 1], cells.centroids[:, 0], s=0.8, c="black", linewidths=0)
    pad = 0.02 * span
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect("equal")
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title(title or f"{len(cells)} geocells, {len(set(cells.iso2))} countries, "
                          f"{int(cells.n_points.sum())} points")
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    import json

    # the PNG carries what made it: the geocells' parameters and input
    info = {k: cells.metadata.get(k) for k in ("format", "created", "parameters", "input")}
    fig.savefig(out, dpi=dpi, bbox_inches="tight",
                metadata={"Software": "pigeon-bot backend.geocells.plot",
                          "Description": json.dumps(info, ensure_ascii=False, default=str)})
    plt.close(fig)
    return out
