"""Cells that are points: the candidate places of a head that scores places, not polygons.

A zero-shot text head scores towns and regions, a GeoCLIP head scores the 100,000 points of
its GPS gallery. Such a head's "cells" are points with a name and a country; a location
belongs to the cell of the nearest point (great-circle distance: a Voronoi partition of the
sphere). :class:`PointCells` offers what the rest of the pipeline asks of
:class:`~backend.geocells.Geocells` — ``centroids``, ``countries``, ``iso2``, ``admin1``,
``n_points``, ``assign``, ``save``/``load``, ``metadata`` — so the predictor, the refinement
index and the evaluation take either.

File layout (``format: pigeon-point-cells/1``, numpy ``.npz``, no pickles): ``lat``, ``lng``
(float64), ``name``, ``country``, ``iso2``, ``admin1`` (unicode arrays) and ``meta`` (a JSON
string: format, created, made_by, whatever the maker adds).

Usage::

    cells = PointCells([48.85, 40.71], [2.35, -74.0], name=["Paris", "New York"],
                       country=["France", "United States"], iso2=["FR", "US"])
    cells.assign([48.0], [2.0])          # array([0])
    cells.save("bundle/cells.npz"); PointCells.load("bundle/cells.npz")
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from backend.core.geodesy import to_unit_vectors, validate_latlng

FORMAT = "pigeon-point-cells/1"
FILE_NAME = "cells.npz"
"""The name a bundle gives its point cells (polygon geocells are ``geocells.json``)."""


class PointCellsFileError(ValueError):
    """A point-cells file that is missing, unreadable or of another format."""


def _strings(values: Sequence[Any] | None, n: int, what: str) -> np.ndarray:
    if values is None:
        return np.array([""] * n, dtype=str)
    out = np.asarray([str(v) if v is not None else "" for v in values], dtype=str)
    if out.shape != (n,):
        raise ValueError(f"{what} has {out.shape[0]} entries for {n} points")
    return out


class PointCells:
    """A set of named points; index ``i`` is cell ``i`` (the head's class ``i``).

    Args:
        lat, lng: the points in degrees.
        name: what each point is ("Rennes", "Brittany", "gallery point 17").
        country, iso2, admin1: country name, ISO-2 code and admin-1 name of each point
            (empty where unknown).
        metadata: what made the points (stored in the file).

    Raises:
        CoordinateError: bad coordinates; ValueError: no point, or lengths that differ.
    """

    FILE_NAME = FILE_NAME

    def __init__(self, lat: Any, lng: Any, *, name: Sequence[str] | None = None,
                 country: Sequence[str] | None = None, iso2: Sequence[str] | None = None,
                 admin1: Sequence[str] | None = None,
                 metadata: dict[str, Any] | None = None) -> None:
        la, lo = validate_latlng(np.asarray(lat, dtype=np.float64).ravel(),
                                 np.asarray(lng, dtype=np.float64).ravel())
        n = len(la)
        if n == 0:
            raise ValueError("point cells need at least one point")
        self.centroids = np.stack([la, lo], axis=1)
        self.names = _strings(name, n, "name")
        self._country = _strings(country, n, "country")
        self._iso2 = _strings(iso2, n, "iso2")
        self._admin1 = _strings(admin1, n, "admin1")
        self.n_points = np.zeros(n, dtype=np.int64)
        self.metadata = dict(metadata or {})
        self._tree: Any = None

    # list views, as Geocells has them (the predictor indexes them per candidate); an unknown
    # value (a gallery point at sea) is None, which the protocol accepts, never ""
    @property
    def countries(self) -> list[str | None]:
        return [x or None for x in self._country.tolist()]

    @property
    def iso2(self) -> list[str | None]:
        return [x or None for x in self._iso2.tolist()]

    @property
    def admin1(self) -> list[str | None]:
        return [x or None for x in self._admin1.tolist()]

    def __len__(self) -> int:
        return len(self.centroids)

    def __repr__(self) -> str:
        return f"PointCells({len(self)} points, {len(set(self._iso2) - {''})} countries)"

    def assign(self, lat: Any, lng: Any) -> np.ndarray:
        """Index of the nearest point (great circle) for each location, in the input's shape.

        Raises:
            CoordinateError: NaN, out-of-range latitude, shape mismatch, empty batch.
        """
        from scipy.spatial import cKDTree

        la, lo = validate_latlng(lat, lng)
        if self._tree is None:
            self._tree = cKDTree(to_unit_vectors(self.centroids[:, 0], self.centroids[:, 1]))
        _, idx = self._tree.query(to_unit_vectors(la.ravel(), lo.ravel()), k=1, workers=1)
        return np.asarray(idx, dtype=np.int64).reshape(la.shape)

    def save(self, path: str | Path) -> Path:
        """Write the ``.npz`` (atomically: a temporary file, then a rename)."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        meta = dict(self.metadata)
        meta.setdefault("format", FORMAT)
        meta.setdefault("created", _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
        meta["n_cells"] = len(self)
        tmp = out.with_name(out.name + ".tmp.npz")
        np.savez(tmp, lat=self.centroids[:, 0], lng=self.centroids[:, 1], name=self.names,
                 country=self._country, iso2=self._iso2, admin1=self._admin1,
                 meta=np.array(json.dumps(meta)))
        os.replace(tmp, out)
        return out

    @classmethod
    def load(cls, path: str | Path) -> PointCells:
        """Read a file written by :meth:`save`.

        Raises:
            PointCellsFileError: missing or unreadable file, another format, bad arrays.
        """
        p = Path(path)
        if not p.is_file():
            raise PointCellsFileError(f"point cells file {p} does not exist")
        try:
            with np.load(p, allow_pickle=False) as z:
                a = {k: z[k] for k in ("lat", "lng", "name", "country", "iso2", "admin1",
                                       "meta")}
            meta = json.loads(str(a.pop("meta")))
        except (OSError, ValueError, KeyError, EOFError) as exc:
            raise PointCellsFileError(f"{p} is not a readable point cells file ({exc})") \
                from None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            got = meta.get("format") if isinstance(meta, dict) else None
            raise PointCellsFileError(f"{p} has format {got!r}, not {FORMAT}")
        try:
            return cls(a["lat"], a["lng"], name=a["name"], country=a["country"],
                       iso2=a["iso2"], admin1=a["admin1"], metadata=meta)
        except ValueError as exc:
            raise PointCellsFileError(f"{p}: {exc}") from None


def load_cells(path: str | Path) -> Any:
    """Load a bundle's cells: point cells (``.npz``) or polygon geocells (``.json``)."""
    p = Path(path)
    if p.suffix == ".npz":
        return PointCells.load(p)
    from backend.geocells import Geocells

    return Geocells.load(p)
