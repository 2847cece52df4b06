"""The demo recipe: the whole PIGEON pipeline on SynthWorld, from the SynthWorld CLIP base.

The image tower starts from the committed SynthWorld CLIP base (``bundles/synthworld-base``,
``base_tower``), PIGEON's "CLIP that already knows the world"; ``--from-scratch`` (``base``
None) trains the tiny tower from random weights instead, with a caption stage first.

Stages (each calls the project's own APIs):

1. data — ``make_dataset`` (GeoGuessr-like places from ``backend.geo.sampler``, 4 views each),
   reused when ``synthworld.json`` matches; ``backend.eval.split.write_split`` → test places
   (≥ ``min_km`` from any training place), then a validation split of the rest (calibration);
2. geocells — ``backend.geocells.build.build_geocells`` on the training places (PIGEON's
   MIN 30 / MAX 60, OPTICS settings) over Natural Earth admin-1 areas;
3. auxiliary targets — ``backend.model.aux_targets.compute_aux_targets`` (geo layer);
4. from scratch only: contrastive pretraining on PIGEON-style captions (``caption_stage``),
   ``pretrain_minutes`` of wall clock; its image tower then starts stage 5;
5. backbone + heads — ``supervised.train_multitask``: ``PigeonHeads`` on PIGEON's multi-task
   loss with haversine label smoothing, for ``minutes`` of wall clock, with the base's last
   block unfrozen (PIGEON's last-layer fine-tuning; every layer from scratch);
6. refinement index — ``backend.predict.index.build_index`` on the training panoramas'
   embeddings (``Backbone.embed_views``: mean of the 4 views);
7. bundle — ``backend.model.bundle.save_bundle`` + ``backend.predict.calibrate.calibrate_bundle``
   on the validation places;
8. evaluation — ``backend.eval.evaluate`` on the held-out test places, next to the baselines
   (``baselines``: best constant guess, 1-NN on 16×16 pixels), all through
   ``backend.eval.metrics``; ``RECIPE.md``, ``demo_metrics.json`` and ``arena_places/``
   (the first held-out test places, with their JPEGs) are written into the bundle.

Usage::

    pigeon synthworld train-demo --out bundles/demo
    pigeon synthworld train-demo --out runs/scratch --from-scratch --pretrain-minutes 3 --minutes 7
    result = train_demo(DemoConfig(out=Path("bundles/demo")))
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backend.cliutil import UserError, progress
from backend.synthworld.base_tower import BASE_DIR, BASE_VISUAL

KOPPEN_INDEX_NOTE = "koppen targets: backend.model.aux_targets (0..30, -1 unknown)"


@dataclass
class DemoConfig:
    """Everything the recipe depends on (stored in the bundle and in RECIPE.md)."""

    out: Path = Path("bundles/demo")
    base: Path | None = BASE_DIR / BASE_VISUAL
    """The SynthWorld CLIP base's image tower; None trains the tiny tower from scratch."""
    minutes: float = 7.0
    """Wall-clock budget of stage 5 (backbone + heads)."""
    backbone_lr: float = 1e-4
    """Learning rate of the base's unfrozen last block (the heads use 1e-3)."""
    n_places: int = 6000
    seed: int = 0
    size: int = 64
    data_dir: Path = Path("data/synthworld-demo")
    workers: int = 2
    patch: int = 16
    """From scratch: ViT patch size (16: 16 tokens a view; 3.5-5x faster than 8 on a CPU)."""
    pretrain_minutes: float = 0.0
    """From scratch: wall-clock budget of stage 4 (contrastive caption pretraining; 0 skips
    it). The base already had its caption stage."""
    pretrain_panorama: bool = False
    """Stage 4 pairs a caption with the mean of its place's 4 views (64 places a step) instead
    of with one view (128 views a step)."""
    test_frac: float = 0.1
    val_frac: float = 0.08
    min_km: float = 1.0
    geocell_min: int = 30
    geocell_max: int = 60
    arena_places: int = 60
    threads: int = 1
    """Torch threads: 1 is fastest on a shared 2-core machine (2 spin-wait when oversubscribed)."""
    n_boot: int = 1000


