"""A tiny arena dataset drawn with PIL, for tests and for trying the arena without SynthWorld.

The pictures are plain (sky, ground, a road, a number) and carry no geographic cue; real
play uses a SynthWorld dataset (``pigeon synthworld make``). The CSV is in the generic layout
and a ``dataset.json`` next to it says what made it.

Usage::

    from bot.arena.sample_dataset import write_sample_dataset
    csv_path = write_sample_dataset("/tmp/arena-data", n=8, seed=0)
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

from PIL import Image, ImageDraw

# well-spread land places (lat, lng): Paris, Nairobi, Sao Paulo, Tokyo, Sydney, Denver,
# Moscow, Delhi, Cape Town, Buenos Aires, Reykjavik, Jakarta
PLACES = [(48.8566, 2.3522), (-1.2921, 36.8219), (-23.5505, -46.6333), (35.6762, 139.6503),
          (-33.8688, 151.2093), (39.7392, -104.9903), (55.7558, 37.6173), (28.6139, 77.2090),
          (-33.9249, 18.4241), (-34.6037, -58.3816), (64.1466, -21.9426), (-6.2088, 106.8456)]


def draw_view(seed: int, view: int, size: int = 128) -> Image.Image:
    """One plain synthetic view: sky, ground, road, and the view number."""
    rng = random.Random(seed * 10 + view)
    img = Image.new("RGB", (size, size), (rng.randint(90, 160), rng.randint(150, 210), 235))
    d = ImageDraw.Draw(img)
    ground = (rng.randint(60, 140), rng.randint(90, 160), rng.randint(40, 90))
    d.rectangle([0, size // 2, size, size], fill=ground)
    d.polygon([(size * 0.4, size / 2), (size * 0.6, size / 2), (size, size), (0, size)],
              fill=(70, 70, 70))
    d.text((6, 6), f"{seed}/{view + 1}", fill=(255, 255, 255))
    return img


def write_sample_dataset(out_dir: str | Path, *, n: int = 8, seed: int = 0, views: int = 4,
                         size: int = 128) -> Path:
    """Write ``n`` locations with ``views`` JPEG views each; returns the CSV path."""
    out = Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        lat, lng = PLACES[i % len(PLACES)]
        lat += rng.uniform(-0.5, 0.5)
        lng += rng.uniform(-0.5, 0.5)
        names = []
        for v in range(views):
            name = f"images/{i:04d}_{v + 1}.jpg"
            draw_view(seed * 1000 + i, v, size).save(out / name, quality=90)
            names.append(name)
        rows.append({"id": f"s{i:04d}", "lat": f"{lat:.6f}", "lng": f"{lng:.6f}",
                     **{f"image_{v + 1}": (names[v] if v < views else "") for v in range(4)},
                     "heading": str(rng.randint(0, 359)), "month": str(rng.randint(1, 12))})
    csv_path = out / "locations.csv"
    with csv_path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["id", "lat", "lng", "image_1", "image_2", "image_3",
                                           "image_4", "heading", "month"])
        w.writeheader()
        w.writerows(rows)
    (out / "dataset.json").write_text(json.dumps({
        "format": "pigeon-dataset/1", "layout": "generic-csv", "made_by":
        "bot.arena.sample_dataset.write_sample_dataset", "n": n, "seed": seed, "views": views,
        "image_size": size, "note": "plain PIL pictures with no geographic cue (tests only)"},
        indent=2))
    return csv_path
