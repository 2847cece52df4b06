"""``pigeon data check|split|osv5m``, ``pigeon eval`` and ``pigeon ablate``.

Usage::

    pigeon data osv5m --out data/osv5m --split test --limit 2000
    pigeon data check synth/test.csv
    pigeon data split synth/all.csv --test-frac 0.1 --min-km 1 --seed 0 --out synth/split
    pigeon eval --model bundles/demo --data synth/split/test.csv --out reports/demo
    pigeon ablate --train synth/split/train.csv --test synth/split/test.csv --out reports/ladder
"""

from __future__ import annotations

import argparse
import json

from backend.cliutil import (
    UserError,
    add_command,
    add_group,
    fraction,
    nonneg_float,
    positive_float,
    positive_int,
)
from backend.eval.datasets import LAYOUTS, Dataset, DatasetError, load_dataset
from backend.model.loss_weights import loss_weights_option


def add_dataset_options(p: argparse.ArgumentParser) -> None:
    """Options every command that reads a dataset CSV shares."""
    p.add_argument("--layout", default="auto", choices=("auto", *LAYOUTS),
                   help="CSV layout (default: detected from the header)")
    p.add_argument("--split", dest="osv_split", default=None,
                   help="OSV-5M: image folder under images/ (default: the CSV's name)")
    p.add_argument("--images", default=None,
                   help="IM2GPS/YFCC: image folder (default: found beside the CSV)")
    p.add_argument("--on-bad-row", choices=("fail", "skip"), default="fail",
                   help="bad rows (missing image, bad coordinates, duplicate id): fail with "
                        "the list (default) or skip them and report them")


def open_dataset(path: str, args: argparse.Namespace, *, on_bad_row: str | None = None,
                 check_images: bool = True, quiet: bool = False) -> Dataset:
    """Load a dataset for a command, turning dataset errors into one-line user errors."""
    try:
        ds = load_dataset(path, layout=args.layout, split=args.osv_split,
                          images_dir=args.images, check_images=check_images,
                          on_bad_row=on_bad_row or args.on_bad_row)
    except DatasetError as exc:
        raise UserError(str(exc).replace("\n", " | ")) from None
    if ds.bad_rows and not quiet:
        print(f"skipped {len(ds.bad_rows)} bad row(s) of {path}:")
        for bad in ds.bad_rows[:20]:
            print(f"  {bad}")
        if len(ds.bad_rows) > 20:
            print(f"  ... and {len(ds.bad_rows) - 20} more (pigeon data check lists all)")
    return ds


def image_bad_rows(ds: Dataset) -> list:
    """Locations whose images are unreadable, damaged or blank (decoded, one by one, with
    ``backend.predict.images.image_problem``: the definition the arena and the server use)."""
    from backend.cliutil import progress
    from backend.eval.datasets import BadRow
    from backend.predict.images import image_problem

    bad = []
    for loc in progress(ds.locations, total=len(ds), desc="checking images", unit="place"):
        reasons = [why for path in loc.image_paths if (why := image_problem(path)) is not None]
        if reasons:
            bad.append(BadRow(loc.line_no, loc.id, tuple(reasons)))
    return bad