@dataclass
class DemoResult:
    bundle: Path
    table: str
    metrics: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        took = sum(self.timings.values())
        return (f"demo bundle: {self.bundle} ({took / 60:.1f} min in all)\n{self.table}\n"
                f"recipe: {self.bundle / 'RECIPE.md'}")


def backbone_config(cfg: DemoConfig) -> dict[str, Any]:
    """The demo's open_clip config: the base's, or ``pigeon-tiny`` at ``size`` px and ``patch``
    from scratch."""
    from backend.model.registry import get_backbone_config, image_size

    if cfg.base is not None:
        from backend.synthworld.base_tower import load_base_tower

        mc = load_base_tower(cfg.base).model_cfg
        if image_size(mc) != cfg.size:
            raise UserError(f"--size {cfg.size} does not match the base's {image_size(mc)} px "
                            f"views; use --size {image_size(mc)} or --from-scratch")
        if cfg.pretrain_minutes > 0:
            raise UserError("--pretrain-minutes is the from-scratch caption stage; the base "
                            "already had its own (use --from-scratch, or leave it at 0)")
        return mc
    mc = get_backbone_config("pigeon-tiny")
    mc["vision_cfg"]["image_size"] = int(cfg.size)
    mc["vision_cfg"]["patch_size"] = int(cfg.patch)
    mc["text_cfg"]["context_length"] = 48
    if cfg.size % cfg.patch:
        raise UserError(f"--size {cfg.size} is not a multiple of the patch size {cfg.patch}")
    return mc


def prepare_data(cfg: DemoConfig) -> dict[str, Path]:
    """Render (or reuse) the dataset and split it; returns the CSV paths by role."""
    from backend.eval.datasets import load_dataset
    from backend.eval.split import write_split
    from backend.synthworld.make_dataset import META_NAME, make_dataset
    from backend.synthworld.render import RENDERER_VERSION

    all_dir = cfg.data_dir / "all"
    meta_path = all_dir / META_NAME
    reuse = False
    if meta_path.is_file():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        reuse = (meta.get("seed") == cfg.seed and meta.get("n_places") == cfg.n_places
                 and meta.get("params", {}).get("size") == cfg.size
                 and meta.get("renderer") == RENDERER_VERSION)
    if not reuse:
        make_dataset(cfg.n_places, all_dir, seed=cfg.seed, size=cfg.size,
                     workers=cfg.workers, force=True)
    ds = load_dataset(all_dir / "data.csv")
    write_split(ds, cfg.data_dir / "split", test_frac=cfg.test_frac, min_km=cfg.min_km,
                seed=cfg.seed)
    rest = load_dataset(cfg.data_dir / "split" / "train.csv")
    write_split(rest, cfg.data_dir / "fit", test_frac=cfg.val_frac, min_km=cfg.min_km,
                seed=cfg.seed + 1)
    return {"all": all_dir / "data.csv", "train": cfg.data_dir / "fit" / "train.csv",
            "val": cfg.data_dir / "fit" / "test.csv",
            "test": cfg.data_dir / "split" / "test.csv"}


def load_views(dataset: Any, size: int, desc: str) -> np.ndarray:
    """``[N, 4, size, size, 3]`` uint8 views of a dataset (decoded once, kept in memory)."""
    from backend.synthworld.view_store import read_place_views

    out = np.empty((len(dataset), 4, size, size, 3), dtype=np.uint8)
    for i, loc in enumerate(progress(dataset.locations, total=len(dataset), desc=desc,
                                     unit="place")):
        out[i] = read_place_views(loc, size)
    return out


