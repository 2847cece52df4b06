"""``pigeon synthworld make|render|train-demo|pretrain-base``: SynthWorld data and models.

Usage::

    pigeon synthworld make --n 1000 --out data/synth --seed 0 --size 64
    pigeon synthworld render 48.8566 2.3522 --month 6 --out paris.png
    pigeon synthworld train-demo --out bundles/demo --pretrain-minutes 3 --minutes 7
    pigeon synthworld pretrain-base --data data/synthworld-base --steps 4000   # hours; resumable
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from backend.cliutil import (
    UserError,
    add_command,
    add_group,
    nonneg_float,
    output_file,
    positive_float,
    positive_int,
)
from backend.synthworld.train_demo import DemoConfig


def _cmd_make(args: argparse.Namespace) -> int:
    from backend.synthworld.make_dataset import make_dataset

    t0 = time.perf_counter()
    csv_path = make_dataset(args.n, args.out, seed=args.seed, size=args.size,
                            supersample=args.supersample, workers=args.workers,
                            quality=args.quality, force=args.force)
    print(f"wrote {args.n} places ({4 * args.n} views) to {csv_path} "
          f"in {time.perf_counter() - t0:.1f} s; metadata in {Path(args.out) / 'synthworld.json'}")
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    import numpy as np
    from PIL import Image

    from backend.core.geodesy import CoordinateError, validate_latlng
    from backend.synthworld.render import render_panorama
    from backend.synthworld.scene_builder import SceneBuilder

    try:
        lat, lng = validate_latlng(args.lat, args.lng)
    except CoordinateError as exc:
        raise UserError(str(exc)) from None
    if not 1 <= args.month <= 12:
        raise UserError(f"--month must be 1-12, got {args.month}")
    scene = SceneBuilder.default().build(np.atleast_1d(lat), np.atleast_1d(lng),
                                         np.array([args.month]), [args.seed])[0]
    views = render_panorama(scene, args.size)
    out = output_file(args.out)
    if out.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise UserError(f"--out must end in .png or .jpg, got {out.name}")
    Image.fromarray(np.concatenate(views, axis=1)).save(out)
    print(f"{out}: {scene.country or '?'} {scene.admin1 or ''} köppen {scene.koppen}, "
          f"{scene.elevation_m:.0f} m, {scene.pop_density:.0f}/km², drives on the "
          f"{scene.driving_side}, script {scene.script}, {len(scene.landmarks)} landmark(s)")
    return 0


def _cmd_train_demo(args: argparse.Namespace) -> int:
    from backend.synthworld.train_demo import train_demo

    scratch = args.from_scratch
    pretrain = args.pretrain_minutes
    if pretrain is None:
        pretrain = 3.0 if scratch else 0.0
    minutes = args.minutes if args.minutes is not None else (7.0 if scratch else
                                                             DemoConfig.minutes)
    cfg = DemoConfig(out=Path(args.out), minutes=minutes, n_places=args.n,
                     seed=args.seed, size=args.size, data_dir=Path(args.data),
                     workers=args.workers, patch=args.patch,
                     base=None if scratch else Path(args.base) if args.base else DemoConfig.base,
                     backbone_lr=args.backbone_lr, pretrain_minutes=pretrain,
                     pretrain_panorama=args.pretrain_panorama, threads=args.threads)
    result = train_demo(cfg)
    print(result.summary())
    return 0


def _cmd_pretrain_base(args: argparse.Namespace) -> int:
    from backend.synthworld.base_pretrain import BaseConfig, pretrain_base

    cfg = BaseConfig(data_dir=Path(args.data), out=Path(args.out or Path(args.data) / "run"),
                     n_places=args.n, val_places=args.val_places, steps=args.steps,
                     batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                     eval_every=args.eval_every, save_minutes=args.save_minutes,
                     stop_after_hours=args.stop_after_hours, threads=args.threads,
                     workers=args.workers)
    print(pretrain_base(cfg).summary())
    return 0


def _cmd_export_base(args: argparse.Namespace) -> int:
    from backend.synthworld.base_tower import export_base

    path = export_base(Path(args.run), Path(args.out))
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) and the run's record beside it")
    return 0


def _cmd_zero_shot(args: argparse.Namespace) -> int:
    from backend.synthworld.base_zero_shot import zero_shot_on_dataset

    report = zero_shot_on_dataset(Path(args.clip), Path(args.data), Path(args.base_data),
                                  limit=args.limit)
    print(f"{args.data}: {report['n']} views of {report['n'] // 4} places, "
          f"{report['classes']} countries (those of the base's training places)")
    rows = [('template "A Street View photo in <country>."', report["template_top1"]),
            ("32 training captions per country", report["captions_top1"]),
            (f"most common country ({report['majority_country']})", report["majority_top1"]),
            ("chance", report["chance_top1"])]
    for label, value in rows:
        print(f"  {label:<46} {100 * value:5.1f} %")
    return 0


def _add_base_tools(inner: argparse._SubParsersAction) -> None:
    p = add_command(inner, "export-base", help="write the base's image tower (fp16) and its "
                    "record into a folder (what the repository carries)",
                    example="pigeon synthworld export-base --run data/synthworld-base/run "
                    "--out bundles/synthworld-base")
    p.add_argument("--run", required=True, help="a finished pretrain-base run folder")
    p.add_argument("--out", default="bundles/synthworld-base", help="output folder")
    p.set_defaults(func=_cmd_export_base)
    p = add_command(inner, "zero-shot", help="zero-shot country accuracy of a base CLIP "
                    "(both towers) on a dataset's places, against chance and the most common "
                    "country", example="pigeon synthworld zero-shot --clip "
                    "data/synthworld-base/run/base-clip.pt --data "
                    "data/synthworld-demo/split/test.csv")
    p.add_argument("--clip", required=True, help="base-clip.pt (pigeon-openclip/1)")
    p.add_argument("--data", required=True, help="dataset CSV with 4 views a place")
    p.add_argument("--base-data", default="data/synthworld-base",
                   help="the base's data folder (its training places name the countries)")
    p.add_argument("--limit", type=positive_int, help="first N places only")
    p.set_defaults(func=_cmd_zero_shot)


def _add_pretrain_base(inner: argparse._SubParsersAction) -> None:
    from backend.synthworld.base_pretrain import BaseConfig

    p = add_command(inner, "pretrain-base", help="pretrain the SynthWorld CLIP base (both "
                    "towers, captions of places disjoint from the demo's, the ladder's and the "
                    "tests'); hours on a CPU, resumable: run it again to continue",
                    example="pigeon synthworld pretrain-base --data data/synthworld-base "
                    "--steps 4000")
    p.add_argument("--data", default=str(BaseConfig.data_dir),
                   help="folder for the rendered places and decoded views (reused)")
    p.add_argument("--out", help="run folder: checkpoint, curves, base-clip.pt (default "
                   "DATA/run)")
    p.add_argument("--n", type=positive_int, default=BaseConfig.n_places,
                   help=f"places to render (default {BaseConfig.n_places})")
    p.add_argument("--val-places", type=positive_int, default=BaseConfig.val_places,
                   help="held-out places for the zero-shot curve")
    p.add_argument("--steps", type=positive_int, default=BaseConfig.steps,
                   help=f"training steps, the budget (default {BaseConfig.steps})")
    p.add_argument("--batch-size", type=positive_int, default=BaseConfig.batch_size)
    p.add_argument("--lr", type=positive_float, default=BaseConfig.lr)
    p.add_argument("--seed", type=int, default=0, help="training seed (the places have their "
                   "own, fixed seed)")
    p.add_argument("--eval-every", type=positive_int, default=BaseConfig.eval_every,
                   help="steps between zero-shot checks")
    p.add_argument("--save-minutes", type=positive_float, default=BaseConfig.save_minutes,
                   help="minutes between checkpoints")
    p.add_argument("--stop-after-hours", type=positive_float,
                   help="pause after this many hours (checkpoint; resume later)")
    p.add_argument("--threads", type=positive_int, default=1, help="torch threads")
    p.add_argument("--workers", type=positive_int, default=2, help="render processes")
    p.set_defaults(func=_cmd_pretrain_base)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``pigeon synthworld make|render|train-demo|pretrain-base``."""
    inner = add_group(sub, "synthworld", help="geo-grounded synthetic panoramas and the demo "
                        "model", example="pigeon synthworld make --n 1000 --out data/synth")

    p = add_command(inner, "make", help="sample GeoGuessr-like places and render 4 views each "
                    "(generic dataset CSV + JPEGs + synthworld.json)",
                    example="pigeon synthworld make --n 1000 --out data/synth --seed 0 --size 64")
    p.add_argument("--n", type=positive_int, required=True, help="number of places")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--seed", type=int, default=0, help="decides places, months and pixels")
    p.add_argument("--size", type=int, default=64, help="view size in px (16-512, default 64)")
    p.add_argument("--supersample", type=int, default=2, choices=(1, 2, 3, 4),
                   help="anti-aliasing factor (default 2)")
    p.add_argument("--workers", type=positive_int, default=2, help="render processes")
    p.add_argument("--quality", type=int, default=90, help="JPEG quality (50-100)")
    p.add_argument("--force", action="store_true", help="overwrite an existing dataset")
    p.set_defaults(func=_cmd_make)

    p = add_command(inner, "render", help="render the four views of one place into one image",
                    example="pigeon synthworld render 48.8566 2.3522 --month 6 --out paris.png")
    p.add_argument("lat", type=float, help="latitude in degrees")
    p.add_argument("lng", type=float, help="longitude in degrees")
    p.add_argument("--month", type=int, default=6, help="1-12 (default 6)")
    p.add_argument("--seed", type=int, default=0, help="decides the layout of the place")
    p.add_argument("--size", type=int, default=128, help="view size in px (default 128)")
    p.add_argument("--out", required=True, help="PNG or JPEG file to write")
    p.set_defaults(func=_cmd_render)

    p = add_command(inner, "train-demo", help="the whole PIGEON pipeline on SynthWorld from "
                    "the SynthWorld CLIP base (or a tiny ViT from scratch): the demo bundle",
                    example="pigeon synthworld train-demo --out bundles/demo")
    p.add_argument("--out", default="bundles/demo", help="bundle folder (default bundles/demo)")
    p.add_argument("--base", help="the base's image tower (default: the committed "
                   "bundles/synthworld-base/base-visual.pt)")
    p.add_argument("--from-scratch", action="store_true",
                   help="no base: the tiny ViT (pigeon-tiny) from random weights, all layers "
                   "trained, after a caption stage (--pretrain-minutes, default 3 here)")
    p.add_argument("--minutes", type=positive_float,
                   help="time budget of the multi-task stage (last block + heads; default "
                   f"{DemoConfig.minutes:g}, 7 from scratch)")
    p.add_argument("--backbone-lr", type=positive_float, default=DemoConfig.backbone_lr,
                   help="learning rate of the base's last block (default "
                   f"{DemoConfig.backbone_lr:g}; the heads use 1e-3)")
    p.add_argument("--n", type=positive_int, default=6000, help="SynthWorld places to render")
    p.add_argument("--seed", type=int, default=0, help="data and training seed")
    p.add_argument("--size", type=int, default=64, help="view size in px (default 64)")
    p.add_argument("--data", default="data/synthworld-demo",
                   help="where the rendered dataset goes (reused when it matches)")
    p.add_argument("--workers", type=positive_int, default=2, help="render processes")
    p.add_argument("--patch", type=positive_int, default=16,
                   help="from scratch: ViT patch size (default 16)")
    p.add_argument("--pretrain-minutes", type=nonneg_float,
                   help="from scratch: contrastive caption pretraining before the multi-task "
                   "stage (default 3; 0 skips it)")
    p.add_argument("--pretrain-panorama", action="store_true",
                   help="from scratch: pair each caption with the mean of its place's 4 views "
                   "(64 places a step) instead of with one view")
    p.add_argument("--threads", type=positive_int, default=1,
                   help="torch threads (default 1: fastest on a busy 2-core machine)")
    p.set_defaults(func=_cmd_train_demo)
    _add_pretrain_base(inner)
    _add_base_tools(inner)