def _cmd_check(args: argparse.Namespace) -> int:
    ds = open_dataset(args.csv, args, on_bad_row="skip", check_images=not args.no_image_check,
                      quiet=args.json)
    if not args.no_image_check:
        unusable = image_bad_rows(ds)
        if unusable:
            gone = {b.line_no for b in unusable}
            ds.locations = [loc for loc in ds.locations if loc.line_no not in gone]
            ds.bad_rows = sorted([*ds.bad_rows, *unusable], key=lambda b: b.line_no)
            if not args.json:
                for b in unusable[:20]:
                    print(f"  {b}")
        if not ds.locations:
            raise UserError(f"{args.csv}: no location has a usable image "
                            f"({ds.bad_rows[0] if ds.bad_rows else 'no rows'})")
    views: dict[int, int] = {}
    for loc in ds:
        views[len(loc.image_paths)] = views.get(len(loc.image_paths), 0) + 1
    lat, lng = ds.lats(), ds.lngs()
    summary = {**ds.describe(), "views_per_location": views,
               "lat_range": [float(lat.min()), float(lat.max())],
               "lng_range": [float(lng.min()), float(lng.max())],
               "bad": [{"line": b.line_no, "id": b.id, "reasons": list(b.reasons)}
                       for b in ds.bad_rows]}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{args.csv}: layout {ds.layout}, {ds.rows_read} rows, {len(ds)} usable, "
              f"{len(ds.bad_rows)} bad; views per location {views}; "
              f"lat {lat.min():.3f}..{lat.max():.3f}, lng {lng.min():.3f}..{lng.max():.3f}")
        for bad in ds.bad_rows[20:]:
            print(f"  {bad}")
    return 1 if ds.bad_rows else 0


def _cmd_split(args: argparse.Namespace) -> int:
    from backend.eval.split import write_split

    ds = open_dataset(args.csv, args)
    try:
        meta = write_split(ds, args.out, test_frac=args.test_frac, min_km=args.min_km,
                           seed=args.seed)
    except ValueError as exc:
        raise UserError(f"cannot split {args.csv}: {exc}") from None
    c = meta["counts"]
    print(f"wrote {args.out}/train.csv ({c['train']}) and test.csv ({c['test']}, "
          f"{100 * meta['achieved_test_frac']:.1f} %); every test point is at least "
          f"{meta['min_test_train_km']:.3f} km from every training point; see split.json")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from backend.eval.evaluate import run_eval_command

    return run_eval_command(args)


def _cmd_ablate(args: argparse.Namespace) -> int:
    from backend.eval.ablate import run_ablate_command

    return run_ablate_command(args)


def _cmd_osv5m(args: argparse.Namespace) -> int:
    from backend.eval.osv5m_data import run_osv5m_command

    return run_osv5m_command(args)