def embed_panoramas(backbone: Any, views: np.ndarray, batch: int = 64) -> np.ndarray:
    """Mean-of-4-views embeddings of in-memory panoramas (``Backbone.embed_views``)."""
    import torch

    from backend.synthworld.contrastive import normalise

    cfg = backbone.preprocess_cfg
    out = []
    with torch.no_grad():
        for i in range(0, len(views), batch):
            v = torch.from_numpy(views[i:i + batch])
            b, k = v.shape[:2]
            x = normalise(v.reshape(b * k, *v.shape[2:]), cfg["mean"], cfg["std"])
            out.append(backbone.embed_views(x.reshape(b, k, *x.shape[1:])).numpy())
    return np.concatenate(out).astype(np.float32)


def _machine() -> dict[str, Any]:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {"processor": platform.processor() or platform.machine(), "cores": os.cpu_count(),
            "python": platform.python_version(), "load_average_at_start": load}


def train_demo(cfg: DemoConfig) -> DemoResult:
    """Run the whole recipe; see the module docstring. Returns the bundle and its metrics.

    Raises:
        UserError: bad settings, missing geographic assets, or a stage that cannot run.
    """
    import torch

    if cfg.minutes <= 0 or cfg.n_places < 200:
        raise UserError("train-demo needs --minutes > 0 and --n >= 200 places")
    mc = backbone_config(cfg)
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, int(cfg.threads)))
    try:
        return _run(cfg, mc)
    finally:
        torch.set_num_threads(threads)


def _run(cfg: DemoConfig, mc: dict[str, Any]) -> DemoResult:
    import torch

    timings: dict[str, float] = {}
    machine = _machine()
    t = time.perf_counter()
    paths = prepare_data(cfg)
    timings["data"] = time.perf_counter() - t

    from backend.eval.datasets import load_dataset
    from backend.geocells.areas import load_areas
    from backend.geocells.build import GeocellParams, build_geocells
    from backend.model.aux_targets import compute_aux_targets

    t = time.perf_counter()
    train = load_dataset(paths["train"])
    lat, lng = train.lats(), train.lngs()
    cells, _ = build_geocells(lat, lng, load_areas(),
                                   GeocellParams(cfg.geocell_min, cfg.geocell_max),
                                   input_meta={"file": str(paths["train"]), "n_points": len(lat)},
                                   progress=progress)
    timings["geocells"] = time.perf_counter() - t
    t = time.perf_counter()
    latlng = np.stack([lat, lng], 1)
    aux = compute_aux_targets(train.ids(), latlng)
    koppen, regression = aux.aligned(train.ids())
    month = np.array([(loc.month - 1) if loc.month else -1 for loc in train], dtype=np.int64)
    views = load_views(train, cfg.size, "loading training views")
    timings["targets_and_views"] = time.perf_counter() - t

    init_visual, pre_stats, base, name = None, None, None, "synthworld-tiny"
    if cfg.base is not None:
        from backend.synthworld.base_tower import base_summary, load_base_tower

        tower = load_base_tower(cfg.base)
        init_visual, base, name = tower.state, base_summary(tower), tower.config_name
    elif cfg.pretrain_minutes > 0:
        from backend.synthworld.caption_stage import caption_stage

        t = time.perf_counter()
        init_visual, pre_stats = caption_stage(cfg, mc, paths, views, lat, lng, month)
        timings["pretrain"] = time.perf_counter() - t

    from backend.synthworld.supervised import train_multitask

    t = time.perf_counter()
    bar = SecondsBar(cfg.minutes, "training (s)")
    backbone, heads, train_stats = train_multitask(
        mc, torch.from_numpy(views), latlng, koppen, month, regression, cells.centroids,
        minutes=cfg.minutes, seed=cfg.seed, init_visual=init_visual, config_name=name,
        trainable="last_block" if base else "all",
        backbone_lr=cfg.backbone_lr if base else None, on_step=bar.on_step)
    bar.close()
    timings["train"] = time.perf_counter() - t
    timings.update(_finish(cfg, paths, backbone, heads, cells, views, lat, lng))
    from backend.synthworld.demo_report import evaluate_demo, write_recipe

    t = time.perf_counter()
    table, metrics = evaluate_demo(cfg, paths, train, views)
    timings["evaluate"] = time.perf_counter() - t
    record = {"config": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
              "backbone_config": mc, "geocells": {"n": len(cells), "min": cfg.geocell_min,
                                                  "max": cfg.geocell_max},
              "base": base, "train": train_stats, "pretrain": pre_stats, "timings_s": timings,
              "machine": machine, "metrics": metrics, "command": " ".join(sys.argv),
              "dataset": _dataset_meta(paths["all"])}
    write_recipe(cfg, record, table)
    return DemoResult(cfg.out, table, metrics, timings)


