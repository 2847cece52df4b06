"""Plain-grid geocells: the baseline that the paper's semantic geocells are compared with.

Two grids, both returned as a ``backend.geocells.Geocells`` (so training, the bundle and the
predictor use them exactly like semantic cells):

- ``equal_area``: ``n_bands`` latitude bands of equal height h = 180°/n_bands; each band
  is cut into as many equal columns as its area holds cells of area h² (at least one), so
  every cell has nearly the same area on the sphere (within a few %, rounding) and cells
  near the equator are nearly square.
- ``equal_angle``: ``step_deg`` x ``step_deg`` boxes in latitude/longitude.

Only cells holding at least ``min_points`` training points are kept (an empty class teaches
the classifier nothing); ``Geocells.assign`` maps a point outside every kept cell to the
nearest one. A cell's centroid is the spherical mean of its points, its country the most
common country of its points (when given).

Usage::

    from backend.eval.grid_cells import make_grid_cells
    cells = make_grid_cells(lat, lng, kind="equal_area", n_bands=18, min_points=5)
    cells.save("grid/geocells.json")
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np

from backend.core.geodesy import spherical_mean, validate_latlng

GRID_KINDS = ("equal_area", "equal_angle")


def _equal_area_boxes(n_bands: int) -> list[tuple[float, float, float, float]]:
    height = math.pi / n_bands  # band height in radians; the target cell area is height²
    edges = np.linspace(-90.0, 90.0, n_bands + 1)
    boxes = []
    for b in range(n_bands):
        lo, hi = float(edges[b]), float(edges[b + 1])
        band_area = 2 * math.pi * (math.sin(math.radians(hi)) - math.sin(math.radians(lo)))
        cols = max(1, round(band_area / height ** 2))
        lng_edges = np.linspace(-180.0, 180.0, cols + 1)
        boxes += [(float(lng_edges[c]), lo, float(lng_edges[c + 1]), hi) for c in range(cols)]
    return boxes


def _equal_angle_boxes(step_deg: float) -> list[tuple[float, float, float, float]]:
    lat_edges = np.arange(-90.0, 90.0 + 1e-9, step_deg)
    if lat_edges[-1] < 90.0:
        lat_edges = np.append(lat_edges, 90.0)
    lng_edges = np.arange(-180.0, 180.0 + 1e-9, step_deg)
    if lng_edges[-1] < 180.0:
        lng_edges = np.append(lng_edges, 180.0)
    return [(float(lng_edges[c]), float(lat_edges[r]), float(lng_edges[c + 1]),
             float(lat_edges[r + 1]))
            for r in range(len(lat_edges) - 1) for c in range(len(lng_edges) - 1)]


def grid_boxes(kind: str = "equal_area", *, n_bands: int = 18,
               step_deg: float = 10.0) -> list[tuple[float, float, float, float]]:
    """The grid's cells as ``(min_lng, min_lat, max_lng, max_lat)`` boxes covering the globe.

    Raises:
        ValueError: unknown kind, ``n_bands < 1`` or ``step_deg`` outside (0, 180].
    """
    if kind == "equal_area":
        if n_bands < 1:
            raise ValueError(f"n_bands must be at least 1, got {n_bands}")
        return _equal_area_boxes(int(n_bands))
    if kind == "equal_angle":
        if not 0.0 < step_deg <= 180.0:
            raise ValueError(f"step_deg must lie in (0, 180], got {step_deg}")
        return _equal_angle_boxes(float(step_deg))
    raise ValueError(f"unknown grid kind {kind!r}; choose one of {', '.join(GRID_KINDS)}")


def box_index(lat: np.ndarray, lng: np.ndarray,
              boxes: list[tuple[float, float, float, float]]) -> np.ndarray:
    """Index of the box holding each point (boxes are half-open; the north/east edges of the
    globe belong to the last box)."""
    b = np.asarray(boxes, dtype=np.float64)
    out = np.full(len(lat), -1, dtype=np.int64)
    for i, (x0, y0, x1, y1) in enumerate(b):
        inside = ((lat >= y0) & ((lat < y1) | (y1 >= 90.0)) &
                  (lng >= x0) & ((lng < x1) | (x1 >= 180.0)) & (out < 0))
        out[inside] = i
    return out


def make_grid_cells(lat: Any, lng: Any, *, kind: str = "equal_area", n_bands: int = 18,
                    step_deg: float = 10.0, min_points: int = 1,
                    countries: Sequence[str] | None = None,
                    input_meta: dict[str, Any] | None = None) -> Any:
    """Build plain-grid geocells from training points.

    Args:
        lat, lng: ``(n,)`` training points in degrees.
        kind: ``"equal_area"`` or ``"equal_angle"``.
        n_bands: latitude bands of the equal-area grid (18 gives about 410 cells on the
            globe, ~1100 km across).
        step_deg: box size of the equal-angle grid.
        min_points: cells with fewer training points are dropped (>= 1).
        countries: optional ISO-2 code per point; a cell's country is its most common one.
        input_meta: what the points came from (stored in the metadata).

    Returns:
        A ``backend.geocells.Geocells`` with metadata ``created_by`` this module.

    Raises:
        ValueError: bad kind or sizes, ``countries`` of the wrong length, or no cell with
            ``min_points`` points.
    """
    from shapely.geometry import box

    from backend.geocells import Geocells

    la, lo = validate_latlng(np.atleast_1d(lat), np.atleast_1d(lng))
    if min_points < 1:
        raise ValueError(f"min_points must be at least 1, got {min_points}")
    if countries is not None and len(countries) != len(la):
        raise ValueError(f"{len(countries)} countries for {len(la)} points")
    boxes = grid_boxes(kind, n_bands=n_bands, step_deg=step_deg)
    idx = box_index(la, lo, boxes)
    counts = np.bincount(idx, minlength=len(boxes))
    keep = np.flatnonzero(counts >= min_points)
    if len(keep) == 0:
        raise ValueError(f"no grid cell holds {min_points} points (of {len(la)}); lower "
                         "min_points or use a coarser grid")
    polys, cents, isos, n_pts = [], [], [], []
    for k in keep:
        members = idx == k
        polys.append(box(*boxes[k]))
        cents.append(spherical_mean(la[members], lo[members]))
        if countries is not None:
            common = Counter(c for c, m in zip(countries, members) if m and c).most_common(1)
            isos.append(common[0][0] if common else "")
        else:
            isos.append("")
        n_pts.append(int(counts[k]))
    params = {"kind": kind, "min_points": min_points, "cells_in_grid": len(boxes)}
    params.update({"n_bands": n_bands} if kind == "equal_area" else {"step_deg": step_deg})
    meta = {
        "format": "pigeon-geocells/1",
        "created_by": "pigeon-bot backend.eval.grid_cells.make_grid_cells",
        "method": "plain grid baseline (not semantic)",
        "parameters": params,
        "input": input_meta or {"file": "<memory>", "n_points": len(la)},
        "centroid": "spherical mean of the cell's points",
        "dropped_points": int((counts[counts < min_points]).sum()),
    }
    return Geocells(polys, np.asarray(cents), countries=isos, iso2=isos,
                    admin1=[""] * len(keep), n_points=n_pts, metadata=meta)
