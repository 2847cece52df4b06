"""The model bundle: one directory with (or referencing) everything inference needs.

Layout::

    bundle/
      bundle.json        format "pigeon-bundle/1": backbone config + weights reference,
                         embedding kind, preprocessing, geocell count, data, parameters,
                         metrics, created, sha256 + size of every file
      backbone.pt        the vision tower (absent when bundle.json references an open_clip
                         pretrained tag or an outside checkpoint instead)
      heads.pt           the head (backend.model.location_head: PIGEON's trained heads, a
                         zero-shot text head, a GeoCLIP gallery head), config inside
      geocells.json      its cells: polygon geocells (backend.geocells.Geocells), or
      cells.npz          point cells (backend.geocells.point_cells.PointCells)
      index.npz          optional: refinement index (backend.predict)
      calibration.json   optional: projected-score calibration

Usage::

    from backend.model.bundle import load_bundle, make_tiny_bundle
    path = make_tiny_bundle(tmp_path / "b", geocells)        # tests of other modules
    b = load_bundle(path)                                     # Bundle
    x = torch.stack([b.backbone.preprocess(img) for img in views])
    logits = b.heads(b.backbone.embed(x).mean(0, keepdim=True))["geocell"]
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from backend.cliutil import UserError
from backend.file_digest import sha256_file
from backend.model.backbone import (
    Backbone,
    backbone_from_state,
    build_backbone,
    weights_sha256,
)
from backend.model.heads import HeadsConfig, PigeonHeads
from backend.model.location_head import head_from_state, head_kind

BUNDLE_FORMAT = "pigeon-bundle/1"
BUNDLE_JSON = "bundle.json"
BACKBONE_FILE = "backbone.pt"
HEADS_FILE = "heads.pt"
GEOCELLS_FILE = "geocells.json"
INDEX_FILE = "index.npz"
CALIBRATION_FILE = "calibration.json"


class BundleError(UserError):
    """A bundle directory that is missing, incomplete or corrupt (the message says which file)."""


@dataclass
class Bundle:
    """A loaded bundle.

    Attributes:
        path: the bundle directory.
        meta: the parsed ``bundle.json``.
        backbone: :class:`Backbone` (``embed``, ``embed_views``, ``preprocess``), in eval mode.
        heads: the head in eval mode (:class:`PigeonHeads` or any head of
            ``backend.model.location_head``).
        geocells: its cells (``Geocells`` or ``PointCells``).
        index_path: ``index.npz`` when the bundle has one (the predictor loads it), else None.
        calibration: the parsed ``calibration.json`` or None.
    """

    path: Path
    meta: dict[str, Any]
    backbone: Backbone
    heads: Any
    geocells: Any
    index_path: Path | None = None
    calibration: dict[str, Any] | None = None

    @property
    def num_cells(self) -> int:
        return int(self.heads.config.num_cells)




def _file_entry(path: Path) -> dict[str, Any]:
    return {"file": path.name, "bytes": path.stat().st_size, "sha256": sha256_file(path)}


def _load_geocells(path: Path) -> Any:
    """Load the cells file (polygon geocells or point cells) with its package's loader."""
    from backend.geocells.point_cells import load_cells

    return load_cells(path)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def save_bundle(path: str | Path, *, backbone: Backbone, heads: Any, geocells: Any,
                weights: dict[str, Any] | None = None, data: dict[str, Any] | None = None,
                parameters: dict[str, Any] | None = None, metrics: dict[str, Any] | None = None,
                index_file: str | Path | None = None,
                calibration: dict[str, Any] | None = None, overwrite: bool = False) -> Path:
    """Write a bundle directory.

    Args:
        path: the directory to create.
        backbone: the backbone; its weights go to ``backbone.pt`` unless ``weights`` is given.
        heads: the head (``heads.config.embedding_dim`` must equal the backbone's): trained
            PIGEON heads or any head of ``backend.model.location_head``.
        geocells: its cells, ``Geocells`` or ``PointCells`` (``.save(path)``, ``.centroids``;
            point cells are written as ``cells.npz``).
        weights: a reference instead of ``backbone.pt``: ``{"kind": "pretrained", "tag":
            "openai"}`` or ``{"kind": "checkpoint", "path": "/abs/file.pt"}``.
        data, parameters, metrics: free JSON metadata (what data, which settings, results).
        index_file: a refinement index to copy in as ``index.npz``.
        calibration: projected-score calibration to store as ``calibration.json``.
        overwrite: replace an existing bundle directory.

    Returns:
        The bundle directory.

    Raises:
        BundleError: the directory exists (without ``overwrite``) or the parts do not match.
    """
    out = Path(path)
    if heads.config.embedding_dim != backbone.embedding_dim:
        raise BundleError(f"heads take {heads.config.embedding_dim}-d embeddings but the backbone "
                          f"({backbone.config_name}, {backbone.embedding_kind}) makes "
                          f"{backbone.embedding_dim}-d ones; train the heads on this backbone")
    n_cells = len(geocells.centroids)
    if heads.config.num_cells != n_cells:
        raise BundleError(f"heads predict {heads.config.num_cells} geocells but the geocells "
                          f"file has {n_cells}; use the geocells the heads were trained with")
    if out.exists():
        if not overwrite:
            raise BundleError(f"{out} already exists; pick another path or pass overwrite")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    files: dict[str, Any] = {}
    if weights is None:
        torch.save(backbone.state(), out / BACKBONE_FILE)
        weights = {"kind": "file", **_file_entry(out / BACKBONE_FILE)}
    elif weights.get("kind") not in ("pretrained", "checkpoint"):
        raise BundleError(f"weights reference kind must be pretrained or checkpoint, got {weights}")
    torch.save(heads.state(), out / HEADS_FILE)
    files["heads"] = _file_entry(out / HEADS_FILE)
    cells_file = out / getattr(geocells, "FILE_NAME", GEOCELLS_FILE)
    geocells.save(cells_file)
    files["geocells"] = _file_entry(cells_file)
    if index_file is not None:
        shutil.copyfile(index_file, out / INDEX_FILE)
        files["index"] = _file_entry(out / INDEX_FILE)
    if calibration is not None:
        (out / CALIBRATION_FILE).write_text(json.dumps(calibration, indent=2), encoding="utf-8")
        files["calibration"] = _file_entry(out / CALIBRATION_FILE)
    meta = {
        "format": BUNDLE_FORMAT,
        "created": _now(),
        "made_by": "backend.model.bundle.save_bundle (pigeon-bot)",
        "backbone": {**backbone.describe(), "weights": weights,
                     "weights_sha256": weights_sha256(backbone.visual)},
        "heads": heads.config.to_dict(),
        "geocell_count": n_cells,
        "files": files,
        "data": data or {},
        "parameters": parameters or {},
        "metrics": metrics or {},
    }
    tmp = out / (BUNDLE_JSON + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    os.replace(tmp, out / BUNDLE_JSON)
    return out


def read_bundle_meta(path: str | Path) -> dict[str, Any]:
    """Parse and check ``bundle.json`` without loading any weights.

    Raises:
        BundleError: missing directory or file, bad JSON, or an unknown format.
    """
    root = Path(path)
    if not root.is_dir():
        raise BundleError(f"{root} is not a bundle directory; make one with "
                          "`pigeon bundle make` (or check the path)")
    meta_path = root / BUNDLE_JSON
    if not meta_path.is_file():
        raise BundleError(f"{root} has no {BUNDLE_JSON}; this is not a pigeon bundle "
                          "(make one with `pigeon bundle make`)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BundleError(f"{meta_path} is corrupt ({exc}); rebuild the bundle") from exc
    if not isinstance(meta, dict) or meta.get("format") != BUNDLE_FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise BundleError(f"{meta_path} has format {found!r}, this pigeon-bot reads "
                          f"{BUNDLE_FORMAT}; rebuild the bundle with this version")
    bb = meta.get("backbone")
    missing = [k for k in ("backbone", "files", "geocell_count", "heads") if k not in meta]
    missing += [f"backbone.{k}" for k in ("config_name", "model_cfg", "embedding_kind",
                                          "embedding_dim", "preprocess", "weights")
                if isinstance(bb, dict) and k not in bb]
    if missing:
        raise BundleError(f"{meta_path} is incomplete (no {', '.join(missing)}); rebuild the "
                          "bundle with `pigeon bundle make`")
    return meta


HASH_ON_LOAD_MAX_BYTES = 1 << 30
"""Files above this size (an OSV-5M refinement index: gigabytes) are checked by size when a
bundle loads, and by sha256 only with ``verify="full"`` (``pigeon bundle info --check``)."""


def _check_file(root: Path, entry: dict[str, Any], verify: bool | str) -> Path:
    p = root / entry["file"]
    if not p.is_file():
        raise BundleError(f"bundle {root} is missing {entry['file']}; copy the whole bundle "
                          "directory again or rebuild it with `pigeon bundle make`")
    size = p.stat().st_size
    size_bad = size != entry.get("bytes", size)
    hash_it = "sha256" in entry and (verify == "full" or size <= HASH_ON_LOAD_MAX_BYTES)
    if verify and (size_bad or (hash_it and sha256_file(p) != entry["sha256"])):
        raise BundleError(f"bundle {root}: {entry['file']} is corrupt (size or sha256 "
                          "differs from bundle.json); copy it again or rebuild the bundle")
    return p


def _torch_load(p: Path) -> Any:
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds on a damaged file
        raise BundleError(f"{p} cannot be read ({type(exc).__name__}: {str(exc)[:120]}); "
                          "the file is corrupt: copy it again or rebuild the bundle") from exc


def _load_backbone(root: Path, bmeta: dict[str, Any], device: str, verify: bool | str
                   ) -> Backbone:
    ref = bmeta.get("weights", {})
    kind = ref.get("kind")
    if kind == "file":
        state = _torch_load(_check_file(root, ref, verify))
        try:
            return backbone_from_state(state, device)
        except ValueError as exc:
            raise BundleError(f"{root / ref['file']}: {exc}") from exc
    if kind in ("pretrained", "checkpoint"):
        from backend.model.weights import load_backbone

        source = ref["tag"] if kind == "pretrained" else ref["path"]
        cfg = bmeta.get("model_cfg")
        # a checkpoint is rebuilt with the activation the bundle recorded (QuickGELU for
        # OpenAI's weights), not guessed again
        quick = bool(cfg.get("quick_gelu")) if kind == "checkpoint" and cfg else None
        return load_backbone(bmeta["config_name"], source,
                             embedding_kind=bmeta["embedding_kind"],
                             model_cfg=cfg, quick_gelu=quick).to(device).eval()
    raise BundleError(f"{root / BUNDLE_JSON}: unknown backbone weights reference {ref!r}")


def load_bundle(path: str | Path, device: str | torch.device = "cpu", *,
                verify: bool | str = True) -> Bundle:
    """Load a bundle for inference.

    Args:
        path: the bundle directory.
        device: where the backbone and heads go (``"cpu"``, ``"cuda"``, ...).
        verify: check each file's size and sha256 against ``bundle.json`` (files above
            :data:`HASH_ON_LOAD_MAX_BYTES` by size only; ``"full"``: every sha256).

    Returns:
        A :class:`Bundle` with backbone and heads in eval mode.

    Raises:
        BundleError: a missing or corrupt file (named in the message), or parts that do not
            fit together.
    """
    root = Path(path)
    meta = read_bundle_meta(root)
    files = meta.get("files", {})
    for need in ("heads", "geocells"):
        if need not in files:
            raise BundleError(f"{root / BUNDLE_JSON} lists no {need} file; rebuild the bundle")
    backbone = _load_backbone(root, meta["backbone"], str(device), verify)
    heads_state = _torch_load(_check_file(root, files["heads"], verify))
    try:
        heads = head_from_state(heads_state, device)
    except ValueError as exc:
        raise BundleError(f"{root / HEADS_FILE}: {exc}") from exc
    if heads.config.embedding_dim != backbone.embedding_dim:
        raise BundleError(f"bundle {root}: heads take {heads.config.embedding_dim}-d embeddings "
                          f"but the backbone makes {backbone.embedding_dim}-d ones; rebuild it")
    gc_path = _check_file(root, files["geocells"], verify)
    try:
        geocells = _load_geocells(gc_path)
    except (ValueError, KeyError, OSError) as exc:
        raise BundleError(f"{gc_path} cannot be loaded ({exc}); rebuild the bundle") from exc
    if len(geocells.centroids) != heads.config.num_cells:
        raise BundleError(f"bundle {root}: heads predict {heads.config.num_cells} cells but "
                          f"{gc_path.name} has {len(geocells.centroids)}; rebuild the bundle")
    index_path = _check_file(root, files["index"], verify) if "index" in files else None
    calibration = None
    if "calibration" in files:
        cal_path = _check_file(root, files["calibration"], verify)
        try:
            calibration = json.loads(cal_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise BundleError(f"{cal_path} is corrupt ({exc}); rebuild the bundle") from exc
    return Bundle(root, meta, backbone, heads, geocells, index_path, calibration)


def bundle_summary(path: str | Path) -> dict[str, Any]:
    """A short JSON-ready summary of a bundle (for ``pigeon bundle info``), no weights loaded."""
    meta = read_bundle_meta(path)
    bb = meta["backbone"]
    return {"path": str(Path(path)), "format": meta["format"], "created": meta.get("created"),
            "backbone": bb["config_name"], "embedding_kind": bb["embedding_kind"],
            "embedding_dim": bb["embedding_dim"], "image_size": bb["preprocess"]["size"],
            "weights": {k: v for k, v in bb["weights"].items() if k != "sha256"},
            "head": head_kind(meta["heads"]),
            "geocell_count": meta["geocell_count"],
            "files": {k: v["file"] for k, v in meta.get("files", {}).items()},
            "data": meta.get("data", {}), "parameters": meta.get("parameters", {}),
            "metrics": meta.get("metrics", {})}


def make_tiny_bundle(path: str | Path, geocells: Any, seed: int = 0, *,
                     overwrite: bool = False) -> Path:
    """A random-init ``pigeon-tiny`` bundle in well under a second (for other modules' tests).

    Args:
        path: the directory to create.
        geocells: a ``Geocells`` object (its cell count sizes the geocell head).
        seed: seeds the random weights (same seed, same bundle weights).
        overwrite: replace an existing directory.

    Returns:
        The bundle directory.
    """
    backbone = build_backbone("pigeon-tiny", seed=seed)
    torch.manual_seed(seed + 1)
    heads = PigeonHeads(HeadsConfig(embedding_dim=backbone.embedding_dim,
                                    num_cells=len(geocells.centroids))).eval()
    return save_bundle(path, backbone=backbone, heads=heads, geocells=geocells,
                       data={"kind": "none (random init for tests)"},
                       parameters={"seed": seed, "made_by": "make_tiny_bundle"},
                       overwrite=overwrite)
