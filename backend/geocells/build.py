"""Build semantic geocells (PIGEON §geocells) from training points and admin polygons.

Pipeline: points → finest admin area (containment, else nearest) → one cell per area with
points → empty areas join the nearest cell → cells below MIN merge into a touching cell of
their country (none across a sea) → cells with a point farther than ``max_radius_km`` from
their centroid are cut by a spherical 2-means (ours; ``radius_split``) → cells above MAX split
with OPTICS (settings in turn, then a balanced bisection) → split boundaries drawn by a
Voronoi tessellation clipped to the parent → :class:`Geocells` with its metadata. The result depends only on the inputs and parameters (no randomness), so the same
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
from backend.geocells.merge import TOUCH_DEG, WorkCell, group_areas
from backend.geocells.optics_split import PIGEON_OPTICS
from backend.geocells.radius_split import radius_parts
from backend.geocells.split_cell import snap_into, split_cell
from backend.geocells.voronoi import polygonal, voronoi_partition

DEFAULT_MAX_RADIUS_KM = 1000.0
"""Ours: no cell (but a country's only one) keeps a point farther than this from its centroid."""


class GeocellParamError(ValueError):
    """Parameters that cannot build geocells (MIN > MAX, bad OPTICS settings, ...)."""


@dataclass(frozen=True)
class GeocellParams:
    """MIN / MAX points per cell, the OPTICS ``(min_samples, xi)`` settings tried in turn, and
    the largest point-to-centroid distance (km; None: PIGEON's rules alone)."""

    min_points: int = 30
    max_points: int = 60
    optics: tuple[tuple[int, float], ...] = field(default=PIGEON_OPTICS)
    max_radius_km: float | None = DEFAULT_MAX_RADIUS_KM

    def check(self) -> GeocellParams:
        """Validate; returns self. Raises GeocellParamError with what to change."""
        if int(self.min_points) < 1:
            raise GeocellParamError(f"MIN must be at least 1, got {self.min_points}")
        if int(self.max_points) < int(self.min_points):
            raise GeocellParamError(f"MIN ({self.min_points}) is greater than MAX "
                                    f"({self.max_points}); choose MIN <= MAX, e.g. 30 and 60")
        if self.max_radius_km is not None and not float(self.max_radius_km) > 0:
            raise GeocellParamError(f"the largest cell radius must be a positive number of km "
                                    f"(or none), got {self.max_radius_km}")
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
                params: GeocellParams, whole_country: bool) -> list[tuple[np.ndarray, Any, str]]:
    """Cut one work cell by the radius rule, then split parts above MAX:
    ``[(point indices, polygon, how it was made), ...]``."""
    groups = _radius_cut(wc.points, parent, lat, lng, params, whole_country, "")
    out = []
    for g_pts, g_poly, how in groups:
        if len(g_pts) <= params.max_points:
            out.append((g_pts, g_poly, how))
            continue
        for p, g in split_cell(g_poly, lat[g_pts], lng[g_pts], params.min_points,
                               params.max_points, params.optics):
            # OPTICS' remainder part can be scattered: the radius rule holds for it too
            out.extend(_radius_cut(g_pts[p], g, lat, lng, params, whole_country, how))
    return out


def _radius_cut(pts: np.ndarray, poly: Any, lat: np.ndarray, lng: np.ndarray,
                params: GeocellParams, whole_country: bool, how: str
                ) -> list[tuple[np.ndarray, Any, str]]:
    """One cell's points and polygon, cut by the radius rule when it applies."""
    if params.max_radius_km is None or whole_country:
        return [(pts, poly, how)]
    parts = radius_parts(lat[pts], lng[pts], params.max_radius_km)
    if len(parts) == 1:
        return [(pts, poly, how)]
    slat, slng = snap_into(poly, lat[pts], lng[pts])
    polys = voronoi_partition(poly, slat, slng, parts)
    if any(shapely.is_empty(g) for g in polys):
        return [(pts, poly, how)]
    return [(pts[p], g, "radius") for p, g in zip(parts, polys)]


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
    work, dropped = group_areas(areas, area_of_point, params.min_points, lat=la, lng=lo,
                                max_radius_km=params.max_radius_km)
    wrap = progress or (lambda it, **_: it)
    work_per_country = collections.Counter(wc.country_key for wc in work)

    polygons, cents, countries, iso2, adm1, adm1_all, adm2, counts = ([] for _ in range(8))
    why_small: list[str] = []
    labels = np.full(len(la), -1, dtype=np.int64)
    for wc in wrap(work, total=len(work), desc="geocells", unit="cell"):
        geoms = [areas[i].geometry for i in wc.areas]
        parent = geoms[0] if len(geoms) == 1 else polygonal(shapely.union_all(geoms))
        whole = work_per_country[wc.country_key] == 1
        for pts, poly, how in _cell_parts(wc, parent, la, lo, params, whole):
            why_small.append(wc.why_small if how != "radius" else
                             f"split off by the radius rule (points over "
                             f"{params.max_radius_km:g} km from the centroid of the rest)")
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
              "reason": why_small[i] or "a split part that the rules left below MIN"}
             for i, n in enumerate(counts) if n < params.min_points]
    why_above = ("MAX < 2*MIN - 1: no split into parts of MIN..MAX points exists"
                 if params.max_points < 2 * params.min_points - 1
                 else "identical coordinates are never split across cells")
    above = [{"cell": i, "n_points": int(n), "iso2": iso2[i], "reason": why_above}
             for i, n in enumerate(counts) if n > params.max_points]
    unexplained = [b for b in below if b["reason"].startswith("a split part")]
    if unexplained:  # merge.py and split_cell guarantee this
        raise RuntimeError(f"internal error: cells below MIN with no reason: {unexplained}")
    meta = {
        "format": FORMAT,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "created_by": f"pigeon-bot {__version__} backend.geocells.build.build_geocells",
        "parameters": {"min_points": params.min_points, "max_points": params.max_points,
                       "optics": [list(s) for s in params.optics],
                       "optics_space": "3-D unit vectors x Earth radius (km, chord)",
                       "boundaries": "Voronoi of points in lon/lat, clipped to parent cell",
                       "centroid": "spherical mean of the cell's points",
                       "merging": "only into a touching cell of the same country "
                                  f"(polygons within {TOUCH_DEG} deg)",
                       "max_radius_km": params.max_radius_km},
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
