"""``pigeon predict``, ``pigeon index build|info`` and ``pigeon calibrate``.

Usage::

    pigeon predict view1.jpg view2.jpg view3.jpg view4.jpg --model bundle/ [--json]
    pigeon index build --bundle bundle/ --embeddings cache/train-emb
    pigeon index info bundle/index.npz
    pigeon calibrate --bundle bundle/ --data data/val.csv
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from backend.cliutil import UserError, add_command, check_device, progress


def _cmd_predict(args: argparse.Namespace) -> int:
    from backend.predict.images import ImageError, content_problem, load_views
    from backend.predict.predictor import Predictor

    try:
        views = load_views([Path(p) for p in args.images])
    except ImageError as exc:
        raise UserError(f"{exc}") from None
    for path, img in zip(args.images, views):
        blank = content_problem(img, path)
        if blank is not None:    # a blank screen would still get a confident guess
            raise UserError(blank)
    device = check_device(args.device)
    predictor = Predictor.from_bundle(args.model, device=device,
                                      geo=None if args.no_geo else "auto")
    guess = predictor.predict(views)
    if args.json:
        json.dump(guess.to_dict(), sys.stdout, indent=1)
        print()
        return 0
    where = f"{guess.country_name} ({guess.country})" if guess.country else "unknown country"
    print(f"pin        {guess.lat:.5f}, {guess.lng:.5f}   {where}")
    print(f"projected  {guess.projected_score:.0f} points   confidence "
          f"{100 * guess.confidence:.1f} % within {guess.confidence_radius_km:.0f} km")
    print("candidates")
    for c in guess.top_k:
        tag = "refined" if c.refined else "centroid"
        print(f"  {100 * c.prob:5.1f} %  {c.lat:9.4f}, {c.lng:10.4f}  cell {c.cell:<5} "
              f"{c.country or '':3} {tag}")
    print("timings ms " + "  ".join(f"{k} {v:.1f}" for k, v in guess.timings.items()))
    return 0


def _check_embeddings_fit(args: argparse.Namespace, bundle: Any, emb: Any) -> None:
    """The embeddings must come from the bundle's backbone: size, config, kind and weights."""
    from backend.model.backbone import weights_sha256

    bb, eb = bundle.meta["backbone"], emb.meta.get("backbone", {})
    dim = int(bundle.backbone.embedding_dim)
    again = f"embed the data with this bundle's backbone (`pigeon embed --bundle {args.bundle}`)"
    if emb.embeddings.shape[1] != dim:
        raise UserError(f"{args.embeddings} holds {emb.embeddings.shape[1]}-dim embeddings but "
                        f"the bundle's backbone makes {dim}-dim ones; {again}")
    for key in ("config_name", "embedding_kind"):
        if eb.get(key) is not None and eb.get(key) != bb.get(key):
            raise UserError(f"{args.embeddings} was made with {key} {eb.get(key)!r}, the bundle "
                            f"uses {bb.get(key)!r}; {again}")
    if args.no_weights_check:
        return
    got = emb.meta.get("weights_sha256")
    if not got:
        raise UserError(f"{args.embeddings} does not say which weights made it (no "
                        f"weights_sha256: made by an older pigeon-bot); {again}, or pass "
                        "--no-weights-check if you know they come from these weights")
    want = bb.get("weights_sha256") or weights_sha256(bundle.backbone.visual)
    if got != want:
        raise UserError(f"{args.embeddings} was made with other weights than the bundle's "
                        f"backbone (weights sha256 {got[:12]}... vs {want[:12]}...): an index "
                        f"from them would live in another embedding space; {again}")


def embeddings_precision(meta: dict[str, Any]) -> str:
    """What embeddings were computed in: their ``precision``, else from ``--amp`` (older)."""
    if meta.get("precision") in ("fp32", "bf16"):
        return str(meta["precision"])
    return "bf16" if meta.get("parameters", {}).get("amp") == "bf16" else "fp32"


def _cmd_index_build(args: argparse.Namespace) -> int:
    from backend.model.bundle import load_bundle
    from backend.model.embed import load_embeddings
    from backend.predict.bundle_parts import attach_file
    from backend.predict.index_writer import write_index

    bundle = load_bundle(args.bundle, verify=False)
    emb = load_embeddings(args.embeddings)
    _check_embeddings_fit(args, bundle, emb)
    bb = bundle.meta["backbone"]
    lat, lng = emb.latlng[:, 0], emb.latlng[:, 1]
    cells = bundle.geocells.assign(lat, lng)
    out = Path(args.out) if args.out else Path(args.bundle) / "index.npz"
    stage = iter(("index: clustering cells", "index: writing members",
                  "index: writing prototypes"))
    index = write_index(  # streamed: the embeddings stay memory-mapped, never all in RAM
        out, emb.embeddings, lat, lng, cells, num_cells=len(bundle.geocells.centroids),
        min_samples=args.min_samples, xi=args.xi, member_dtype=args.member_dtype,
        source={"embeddings": str(Path(args.embeddings).resolve()),
                "embeddings_format": emb.meta.get("format"), "points": len(emb),
                "dataset": emb.meta.get("dataset"),
                "weights_sha256": emb.meta.get("weights_sha256")},
        backbone={k: bb.get(k) for k in ("config_name", "embedding_kind", "embedding_dim")},
        precision=embeddings_precision(emb.meta),
        progress=lambda it, n: progress(it, total=n, desc=next(stage, "index"), unit="step"))
    if not args.out:
        attach_file(args.bundle, "index", out)
    c = index.meta["counts"]
    print(f"wrote {out}: {c['points']} points in {c['cells_with_points']} cells -> "
          f"{c['prototypes']} prototypes of {c['members']} members "
          f"({c['noise_points_dropped']} OPTICS noise points dropped)")
    return 0


