"""Build semantic geocells (PIGEON §geocells) from training points and admin polygons.

Pipeline: points → finest admin area (containment, else nearest) → one cell per area with
points → empty areas join the nearest cell → cells below MIN merge inside their country →
cells above MAX split with OPTICS (settings in turn, then a balanced bisection) → split
boundaries drawn by a Voronoi tessellation clipped to the parent → :class:`Geocells` with its
metadata. The result depends only on the inputs and parameters (no randomness), so the same
points and parameters always give the same cells.

Usage::

    from backend.geocells.areas import load_areas
    from backend.geocells.build import GeocellParams, build_geocells
    cells, labels = build_geocells(lat, lng, load_areas(), GeocellParams(30, 60))
"""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from backend import __version__
from backend.core.geodesy import spherical_mean, validate_latlng
from backend.geocells.areas import Area, assign_points_to_areas
from backend.geocells.cells import FORMAT, Geocells
from backend.geocells.merge import WorkCell, group_areas
from backend.geocells.optics_split import PIGEON_OPTICS
from backend.geocells.split_cell import split_cell
from backend.geocells.voronoi import polygonal


class GeocellParamError(ValueError):
    """Parameters that cannot build geocells (MIN > MAX, bad OPTICS settings, ...)."""


@dataclass(frozen=True)
class GeocellParams:
    """MIN / MAX points per cell and the OPTICS ``(min_samples, xi)`` settings tried in turn."""

    min_points: int = 30
    max_points: int = 60
    optics: tuple[tuple[int, float], ...] = field(default=PIGEON_OPTICS)

    def check(self) -> GeocellParams:
        """Validate; returns self. Raises GeocellParamError with what to change."""
        if int(self.min_points) < 1:
            raise GeocellParamError(f"MIN must be at least 1, got {self.min_points}")
        if int(self.max_points) < int(self.min_points):
            raise GeocellParamError(f"MIN ({self.min_points}) is greater than MAX "
                                    f"({self.max_points}); choose MIN <= MAX, e.g. 30 and 60")
        if not self.optics:
            raise GeocellParamError("give at least one OPTICS setting, e.g. '8,.05'")
        for ms, xi in self.optics:
            if int(ms) != ms or ms < 2:
                raise GeocellParamError(f"OPTICS min_samples must be an integer >= 2, got {ms}")
            if not 0.0 < float(xi) < 1.0:
                raise GeocellParamError(f"OPTICS xi must lie in (0, 1), got {xi}")
        return self


def parse_optics(text: str) -> tuple[tuple[int, float], ...]:
    """Parse ``"8,.05;10,.025;15,.015"`` into ``((8, 0.05), (10, 0.025), (15, 0.015))``.

    Raises:
        GeocellParamError: malformed text.
    """
    out = []
    for chunk in filter(None, (c.strip() for c in text.split(";"))):
        try:
            ms, xi = chunk.split(",")
            out.append((int(ms), float(xi)))
        except ValueError:
            raise GeocellParamError(f"bad OPTICS setting {chunk!r}: write min_samples,xi pairs "
                                    "separated by ';', e.g. '8,.05;10,.025;15,.015'") from None
    if not out:
        raise GeocellParamError("empty OPTICS settings; e.g. '8,.05;10,.025;15,.015'")
    return tuple(out)


def _cell_parts(wc: WorkCell, parent: Any, lat: np.ndarray, lng: np.ndarray,
                params: GeocellParams) -> list[tuple[np.ndarray, Any]]:
    """Split one work cell if it is above MAX: [(point indices, polygon), ...]."""
    pts = wc.points
    if wc.n <= params.max_points:
        return [(pts, parent)]
    parts = split_cell(parent, lat[pts], lng[pts], params.min_points, params.max_points,
                       params.optics)
    return [(pts[p], g) for p, g in parts]


