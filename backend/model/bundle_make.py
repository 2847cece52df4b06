"""Assemble a bundle from a training run (``pigeon bundle make``).

A heads run (``pigeon train``) leaves ``heads.pt`` whose ``training`` metadata names the
backbone (config, embedding kind) and where its weights came from (open_clip tag or file);
a fine-tuning run also leaves ``backbone.pt``. This rebuilds that backbone, checks that it
makes the embeddings the heads expect, and writes the bundle: a pretrained tag is referenced
(the user's open_clip cache holds it), anything else is stored in the bundle as
``backbone.pt`` so the bundle stands alone.

Usage::

    pigeon bundle make --run runs/heads --geocells cells/geocells.json --out bundles/v1
    from backend.model.bundle_make import make_bundle_from_run
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from backend.model.bundle import BundleError, save_bundle
from backend.model.heads import heads_from_state


def _load(path: Path) -> Any:
    if not path.is_file():
        raise BundleError(f"{path} does not exist; is this a `pigeon train` output folder?")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise BundleError(f"{path} cannot be read ({type(exc).__name__}); rerun training") \
            from exc


def make_bundle_from_run(run_dir: str | Path, geocells_path: str | Path, out: str | Path, *,
                         weights: str | None = None, index_file: str | Path | None = None,
                         calibration: dict[str, Any] | None = None,
                         overwrite: bool = False) -> Path:
    """Build a bundle from a ``pigeon train`` output folder.

    Args:
        run_dir: folder with ``heads.pt`` (and ``backbone.pt`` after ``--finetune``).
        geocells_path: the geocells file the heads were trained with.
        out: bundle directory to write.
        weights: override the backbone weights source recorded in the run.
        index_file: optional refinement index (``index.npz``) to include.
        calibration: optional calibration dict to include.
        overwrite: replace ``out`` if it exists.

    Returns:
        The bundle directory.

    Raises:
        BundleError: missing/corrupt run files, unknown backbone source, or mismatched parts.
    """
    from backend.geocells import Geocells
    from backend.model.backbone import backbone_from_state
    from backend.model.weights import load_backbone, weights_reference

    run = Path(run_dir)
    state = _load(run / "heads.pt")
    try:
        heads = heads_from_state(state)
    except ValueError as exc:
        raise BundleError(f"{run / 'heads.pt'}: {exc}") from exc
    training = state.get("training", {})
    ref = None
    if (run / "backbone.pt").is_file() and weights is None:
        try:
            backbone = backbone_from_state(_load(run / "backbone.pt"))
        except ValueError as exc:
            raise BundleError(f"{run / 'backbone.pt'}: {exc}") from exc
    else:
        desc = training.get("backbone") or {}
        source = weights if weights is not None else training.get("weights")
        if "model_cfg" not in desc:
            raise BundleError(f"{run / 'heads.pt'} does not say which backbone made its "
                              "embeddings (synthetic embeddings?); pass --weights and a "
                              "backbone-made run")
        backbone = load_backbone(desc["config_name"], source,
                                 embedding_kind=desc.get("embedding_kind", "mean_hidden"),
                                 model_cfg=desc["model_cfg"])
        r = weights_reference(source)
        ref = r if r is not None and r["kind"] == "pretrained" else None
    try:
        geocells = Geocells.load(geocells_path)
    except ValueError as exc:
        raise BundleError(str(exc)) from exc
    return save_bundle(out, backbone=backbone, heads=heads, geocells=geocells, weights=ref,
                       data={"training_data": training.get("data"),
                             "geocells": str(geocells_path),
                             "geocells_meta": getattr(geocells, "metadata", {})},
                       parameters={"training": training.get("parameters", {}),
                                   "weights_source": weights or training.get("weights")},
                       metrics=training.get("metrics", {}), index_file=index_file,
                       calibration=calibration, overwrite=overwrite)
