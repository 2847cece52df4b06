"""Arena locations from a dataset in the generic CSV layout.

One row a location: ``id,lat,lng,image_1,image_2,image_3,image_4,heading,month`` (image paths
relative to the CSV; a single ``image`` column for one-view datasets; ``heading`` and ``month``
may be empty). SynthWorld (``pigeon synthworld make``) writes this layout.

Bad rows (unparsable or out-of-range coordinates, missing, unreadable or blank images —
``backend.predict.images.image_problem``, the same test ``pigeon data check`` applies —
duplicate ids) are skipped and reported one line each in :attr:`ArenaDataset.problems`; a
dataset with no usable row raises :class:`DatasetError` that says what was wrong.

Usage::

    ds = load_arena_dataset("synth/test.csv")
    print(len(ds), ds.problems[:3])
    loc = ds.locations[0]; loc.images[0]   # absolute Path of the first view
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

from backend.core.geodesy import CoordinateError, validate_latlng
from backend.predict.images import image_problem

IMAGE_COLUMNS = ("image_1", "image_2", "image_3", "image_4")
MAX_PROBLEMS_SHOWN = 5


class DatasetError(ValueError):
    """The dataset cannot be used at all (missing file, wrong columns, no valid row)."""


@dataclass(frozen=True)
class Location:
    """One playable place: the truth and its views (absolute image paths)."""

    id: str
    lat: float
    lng: float
    images: tuple[Path, ...]
    heading: float | None = None
    month: int | None = None


@dataclass
class ArenaDataset:
    """The usable locations of a CSV and one line per skipped row."""

    path: Path
    locations: list[Location]
    problems: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.locations)

    def summary(self) -> str:
        """One line for the log: how many rows were usable and why others were not."""
        text = f"{self.path}: {len(self.locations)} locations"
        if self.problems:
            shown = "; ".join(self.problems[:MAX_PROBLEMS_SHOWN])
            more = len(self.problems) - MAX_PROBLEMS_SHOWN
            text += f", {len(self.problems)} rows skipped ({shown}{f'; and {more} more' if more > 0 else ''})"
        return text


def _optional_float(text: str | None) -> float | None:
    if text is None or not text.strip():
        return None
    v = float(text)
    if not math.isfinite(v):
        raise ValueError(f"{text!r} is not a finite number")
    return v


def _parse_row(row: dict[str, str], base: Path, image_cols: tuple[str, ...]) -> Location:
    loc_id = (row.get("id") or "").strip()
    if not loc_id:
        raise ValueError("empty id")
    try:
        lat_a, lng_a = validate_latlng(float(row.get("lat") or "nan"), float(row.get("lng") or "nan"))
    except (ValueError, CoordinateError) as exc:
        raise ValueError(f"bad coordinates ({row.get('lat')!r}, {row.get('lng')!r}): {exc}") from None
    images: list[Path] = []
    for col in image_cols:
        rel = (row.get(col) or "").strip()
        if not rel:
            continue
        p = (base / rel).resolve()
        if not p.is_file():
            raise ValueError(f"image file {rel!r} ({col}) does not exist")
        problem = image_problem(p, name=f"{rel} ({col})")   # what `pigeon data check` says
        if problem is not None:
            raise ValueError(problem)
        images.append(p)
    if not images:
        raise ValueError("no image")
    heading = _optional_float(row.get("heading"))
    month_f = _optional_float(row.get("month"))
    month = None
    if month_f is not None:
        if month_f != int(month_f) or not 1 <= month_f <= 12:
            raise ValueError(f"month {row.get('month')!r} is not 1..12")
        month = int(month_f)
    return Location(loc_id, float(lat_a), float(lng_a), tuple(images), heading, month)


def load_arena_dataset(path: str | Path, *, max_rows: int | None = None) -> ArenaDataset:
    """Read a generic-layout CSV into playable locations.

    Args:
        path: the CSV file, or a directory holding exactly one ``*.csv`` (e.g. a SynthWorld
            output directory; ``test.csv`` is preferred when there are several).
        max_rows: stop after this many usable rows (None: all).

    Returns:
        the usable locations and the skipped rows' problems.

    Raises:
        DatasetError: no such file, not a CSV with ``id,lat,lng`` and image columns, or no
            usable row at all.
    """
    p = Path(path)
    if p.is_dir():
        csvs = sorted(p.glob("*.csv"))
        preferred = [c for c in csvs if c.name in ("test.csv", "locations.csv", "dataset.csv")]
        if preferred:
            p = preferred[0]
        elif len(csvs) == 1:
            p = csvs[0]
        else:
            raise DatasetError(f"{path}: a directory with {len(csvs)} CSV files; pass the CSV itself")
    if not p.is_file():
        raise DatasetError(f"{path}: no such dataset file; pass a CSV with columns "
                           "id,lat,lng,image_1..image_4,heading,month")
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            cols = tuple(reader.fieldnames or ())
            missing = [c for c in ("id", "lat", "lng") if c not in cols]
            image_cols = tuple(c for c in IMAGE_COLUMNS if c in cols) or (
                ("image",) if "image" in cols else ())
            if missing or not image_cols:
                need = missing + ([] if image_cols else ["image_1..image_4 (or image)"])
                raise DatasetError(f"{p}: missing column(s) {', '.join(need)}; found {list(cols)}")
            base = p.parent
            locations: list[Location] = []
            problems: list[str] = []
            seen: set[str] = set()
            for line_no, row in enumerate(reader, start=2):
                try:
                    loc = _parse_row(row, base, image_cols)
                    if loc.id in seen:
                        raise ValueError(f"duplicate id {loc.id!r}")
                except ValueError as exc:
                    problems.append(f"line {line_no}: {exc}")
                    continue
                seen.add(loc.id)
                locations.append(loc)
                if max_rows is not None and len(locations) >= max_rows:
                    break
    except UnicodeDecodeError:
        raise DatasetError(f"{p}: not a UTF-8 text CSV") from None
    except csv.Error as exc:
        raise DatasetError(f"{p}: not a readable CSV ({exc})") from None
    if not locations:
        detail = f" ({'; '.join(problems[:MAX_PROBLEMS_SHOWN])})" if problems else ""
        raise DatasetError(f"{p}: no usable location{detail}; check the coordinates and image paths")
    return ArenaDataset(p, locations, problems)