def build_geocells(lat: Any, lng: Any, areas: Sequence[Area],
                   params: GeocellParams = GeocellParams(), *,
                   input_meta: dict[str, Any] | None = None,
                   admin_meta: dict[str, Any] | None = None,
                   progress: Callable[..., Iterable[Any]] | None = None,
                   ) -> tuple[Geocells, np.ndarray]:
    """Build geocells for training points.

    Args:
        lat, lng: training locations in degrees (N >= 1).
        areas: finest admin areas (``backend.geocells.areas.load_areas()``).
        params: MIN, MAX and OPTICS settings.
        input_meta: description of the points' source (file, sha256, n_points) for the file.
        admin_meta: description of the admin polygons' source.
        progress: optional wrapper ``progress(iterable, total=..., desc=...)`` for a bar.

    Returns:
        ``(cells, labels)``: the :class:`Geocells` and the cell index of every input point.

    Raises:
        GeocellParamError: invalid parameters; CoordinateError: invalid coordinates;
        ValueError: no areas.
    """
    params.check()
    la, lo = validate_latlng(np.atleast_1d(lat), np.atleast_1d(lng))
    la, lo = la.ravel(), lo.ravel()
    if not areas:
        raise ValueError("no admin areas given")
    area_of_point = assign_points_to_areas(la, lo, areas)
    work, dropped = group_areas(areas, area_of_point, params.min_points)
    wrap = progress or (lambda it, **_: it)

    polygons, cents, countries, iso2, adm1, adm1_all, adm2, counts = ([] for _ in range(8))
    labels = np.full(len(la), -1, dtype=np.int64)
    for wc in wrap(work, total=len(work), desc="geocells", unit="cell"):
        geoms = [areas[i].geometry for i in wc.areas]
        parent = geoms[0] if len(geoms) == 1 else polygonal(shapely.union_all(geoms))
        for pts, poly in _cell_parts(wc, parent, la, lo, params):
            labels[pts] = len(polygons)
            src = [areas[i] for i in area_of_point[pts]]
            a1 = collections.Counter(a.admin1 for a in src)
            if len(pts) == wc.n:  # the whole work cell: name every area it covers
                src = [areas[i] for i in wc.areas] + src
            polygons.append(poly)
            cents.append(spherical_mean(la[pts], lo[pts]))
            first = areas[wc.areas[0]]
            countries.append(first.country)
            iso2.append(first.iso2)
            adm1.append(min(a1.items(), key=lambda kv: (-kv[1], kv[0]))[0])
            adm1_all.append(sorted({a.admin1 for a in src}))
            adm2.append(sorted({a.admin2 for a in src if a.admin2}))
            counts.append(len(pts))

    per_country = collections.Counter(iso2)
    dropped_ids = set(dropped)
    below = [{"cell": i, "n_points": int(n), "iso2": iso2[i],
              "reason": "the only cell of its country (the country has fewer than MIN points)"}
             for i, n in enumerate(counts) if n < params.min_points]
    why_above = ("MAX < 2*MIN - 1: no split into parts of MIN..MAX points exists"
                 if params.max_points < 2 * params.min_points - 1
                 else "identical coordinates are never split across cells")
    above = [{"cell": i, "n_points": int(n), "iso2": iso2[i], "reason": why_above}
             for i, n in enumerate(counts) if n > params.max_points]
    if not all(per_country[b["iso2"]] == 1 for b in below):  # merge.py guarantees this
        raise RuntimeError(f"internal error: cells below MIN in multi-cell countries: {below}")
    meta = {
        "format": FORMAT,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "created_by": f"pigeon-bot {__version__} backend.geocells.build.build_geocells",
        "parameters": {"min_points": params.min_points, "max_points": params.max_points,
                       "optics": [list(s) for s in params.optics],
                       "optics_space": "3-D unit vectors x Earth radius (km, chord)",
                       "boundaries": "Voronoi of points in lon/lat, clipped to parent cell",
                       "centroid": "spherical mean of the cell's points"},
        "input": input_meta or {"file": "<memory>", "n_points": len(la)},
        "admin_source": admin_meta or {},
        "n_areas": len(areas),
        "countries_with_cells": len(per_country),
        "countries_without_cells": sorted({a.iso2 or a.country for a in areas
                                           if a.id in dropped_ids}),
        "below_min": below,
        "above_max": above,
    }
    cells = Geocells(polygons, np.array(cents), countries=countries, iso2=iso2, admin1=adm1,
                     n_points=counts, admin1_all=adm1_all, admin2=adm2, metadata=meta)
    return cells, labels
