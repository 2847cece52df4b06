"""Draw the SynthWorld gallery: famous places, four views each, with their facts as captions.

Usage::

    python -m backend.synthworld.gallery --out docs/img/synthworld_gallery.png
"""

from __future__ import annotations

import argparse
import unicodedata
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from backend.synthworld.render import render_panorama
from backend.synthworld.scene import Scene

GALLERY_PLACES: tuple[tuple[str, float, float, int], ...] = (
    ("Paris outskirts", 48.80, 2.45, 6),
    ("Tokyo", 35.70, 139.60, 1),
    ("Nairobi", -1.25, 36.85, 3),
    ("Moscow region", 55.70, 37.40, 1),
    ("Swiss Alps", 46.55, 7.95, 2),
    ("Cape Town", -33.95, 18.55, 7),
    ("Bangkok", 13.80, 100.60, 4),
    ("Reykjavik", 64.12, -21.80, 12),
    ("Mexico City", 19.40, -99.20, 5),
    ("Dubai", 25.15, 55.30, 8),
    ("Rural Kansas", 38.50, -98.50, 10),
    ("Outback", -25.00, 134.00, 1),
)


def caption(name: str, s: Scene) -> str:
    """One ASCII line of the facts behind a row (PIL's default font has no accents)."""
    text = (f"{name}: {s.country} {s.admin1.split(':')[-1][:16]}, {s.koppen}, month {s.month}, "
            f"{s.elevation_m:.0f} m, {s.pop_density:.0f}/km2, drives {s.driving_side}, "
            f"{s.script}, {len(s.landmarks)} landmark(s)")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def make_gallery(out: str | Path, *, size: int = 96, seed: int = 0) -> Path:
    """Render the gallery places through the real scene builder and save one PNG."""
    from backend.synthworld.scene_builder import SceneBuilder

    lat = np.array([p[1] for p in GALLERY_PLACES])
    lng = np.array([p[2] for p in GALLERY_PLACES])
    months = np.array([p[3] for p in GALLERY_PLACES])
    scenes = SceneBuilder.default().build(lat, lng, months, [seed + i for i in range(len(lat))])
    cap_h = 14
    sheet = Image.new("RGB", (4 * size, len(scenes) * (size + cap_h)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for i, (place, s) in enumerate(zip(GALLERY_PLACES, scenes)):
        y = i * (size + cap_h)
        draw.text((3, y + 1), caption(place[0], s), fill=(0, 0, 0))
        sheet.paste(Image.fromarray(np.concatenate(render_panorama(s, size), axis=1)),
                    (0, y + cap_h))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, optimize=True)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/img/synthworld_gallery.png")
    ap.add_argument("--size", type=int, default=96)
    args = ap.parse_args(argv)
    print(make_gallery(args.out, size=args.size))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