def _cmd_recipe_osv5m(args: argparse.Namespace) -> int:
    from backend.eval.recipe_osv5m import run_recipe

    run_recipe(args)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``pigeon data check|split|osv5m``, ``pigeon eval`` and ``pigeon ablate``."""
    inner = add_group(sub, "data", help="download (OSV-5M), check and split dataset CSVs",
                        example="pigeon data check synth/test.csv")

    p = add_command(inner, "check", help="validate a dataset and list its bad rows by line",
                    example="pigeon data check osv5m/test.csv --split test")
    p.add_argument("csv", help="dataset CSV (generic, OSV-5M or IM2GPS/YFCC layout)")
    add_dataset_options(p)
    p.add_argument("--no-image-check", action="store_true",
                   help="do not open the images (by default each is decoded: missing, "
                   "unreadable, damaged and blank images are bad rows)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_cmd_check)

    p = add_command(inner, "split",
                    help="train/test split keeping test points --min-km from training points",
                    example="pigeon data split synth/all.csv --test-frac 0.1 --min-km 1 "
                            "--seed 0 --out synth/split")
    p.add_argument("csv", help="dataset CSV to split")
    add_dataset_options(p)
    p.add_argument("--test-frac", type=fraction, default=0.1, help="share of test points")
    p.add_argument("--min-km", type=nonneg_float, default=1.0,
                   help="smallest test-to-train distance in km (default 1)")
    p.add_argument("--seed", type=int, default=0, help="shuffle seed")
    p.add_argument("--out", required=True, help="folder for train.csv, test.csv, split.json")
    p.set_defaults(func=_cmd_split)

    p = add_command(inner, "osv5m", help="download OSV-5M from the Hugging Face hub, unpack "
                    "and check it, write our dataset layout (resumable)",
                    example="pigeon data osv5m --out data/osv5m --split test --limit 2000")
    p.add_argument("--out", required=True, help="dataset folder (a rerun resumes in it)")
    p.add_argument("--split", choices=("train", "test"), default="test",
                   help="which split (default test: 210k images, 5 shards)")
    p.add_argument("--limit", type=positive_int, default=None,
                   help="stop after N images (shards are used in order; only they are "
                        "downloaded)")
    p.add_argument("--endpoint", default=None,
                   help="hub URL (default HF_ENDPOINT or https://huggingface.co)")
    p.add_argument("--revision", default="main",
                   help="branch, tag or commit of osv5m/osv5m (default main)")
    p.set_defaults(func=_cmd_osv5m)

    add_recipe_command(sub)

    p = add_command(sub, "eval", help="evaluate a model bundle on a dataset: table, JSON, "
                    "CSV and plots", example="pigeon eval --model bundles/demo --data "
                    "synth/split/test.csv --out reports/demo --limit 500")
    p.add_argument("--model", required=True, help="model bundle directory")
    p.add_argument("--data", required=True, help="dataset CSV")
    add_dataset_options(p)
    p.add_argument("--out", default=None, help="report folder (default: print only)")
    p.add_argument("--limit", type=positive_int, default=None, help="first N locations only")
    p.add_argument("--batch-size", type=positive_int, default=16, help="locations per batch")
    p.add_argument("--n-boot", type=positive_int, default=1000, help="bootstrap resamples")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--device", default="cpu", help="torch device (cpu, cuda, cuda:1, ...)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.add_argument("--no-geo", action="store_true",
                   help="skip polygon country accuracy (no geo assets needed)")
    p.add_argument("--osv5m", choices=("auto", "on", "off"), default="auto",
                   help="OSV-5M's own metrics beside ours (GeoScore, country/region/area/city "
                        "accuracy as their benchmark computes them): auto = when the data has "
                        "OSV-5M's unique_* labels (default), on, off")
    p.set_defaults(func=_cmd_eval)

    p = add_command(sub, "ablate", help="the paper's ablation ladder: train each "
                    "configuration, evaluate it, print Tables 1/2",
                    example="pigeon ablate --train synth/split/train.csv --test "
                            "synth/split/test.csv --out reports/ladder --epochs 5 "
                            "--without finetune")
    p.add_argument("--train", default=None, help="training dataset CSV")
    p.add_argument("--test", default=None, help="held-out dataset CSV")
    p.add_argument("--out", default=None, help="folder for each configuration's bundle and "
                   "report, and ladder.json / ladder.txt")
    p.add_argument("--only", default=None,
                   help="comma-separated configuration names to run (default: all)")
    p.add_argument("--list", action="store_true", help="print the configurations and exit")
    p.add_argument("--without", default=None,
                   help="ideas to leave out, comma-separated (e.g. finetune,contrastive): "
                        "their rungs are skipped, later rungs run without them")
    p.add_argument("--backbone", default=None,
                   help="backbone config name for every rung (default pigeon-tiny)")
    p.add_argument("--weights", default=None,
                   help="base backbone weights: open_clip tag or checkpoint (default: random)")
    p.add_argument("--contrastive-weights", default=None,
                   help="checkpoint after contrastive pretraining (default: pretrain here)")
    p.add_argument("--backbone-lr", type=positive_float, default=None,
                   help="last-block learning rate of the fine-tuning rungs (default: pigeon "
                   "train's 1e-5; the demo recipe fine-tunes at 1e-4)")
    p.add_argument("--loss-weights", type=loss_weights_option, default=None,
                   help="multi-task loss weights of every rung, as pigeon train takes them "
                   "(e.g. regression=1,koppen=1; default PIGEON's 1/8/2/1)")
    p.add_argument("--pretrain-epochs", type=positive_int, default=None,
                   help="epochs of contrastive pretraining (default: --epochs)")
    p.add_argument("--geocells", default=None,
                   help="semantic geocells.json (default: built from the training points)")
    p.add_argument("--cell-min", type=positive_int, default=30,
                   help="semantic geocells built here: MIN points per cell (default 30)")
    p.add_argument("--cell-max", type=positive_int, default=60,
                   help="semantic geocells built here: MAX points per cell (default 60)")
    p.add_argument("--grid-bands", type=positive_int, default=18,
                   help="latitude bands of the plain equal-area grid (default 18, ~410 cells)")
    p.add_argument("--epochs", type=positive_int, default=None, help="epochs per rung")
    p.add_argument("--batch-size", type=positive_int, default=256, help="training batch")
    p.add_argument("--limit", type=positive_int, default=None, help="test locations")
    p.add_argument("--n-boot", type=positive_int, default=1000, help="bootstrap resamples")
    p.add_argument("--seed", type=int, default=0, help="seed for training and bootstrap")
    p.add_argument("--device", default="cpu", help="torch device")
    p.add_argument("--on-bad-row", choices=("fail", "skip"), default="fail",
                   help="bad dataset rows: fail with the list (default) or skip them")
    p.set_defaults(func=_cmd_ablate)


def add_recipe_command(sub: argparse._SubParsersAction) -> None:
    """``pigeon recipe osv5m``: the whole OSV-5M training recipe (``backend.eval.recipe_osv5m``)."""
    import torch

    from backend.eval.recipe_osv5m import PIGEOTTO_OPTICS

    group = add_group(sub, "recipe", help="whole training recipes, step by step, resumable",
                      example="pigeon recipe osv5m --data data/osv5m --out runs/osv5m --dry-run")
    p = add_command(group, "osv5m", help="PIGEON on OSV-5M: download, split, geocells, "
                    "fine-tuning, bundle, embeddings, index, calibration, eval",
                    example="pigeon recipe osv5m --data data/osv5m --out runs/osv5m "
                            "--weights streetclip.pt --device cuda --nproc 8")
    p.add_argument("--data", required=True, help="OSV-5M folder (pigeon data osv5m --out)")
    p.add_argument("--out", required=True, help="folder for the split, cells, runs, bundle, "
                   "embeddings and report")
    p.add_argument("--model", default="ViT-L-14-336", help="backbone config")
    p.add_argument("--weights", default="openai",
                   help="open_clip tag or checkpoint (StreetCLIP converted is PIGEON's)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--nproc", type=positive_int, default=1,
                   help="processes (GPUs) for the torchrun steps (embed, train)")
    p.add_argument("--no-finetune", dest="finetune", action="store_false",
                   help="frozen backbone: heads on cached embeddings (much cheaper)")
    p.add_argument("--finetune-epochs", type=positive_int, default=1)
    p.add_argument("--epochs", type=positive_int, default=10,
                   help="heads epochs on cached embeddings (with --no-finetune)")
    p.add_argument("--batch-size", type=positive_int, default=256,
                   help="training batch per process")
    p.add_argument("--embed-batch", type=positive_int, default=64)
    p.add_argument("--workers", type=int, default=8, help="image decoding workers per process")
    p.add_argument("--save-every", type=positive_int, default=2000,
                   help="training checkpoint every N steps (resume point)")
    p.add_argument("--limit", type=positive_int, default=None,
                   help="only the first N training images (a trial run)")
    p.add_argument("--test-limit", type=positive_int, default=None,
                   help="only the first N test images")
    p.add_argument("--val-frac", type=fraction, default=0.02,
                   help="share of train held out for validation and calibration")
    p.add_argument("--min-km", type=nonneg_float, default=1.0,
                   help="validation points at least this far from training points")
    p.add_argument("--cell-min", type=positive_int, default=1000, help="geocell MIN (PIGEOTTO)")
    p.add_argument("--cell-max", type=positive_int, default=2000, help="geocell MAX (PIGEOTTO)")
    p.add_argument("--optics", default=PIGEOTTO_OPTICS, help="geocell OPTICS settings")
    p.add_argument("--calibration-rounds", type=positive_int, default=20000,
                   help="validation rounds the calibration uses")
    p.add_argument("--steps", default=None, help="only these steps (comma-separated)")
    p.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    p.set_defaults(func=_cmd_recipe_osv5m)
