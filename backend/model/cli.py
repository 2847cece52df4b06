"""``pigeon`` subcommands of the model package: weights, embed, train, pretrain, bundle.

Usage::

    pigeon weights list
    pigeon weights convert-hf-clip ~/hf/StreetCLIP --out weights/streetclip.pt
    pigeon embed --model ViT-L-14-336 --weights openai --data train.csv --out cache/train
    pigeon train --embeddings cache/train --geocells cells/geocells.json --out runs/heads
    pigeon pretrain --model pigeon-tiny --data synth/train.csv --out runs/pretrain
    pigeon bundle make --run runs/heads --geocells cells/geocells.json --out bundles/v1
    pigeon bundle zero-shot --model ViT-L-14-336 --weights streetclip.pt --out bundles/zs
    pigeon bundle geoclip --out bundles/geoclip
    pigeon bundle info bundles/v1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from backend.cliutil import UserError, add_command, add_group


def _weights_list(args: argparse.Namespace) -> int:
    from backend.model.weights import list_weights

    rows = list_weights()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'config':<14} {'image':>5} {'patch':>5} {'width':>5} {'layers':>6} "
          f"{'mean_hidden':>11} {'pooled':>6}  default  tags")
    for r in rows:
        tags = ", ".join(r["pretrained_tags"][:4]) + (" ..." if len(r["pretrained_tags"]) > 4
                                                      else "")
        print(f"{r['name']:<14} {r['image_size']:>5} {r['patch_size']:>5} {r['width']:>5} "
              f"{r['layers']:>6} {r['mean_hidden_dim']:>11} {r['pooled_dim']:>6}  "
              f"{r['default_pretrained'] or '-':<7}  {tags or '-'}")
    return 0


def _convert(args: argparse.Namespace) -> int:
    from backend.model.hf_convert import convert_hf_clip

    out = convert_hf_clip(args.src, args.out, name=args.name)
    print(f"wrote {out}; use it as --weights {out}")
    return 0


def _embed(args: argparse.Namespace) -> int:
    from backend.model.embed import embed_dataset
    from backend.model.weights import load_backbone

    if args.bundle:
        from backend.model.bundle import load_bundle

        backbone = load_bundle(args.bundle).backbone
        weights = f"bundle:{Path(args.bundle).resolve()}"
    else:
        if args.weights is None:
            print(f"note: no --weights: {args.model} has random weights (fine for tests; for "
                  "real use pass --weights openai or a checkpoint)", file=sys.stderr)
        backbone = load_backbone(args.model, args.weights, embedding_kind=args.embedding_kind)
        weights = args.weights
    s = embed_dataset(backbone, args.data, args.out, batch_size=args.batch_size,
                      num_workers=args.workers, shard_size=args.shard_size, device=args.device,
                      amp=args.amp, weights=weights, show_progress=not args.quiet)
    print(f"{args.out}: {s['locations']} locations, {s['shards_written']} shards written, "
          f"{s['shards_kept']} kept, {s['bad_images']} unreadable images skipped, "
          f"{s['dropped']} locations without any readable view, {s['bad_rows']} bad CSV rows "
          f"left out (listed in {Path(args.out) / 'embeddings.json'})")
    return 0


def _train(args: argparse.Namespace) -> int:
    from backend.model.train_heads import run

    m = run(args).get("last", {})
    if m:
        print(f"validation: median {m['median_km']:.1f} km, mean {m['mean_km']:.1f} km, "
              f"score {m['score_mean']:.0f}; heads in {Path(args.out) / 'heads.pt'}")
    return 0


def _pretrain(args: argparse.Namespace) -> int:
    from backend.model.pretrain import run

    s = run(args)
    print(f"{s['steps']} steps, {s['bad_images']} unreadable images skipped; weights in "
          f"{Path(args.out) / 'clip.pt'}")
    return 0


def _bundle_make(args: argparse.Namespace) -> int:
    from backend.model.bundle_make import make_bundle_from_run

    calibration = None
    if args.calibration:
        try:
            calibration = json.loads(Path(args.calibration).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot read calibration {args.calibration}: {exc}") from exc
    out = make_bundle_from_run(args.run, args.geocells, args.out, weights=args.weights,
                               index_file=args.index, calibration=calibration,
                               overwrite=args.overwrite)
    print(f"wrote bundle {out}")
    return 0


def _weights_arg(text: str | None) -> str | None:
    return None if text is None or text.lower() == "random" else text


def _bundle_zero_shot(args: argparse.Namespace) -> int:
    from backend.model.bundle import bundle_summary
    from backend.model.bundle_zero_shot import describe, make_zero_shot_bundle

    out = make_zero_shot_bundle(
        args.out, model=args.model, weights=_weights_arg(args.weights),
        countries=args.countries, towns_per_region=args.towns_per_region,
        templates=args.template, prior=args.prior, prior_strength=args.prior_strength,
        batch_size=args.batch_size, device=args.device, overwrite=args.overwrite,
        show_progress=not args.quiet)
    print(describe(bundle_summary(out)))
    return 0


def _bundle_geoclip(args: argparse.Namespace) -> int:
    from backend.model.bundle import bundle_summary
    from backend.model.bundle_geoclip import make_geoclip_bundle
    from backend.model.bundle_zero_shot import describe

    out = make_geoclip_bundle(args.out, weights=_weights_arg(args.weights),
                              geoclip_dir=args.geoclip_dir, gallery=args.gallery,
                              device=args.device, overwrite=args.overwrite,
                              show_progress=not args.quiet)
    print(describe(bundle_summary(out)).replace(" places,", " gallery points,"))
    return 0


def _bundle_info(args: argparse.Namespace) -> int:
    from backend.model.bundle import bundle_summary, load_bundle

    s = bundle_summary(args.path)
    if args.check:
        load_bundle(args.path, verify="full")
        s["check"] = "loaded: every file present and intact (sha256)"
    if args.json:
        print(json.dumps(s, indent=2))
        return 0
    for key in ("path", "format", "created", "backbone", "embedding_kind", "embedding_dim",
                "image_size", "weights", "head", "geocell_count", "files", "metrics", "check"):
        if key in s:
            print(f"{key:>15}: {s[key]}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the model commands to ``pigeon``."""
    from backend.model.pretrain import add_pretrain_arguments
    from backend.model.train_heads import add_train_arguments

    w = add_group(sub, "weights", help="backbone configs and weights", example="pigeon weights list")
    p = add_command(w, "list", help="shipped backbone configs and their open_clip tags",
                    example="pigeon weights list")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_weights_list)
    p = add_command(w, "convert-hf-clip", help="convert a Hugging Face CLIP (e.g. StreetCLIP) "
                    "folder to an open_clip checkpoint",
                    example="pigeon weights convert-hf-clip ~/hf/StreetCLIP --out streetclip.pt")
    p.add_argument("src", help="folder saved by transformers (config.json + weights)")
    p.add_argument("--out", required=True, help="the .pt file to write")
    p.add_argument("--name", help="label stored as the config name")
    p.set_defaults(func=_convert)

    p = add_command(sub, "embed", help="embed a dataset into resumable shards",
                    example="pigeon embed --model ViT-L-14-336 --weights openai "
                            "--data train.csv --out cache/train")
    p.add_argument("--data", required=True, help="dataset CSV (generic layout)")
    p.add_argument("--out", required=True, help="output folder (resumes if present)")
    p.add_argument("--model", default="ViT-L-14-336", help="backbone config name")
    p.add_argument("--weights", help="open_clip tag (openai), or a checkpoint file")
    p.add_argument("--bundle", help="take the backbone from a bundle instead")
    p.add_argument("--embedding-kind", default="mean_hidden", choices=["mean_hidden", "pooled"])
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                   help="DataLoader workers decoding images (default: min(4, cores))")
    p.add_argument("--shard-size", type=int, default=4096)
    p.add_argument("--device", default="cuda" if _cuda() else "cpu")
    p.add_argument("--amp", default="auto", choices=["auto", "bf16", "off"])
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_embed)

    p = add_command(sub, "train", help="train the geocell + auxiliary heads",
                    example="pigeon train --embeddings cache/train --geocells "
                            "cells/geocells.json --out runs/heads")
    add_train_arguments(p)
    p.set_defaults(func=_train)

    p = add_command(sub, "pretrain", help="contrastive pretraining on generated captions",
                    example="pigeon pretrain --model pigeon-tiny --data synth/train.csv "
                            "--out runs/pretrain --epochs 5")
    add_pretrain_arguments(p)
    p.set_defaults(func=_pretrain)

    b = add_group(sub, "bundle", help="model bundles", example="pigeon bundle info bundles/v1")
    p = add_command(b, "make", help="assemble a bundle from a training run",
                    example="pigeon bundle make --run runs/heads --geocells "
                            "cells/geocells.json --out bundles/v1")
    p.add_argument("--run", required=True, help="`pigeon train` output folder")
    p.add_argument("--geocells", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--weights", help="override the backbone weights source of the run")
    p.add_argument("--index", help="refinement index.npz to include")
    p.add_argument("--calibration", help="calibration.json to include")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=_bundle_make)
    _register_ready_bundles(b)
    p = add_command(b, "info", help="what a bundle holds", example="pigeon bundle info bundles/v1")
    p.add_argument("path")
    p.add_argument("--check", action="store_true", help="also load it (verifies every file)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_bundle_info)


def _register_ready_bundles(b: argparse._SubParsersAction) -> None:
    """``pigeon bundle zero-shot`` and ``pigeon bundle geoclip``: models that need no training."""
    from backend.model.zero_shot_head import DEFAULT_TEMPLATES, TEMPLATES

    p = add_command(b, "zero-shot", help="a bundle from any CLIP with no training: captions "
                    "of countries, regions and towns scored by its text tower (StreetCLIP: "
                    "PIGEON's zero-shot use)",
                    example="pigeon bundle zero-shot --model ViT-L-14-336 --weights "
                            "streetclip.pt --out bundles/streetclip")
    p.add_argument("--out", required=True, help="the bundle folder to write")
    p.add_argument("--model", default="ViT-L-14-336",
                   help="open_clip config (a pigeon checkpoint carries its own)")
    p.add_argument("--weights", default="openai",
                   help="open_clip tag (openai), a checkpoint file (StreetCLIP converted by "
                        "`pigeon weights convert-hf-clip`), or 'random' (tests)")
    p.add_argument("--countries", help="ISO-2 codes, e.g. FR,DE (default: the official "
                   "Street View countries)")
    p.add_argument("--towns-per-region", type=int, default=2,
                   help="places named in each admin-1 region (its most populous; default 2)")
    p.add_argument("--template", action="append", choices=sorted(TEMPLATES),
                   help="caption template to ensemble; repeat for several "
                        f"(default: {' + '.join(DEFAULT_TEMPLATES)})")
    p.add_argument("--prior", default="sampler", choices=["sampler", "uniform"],
                   help="where GeoGuessr lands: sampler = population ** 0.5 of the places of "
                        "the Street View countries (default); uniform")
    p.add_argument("--prior-strength", type=float, default=1.0,
                   help="multiplies the log prior (0 = no prior; default 1)")
    p.add_argument("--batch-size", type=int, default=64, help="captions per text-tower call")
    p.add_argument("--device", default="cuda" if _cuda() else "cpu")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_bundle_zero_shot)

    p = add_command(b, "geoclip", help="a bundle from GeoCLIP's trained parts (pip package "
                    "geoclip) on open_clip ViT-L-14 / openai, its GPS gallery encoded once",
                    example="pigeon bundle geoclip --out bundles/geoclip")
    p.add_argument("--out", required=True, help="the bundle folder to write")
    p.add_argument("--weights", default="openai",
                   help="ViT-L-14 weights: open_clip tag (openai, default), a checkpoint file, "
                        "or 'random' (tests)")
    p.add_argument("--geoclip-dir", help="a copy of the geoclip package's model/ folder "
                   "(default: the installed package)")
    p.add_argument("--gallery", help="a LAT,LON CSV to score instead of the 100k gallery")
    p.add_argument("--device", default="cuda" if _cuda() else "cpu",
                   help="where the gallery is encoded")
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_bundle_geoclip)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()
