"""Decoded SynthWorld views on disk: one ``.npy`` array ``[places, 4, size, size, 3]`` uint8.

Decoding 176,000 JPEGs for every epoch of a long training run would cost more than the
training step on a small model, and holding them in memory takes gigabytes on a shared
machine. The store decodes each view once into a NumPy file that training opens memory-mapped
(the OS keeps the pages it needs). A small JSON beside it records what it holds; the store is
rebuilt when that does not match the dataset (another CSV, count, size or dataset stamp).

Usage::

    views = view_store(dataset, "data/base/views.npy", size=64)     # np.memmap, read-only
    views[i]                                                          # [4, 64, 64, 3]
    one = read_place_views(dataset[i], 64)                            # decode one place
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from backend.cliutil import UserError, progress

STORE_FORMAT = "synthworld-views/1"


def read_place_views(loc: Any, size: int, n_views: int = 4) -> np.ndarray:
    """``[n_views, size, size, 3]`` uint8: a location's views, decoded and resized.

    Raises:
        UserError: the location does not have ``n_views`` views.
    """
    from PIL import Image

    if len(loc.image_paths) != n_views:
        raise UserError(f"{loc.id}: {n_views} views a place are needed, got "
                        f"{len(loc.image_paths)}")
    out = np.empty((n_views, size, size, 3), dtype=np.uint8)
    for k, p in enumerate(loc.image_paths):
        with Image.open(p) as im:
            out[k] = np.asarray(im.convert("RGB").resize((size, size)))
    return out


def _stamp(dataset: Any, size: int) -> dict[str, Any]:
    first, last = dataset.locations[0], dataset.locations[-1]
    return {"format": STORE_FORMAT, "source": str(Path(dataset.path).resolve()),
            "n_places": len(dataset), "size": int(size), "first_id": first.id,
            "last_id": last.id}


def view_store(dataset: Any, path: str | Path, *, size: int, desc: str = "decoding views",
               ) -> np.ndarray:
    """The dataset's views as a read-only memory-mapped array, decoded once into ``path``.

    Args:
        dataset: a loaded :class:`backend.eval.datasets.Dataset` with 4 views a place.
        path: the ``.npy`` file (``path.json`` beside it holds the stamp).
        size: view side in pixels.

    Raises:
        UserError: a place without 4 views, or an image that cannot be read.
    """
    path = Path(path)
    stamp_path = path.with_suffix(".json")
    want = _stamp(dataset, size)
    if path.is_file() and stamp_path.is_file():
        try:
            have = json.loads(stamp_path.read_text(encoding="utf-8"))
        except ValueError:
            have = None
        if have == want:
            return np.load(path, mmap_mode="r")
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp_path.unlink(missing_ok=True)  # the stamp is written last: a killed run rebuilds
    tmp = path.with_name(path.name + ".tmp.npy")
    arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8,
                                    shape=(len(dataset), 4, size, size, 3))
    for i, loc in enumerate(progress(dataset.locations, total=len(dataset), desc=desc,
                                     unit="place")):
        try:
            arr[i] = read_place_views(loc, size)
        except OSError as exc:
            raise UserError(f"{loc.id}: cannot read its views ({exc}); re-render the "
                            "dataset") from None
    arr.flush()
    del arr
    tmp.replace(path)
    stamp_path.write_text(json.dumps(want, indent=2) + "\n", encoding="utf-8")
    return np.load(path, mmap_mode="r")
