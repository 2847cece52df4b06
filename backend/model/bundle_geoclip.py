"""``pigeon bundle geoclip``: GeoCLIP's trained parts in a pigeon bundle.

The backbone is open_clip ``ViT-L-14`` with the ``openai`` weights at 224 px (the frozen CLIP
GeoCLIP was trained on; open_clip holds the same weights as Hugging Face's
``openai/clip-vit-large-patch14``), its ``pooled`` embedding (CLIP's 768-d image feature). The
head is :class:`~backend.model.geoclip_head.GeoCLIPHead` with the package's image MLP,
location encoder and logit scale, and the GPS gallery's location features computed once here
and stored in ``heads.pt``; the cells are the gallery points (``cells.npz``, each with the
country the admin polygons give it). The predictor's expected-score pin and projected score
then work on GeoCLIP's distribution over the gallery.

Usage::

    pigeon bundle geoclip --out bundles/geoclip                # openai ViT-L/14 via open_clip
    from backend.model.bundle_geoclip import make_geoclip_bundle
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from backend.cliutil import UserError, progress
from backend.model.bundle import save_bundle
from backend.model.bundle_zero_shot import check_out_dir

GEOCLIP_BASE = "ViT-L-14"


def _gallery_countries(lat: np.ndarray, lng: np.ndarray) -> tuple[list[str], list[str]]:
    """ISO-2 code and name of each gallery point (nearest country within 50 km off a coast);
    empty strings when the geo assets are not built."""
    try:
        from backend.geo.admin import AdminAreas

        areas = AdminAreas.default("admin1")
    except Exception:  # noqa: BLE001 - assets missing: the cells simply carry no country
        print("note: geo assets not built (make setup): the gallery points get no country",
              file=sys.stderr)
        return [""] * len(lat), [""] * len(lat)
    iso = areas.country_of(lat, lng, nearest_km=50.0)
    name = areas.country_name_of(lat, lng, nearest_km=50.0)
    return [str(x) for x in iso], [str(x) for x in name]


def make_geoclip_bundle(out: str | Path, *, weights: str | None = "openai",
                        geoclip_dir: str | Path | None = None,
                        gallery: str | Path | None = None, device: str = "cpu",
                        overwrite: bool = False, show_progress: bool = True) -> Path:
    """Build and save a GeoCLIP bundle.

    Args:
        out: the bundle folder to write.
        weights: the ViT-L-14 weights: open_clip tag (``openai``, referenced), a checkpoint
            file (its image tower is copied in), or None (random: tests only).
        geoclip_dir: GeoCLIP's ``model/`` folder; default the installed ``geoclip`` package.
        gallery: another ``LAT,LON`` CSV to score instead of the shipped 100k gallery.
        device: where the gallery is encoded.
        overwrite: replace ``out``.
        show_progress: a progress bar over the gallery on stderr.

    Returns:
        The bundle folder.

    Raises:
        UserError: GeoCLIP not installed, weights that cannot be had (offline: one line), a
            backbone whose image features are not 768-d, an existing folder.
    """
    from backend.geocells.point_cells import PointCells
    from backend.model.geoclip_head import GeoCLIPHead
    from backend.model.geoclip_parts import read_geoclip_parts
    from backend.model.weights import load_backbone, weights_reference

    out = check_out_dir(out, overwrite)
    t0 = time.perf_counter()
    parts = read_geoclip_parts(geoclip_dir, gallery=gallery)
    backbone = load_backbone(GEOCLIP_BASE, weights, embedding_kind="pooled")
    if backbone.embedding_dim != 768:
        raise UserError(f"GeoCLIP's MLP reads 768-d CLIP image features; {weights} gives "
                        f"{backbone.embedding_dim}-d ones: use open_clip ViT-L-14 / openai")
    v = backbone.model_cfg["vision_cfg"]
    if (backbone.image_size, v.get("width"), v.get("layers")) != (224, 1024, 24):
        print(f"note: {weights} is not a ViT-L/14 at 224 px, the frozen CLIP GeoCLIP was "
              "trained on: its guesses will be meaningless (fine for tests)", file=sys.stderr)
    n = len(parts.gallery)
    bar = progress(range(n), total=n, desc="geoclip: encoding the gallery", unit="point") \
        if show_progress else None

    def step(done: int, total: int) -> None:
        if bar is not None:
            bar.n = done
            bar.refresh()

    try:
        head = GeoCLIPHead.build(parts, device=device, on_chunk=step)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    finally:
        if bar is not None:
            bar.close()
    lat = parts.gallery[:, 0].double().numpy()
    lng = parts.gallery[:, 1].double().numpy()
    iso, names = _gallery_countries(lat, lng)
    cells = PointCells(lat, lng, name=[f"gallery {i}" for i in range(n)], country=names,
                       iso2=iso, metadata={"made_by": "backend.model.bundle_geoclip "
                                                      "(pigeon-bot)",
                                           "what": "GeoCLIP GPS gallery", **parts.source})
    ref = weights_reference(weights)
    ref = ref if ref is not None and ref["kind"] == "pretrained" else None
    return save_bundle(
        out, backbone=backbone, heads=head, geocells=cells, weights=ref,
        data={"kind": "none: GeoCLIP's published weights (trained by its authors on MP-16)",
              "gallery_points": n, **parts.source},
        parameters={"made_by": "pigeon bundle geoclip", "base": GEOCLIP_BASE,
                    "weights_source": str(weights) if weights is not None else None,
                    "logit_scale": float(head.logit_scale.exp()),
                    "build_seconds": round(time.perf_counter() - t0, 1)},
        overwrite=overwrite)
