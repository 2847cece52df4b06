"""Find and read GeoCLIP's shipped parts: the PyPI ``geoclip`` wheel, or a folder laid out like it.

The wheel (MIT) ships, under ``geoclip/model/``::

    weights/image_encoder_mlp_weights.pth     the image MLP (768 → 768 → 512)
    weights/location_encoder_weights.pth      the location encoder (3 Fourier branches)
    weights/logit_scale_weights.pth           the logit scale (log)
    gps_gallery/coordinates_100K.csv          100,000 photo coordinates (LAT,LON header)

Only these files are read (``torch.load(weights_only=True)`` and the CSV): the package's own
code is not imported (it pulls in ``transformers`` and wants to download CLIP).

Usage::

    parts = read_geoclip_parts()               # the installed package
    parts = read_geoclip_parts("~/geoclip")    # a copy of its model/ folder
"""

from __future__ import annotations

import csv
import importlib.util
from pathlib import Path
from typing import Any

import torch

from backend.cliutil import UserError
from backend.model.geoclip_head import GeoCLIPParts

WEIGHT_FILES = {"mlp": "weights/image_encoder_mlp_weights.pth",
                "location": "weights/location_encoder_weights.pth",
                "logit_scale": "weights/logit_scale_weights.pth"}
GALLERY_FILE = "gps_gallery/coordinates_100K.csv"
INSTALL_HINT = ("pip install geoclip (MIT, a 40 MB wheel with the trained parts; with "
                "`--no-deps` if pip wants to change your transformers), or pass --geoclip-dir "
                "with a copy of its geoclip/model/ folder")


def geoclip_package_dir() -> Path | None:
    """The installed ``geoclip`` package's ``model/`` folder, or None (nothing imported)."""
    spec = importlib.util.find_spec("geoclip")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def read_gallery_csv(path: Path) -> torch.Tensor:
    """The ``LAT,LON`` CSV as an ``(N, 2)`` float32 tensor (each value parsed exactly, then
    rounded to float32, as GeoCLIP does).

    Raises:
        UserError: no such file, no LAT/LON header, or a bad row (line number given).
    """
    rows = []
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = [h.strip().upper() for h in next(reader, [])]
            if "LAT" not in header or "LON" not in header:
                raise UserError(f"{path}: the gallery CSV needs a LAT,LON header, got {header}")
            ilat, ilon = header.index("LAT"), header.index("LON")
            for line, row in enumerate(reader, start=2):
                try:
                    lat, lon = float(row[ilat]), float(row[ilon])
                except (ValueError, IndexError):
                    raise UserError(f"{path} line {line}: not a LAT,LON pair: {row!r:.80}") \
                        from None
                if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                    raise UserError(f"{path} line {line}: coordinates out of range: {lat}, "
                                    f"{lon}")
                rows.append((lat, lon))
    except OSError as exc:
        raise UserError(f"cannot read the GPS gallery {path}: {exc}") from None
    if not rows:
        raise UserError(f"{path} holds no gallery point")
    return torch.tensor(rows, dtype=torch.float64).to(torch.float32)


def read_geoclip_parts(folder: str | Path | None = None, *,
                       gallery: str | Path | None = None) -> GeoCLIPParts:
    """GeoCLIP's weights and gallery from ``folder`` (default: the installed package).

    Args:
        folder: a folder holding ``weights/*.pth`` and ``gps_gallery/coordinates_100K.csv``
            like the wheel's ``geoclip/model/``; None: the installed package.
        gallery: another ``LAT,LON`` CSV to score instead of the shipped 100k gallery.

    Raises:
        UserError: the package is not installed and no folder given, a file is missing or
            unreadable (one line saying what to install or where to put what).
    """
    if folder is None:
        root = geoclip_package_dir()
        if root is None:
            raise UserError(f"GeoCLIP's trained parts are not installed: {INSTALL_HINT}")
    else:
        root = Path(folder).expanduser()
    files = {k: root / v for k, v in WEIGHT_FILES.items()}
    gallery_path = Path(gallery).expanduser() if gallery else root / GALLERY_FILE
    missing = [str(p) for p in (*files.values(), gallery_path) if not p.is_file()]
    if missing:
        raise UserError(f"GeoCLIP file {missing[0]} is missing; {INSTALL_HINT}")
    loaded: dict[str, Any] = {}
    for key, path in files.items():
        try:
            loaded[key] = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - torch raises many kinds on a damaged file
            raise UserError(f"cannot read GeoCLIP weights {path} ({type(exc).__name__}); "
                            f"reinstall: {INSTALL_HINT}") from None
    version = None
    if folder is None:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as pkg_version

        try:
            version = pkg_version("geoclip")
        except PackageNotFoundError:
            version = None
    source = {"geoclip": str(root), "geoclip_version": version, "licence": "MIT (geoclip)",
              "gallery": str(gallery_path)}
    return GeoCLIPParts(mlp=loaded["mlp"], location=loaded["location"],
                        logit_scale=torch.as_tensor(loaded["logit_scale"], dtype=torch.float32),
                        gallery=read_gallery_csv(gallery_path), source=source)
