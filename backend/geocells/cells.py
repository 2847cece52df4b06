"""The :class:`Geocells` artifact: cell polygons, centroids, countries, admin names, point
counts and the metadata that made them, saved as one GeoJSON FeatureCollection.

File layout (``format: pigeon-geocells/1``)::

    {"type": "FeatureCollection",
     "metadata": {"format", "created", "created_by", "parameters", "input", "admin_source",
                  "n_cells", "countries_without_cells", "below_min", ...},
     "features": [{"type": "Feature", "id": 0,
                   "properties": {"cell": 0, "centroid_lat", "centroid_lng", "country",
                                  "iso2", "admin1", "admin1_all", "admin2", "n_points"},
                   "geometry": {...}}, ...]}

Coordinates are GeoJSON's (lng, lat); ``centroids`` is (lat, lng) like everything else.

Usage::

    cells = Geocells.load("cells/geocells.json")
    idx = cells.assign(lat, lng)             # containment, nearest cell outside every polygon
    cells.centroids[idx], cells.countries[idx[0]]
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from backend.core.geodesy import validate_latlng

FORMAT = "pigeon-geocells/1"


class GeocellsFileError(ValueError):
    """A geocells file that is missing, not JSON, or not ``pigeon-geocells/1``."""


class Geocells:
    """A set of geocells; index ``i`` everywhere is cell ``i`` (the classifier's class)."""

    def __init__(self, polygons: Sequence[Any], centroids: np.ndarray, *,
                 countries: Sequence[str], iso2: Sequence[str], admin1: Sequence[str],
                 n_points: Sequence[int], admin1_all: Sequence[Sequence[str]] | None = None,
                 admin2: Sequence[Sequence[str]] | None = None,
                 metadata: dict[str, Any] | None = None):
        self.polygons = np.array(list(polygons), dtype=object)
        self.centroids = np.asarray(centroids, dtype=np.float64).reshape(-1, 2)
        c = len(self.polygons)
        self.countries = list(countries)
        self.iso2 = list(iso2)
        self.admin1 = list(admin1)
        self.n_points = np.asarray(n_points, dtype=np.int64)
        self.admin1_all = [list(a) for a in (admin1_all or [[a] for a in self.admin1])]
        self.admin2 = [list(a) for a in (admin2 or [[] for _ in range(c)])]
        for name in ("centroids", "countries", "iso2", "admin1", "n_points", "admin1_all",
                     "admin2"):
            if len(getattr(self, name)) != c:
                raise ValueError(f"{name} has {len(getattr(self, name))} entries for {c} cells")
        if c == 0:
            raise ValueError("a Geocells set needs at least one cell")
        self.metadata = dict(metadata or {})
        self._tree: shapely.STRtree | None = None

    def __len__(self) -> int:
        return len(self.polygons)

    def __repr__(self) -> str:
        return (f"Geocells({len(self)} cells, {len(set(self.iso2))} countries, "
                f"{int(self.n_points.sum())} points)")

    # -- lookup ------------------------------------------------------------------------------
    def assign(self, lat: Any, lng: Any) -> np.ndarray:
        """Cell index of each point (batch).

        Args:
            lat, lng: degrees, scalars or arrays of one shape.

        Returns:
            int64 array of the input's shape: the cell whose polygon contains the point (the
            lowest index on a shared border), else the nearest cell polygon (in lon/lat
            degrees: at sea, off a coast).

        Raises:
            CoordinateError: NaN, out-of-range latitude, shape mismatch, empty batch.
        """
        from backend.geocells.areas import points_in_geometries

        la, lo = validate_latlng(lat, lng)
        if self._tree is None:
            shapely.prepare(self.polygons)
            self._tree = shapely.STRtree(self.polygons)
        out = points_in_geometries(la.ravel(), lo.ravel(), self.polygons, self._tree)
        return out.reshape(la.shape)

    # -- file I/O ----------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the cells and their metadata as a GeoJSON FeatureCollection."""
        p = Path(path)
        meta = dict(self.metadata)
        meta.setdefault("format", FORMAT)
        meta.setdefault("created", dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        meta["n_cells"] = len(self)
        geo_json = shapely.to_geojson(self.polygons)
        parts = ['{"type": "FeatureCollection",\n"metadata": ', json.dumps(meta, indent=1),
                 ',\n"features": [\n']
        for i in range(len(self)):
            props = {"cell": i, "centroid_lat": float(self.centroids[i, 0]),
                     "centroid_lng": float(self.centroids[i, 1]), "country": self.countries[i],
                     "iso2": self.iso2[i], "admin1": self.admin1[i],
                     "admin1_all": self.admin1_all[i], "admin2": self.admin2[i],
                     "n_points": int(self.n_points[i])}
            sep = ",\n" if i < len(self) - 1 else "\n"
            parts.append(f'{{"type": "Feature", "id": {i}, "properties": '
                         f'{json.dumps(props, ensure_ascii=False)}, "geometry": {geo_json[i]}}}'
                         f'{sep}')
        parts.append("]}\n")
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text("".join(parts), encoding="utf-8")
        tmp.replace(p)
        return p

    @classmethod
    def load(cls, path: str | Path) -> Geocells:
        """Read a file written by :meth:`save`.

        Raises:
            GeocellsFileError: missing file, bad JSON, wrong format version, bad features.
        """
        p = Path(path)
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise GeocellsFileError(f"geocells file {p} does not exist; build one with "
                                    "`pigeon geocells build`") from None
        except (OSError, ValueError) as exc:
            raise GeocellsFileError(f"{p} is not a readable geocells JSON file ({exc})") from None
        meta = doc.get("metadata") if isinstance(doc, dict) else None
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            got = meta.get("format") if isinstance(meta, dict) else None
            raise GeocellsFileError(f"{p} is not a {FORMAT} file (format {got!r}); rebuild it "
                                    "with `pigeon geocells build`")
        feats = doc.get("features") or []
        try:
            feats = sorted(feats, key=lambda f: int(f["properties"]["cell"]))
            props = [f["properties"] for f in feats]
            geoms = [shapely.geometry.shape(f["geometry"]) for f in feats]
            return cls(geoms, np.array([[q["centroid_lat"], q["centroid_lng"]] for q in props]),
                       countries=[q["country"] for q in props], iso2=[q["iso2"] for q in props],
                       admin1=[q["admin1"] for q in props],
                       n_points=[q["n_points"] for q in props],
                       admin1_all=[q.get("admin1_all", [q["admin1"]]) for q in props],
                       admin2=[q.get("admin2", []) for q in props], metadata=meta)
        except (KeyError, TypeError, ValueError, AttributeError,
                shapely.errors.GEOSException) as exc:
            raise GeocellsFileError(f"{p}: malformed cell features ({exc!r:.200})") from None