class SecondsBar:
    """A progress bar over a wall-clock budget, moved by a trainer's ``on_step`` callback."""

    def __init__(self, minutes: float, desc: str) -> None:
        total = int(minutes * 60)
        self.bar = progress(range(total), total=total, desc=desc, unit="s")
        self.done = 0

    def on_step(self, step: int, elapsed: float, *_: Any) -> None:
        if int(elapsed) > self.done:
            self.bar.update(int(elapsed) - self.done)
            self.done = int(elapsed)

    def close(self) -> None:
        self.bar.close()


def _finish(cfg: DemoConfig, paths: dict[str, Path], backbone: Any, heads: Any, cells: Any,
            views: np.ndarray, lat: np.ndarray, lng: np.ndarray) -> dict[str, float]:
    """Stages 6-7: refinement index, bundle, calibration."""
    from backend.model.bundle import save_bundle
    from backend.predict.calibrate import calibrate_bundle
    from backend.predict.index import build_index

    timings = {}
    t = time.perf_counter()
    emb = embed_panoramas(backbone, views)
    index = build_index(emb, lat, lng, cells.assign(lat, lng), num_cells=len(cells),
                        source={"data": str(paths["train"]), "made_by": "synthworld train-demo"},
                        backbone=backbone.describe())
    work = cfg.data_dir / "work"
    work.mkdir(parents=True, exist_ok=True)
    index_path = index.save(work / "index.npz")
    timings["index"] = time.perf_counter() - t
    _save_clip_checkpoint(backbone, work / "demo-clip.pt")
    t = time.perf_counter()
    if cfg.out.exists():
        shutil.rmtree(cfg.out)
    save_bundle(cfg.out, backbone=backbone, heads=heads, geocells=cells,
                data={"dataset": str(paths["all"]), "train": str(paths["train"]),
                      "synthworld": "backend.synthworld (see RECIPE.md)"},
                parameters={"recipe": "pigeon synthworld train-demo",
                            **{k: str(v) if isinstance(v, Path) else v
                               for k, v in asdict(cfg).items()}},
                index_file=index_path)
    try:
        calibrate_bundle(cfg.out, paths["val"], show_progress=True)
    except UserError as exc:   # too few or too poor validation rounds: better uncalibrated
        print(f"train-demo: the bundle stays uncalibrated (temperature 1): {exc}",
              file=sys.stderr)
    timings["bundle_and_calibration"] = time.perf_counter() - t
    return timings


def _save_clip_checkpoint(backbone: Any, path: Path) -> Path:
    """The trained tower as a full open_clip checkpoint (``pigeon ablate --weights``).

    The text tower in it is untrained (random): the demo's main stage trains only the image
    side; the checkpoint's metadata says so.
    """
    from backend.model.backbone import build_clip
    from backend.model.weights import save_clip_checkpoint

    clip = build_clip(backbone.model_cfg)
    clip.visual.load_state_dict(backbone.visual.state_dict())
    return save_clip_checkpoint(clip, backbone.model_cfg, path, config_name=backbone.config_name,
                                source={"trained_by": "pigeon synthworld train-demo"},
                                extra={"text_tower": "untrained (random init)"})


def _dataset_meta(csv_path: Path) -> dict[str, Any]:
    """The rendered dataset's own metadata (seed, counts, how long rendering took)."""
    from backend.synthworld.make_dataset import META_NAME

    meta = json.loads((csv_path.parent / META_NAME).read_text(encoding="utf-8"))
    return {k: meta.get(k) for k in ("renderer", "seed", "n_places", "seconds", "workers",
                                     "created", "counts")}
