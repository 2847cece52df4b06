"""Shared helpers of the predict tests: small real geocells, a tiny real bundle, test views."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

SITES = [(40.0, -100.0, "US", "United States"), (48.0, 2.0, "FR", "France"),
         (-25.0, 135.0, "AU", "Australia"), (35.0, 139.0, "JP", "Japan"),
         (-15.0, -50.0, "BR", "Brazil"), (0.0, 20.0, "CD", "DR Congo")]


def box_geocells(sites=SITES, half_deg: float = 5.0):
    """Real ``Geocells``: one square cell per site."""
    import shapely

    from backend.geocells import Geocells

    polys = [shapely.box(lo - half_deg, la - half_deg, lo + half_deg, la + half_deg)
             for la, lo, _, _ in sites]
    return Geocells(polys, np.array([(la, lo) for la, lo, _, _ in sites]),
                    countries=[s[3] for s in sites], iso2=[s[2] for s in sites],
                    admin1=["-"] * len(sites), n_points=[10] * len(sites),
                    metadata={"made_by": "tests/predict_fixtures.box_geocells"})


def view(seed: int, size=(64, 64)) -> Image.Image:
    """A deterministic noisy RGB test view."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()
