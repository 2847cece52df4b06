"""``pigeon bundle zero-shot``: a bundle from any CLIP, with no training and no data.

The backbone is the CLIP's image tower (its own pooled embedding, the ``pooled`` kind), the
head a :class:`~backend.model.zero_shot_head.ZeroShotHead` over countries → admin-1 regions →
towns of the Street View countries (:mod:`backend.model.zero_shot_places`), the cells the
leaves as points (``cells.npz``). The usual machinery then applies: 4-view mean embedding,
expected-score pin, projected score, ``pigeon calibrate`` when labelled rounds exist,
``pigeon index build`` for refinement when training embeddings exist.

Weights: an open_clip tag (``--model ViT-L-14-336 --weights openai``: referenced, open_clip's
cache holds it), a ``pigeon-openclip/1`` file (StreetCLIP converted by ``pigeon weights
convert-hf-clip``; its image tower is copied into the bundle so the bundle stands alone), or a
plain open_clip checkpoint for the named config.

Usage::

    pigeon bundle zero-shot --model ViT-L-14-336 --weights streetclip.pt --out bundles/streetclip
    from backend.model.bundle_zero_shot import make_zero_shot_bundle
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from backend.cliutil import UserError, progress
from backend.model.bundle import BundleError, save_bundle


def check_out_dir(out: str | Path, overwrite: bool) -> Path:
    """Refuse an existing bundle folder before any slow work (unless ``overwrite``)."""
    p = Path(out)
    if p.exists() and not overwrite:
        raise BundleError(f"{p} already exists; pick another --out or pass --overwrite")
    return p


def make_zero_shot_bundle(out: str | Path, *, model: str = "ViT-L-14-336",
                          weights: str | None = "openai",
                          countries: Sequence[str] | str | None = None,
                          towns_per_region: int = 2, templates: Sequence[str] | None = None,
                          prior: str = "sampler", prior_strength: float = 1.0,
                          batch_size: int = 64, device: str = "cpu", overwrite: bool = False,
                          show_progress: bool = True) -> Path:
    """Build and save a zero-shot bundle.

    Args:
        out: the bundle folder to write.
        model: open_clip config name (a ``pigeon-openclip/1`` file carries its own).
        weights: open_clip tag, checkpoint file, or None (random weights: tests only).
        countries: ISO-2 codes; default the official Street View countries.
        towns_per_region: leaves per admin-1 region (its most populous places).
        templates: prompt templates to ensemble (default ``caption`` and ``photo``).
        prior, prior_strength: the coverage prior (``sampler`` or ``uniform``; 0 = none).
        batch_size, device: text encoding.
        overwrite: replace ``out``.
        show_progress: a progress bar over the captions on stderr.

    Returns:
        The bundle folder.

    Raises:
        UserError: bad options, weights that cannot be had (offline: one line), geo assets
            missing, an existing folder.
    """
    from backend.geocells.point_cells import PointCells
    from backend.model.weights import backbone_from_clip, load_clip_model, weights_reference
    from backend.model.zero_shot_head import DEFAULT_TEMPLATES, TEMPLATES, build_zero_shot_head
    from backend.model.zero_shot_places import PRIORS, build_place_hierarchy

    templates = list(templates or DEFAULT_TEMPLATES)
    bad = [t for t in templates if t not in TEMPLATES]
    if bad:
        raise UserError(f"unknown --template {', '.join(bad)}; known: {', '.join(TEMPLATES)}")
    if prior not in PRIORS or not prior_strength >= 0:
        raise UserError(f"--prior must be one of {', '.join(PRIORS)} and --prior-strength "
                        f">= 0, got {prior!r}, {prior_strength!r}")
    if batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, got {batch_size}")
    out = check_out_dir(out, overwrite)
    t0 = time.perf_counter()
    clip, cfg, name = load_clip_model(model, weights)   # offline + not cached: fails here, fast
    hierarchy = build_place_hierarchy(countries, towns_per_region=towns_per_region)
    n_captions = sum(hierarchy.meta["counts"][k] for k in ("countries", "regions", "leaves"))
    bar = progress(range(n_captions * len(templates)), total=n_captions * len(templates),
                   desc="zero-shot: encoding captions", unit="caption") \
        if show_progress else None

    def step(n: int) -> None:
        if bar is not None:
            bar.update(n)

    try:
        head = build_zero_shot_head(clip, cfg, hierarchy, templates=templates, prior=prior,
                                    prior_strength=prior_strength, batch_size=batch_size,
                                    device=device, on_batch=step)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    finally:
        if bar is not None:
            bar.close()
    h = hierarchy
    region_of_leaf = h.region_name[h.leaf_region]
    cells = PointCells(h.leaf_lat, h.leaf_lng, name=h.leaf_name,
                       country=h.country_name[h.leaf_country],
                       iso2=h.country_iso2[h.leaf_country], admin1=region_of_leaf,
                       metadata={"made_by": "backend.model.bundle_zero_shot (pigeon-bot)",
                                 "what": "leaves of the zero-shot place hierarchy",
                                 **h.meta})
    backbone = backbone_from_clip(clip.cpu(), cfg, name, embedding_kind="pooled").eval()
    ref = weights_reference(weights)
    ref = ref if ref is not None and ref["kind"] == "pretrained" else None
    seconds = time.perf_counter() - t0
    return save_bundle(
        out, backbone=backbone, heads=head, geocells=cells, weights=ref,
        data={"kind": "none: zero-shot from the CLIP's text tower (no training data)",
              "places": h.meta},
        parameters={"made_by": "pigeon bundle zero-shot", "model": model,
                    "weights_source": str(weights) if weights is not None else None,
                    "templates": templates, "prior": prior, "prior_strength": prior_strength,
                    "towns_per_region": towns_per_region, "build_seconds": round(seconds, 1),
                    "example_prompts": {k: v[:2] for k, v in head.prompts.items()}},
        overwrite=overwrite)


def describe(summary: dict[str, Any]) -> str:
    """One line about a freshly written bundle (for the CLI)."""
    return (f"wrote bundle {summary['path']}: {summary['geocell_count']} places, backbone "
            f"{summary['backbone']} ({summary['embedding_kind']}, {summary['image_size']} px)")
