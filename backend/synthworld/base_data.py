"""The SynthWorld CLIP base's data: disjoint places, rendered once, split, decoded, captioned.

1. places — :func:`backend.synthworld.base_places.base_places` (its own sampler stream, at
   least ``min_km`` from every reserved place), checked again with ``check_disjoint``;
2. render — ``make_dataset`` into ``DATA/all`` (reused when its ``synthworld.json`` matches
   seed, count, size and renderer);
3. split — a validation set of about ``val_places`` places at least 1 km from the training
   places (``backend.eval.split.split_indices``), for the zero-shot curve;
4. views — decoded once into ``DATA/views.npy`` (``view_store``), memory-mapped;
5. facts — town, region, country, climate, driving side per place (``DATA/facts.json``),
   what the captions say.

Usage::

    data = prepare_base_data(Path("data/synthworld-base"), n_places=44_000, size=64)
    data.views[data.train_idx]                 # [N, 4, 64, 64, 3] uint8 (memory-mapped)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FACT_KEYS = ("town", "place", "admin1", "country_name", "koppen", "driving_side")


@dataclass
class BaseData:
    """Everything the base trains and validates on (arrays indexed by place)."""

    views: np.ndarray
    lat: np.ndarray
    lng: np.ndarray
    months: np.ndarray
    facts: list[dict[str, Any]]
    train_idx: np.ndarray
    val_idx: np.ndarray
    meta: dict[str, Any]

    def countries(self, idx: np.ndarray) -> list[str]:
        return [str(self.facts[i].get("country_name") or "") for i in idx]


def _render(data_dir: Path, n_places: int, size: int, workers: int, min_km: float,
            ) -> tuple[Path, dict[str, Any]]:
    """Steps 1-2; returns the dataset CSV and the places' metadata."""
    from backend.synthworld.base_places import BASE_SEED, base_places, check_disjoint
    from backend.synthworld.make_dataset import META_NAME, make_dataset
    from backend.synthworld.render import RENDERER_VERSION

    all_dir = data_dir / "all"
    places_path = data_dir / "places.json"
    meta_path = all_dir / META_NAME
    if meta_path.is_file() and places_path.is_file():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        places = json.loads(places_path.read_text(encoding="utf-8"))
        if (meta.get("seed") == BASE_SEED and meta.get("n_places") == n_places
                and meta.get("params", {}).get("size") == size
                and meta.get("renderer") == RENDERER_VERSION
                and places.get("min_km") == min_km):
            return all_dir / "data.csv", places
    lat, lng, places = base_places(n_places, min_km=min_km)
    places["closest_reserved_km"] = round(check_disjoint(lat, lng, min_km=min_km), 3)
    csv_path = make_dataset(n_places, all_dir, seed=BASE_SEED, size=size, workers=workers,
                            points=(lat, lng), force=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    places_path.write_text(json.dumps(places, indent=2) + "\n", encoding="utf-8")
    return csv_path, places


def _facts(data_dir: Path, lat: np.ndarray, lng: np.ndarray) -> list[dict[str, Any]]:
    """Step 5, cached in ``facts.json`` (keyed by the places' coordinates)."""
    from backend.synthworld.captions import place_facts

    path = data_dir / "facts.json"
    key = [round(float(lat.sum()), 6), round(float(lng.sum()), 6), len(lat)]
    if path.is_file():
        cached = json.loads(path.read_text(encoding="utf-8"))
        if cached.get("key") == key:
            return cached["facts"]
    facts = [{k: (str(r.get(k)) if r.get(k) is not None else "") for k in FACT_KEYS}
             for r in place_facts(lat, lng)]
    path.write_text(json.dumps({"key": key, "facts": facts}) + "\n", encoding="utf-8")
    return facts


def prepare_base_data(data_dir: Path, *, n_places: int, size: int, val_places: int = 500,
                      workers: int = 2, min_km: float | None = None) -> BaseData:
    """Run steps 1-5 (each reused when already done); see the module docstring.

    Raises:
        UserError: bad sizes, missing geographic assets, unreadable images.
        ValueError: the disjointness rule cannot be met.
    """
    from backend.cliutil import UserError
    from backend.eval.datasets import load_dataset
    from backend.eval.split import split_indices
    from backend.synthworld.base_places import BASE_MIN_KM, BASE_SEED
    from backend.synthworld.view_store import view_store

    if not 0 < val_places < n_places // 2:
        raise UserError(f"--val-places must be between 1 and half of --n ({n_places}), "
                        f"got {val_places}")
    min_km = BASE_MIN_KM if min_km is None else float(min_km)
    csv_path, places = _render(Path(data_dir), n_places, size, workers, min_km)
    ds = load_dataset(csv_path)
    lat, lng = ds.lats(), ds.lngs()
    train_idx, val_idx = split_indices(lat, lng, test_frac=val_places / len(ds), min_km=1.0,
                                       seed=BASE_SEED)
    views = view_store(ds, Path(data_dir) / "views.npy", size=size)
    months = np.array([loc.month or 0 for loc in ds], dtype=np.int64)
    facts = _facts(Path(data_dir), lat, lng)
    meta = {"dataset": str(csv_path), "places": places,
            "split": {"train": len(train_idx), "val": len(val_idx), "min_km": 1.0,
                      "seed": BASE_SEED},
            "rendered": json.loads((csv_path.parent / "synthworld.json").read_text(
                encoding="utf-8"))}
    return BaseData(views, lat, lng, months, facts, train_idx, val_idx, meta)
