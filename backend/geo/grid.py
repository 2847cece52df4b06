"""A regular latitude/longitude raster and vectorised nearest-cell indexing.

Every gridded asset (Köppen, elevation, climate, land mask, population density) stores its
geometry the same way: the northern edge ``top`` and western edge ``left`` of cell (0, 0), the
cell size in degrees, and the shape. Row 0 is the northernmost row. Indexing takes the cell that
contains the point (floor), clamps rows at the poles and wraps columns around the globe, so
longitudes on either side of the antimeridian work.

Usage::

    g = GridSpec(top=90.0, left=-180.0, dlat=1 / 12, dlng=1 / 12, rows=2160, cols=4320)
    rows, cols = g.indices(lat_array, lng_array)
    values = raster[rows, cols]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class GridSpec:
    """Geometry of a regular lat/lng raster (degrees; row 0 at the north)."""

    top: float
    left: float
    dlat: float
    dlng: float
    rows: int
    cols: int

    def indices(self, lat: np.ndarray, lng: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of the cell holding each point (rows clamped, columns wrapped).

        Args:
            lat, lng: validated degrees (any shape, same shape).

        Returns:
            ``(rows, cols)`` int64 arrays of the input's shape.
        """
        r = np.floor((self.top - np.asarray(lat, dtype=np.float64)) / self.dlat).astype(np.int64)
        np.clip(r, 0, self.rows - 1, out=r)
        c = np.floor((np.asarray(lng, dtype=np.float64) - self.left) / self.dlng).astype(np.int64)
        np.mod(c, self.cols, out=c)
        return r, c

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Latitudes of the row centres and longitudes of the column centres."""
        lat = self.top - (np.arange(self.rows) + 0.5) * self.dlat
        lng = self.left + (np.arange(self.cols) + 0.5) * self.dlng
        return lat, lng

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GridSpec:
        return cls(float(d["top"]), float(d["left"]), float(d["dlat"]), float(d["dlng"]),
                   int(d["rows"]), int(d["cols"]))

    def check(self, shape: tuple[int, ...]) -> None:
        """Raise ``ValueError`` unless the last two axes of ``shape`` match the grid."""
        if tuple(shape[-2:]) != (self.rows, self.cols):
            raise ValueError(f"raster shape {shape} does not match grid {self.rows}x{self.cols}")


def ring_offsets(radius: int) -> list[tuple[int, int]]:
    """Cell offsets sorted by distance from the centre, up to Chebyshev ``radius`` (no (0,0))."""
    offs = [(dr, dc) for dr in range(-radius, radius + 1) for dc in range(-radius, radius + 1)
            if (dr, dc) != (0, 0)]
    return sorted(offs, key=lambda o: (o[0] ** 2 + o[1] ** 2, o))


def fill_from_neighbours(raster: np.ndarray, grid: GridSpec, rows: np.ndarray,
                         cols: np.ndarray, missing: np.ndarray, *, radius: int,
                         is_missing: Any) -> tuple[np.ndarray, np.ndarray]:
    """For cells flagged ``missing``, take the nearest cell within ``radius`` that is not.

    Used on coasts: a point on land whose raster cell is sea (Köppen "Ocean", elevation no-data)
    takes the value of the nearest land cell.

    Args:
        raster: 2-D array.
        grid: its geometry.
        rows, cols: 1-D cell indices of the queries.
        missing: boolean mask over the queries to fill.
        radius: largest Chebyshev distance searched, in cells.
        is_missing: function(values) -> bool array: which raster values count as missing.

    Returns:
        ``(rows, cols)`` with the filled queries moved to their donor cells (unchanged where no
        donor was found).
    """
    rows, cols = rows.copy(), cols.copy()
    todo = np.flatnonzero(missing)
    for dr, dc in ring_offsets(radius):
        if todo.size == 0:
            break
        r = np.clip(rows[todo] + dr, 0, grid.rows - 1)
        c = np.mod(cols[todo] + dc, grid.cols)
        ok = ~is_missing(raster[r, c])
        rows[todo[ok]], cols[todo[ok]] = r[ok], c[ok]
        todo = todo[~ok]
    return rows, cols
