"""Write a SynthWorld dataset: GeoGuessr-like places, four JPEG views each, the generic CSV.

Layout of ``OUT``::

    data.csv            id,lat,lng,image_1,image_2,image_3,image_4,heading,month,+facts
    images/<id>_<k>.jpg views at headings 0/90/180/270 (k = 1..4)
    synthworld.json     metadata: renderer version, seed, parameters, counts, geo assets

``heading`` is the heading of ``image_1`` (0°); the others follow clockwise in 90° steps.
The extra columns (country, admin1, koppen, elevation_m, pop_density) are the facts the
renderer used: the evaluation's country accuracy and auxiliary targets can read them.
Places come from ``backend.geo.sampler.sample_points``; the scene facts from
``backend.synthworld.scene_builder``. Rendering runs in worker processes.

Usage::

    from backend.synthworld.make_dataset import make_dataset
    csv_path = make_dataset(1000, "data/synth", seed=0, size=64, workers=2)
"""

from __future__ import annotations

import csv
import json
import multiprocessing as mp
import platform
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
from PIL import Image

from backend.cliutil import UserError, progress
from backend.synthworld.render import HEADINGS, RENDERER_VERSION, render_panorama
from backend.synthworld.scene import Scene
from backend.synthworld.styles import stable_int

DATASET_FORMAT = "synthworld-dataset/1"
CSV_NAME = "data.csv"
META_NAME = "synthworld.json"
FACT_COLUMNS = ("country", "admin1", "koppen", "elevation_m", "pop_density")
MAX_PLACES = 2_000_000


def place_seed(seed: int, index: int) -> int:
    """The scene seed of the ``index``-th place of a dataset made with ``seed``."""
    return stable_int("synthworld-place", seed, index) | (stable_int("hi", seed, index) << 32)


def _render_task(task: tuple[Scene, str, str, int, int, int]) -> str:
    scene, ident, img_dir, size, supersample, quality = task
    views = render_panorama(scene, size, supersample=supersample)
    for k, v in enumerate(views, start=1):
        Image.fromarray(v).save(Path(img_dir) / f"{ident}_{k}.jpg", quality=quality)
    return ident


def render_all(tasks: list, workers: int, desc: str) -> Iterable[str]:
    """Run the render tasks in ``workers`` processes (in this process when workers == 1)."""
    if workers <= 1:
        yield from progress(map(_render_task, tasks), total=len(tasks), desc=desc, unit="place")
        return
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    with ctx.Pool(workers) as pool:
        yield from progress(pool.imap_unordered(_render_task, tasks, chunksize=16),
                            total=len(tasks), desc=desc, unit="place")


