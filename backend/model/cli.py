"""``pigeon`` subcommands of the model package: weights, embed, train, pretrain, bundle.

Usage::

    pigeon weights list
    pigeon weights convert-hf-clip ~/hf/StreetCLIP --out weights/streetclip.pt
    pigeon embed --model ViT-L-14-336 --weights openai --data train.csv --out cache/train
    pigeon train --embeddings cache/train --geocells cells/geocells.json --out runs/heads
    pigeon pretrain --model pigeon-tiny --data synth/train.csv --out runs/pretrain
    pigeon bundle make --run runs/heads --geocells cells/geocells.json --out bundles/v1
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


def _bundle_info(args: argparse.Namespace) -> int:
    from backend.model.bundle import bundle_summary, load_bundle

    s = bundle_summary(args.path)
    if args.check:
        load_bundle(args.path)
        s["check"] = "loaded: every file present and intact"
    if args.json:
        print(json.dumps(s, indent=2))
        return 0
    for key in ("path", "format", "created", "backbone", "embedding_kind", "embedding_dim",
                "image_size", "weights", "geocell_count", "files", "metrics", "check"):
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
    p = add_command(b, "info", help="what a bundle holds", example="pigeon bundle info bundles/v1")
    p.add_argument("path")
    p.add_argument("--check", action="store_true", help="also load it (verifies every file)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_bundle_info)


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()
