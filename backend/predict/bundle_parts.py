"""Add or replace an optional part of a model bundle (``index.npz``, ``calibration.json``).

A bundle's ``bundle.json`` lists every file with its size and sha256 (``load_bundle``
verifies them), so a part is never just dropped into the folder: it is written under a
temporary name, renamed into place, and its entry in ``bundle.json`` is updated (also
written atomically).

Usage::

    from backend.predict.bundle_parts import attach_file, attach_json
    attach_file("bundle/", "index", "/tmp/index.npz")             # copied in as index.npz
    attach_json("bundle/", "calibration", {"temperature": 1.3})   # calibration.json
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from backend.file_digest import sha256_file

PART_FILES = {"index": "index.npz", "calibration": "calibration.json"}




def _register(root: Path, key: str, target: Path) -> Path:
    from backend.model.bundle import BUNDLE_JSON, read_bundle_meta

    meta = read_bundle_meta(root)
    meta.setdefault("files", {})[key] = {"file": target.name, "bytes": target.stat().st_size,
                                         "sha256": sha256_file(target)}
    tmp = root / (BUNDLE_JSON + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    os.replace(tmp, root / BUNDLE_JSON)
    return target


def attach_file(bundle_dir: str | Path, key: str, source: str | Path) -> Path:
    """Copy ``source`` into the bundle as its ``key`` part and record it in ``bundle.json``.

    Args:
        bundle_dir: the bundle directory (must hold a valid ``bundle.json``).
        key: ``"index"`` or ``"calibration"``.
        source: the file to copy (may already be the part's own path).

    Returns:
        The part's path inside the bundle.

    Raises:
        BundleError: not a bundle; ValueError: unknown key.
    """
    from backend.model.bundle import read_bundle_meta

    if key not in PART_FILES:
        raise ValueError(f"unknown bundle part {key!r}; one of {sorted(PART_FILES)}")
    root = Path(bundle_dir)
    read_bundle_meta(root)  # fail early and clearly on a non-bundle
    target = root / PART_FILES[key]
    src = Path(source)
    if src.resolve() != target.resolve():
        tmp = target.with_name(target.name + ".part")
        shutil.copyfile(src, tmp)
        os.replace(tmp, target)
    return _register(root, key, target)


def attach_json(bundle_dir: str | Path, key: str, doc: dict[str, Any]) -> Path:
    """Write ``doc`` as the bundle's ``key`` part (JSON) and record it in ``bundle.json``."""
    from backend.model.bundle import read_bundle_meta

    if key not in PART_FILES:
        raise ValueError(f"unknown bundle part {key!r}; one of {sorted(PART_FILES)}")
    root = Path(bundle_dir)
    read_bundle_meta(root)
    target = root / PART_FILES[key]
    tmp = target.with_name(target.name + ".part")
    tmp.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    os.replace(tmp, target)
    return _register(root, key, target)
