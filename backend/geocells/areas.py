"""The admin areas geocells start from, and the assignment of points to them.

An :class:`Area` is one finest admin unit: an admin-1 polygon of Natural Earth (from
``backend.geo.admin``) or, when the user brings an admin-2 file, an admin-2 polygon clipped
to the admin-1 polygon it lies in. Points go to the area whose polygon contains them; a point
inside none (on a coast, a speck of land Natural Earth left out) goes to the nearest polygon.

Usage::

    areas = load_areas(admin2_path=None)               # real Natural Earth admin-1
    area_of_point = assign_points_to_areas(lat, lng, areas)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from backend.cliutil import UserError


@dataclass(frozen=True)
class Area:
    """One finest admin unit. ``country_key`` (ISO-2) decides which cells may merge."""

    id: str
    iso2: str
    country: str
    admin1: str
    admin2: str
    geometry: Any  # shapely Polygon | MultiPolygon in lon/lat degrees

    @property
    def country_key(self) -> str:
        return self.iso2 or self.country


def areas_from_admin(admin_areas: Sequence[Any]) -> list[Area]:
    """Convert ``backend.geo.admin.AdminArea`` objects (admin-1 level) into :class:`Area`."""
    out = []
    for a in admin_areas:
        unit = getattr(a, "unit", "") or ""
        # FR/IT/ES/PH: the Natural Earth polygon is a finer unit than the reported admin-1
        admin2 = unit if unit and unit != a.admin1 else ""
        out.append(Area(id=f"a1:{a.id}", iso2=a.iso2, country=a.country, admin1=a.admin1,
                        admin2=admin2, geometry=shapely.make_valid(a.geometry)))
    return out


def points_in_geometries(lat: np.ndarray, lng: np.ndarray, geoms: np.ndarray,
                         tree: shapely.STRtree | None = None) -> np.ndarray:
    """Index of the geometry holding each point; the nearest one for points in none.

    Args:
        lat, lng: float64 arrays of degrees (already validated).
        geoms: object array of shapely polygons (lon/lat).
        tree: an STRtree over ``geoms`` if the caller has one.

    Returns:
        int64 array: for a point on a shared border, the lowest index; for a point outside
        every polygon, the polygon nearest in (lon, lat) degrees.
    """
    pts = shapely.points(lng, lat)
    out = np.full(len(pts), -1, dtype=np.int64)
    # query a tree of the points with the polygons: each polygon is then prepared once and
    # tests all its candidate points (10x faster than testing each point against polygons)
    g_idx, p_idx = shapely.STRtree(pts).query(geoms, predicate="intersects")
    if len(p_idx):
        order = np.lexsort((g_idx, p_idx))
        p_idx, g_idx = p_idx[order], g_idx[order]
        first = np.ones(len(p_idx), dtype=bool)
        first[1:] = p_idx[1:] != p_idx[:-1]
        out[p_idx[first]] = g_idx[first]
    miss = np.flatnonzero(out < 0)
    if miss.size:
        tree = tree if tree is not None else shapely.STRtree(geoms)
        m_idx, n_idx = tree.query_nearest(pts[miss], all_matches=True)
        # ties (equidistant polygons): keep the lowest index, deterministically
        order = np.lexsort((n_idx, m_idx))
        m_idx, n_idx = m_idx[order], n_idx[order]
        first = np.ones(len(m_idx), dtype=bool)
        first[1:] = m_idx[1:] != m_idx[:-1]
        out[miss[m_idx[first]]] = n_idx[first]
    return out


def assign_points_to_areas(lat: np.ndarray, lng: np.ndarray, areas: Sequence[Area]) -> np.ndarray:
    """Area index for every point: the area containing it, else the nearest area."""
    geoms = np.array([a.geometry for a in areas], dtype=object)
    shapely.prepare(geoms)
    return points_in_geometries(lat, lng, geoms)


def _feature_name(props: dict[str, Any], keys: tuple[str, ...]) -> str:
    for k in keys:
        v = props.get(k)
        if isinstance(v, str) and v.strip():
            return v.strip()
    return ""


ADMIN2_NAME_KEYS = ("NAME_2", "shapeName", "name", "NAME", "admin2", "name_en")


def load_admin2(path: str | Path, admin1_areas: Sequence[Area]) -> list[Area]:
    """Replace admin-1 areas by the admin-2 polygons of a GeoJSON file where it has them.

    Each admin-2 feature (GADM ``NAME_2``, geoBoundaries ``shapeName``, or ``name``) goes to
    the admin-1 area holding its representative point and is clipped to that area; the part
    of an admin-1 area its admin-2 units leave uncovered stays one more area. Admin-1 areas
    with no admin-2 feature (countries the file does not cover) are kept as they are.

    Raises:
        UserError: unreadable file, not a FeatureCollection, no polygon features.
    """
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read admin-2 file {p} ({exc}); give a GeoJSON "
                        "FeatureCollection (GADM or geoBoundaries)") from None
    feats = doc.get("features") if isinstance(doc, dict) else None
    if not isinstance(feats, list):
        raise UserError(f"{p} is not a GeoJSON FeatureCollection (no 'features' list)")
    geoms, names = [], []
    for k, f in enumerate(feats):
        try:
            g = shapely.geometry.shape(f["geometry"])
        except Exception:  # noqa: BLE001 - any malformed geometry is the same user error
            raise UserError(f"{p}: feature #{k} has no valid geometry") from None
        if g.geom_type not in ("Polygon", "MultiPolygon") or g.is_empty:
            continue
        geoms.append(shapely.make_valid(g))
        names.append(_feature_name(f.get("properties") or {}, ADMIN2_NAME_KEYS) or f"#{k}")
    if not geoms:
        raise UserError(f"{p} has no Polygon/MultiPolygon features")
    a1_geoms = np.array([a.geometry for a in admin1_areas], dtype=object)
    rep = shapely.point_on_surface(np.array(geoms, dtype=object))
    rep_ll = shapely.get_coordinates(rep)
    parent = points_in_geometries(rep_ll[:, 1], rep_ll[:, 0], a1_geoms)
    children: dict[int, list[int]] = {}
    for k, par in enumerate(parent):
        children.setdefault(int(par), []).append(k)
    out: list[Area] = []
    for i, a1 in enumerate(admin1_areas):
        kids = children.get(i)
        if not kids:
            out.append(a1)
            continue
        covered = []
        for k in kids:
            piece = shapely.intersection(geoms[k], a1.geometry)
            piece = shapely.make_valid(piece)
            # keep polygonal parts only (intersections may add lines or points)
            piece = shapely.union_all([g for g in shapely.get_parts(piece)
                                       if g.geom_type in ("Polygon", "MultiPolygon")])
            if piece.is_empty or piece.area == 0:
                continue
            # earlier admin-2 pieces win where two overlap: keeps areas disjoint
            if covered:
                piece = shapely.difference(piece, shapely.union_all(covered))
                if piece.is_empty or piece.area == 0:
                    continue
            covered.append(piece)
            out.append(Area(id=f"a2:{k}", iso2=a1.iso2, country=a1.country, admin1=a1.admin1,
                            admin2=names[k], geometry=piece))
        rest = shapely.difference(a1.geometry, shapely.union_all(covered)) if covered else None
        if rest is not None and not rest.is_empty and rest.area > 1e-6 * a1.geometry.area:
            out.append(Area(id=f"{a1.id}:rest", iso2=a1.iso2, country=a1.country,
                            admin1=a1.admin1, admin2="", geometry=rest))
    return out


def load_areas(admin2_path: str | Path | None = None) -> list[Area]:
    """The real Natural Earth admin-1 areas (``backend.geo.admin``), refined by admin-2 if given.

    Raises:
        UserError: the geographic assets are not built, or the admin-2 file is bad.
    """
    from backend.geo.admin import load_admin_areas

    areas = areas_from_admin(load_admin_areas("admin1"))
    if admin2_path is not None:
        areas = load_admin2(admin2_path, areas)
    return areas


def restrict_to_countries(areas: Sequence[Area], lat: np.ndarray, lng: np.ndarray,
                          countries: Sequence[str]) -> tuple[list[Area], np.ndarray]:
    """Keep only the areas of some countries and the points that fall in them.

    Args:
        areas: all areas.
        lat, lng: the points.
        countries: ISO-2 codes (case-insensitive).

    Returns:
        ``(kept_areas, keep_mask)``: a point is kept when the area it belongs to among *all*
        areas (containment, else nearest) is in one of the countries.

    Raises:
        UserError: a code that matches no area.
    """
    wanted = {c.strip().upper() for c in countries if c.strip()}
    known = {a.iso2 for a in areas}
    unknown = sorted(wanted - known)
    if unknown:
        raise UserError(f"unknown country codes {unknown}; use ISO 3166-1 alpha-2 codes such "
                        "as FR,DE,JP")
    owner = assign_points_to_areas(lat, lng, areas)
    keep_area = np.array([a.iso2 in wanted for a in areas])
    return [a for a in areas if a.iso2 in wanted], keep_area[owner]
