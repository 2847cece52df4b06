"""``pigeon geocells``: build semantic geocells from training points, inspect them, look up points.

Usage::

    pigeon geocells build --points train.csv --out cells/
    pigeon geocells build --points osv5m_train.csv --out cells/ --min 30 --max 60 \\
        --optics "8,.05;10,.025;15,.015" --admin2 gadm_admin2.geojson
    pigeon geocells build --points pts.csv --out cells_eu/ --countries FR,DE,IT
    pigeon geocells info cells/geocells.json
    pigeon geocells assign cells/geocells.json 48.8566 2.3522
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from backend.cliutil import UserError, add_command, add_group, progress
from backend.core.geodesy import CoordinateError

CELLS_FILE = "geocells.json"
MAP_FILE = "geocells.png"


def _admin_meta(admin2: str | None) -> dict:
    from backend.file_digest import sha256_file
    from backend.geo.admin import AdminAreas

    meta = {"admin1": dict(AdminAreas.default("admin1").meta)}
    if admin2:
        meta["admin2"] = {"file": Path(admin2).name, "sha256": sha256_file(admin2)}
    return json.loads(json.dumps(meta, default=str))


def cmd_build(args: argparse.Namespace) -> int:
    from backend.geocells.areas import load_areas, restrict_to_countries
    from backend.geocells.build import (
        GeocellParamError,
        GeocellParams,
        build_geocells,
        parse_optics,
    )
    from backend.geocells.plot import plot_geocells
    from backend.geocells.points_io import read_points

    try:
        radius = None if args.max_radius_km in (None, 0) else args.max_radius_km
        params = GeocellParams(args.min, args.max, parse_optics(args.optics),
                               max_radius_km=radius).check()
    except GeocellParamError as exc:
        raise UserError(str(exc)) from None
    if args.admin2 and not Path(args.admin2).is_file():
        raise UserError(f"admin-2 file {args.admin2} does not exist; give a GeoJSON file "
                        "(GADM or geoBoundaries) or leave out --admin2")
    t0 = time.perf_counter()
    pts = read_points(args.points)
    areas = load_areas(args.admin2)
    lat, lng = pts.lat, pts.lng
    input_meta = pts.describe()
    if args.countries:
        areas, keep = restrict_to_countries(areas, lat, lng, args.countries.split(","))
        input_meta["countries"] = sorted({a.iso2 for a in areas})
        input_meta["points_outside_countries"] = int((~keep).sum())
        lat, lng = lat[keep], lng[keep]
        if len(lat) == 0:
            raise UserError(f"no point of {args.points} lies in {args.countries}")
    cells, _labels = build_geocells(lat, lng, areas, params, input_meta=input_meta,
                                   admin_meta=_admin_meta(args.admin2), progress=progress)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; give a directory")
    cells.save(out / CELLS_FILE)
    if not args.no_plot:
        plot_geocells(cells, out / MAP_FILE, seed=args.seed)
    n = cells.n_points
    print(f"{len(cells)} geocells in {len(set(cells.iso2))} countries from {len(lat)} points "
          f"({time.perf_counter() - t0:.1f} s); points per cell min {n.min()} / median "
          f"{int(np.median(n))} / max {n.max()}; {len(cells.metadata['below_min'])} cells below "
          f"MIN (a whole country smaller than MIN, an island no touching cell could take, or a "
          f"part the radius rule split off: metadata.below_min says which)")
    print(f"wrote {out / CELLS_FILE}" + ("" if args.no_plot else f" and {out / MAP_FILE}"))
    return 0


def _load(path: str):
    from backend.geocells.cells import Geocells, GeocellsFileError

    try:
        return Geocells.load(path)
    except GeocellsFileError as exc:
        raise UserError(str(exc)) from None


def cmd_info(args: argparse.Namespace) -> int:
    cells = _load(args.cells)
    meta = cells.metadata
    n = cells.n_points
    print(f"{args.cells}: {meta.get('format')}, {len(cells)} cells, {len(set(cells.iso2))} "
          f"countries, {int(n.sum())} points (per cell min {n.min()} / median "
          f"{int(np.median(n))} / max {n.max()})")
    for key in ("created", "created_by", "parameters", "input", "countries_without_cells"):
        if key in meta:
            print(f"  {key}: {json.dumps(meta[key], ensure_ascii=False)}")
    return 0


def cmd_assign(args: argparse.Namespace) -> int:
    cells = _load(args.cells)
    try:
        idx = int(cells.assign(args.lat, args.lng))
    except CoordinateError as exc:
        raise UserError(str(exc)) from None
    lat, lng = cells.centroids[idx]
    print(f"cell {idx}: {cells.countries[idx]} ({cells.iso2[idx]}) / {cells.admin1[idx]}; "
          f"centroid {lat:.4f}, {lng:.4f}; {cells.n_points[idx]} training points")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``pigeon geocells {build,info,assign}``."""
    sub = add_group(subparsers, "geocells", help="build and query semantic geocells",
                        example="pigeon geocells build --points train.csv --out cells/")

    b = add_command(sub, "build", help="build geocells from a points file and admin polygons",
                    example="pigeon geocells build --points train.csv --out cells/ "
                            "--min 30 --max 60")
    b.add_argument("--points", required=True,
                   help="CSV with lat,lng columns (or latitude,longitude), .npy (N,2) or .parquet")
    b.add_argument("--out", required=True, help="output directory (geocells.json, geocells.png)")
    b.add_argument("--min", type=int, default=30, help="MIN points per cell (default 30)")
    b.add_argument("--max", type=int, default=60, help="MAX points per cell (default 60)")
    b.add_argument("--optics", default="8,.05;10,.025;15,.015",
                   help="OPTICS min_samples,xi settings tried in turn (default PIGEON's)")
    b.add_argument("--max-radius-km", type=float, default=1000.0,
                   help="cut cells with a point farther than this from their centroid (ours; "
                        "default 1000; 0 = PIGEON's rules alone)")
    b.add_argument("--admin2", default=None,
                   help="GeoJSON of admin-2 polygons (GADM / geoBoundaries) to refine admin-1")
    b.add_argument("--countries", default="",
                   help="only these ISO-2 countries, comma-separated (others' points dropped)")
    b.add_argument("--seed", type=int, default=0, help="colour seed of the map")
    b.add_argument("--no-plot", action="store_true", help="skip the PNG map")
    b.set_defaults(func=cmd_build)

    i = add_command(sub, "info", help="show a geocells file's summary and metadata",
                    example="pigeon geocells info cells/geocells.json")
    i.add_argument("cells", help="geocells.json")
    i.set_defaults(func=cmd_info)

    a = add_command(sub, "assign", help="which cell holds a point",
                    example="pigeon geocells assign cells/geocells.json 48.8566 2.3522")
    a.add_argument("cells", help="geocells.json")
    a.add_argument("lat", type=float)
    a.add_argument("lng", type=float)
    a.set_defaults(func=cmd_assign)
