"""Street View "tiles" for the fake panorama: PNG pieces of one equirectangular image per pano.

The real viewer first shows a coarse image and keeps loading sharper tiles for a while
(vinz3210/chatguessr panoramaCapture.ts: "High-resolution tiles keep streaming in for a while
after the first frame"; OGGS tiles.js: tiles are <img> uploads into WebGL textures). Here:
zoom 0 is one 1024x512 tile with only broad colour, zoom 1 two 512x512 tiles with medium
detail, zoom 2 eight 256x256 tiles with fine detail. The colour depends on the pano (so on the
round) and on the longitude (so on the heading the viewer looks at): captures can be checked.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
from functools import lru_cache

import numpy as np
from PIL import Image

FULL_W, FULL_H = 1024, 512
GRID = {0: (1, 1), 1: (2, 1), 2: (4, 2)}          # zoom -> tiles across, down


def pano_hue(pano_id: str) -> float:
    """The base hue (degrees) of a pano: different rounds look different."""
    return int(hashlib.sha256(pano_id.encode()).hexdigest()[:6], 16) % 360


def expected_hue(pano_id: str, heading: float) -> float:
    """The hue (degrees) the viewer shows at the centre column for ``heading``: a capture can be
    checked for the right round (pano) and the right heading."""
    return (pano_hue(pano_id) + heading) % 360


def hue_of(rgb: tuple[int, int, int]) -> float:
    """Hue in degrees of an 8-bit RGB colour."""
    return colorsys.rgb_to_hsv(*(c / 255 for c in rgb))[0] * 360


def hue_distance(a: float, b: float) -> float:
    d = abs(a - b) % 360
    return min(d, 360 - d)


def _base_rgb(hue0: float, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    h = ((hue0 + 360 * u) % 360) / 60
    s = 0.65
    val = np.where(v < 0.5, 0.9, 0.5)
    c = val * s
    x = c * (1 - np.abs(h % 2 - 1))
    m = val - c
    zero = np.zeros_like(h)
    sector = np.floor(h).astype(int) % 6
    r = np.choose(sector, [c, x, zero, zero, x, c])
    g = np.choose(sector, [x, c, c, x, zero, zero])
    b = np.choose(sector, [zero, zero, x, c, c, x])
    return np.stack([(r + m) * 255, (g + m) * 255, (b + m) * 255], axis=-1).round()


@lru_cache(maxsize=512)
def tile_png(pano_id: str, zoom: int, x: int, y: int) -> bytes:
    """One tile as PNG bytes. Raises ValueError for a tile outside the grid."""
    if zoom not in GRID or not (0 <= x < GRID[zoom][0] and 0 <= y < GRID[zoom][1]):
        raise ValueError(f"no tile zoom={zoom} x={x} y={y}")
    nx, ny = GRID[zoom]
    w, h = FULL_W // nx, FULL_H // ny
    gx = (np.arange(w) + x * w)[None, :] / FULL_W
    gy = (np.arange(h) + y * h)[:, None] / FULL_H
    u = np.broadcast_to(gx, (h, w))
    v = np.broadcast_to(gy, (h, w))
    if zoom == 0:                                   # coarse: broad colour only
        u = np.floor(u * 16) / 16 + 1 / 32
    rgb = _base_rgb(pano_hue(pano_id), u, v)
    if zoom >= 1:
        rgb = rgb * (1 + 0.12 * np.sign(np.sin(2 * np.pi * 24 * u)))[..., None]
    if zoom >= 2:
        rgb = rgb * (1 + 0.08 * np.sign(np.sin(2 * np.pi * 160 * u) * np.sin(2 * np.pi * 80 * v)))[..., None]
    img = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB")
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()