def make_dataset(n: int, out_dir: str | Path, *, seed: int = 0, size: int = 64,
                 supersample: int = 2, workers: int = 2, quality: int = 90,
                 force: bool = False,
                 scene_source: Callable[[np.ndarray, np.ndarray, np.ndarray, list[int]],
                                        list[Scene]] | None = None,
                 points: tuple[np.ndarray, np.ndarray] | None = None) -> Path:
    """Sample ``n`` places, render their four views, write the dataset; return the CSV's path.

    Args:
        n: number of places (1 to 2,000,000).
        out_dir: output folder (created; must not hold a dataset unless ``force``).
        seed: decides the places, their months and everything drawn.
        size: view size in pixels (16-512).
        supersample: anti-aliasing factor of the renderer.
        workers: rendering processes.
        quality: JPEG quality (50-100).
        force: overwrite an existing dataset in ``out_dir``.
        scene_source: ``(lat, lng, month, seeds) -> scenes``; default the geo-backed builder.
        points: ``(lat, lng)`` to use instead of the sampler (tests, custom maps).

    Raises:
        UserError: bad arguments, an existing dataset without ``force``, missing geo assets.
    """
    if not 1 <= n <= MAX_PLACES:
        raise UserError(f"--n must be 1 to {MAX_PLACES:,} places, got {n}")
    if not 16 <= size <= 512:
        raise UserError(f"--size must be 16 to 512 px, got {size}")
    if not 50 <= quality <= 100:
        raise UserError(f"JPEG quality must be 50 to 100, got {quality}")
    if workers < 1:
        raise UserError(f"--workers must be at least 1, got {workers}")
    out = Path(out_dir)
    if (out / CSV_NAME).exists() and not force:
        raise UserError(f"{out / CSV_NAME} already exists; choose another --out or pass --force")
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file; give a folder")
    t0 = time.perf_counter()
    if points is None:
        from backend.geo.sampler import sample_points
        lat, lng = sample_points(n, seed)
    else:
        lat, lng = points
    lat, lng = np.asarray(lat, dtype=np.float64), np.asarray(lng, dtype=np.float64)
    if len(lat) != n:
        raise UserError(f"the sampler returned {len(lat)} points for --n {n}")
    months = np.random.default_rng([seed, 12]).integers(1, 13, size=n)
    seeds = [place_seed(seed, i) for i in range(n)]
    if scene_source is None:
        from backend.synthworld.scene_builder import SceneBuilder
        scene_source = SceneBuilder.default().build
    scenes = scene_source(lat, lng, months, seeds)
    t_scenes = time.perf_counter() - t0
    img_dir = out / "images"
    img_dir.mkdir(parents=True, exist_ok=True)
    width = len(str(n - 1))
    ids = [f"sw{seed}-{i:0{width}d}" for i in range(n)]
    tasks = [(s, ident, str(img_dir), size, supersample, quality) for s, ident in zip(scenes, ids)]
    for _ in render_all(tasks, workers, desc="rendering"):
        pass
    t_render = time.perf_counter() - t0 - t_scenes
    _write_csv(out / CSV_NAME, ids, scenes)
    meta = {
        "format": DATASET_FORMAT, "made_by": "backend.synthworld.make_dataset",
        "renderer": RENDERER_VERSION, "seed": seed, "n_places": n, "n_views": 4 * n,
        "params": {"size": size, "supersample": supersample, "jpeg_quality": quality,
                   "headings": list(HEADINGS), "months": "uniform 1-12"},
        "places": "backend.geo.sampler.sample_points" if points is None else "given points",
        "geo_assets": _geo_assets(),
        "counts": {"countries": len({s.country for s in scenes}),
                   "top_countries": Counter(s.country for s in scenes).most_common(10),
                   "koppen": dict(Counter(s.koppen for s in scenes).most_common()),
                   "with_landmark": sum(1 for s in scenes if s.landmarks)},
        "seconds": {"scenes": round(t_scenes, 2), "render": round(t_render, 2)},
        "workers": workers, "machine": {"processor": platform.processor() or platform.machine(),
                                        "cores": mp.cpu_count()},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (out / META_NAME).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return out / CSV_NAME


def _write_csv(path: Path, ids: list[str], scenes: list[Scene]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "lat", "lng", "image_1", "image_2", "image_3", "image_4", "heading",
                    "month", *FACT_COLUMNS])
        for ident, s in zip(ids, scenes):
            w.writerow([ident, f"{s.lat:.6f}", f"{s.lng:.6f}",
                        *[f"images/{ident}_{k}.jpg" for k in range(1, 5)], "0", s.month,
                        s.country, s.admin1, s.koppen, f"{s.elevation_m:.0f}",
                        f"{s.pop_density:.1f}"])


def _geo_assets() -> dict:
    try:
        from backend.geo.assets import MANIFEST, data_dir
        manifest = json.loads((data_dir() / MANIFEST).read_text(encoding="utf-8"))
        return {"format": manifest.get("format"), "built_at": manifest.get("built_at"),
                "inputs": manifest.get("inputs")}
    except (OSError, ValueError, UserError) as exc:  # metadata only: never fail for it
        return {"unavailable": str(exc)[:200]}


def load_scene_facts(meta_path: str | Path) -> dict:
    """Read a dataset's ``synthworld.json`` (raises UserError when missing or not ours)."""
    path = Path(meta_path)
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read {path}: {exc}; is this a SynthWorld dataset folder?") from exc
    if meta.get("format") != DATASET_FORMAT:
        raise UserError(f"{path} is not a {DATASET_FORMAT} file (format {meta.get('format')!r})")
    return meta

