"""Dataset adapters: read a list of geolocated images in one of the layouts we support.

Layouts (``layout="auto"`` picks one from the CSV header):

- ``generic`` — ``id,lat,lng,image`` or ``id,lat,lng,image_1..image_4`` with optional
  ``heading`` (degrees) and ``month`` (1-12); image paths relative to the CSV's folder.
  SynthWorld writes this layout.
- ``osv5m`` — OSV-5M: ``id, latitude, longitude, country, region, sub-region, city, ...``
  with images at ``<csv folder>/images/<split>/<id>.jpg``; the split is the CSV's stem
  (``test.csv`` → ``test``) unless given.
- ``im2gps`` — IM2GPS3k / YFCC4k lists: ``IMG_ID, ..., LAT, LON`` with the images in a folder
  (``images_dir``, else ``images/`` / ``im2gps3ktest/`` / ``yfcc4k/`` beside the CSV, else the
  CSV's folder); ``IMG_ID`` may or may not carry the ``.jpg`` extension.

Bad rows (missing image, bad coordinates, duplicate ids, bad heading or month) are never
dropped silently: with ``on_bad_row="fail"`` (the default) loading raises
:class:`DatasetError` listing them by line number; with ``"skip"`` they are left out and kept
in ``Dataset.bad_rows``.

Usage::

    from backend.eval.datasets import load_dataset
    ds = load_dataset("synth/test.csv", on_bad_row="skip")
    print(len(ds), ds.layout, ds.bad_rows[:3])
    lat, lng = ds.lats(), ds.lngs()
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

Layout = Literal["generic", "osv5m", "im2gps"]
LAYOUTS: tuple[str, ...] = ("generic", "osv5m", "im2gps")
MAX_VIEWS = 4
IM2GPS_IMAGE_DIRS = ("images", "im2gps3ktest", "im2gps3k", "yfcc4k", "yfcc4k_images")
MAX_ERRORS_SHOWN = 10


@dataclass(frozen=True)
class Location:
    """One geolocated sample: 1-4 views of the same place.

    ``line_no`` is the CSV line the row ended on (header = line 1), for error messages.
    ``extra`` holds the row's other columns (e.g. OSV-5M's ``country``).
    """

    id: str
    lat: float
    lng: float
    image_paths: list[Path]
    heading: float | None = None
    month: int | None = None
    line_no: int = 0
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BadRow:
    """A row that could not be used, with every reason found."""

    line_no: int
    id: str
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        ident = f" (id {self.id!r})" if self.id else ""
        return f"line {self.line_no}{ident}: " + "; ".join(self.reasons)


class DatasetError(ValueError):
    """A dataset file that cannot be read, or has bad rows under ``on_bad_row="fail"``."""

    def __init__(self, message: str, bad_rows: list[BadRow] | None = None) -> None:
        super().__init__(message)
        self.bad_rows = list(bad_rows or [])


@dataclass
class Dataset:
    """The usable locations of one dataset file, plus the rows that were left out."""

    path: Path
    layout: str
    locations: list[Location]
    bad_rows: list[BadRow] = field(default_factory=list)
    rows_read: int = 0

    def __len__(self) -> int:
        return len(self.locations)

    def __iter__(self) -> Iterator[Location]:
        return iter(self.locations)

    def __getitem__(self, i: int) -> Location:
        return self.locations[i]

    def lats(self) -> np.ndarray:
        """Latitudes in degrees, float64 ``(n,)``."""
        return np.array([loc.lat for loc in self.locations], dtype=np.float64)

    def lngs(self) -> np.ndarray:
        """Longitudes in degrees, float64 ``(n,)``."""
        return np.array([loc.lng for loc in self.locations], dtype=np.float64)

    def ids(self) -> list[str]:
        return [loc.id for loc in self.locations]

    def head(self, n: int | None) -> Dataset:
        """The first ``n`` locations (all when ``n`` is None)."""
        if n is None:
            return self
        if n < 1:
            raise ValueError(f"limit must be at least 1, got {n}")
        return Dataset(self.path, self.layout, self.locations[:n], self.bad_rows, self.rows_read)

    def describe(self) -> dict[str, object]:
        """Metadata about where the data came from (goes into every artifact made from it)."""
        return {"path": str(self.path), "layout": self.layout, "rows_read": self.rows_read,
                "locations": len(self.locations), "bad_rows": len(self.bad_rows)}


def detect_layout(header: list[str]) -> str:
    """Name the layout of a CSV from its header.

    Args:
        header: the column names of the first line.

    Returns:
        ``"generic"``, ``"osv5m"`` or ``"im2gps"``.

    Raises:
        DatasetError: no layout matches; the message lists the columns each one needs.
    """
    cols = {c.strip() for c in header}
    if {"IMG_ID", "LAT", "LON"} <= cols:
        return "im2gps"
    if {"id", "lat", "lng"} <= cols:
        return "generic"
    if {"id", "latitude", "longitude"} <= cols:
        return "osv5m"
    raise DatasetError(
        f"unrecognised CSV header {sorted(cols)!r:.200}; expected generic "
        "(id,lat,lng,image or image_1..image_4), OSV-5M (id,latitude,longitude,...) or "
        "IM2GPS/YFCC (IMG_ID,...,LAT,LON)")


def _parse_coord(text: str, name: str, limit: float) -> tuple[float | None, str | None]:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None, f"{name} {text!r} is not a number"
    if not math.isfinite(value):
        return None, f"{name} {text!r} is not finite"
    if abs(value) > limit:
        return None, f"{name} {value} is outside [-{limit:g}, {limit:g}]"
    return value, None


def _parse_heading(text: str) -> tuple[float | None, str | None]:
    if text is None or text.strip() == "":
        return None, None
    try:
        value = float(text)
    except ValueError:
        return None, f"heading {text!r} is not a number"
    if not math.isfinite(value):
        return None, f"heading {text!r} is not finite"
    return value % 360.0, None


def _parse_month(text: str) -> tuple[int | None, str | None]:
    if text is None or text.strip() == "":
        return None, None
    try:
        value = float(text)
    except ValueError:
        return None, f"month {text!r} is not a number"
    if not value.is_integer() or not 1 <= value <= 12:
        return None, f"month {text!r} is not a whole number in 1-12"
    return int(value), None


def _generic_images(row: dict[str, str], root: Path, names: list[str]) -> list[Path]:
    return [root / row[n].strip() for n in names if (row.get(n) or "").strip()]


def _im2gps_dir(csv_path: Path, images_dir: Path | None) -> Path:
    if images_dir is not None:
        return images_dir
    for name in IM2GPS_IMAGE_DIRS:
        cand = csv_path.parent / name
        if cand.is_dir():
            return cand
    return csv_path.parent


def _im2gps_image(folder: Path, img_id: str) -> Path:
    path = folder / img_id
    if path.suffix.lower() in (".jpg", ".jpeg", ".png") or path.exists():
        return path
    return folder / f"{img_id}.jpg"


def _format_bad_rows(path: Path, bad: list[BadRow]) -> str:
    shown = "\n  ".join(str(b) for b in bad[:MAX_ERRORS_SHOWN])
    more = f"\n  ... and {len(bad) - MAX_ERRORS_SHOWN} more" if len(bad) > MAX_ERRORS_SHOWN else ""
    return (f"{path}: {len(bad)} bad row(s):\n  {shown}{more}\n"
            "fix them, or pass --on-bad-row skip to leave them out")


def load_dataset(path: str | Path, *, layout: str = "auto", on_bad_row: str = "fail",
                 split: str | None = None, images_dir: str | Path | None = None,
                 check_images: bool = True) -> Dataset:
    """Read a dataset CSV into a :class:`Dataset`.

    Args:
        path: the CSV file.
        layout: ``"auto"`` (from the header), ``"generic"``, ``"osv5m"`` or ``"im2gps"``.
        on_bad_row: ``"fail"`` raises on any bad row; ``"skip"`` leaves bad rows out and
            lists them in ``Dataset.bad_rows``.
        split: OSV-5M split folder under ``images/`` (default: the CSV's stem).
        images_dir: IM2GPS/YFCC image folder (default: found beside the CSV).
        check_images: check that every image file exists (a missing one is a bad row).

    Returns:
        The dataset, locations in file order.

    Raises:
        DatasetError: unreadable file, unknown layout, no usable rows, or bad rows
            under ``on_bad_row="fail"`` (listed with line numbers in the message and in
            ``exc.bad_rows``).
    """
    path = Path(path)
    if on_bad_row not in ("fail", "skip"):
        raise DatasetError(f"on_bad_row must be 'fail' or 'skip', got {on_bad_row!r}")
    if layout != "auto" and layout not in LAYOUTS:
        raise DatasetError(f"unknown layout {layout!r}; choose one of auto, {', '.join(LAYOUTS)}")
    if not path.is_file():
        raise DatasetError(f"{path}: no such dataset file; give the path of a CSV")
    root = path.parent
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot open ({exc.strerror})") from exc
    locations: list[Location] = []
    bad: list[BadRow] = []
    seen: dict[str, int] = {}
    rows_read = 0
    with handle:
        reader = csv.DictReader(handle)
        try:
            header = [h.strip() for h in (reader.fieldnames or [])]
        except (csv.Error, UnicodeDecodeError) as exc:
            raise DatasetError(f"{path}: not a readable CSV ({exc})") from exc
        if not header:
            raise DatasetError(f"{path}: empty file; a dataset CSV needs a header line")
        reader.fieldnames = header
        kind = detect_layout(header) if layout == "auto" else layout
        image_cols = [c for c in ["image"] + [f"image_{i}" for i in range(1, MAX_VIEWS + 1)]
                      if c in header]
        if kind == "generic" and not image_cols:
            raise DatasetError(f"{path}: generic layout needs an 'image' or 'image_1'.."
                               f"'image_{MAX_VIEWS}' column")
        osv_dir = root / "images" / (split or path.stem)
        im_dir = _im2gps_dir(path, Path(images_dir) if images_dir else None)
        lat_col, lng_col, id_col = {"generic": ("lat", "lng", "id"),
                                    "osv5m": ("latitude", "longitude", "id"),
                                    "im2gps": ("LAT", "LON", "IMG_ID")}[kind]
        try:
            for row in reader:
                rows_read += 1
                line_no = reader.line_num
                reasons: list[str] = []
                if None in row:  # more fields than the header
                    reasons.append(f"{len(header) + len(row[None])} fields, header has "
                                   f"{len(header)}")
                ident = (row.get(id_col) or "").strip()
                if not ident:
                    reasons.append(f"empty {id_col}")
                elif ident in seen:
                    reasons.append(f"duplicate id (first on line {seen[ident]})")
                else:
                    seen[ident] = line_no
                lat, err = _parse_coord(row.get(lat_col), "latitude", 90.0)
                if err:
                    reasons.append(err)
                lng, err = _parse_coord(row.get(lng_col), "longitude", 180.0)
                if err:
                    reasons.append(err)
                heading, err = _parse_heading(row.get("heading"))
                if err:
                    reasons.append(err)
                month, err = _parse_month(row.get("month"))
                if err:
                    reasons.append(err)
                if kind == "generic":
                    images = _generic_images(row, root, image_cols)
                elif kind == "osv5m":
                    images = [osv_dir / f"{ident}.jpg"] if ident else []
                else:
                    images = [_im2gps_image(im_dir, ident)] if ident else []
                if not images:
                    reasons.append("no image path")
                elif check_images:
                    missing = [str(p) for p in images if not p.is_file()]
                    if missing:
                        reasons.append("missing image " + ", ".join(missing[:MAX_VIEWS]))
                if reasons:
                    bad.append(BadRow(line_no, ident, tuple(reasons)))
                    continue
                used = {id_col, lat_col, lng_col, "heading", "month", *image_cols}
                extra = {k: v for k, v in row.items() if k not in used and k is not None
                         and isinstance(v, str)}
                locations.append(Location(ident, float(lat), float(lng), images, heading,
                                          month, line_no, extra))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise DatasetError(f"{path}: unreadable CSV near line {reader.line_num} ({exc})") \
                from exc
    if bad and on_bad_row == "fail":
        raise DatasetError(_format_bad_rows(path, bad), bad)
    if not locations:
        why = f" (all {len(bad)} rows are bad, e.g. {bad[0]})" if bad else ""
        raise DatasetError(f"{path}: no usable rows{why}", bad)
    return Dataset(path, kind, locations, bad, rows_read)


def write_generic_csv(path: str | Path, locations: list[Location], *,
                      extra_columns: list[str] | None = None) -> Path:
    """Write locations in the generic layout, image paths relative to the new CSV's folder.

    Args:
        path: the CSV to write (its folder is created).
        locations: the rows; each keeps up to four views.
        extra_columns: names from ``Location.extra`` to carry over (default: all seen).

    Returns:
        The path written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    views = max((len(loc.image_paths) for loc in locations), default=1)
    img_cols = ["image"] if views == 1 else [f"image_{i}" for i in range(1, views + 1)]
    if extra_columns is None:
        extra_columns = sorted({k for loc in locations for k in loc.extra})
    fields = ["id", "lat", "lng", *img_cols, "heading", "month", *extra_columns]
    base = path.parent.resolve()
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(fields)
        for loc in locations:
            rels = [Path(os.path.relpath(Path(p).resolve(), base)).as_posix()
                    for p in loc.image_paths]
            rels += [""] * (len(img_cols) - len(rels))
            writer.writerow([loc.id, repr(float(loc.lat)), repr(float(loc.lng)), *rels,
                             "" if loc.heading is None else repr(float(loc.heading)),
                             "" if loc.month is None else loc.month,
                             *[loc.extra.get(c, "") for c in extra_columns]])
    return path
