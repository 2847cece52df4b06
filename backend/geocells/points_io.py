"""Read training locations for the geocell builder: CSV (``lat,lng`` columns, other columns
kept), ``.npy`` (an ``(N, 2)`` lat/lng array) or ``.parquet`` (needs pyarrow).

Column names are matched case-insensitively: ``lat``/``latitude`` and ``lng``/``lon``/
``long``/``longitude`` (OSV-5M's ``latitude,longitude`` work as they are). Every problem a
user can fix is a :class:`backend.cliutil.UserError` naming the file, the row and the value.

Usage::

    from backend.geocells.points_io import read_points
    pts = read_points("train.csv")
    pts.lat, pts.lng, pts.columns["id"], pts.describe()
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backend.cliutil import UserError
from backend.core.geodesy import CoordinateError, validate_latlng
from backend.file_digest import sha256_file

LAT_NAMES = ("lat", "latitude")
LNG_NAMES = ("lng", "lon", "long", "longitude")


@dataclass
class Points:
    """Training locations: validated float64 ``lat``/``lng`` plus the file's other columns."""

    lat: np.ndarray
    lng: np.ndarray
    source: str = "<memory>"
    sha256: str = ""
    columns: dict[str, list[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.lat)

    def describe(self) -> dict[str, object]:
        """Input metadata written into the geocells file."""
        return {"file": self.source, "sha256": self.sha256, "n_points": len(self)}




def _find_column(names: list[str], wanted: tuple[str, ...]) -> int | None:
    lowered = [n.strip().lower() for n in names]
    for w in wanted:
        if w in lowered:
            return lowered.index(w)
    return None


def _validated(lat: np.ndarray, lng: np.ndarray, path: Path, row_offset: int) -> tuple:
    try:
        return validate_latlng(lat, lng, wrap_lng=False)
    except CoordinateError as exc:
        # "latitude #12 is 95.0: ..." → name the file row a user sees in an editor
        msg = str(exc)
        if "#" in msg:
            head, rest = msg.split("#", 1)
            idx, tail = rest.split(" ", 1)
            msg = f"{head}in row {int(idx) + row_offset} {tail}"
        raise UserError(f"{path}: {msg}") from None


def _read_csv(path: Path) -> tuple[np.ndarray, np.ndarray, dict[str, list[str]]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise UserError(f"{path} is empty; give a CSV with a header row and lat,lng columns")
        i_lat, i_lng = _find_column(header, LAT_NAMES), _find_column(header, LNG_NAMES)
        if i_lat is None or i_lng is None:
            missing = "lat" if i_lat is None else "lng"
            raise UserError(f"{path} has no {missing} column (columns: {', '.join(header)}); "
                            "name them lat,lng (or latitude,longitude)")
        rows = [r for r in reader if r and any(c.strip() for c in r)]
    if not rows:
        raise UserError(f"{path} has a header but no rows; give at least one location")
    lat = np.empty(len(rows))
    lng = np.empty(len(rows))
    for k, r in enumerate(rows):
        try:
            lat[k], lng[k] = float(r[i_lat]), float(r[i_lng])
        except (ValueError, IndexError):
            got = r[i_lat:i_lat + 1] + r[i_lng:i_lng + 1]
            raise UserError(f"{path}: row {k + 2} has no numeric lat,lng ({got}); "
                            "coordinates must be decimal degrees") from None
    columns = {name: [r[j] if j < len(r) else "" for r in rows]
               for j, name in enumerate(header) if j not in (i_lat, i_lng)}
    la, lo = _validated(lat, lng, path, row_offset=2)
    return la, lo, columns


def _read_npy(path: Path) -> tuple[np.ndarray, np.ndarray, dict[str, list[str]]]:
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise UserError(f"{path} is not a readable .npy array ({exc})") from None
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
        raise UserError(f"{path} must hold an (N, 2) array of lat,lng with N >= 1, "
                        f"got shape {arr.shape}")
    la, lo = _validated(arr[:, 0], arr[:, 1], path, row_offset=0)
    return la, lo, {}


def _read_parquet(path: Path) -> tuple[np.ndarray, np.ndarray, dict[str, list[str]]]:
    try:
        import pandas as pd
        frame = pd.read_parquet(path)
    except ImportError as exc:
        raise UserError(f"reading {path} needs pyarrow ({exc}); `pip install pyarrow` or "
                        "convert it to CSV") from None
    names = [str(c) for c in frame.columns]
    i_lat, i_lng = _find_column(names, LAT_NAMES), _find_column(names, LNG_NAMES)
    if i_lat is None or i_lng is None or len(frame) == 0:
        raise UserError(f"{path} needs lat,lng columns and at least one row "
                        f"(columns: {', '.join(names)})")
    try:
        lat = frame.iloc[:, i_lat].to_numpy(dtype=np.float64)
        lng = frame.iloc[:, i_lng].to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise UserError(f"{path}: lat,lng columns must be numeric degrees") from None
    la, lo = _validated(lat, lng, path, row_offset=0)
    columns = {n: frame.iloc[:, j].astype(str).tolist()
               for j, n in enumerate(names) if j not in (i_lat, i_lng)}
    return la, lo, columns


def read_points(path: str | Path) -> Points:
    """Read and validate a points file.

    Args:
        path: ``.csv`` (header with lat,lng), ``.npy`` (``(N, 2)`` lat,lng) or ``.parquet``.

    Returns:
        :class:`Points` with float64 coordinates (longitudes must already be in [-180, 180]).

    Raises:
        UserError: missing or empty file, missing columns, non-numeric or out-of-range values,
            unsupported extension.
    """
    p = Path(path)
    if not p.is_file():
        raise UserError(f"points file {p} does not exist; give a CSV with lat,lng columns")
    if p.stat().st_size == 0:
        raise UserError(f"{p} is empty; give a CSV with a header row and lat,lng columns")
    suffix = p.suffix.lower()
    readers = {".csv": _read_csv, ".npy": _read_npy, ".parquet": _read_parquet}
    if suffix not in readers:
        raise UserError(f"{p}: unsupported points file type {suffix!r}; use .csv, .npy or "
                        ".parquet")
    lat, lng, columns = readers[suffix](p)
    return Points(lat=lat, lng=lng, source=p.name, sha256=sha256_file(p), columns=columns)