def _cmd_index_info(args: argparse.Namespace) -> int:
    from backend.predict.index import RefinementIndex

    path = Path(args.path)
    if path.is_dir():
        path = path / "index.npz"
    index = RefinementIndex.load(path)
    info = {"path": str(path), **index.meta, "cells": index.n_cells, "dim": index.dim}
    print(json.dumps(info, indent=1))
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from backend.predict.calibrate import calibrate_bundle

    if args.limit is not None and args.limit < 1:
        raise UserError(f"--limit must be at least 1, got {args.limit}")
    res = calibrate_bundle(args.bundle, args.data, limit=args.limit,
                           batch_size=args.batch_size, n_bins=args.bins,
                           device=check_device(args.device),
                           write=not args.dry_run)
    b, a, h = res.before, res.after, res.held_out
    print(f"rounds {res.n_rounds}   temperature {res.temperature:.3f}")
    print(f"{'':28}{'mean projected':>16}{'mean actual':>13}{'ECE':>8}")
    print(f"{'before (T = 1)':28}{b.mean_projected:16.0f}{b.mean_actual:13.0f}{b.ece:8.0f}")
    print(f"{'after, in-sample':28}{a.mean_projected:16.0f}{a.mean_actual:13.0f}{a.ece:8.0f}")
    if h is not None:
        print(f"{'after, held-out (2-fold)':28}{h['mean_projected']:16.0f}"
              f"{h['mean_actual']:13.0f}{h['ece']:8.0f}")
    if not args.dry_run:
        print(f"wrote {Path(args.bundle) / 'calibration.json'}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``predict``, ``index`` and ``calibrate`` to ``pigeon``."""
    p = add_command(subparsers, "predict", help="guess where 1-4 views of one place are",
                    example="pigeon predict n.jpg e.jpg s.jpg w.jpg --model bundle/ --json")
    p.add_argument("images", nargs="+", metavar="IMG", help="1 to 4 views (JPEG/PNG files)")
    p.add_argument("--model", required=True, metavar="BUNDLE", help="model bundle directory")
    p.add_argument("--json", action="store_true", help="print the Guess as JSON")
    p.add_argument("--device", default="cpu", help="torch device (cpu, cuda, ...)")
    p.add_argument("--no-geo", action="store_true",
                   help="name the top cell's country instead of looking the pin up")
    p.set_defaults(func=_cmd_predict)

    g = add_command(subparsers, "index", help="build or inspect the refinement index",
                    example="pigeon index build --bundle bundle/ --embeddings cache/train-emb")
    g.set_defaults(func=None, group_parser=g)
    gsub = g.add_subparsers(dest="index_command", metavar="SUBCOMMAND")
    b = add_command(gsub, "build", help="cluster the training embeddings of every geocell "
                    "(OPTICS) into the bundle's index.npz",
                    example="pigeon index build --bundle bundle/ --embeddings cache/train-emb")
    b.add_argument("--bundle", required=True, help="model bundle directory")
    b.add_argument("--embeddings", required=True,
                   help="training embeddings made by `pigeon embed` with the same backbone")
    b.add_argument("--min-samples", type=int, default=3, help="OPTICS min_samples (3)")
    b.add_argument("--xi", type=float, default=0.15, help="OPTICS xi (0.15)")
    b.add_argument("--out", help="write here instead of into the bundle")
    b.add_argument("--no-weights-check", action="store_true",
                   help="accept embeddings that do not record their weights' sha256 (made by "
                        "an older pigeon-bot) or record other weights")
    b.add_argument("--member-dtype", choices=("float32", "float16"), default="float32",
                   help="how member embeddings are stored: float32 (exactly the embeddings, "
                        "default) or float16 (half the disk: OSV-5M's millions)")
    b.set_defaults(func=_cmd_index_build)
    i = add_command(gsub, "info", help="print an index's metadata",
                    example="pigeon index info bundle/index.npz")
    i.add_argument("path", help="index.npz or a bundle directory")
    i.set_defaults(func=_cmd_index_info)

    c = add_command(subparsers, "calibrate",
                    help="fit the projected-score temperature on held-out rounds",
                    example="pigeon calibrate --bundle bundle/ --data data/val.csv --limit 500")
    c.add_argument("--bundle", required=True, help="model bundle directory")
    c.add_argument("--data", required=True, help="held-out dataset CSV (generic/OSV-5M/IM2GPS)")
    c.add_argument("--limit", type=int, help="use only the first N rows")
    c.add_argument("--batch-size", type=int, default=16, help="rounds per backbone call")
    c.add_argument("--bins", type=int, default=10, help="bins of the calibration error")
    c.add_argument("--device", default="cpu", help="torch device")
    c.add_argument("--dry-run", action="store_true", help="report only, write nothing")
    c.set_defaults(func=_cmd_calibrate)
