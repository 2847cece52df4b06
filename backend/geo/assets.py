"""Where the offline geographic assets live, reading them, and a health check for `pigeon doctor`.

The assets are built once by ``make setup`` (``python scripts/build_assets.py --out data``) into a
data directory. It is found, in order, at ``$PIGEON_DATA_DIR``, ``<repo>/data``, then
``~/.cache/pigeon-bot/data``. Every asset file carries its own metadata (format version, source
package and version, parameters); ``data/ASSETS.json`` records the provenance of the whole build.

Usage::

    from backend.geo.assets import data_dir, asset_path, status
    grid, meta = load_grid("koppen")        # numpy array + metadata dict
    for name, ok, detail in status():
        print(name, ok, detail)
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from backend.cliutil import UserError

REPO_ROOT = Path(__file__).resolve().parents[2]
ASSETS_FORMAT = "pigeon-assets/1"
"""Format version written into ASSETS.json and every asset's metadata."""

MANIFEST = "ASSETS.json"

ASSET_FILES: dict[str, str] = {
    "admin1": "geo/admin1.npz",
    "admin0": "geo/admin0.npz",
    "koppen": "geo/koppen.npz",
    "elevation": "geo/elevation.npz",
    "climate": "geo/climate.npz",
    "landmask": "geo/landmask.npz",
    "places": "geo/places.npz",
    "population": "geo/population.npz",
}
"""Logical asset name → path relative to the data directory."""

FIX = "run `make setup` (or `python scripts/build_assets.py --out data`), or set PIGEON_DATA_DIR"


class AssetsMissing(UserError):
    """The geographic assets are not built (or not where we look); the message says what to do."""


def candidate_dirs() -> list[Path]:
    """The data directories searched, in order of preference."""
    dirs = []
    env = os.environ.get("PIGEON_DATA_DIR")
    if env:
        dirs.append(Path(env).expanduser())
    dirs.append(REPO_ROOT / "data")
    dirs.append(Path.home() / ".cache" / "pigeon-bot" / "data")
    return dirs


def data_dir() -> Path:
    """The data directory holding built assets (the first candidate with ``ASSETS.json``).

    Returns:
        Path of the data directory.

    Raises:
        AssetsMissing: none of the candidates holds a built asset manifest.
    """
    env = os.environ.get("PIGEON_DATA_DIR")
    if env:
        path = Path(env).expanduser()
        if not (path / MANIFEST).is_file():
            raise AssetsMissing(
                f"PIGEON_DATA_DIR={env} holds no {MANIFEST}: the geographic assets are not built "
                f"there; {FIX}")
        return path
    for path in candidate_dirs():
        if (path / MANIFEST).is_file():
            return path
    searched = ", ".join(str(p) for p in candidate_dirs())
    raise AssetsMissing(f"geographic assets not found (looked in {searched}); {FIX}")


def asset_path(name: str) -> Path:
    """Path of one built asset file.

    Args:
        name: a key of :data:`ASSET_FILES`, e.g. ``"admin1"``.

    Raises:
        KeyError: unknown asset name (a programming error).
        AssetsMissing: the file is not built.
    """
    rel = ASSET_FILES[name]
    path = data_dir() / rel
    if not path.is_file():
        raise AssetsMissing(f"geographic asset {rel} is missing from {path.parent}; {FIX}")
    return path


def manifest() -> dict[str, Any]:
    """The parsed ``ASSETS.json`` of the data directory (provenance of every source)."""
    return json.loads((data_dir() / MANIFEST).read_text(encoding="utf-8"))


def pack_meta(meta: dict[str, Any]) -> np.ndarray:
    """Metadata dict → a 0-d unicode array storable in an ``.npz`` without pickle."""
    return np.array(json.dumps(meta, sort_keys=True, ensure_ascii=False))


def unpack_meta(arr: np.ndarray) -> dict[str, Any]:
    """Inverse of :func:`pack_meta`."""
    return json.loads(str(arr[()]))


def load_npz(name: str, keys: list[str] | None = None
             ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Load one ``.npz`` asset (all its arrays, or only ``keys``) into memory.

    Returns:
        ``(arrays, meta)``: the arrays but ``meta``, and the metadata dict.

    Raises:
        AssetsMissing: the asset is not built, or it was written by another format version.
    """
    path = asset_path(name)
    with np.load(path, allow_pickle=False) as npz:
        wanted = npz.files if keys is None else [k for k in npz.files if k in keys or k == "meta"]
        missing = [k for k in (keys or []) if k not in npz.files]
        if missing:
            raise AssetsMissing(f"{path} lacks {missing}: it is from an older build; {FIX}")
        arrays = {k: npz[k] for k in wanted}
    meta = unpack_meta(arrays.pop("meta")) if "meta" in arrays else {}
    if meta.get("format") != ASSETS_FORMAT:
        raise AssetsMissing(
            f"{path} has format {meta.get('format')!r}, this code reads {ASSETS_FORMAT!r}; "
            f"rebuild the assets: {FIX}")
    return arrays, meta


def status() -> list[tuple[str, bool, str]]:
    """Health of every geographic asset, for ``pigeon doctor``.

    Returns:
        One ``(name, ok, detail_or_fix)`` per asset: ``detail`` says what was found when ok,
        or how to fix it when not.
    """
    rows: list[tuple[str, bool, str]] = []
    try:
        root = data_dir()
        info = manifest()
    except AssetsMissing as exc:
        return [("geo assets", False, str(exc))]
    except (OSError, ValueError) as exc:
        return [("geo assets", False, f"unreadable {MANIFEST}: {exc}; {FIX}")]
    rows.append(("geo assets", True, f"{root} (built {info.get('built_at', '?')})"))
    for name, rel in ASSET_FILES.items():
        path = root / rel
        if not path.is_file():
            rows.append((f"geo {name}", False, f"{rel} missing; {FIX}"))
            continue
        try:
            with np.load(path, allow_pickle=False) as npz:
                fmt = unpack_meta(npz["meta"]).get("format")
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            rows.append((f"geo {name}", False, f"{rel} unreadable ({exc}); {FIX}"))
            continue
        if fmt != ASSETS_FORMAT:
            detail = f"{rel} has format {fmt!r}, this code reads {ASSETS_FORMAT!r}; {FIX}"
            rows.append((f"geo {name}", False, detail))
        else:
            rows.append((f"geo {name}", True, f"{rel} ({path.stat().st_size / 1e6:.1f} MB)"))
    return rows
