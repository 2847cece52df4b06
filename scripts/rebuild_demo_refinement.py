"""Rebuild the demo bundle's refinement index and calibration, then re-evaluate it.

The committed demo bundle (``bundles/demo``) keeps its backbone, heads and geocells; this
rebuilds the two parts that do not need training, from the same SynthWorld data the recipe
used (``backend.synthworld.train_demo.prepare_data`` with the recipe's seed, count and size:
same places, same pixels, same split; rendered into ``--data`` when not there yet):

1. the refinement index, exactly as the recipe's stage 6 makes it (``embed_panoramas`` of the
   training places with the bundle's own backbone, ``build_index`` on the bundle's geocells);
2. the calibration on the validation places (``calibrate_bundle``: every candidate, with the
   held-out 2-fold figures);
3. the recipe's evaluation on the held-out test places (``evaluate_demo``), written back into
   ``demo_metrics.json`` and ``RECIPE.md`` (which records the rebuild).

Usage::

    python scripts/rebuild_demo_refinement.py --bundle bundles/demo --data data/synthworld-demo
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", type=Path, default=Path("bundles/demo"))
    ap.add_argument("--data", type=Path, default=Path("data/synthworld-demo"),
                    help="where the recipe's SynthWorld data is (rendered there if missing)")
    args = ap.parse_args(argv)

    import torch

    from backend.eval.datasets import load_dataset
    from backend.model.bundle import load_bundle
    from backend.predict.bundle_parts import attach_file
    from backend.predict.calibrate import calibrate_bundle
    from backend.predict.index import build_index
    from backend.synthworld.demo_report import evaluate_demo, write_recipe
    from backend.synthworld.train_demo import (
        DemoConfig,
        embed_panoramas,
        load_views,
        prepare_data,
    )

    torch.set_num_threads(1)
    record = json.loads((args.bundle / "demo_metrics.json").read_text(encoding="utf-8"))
    c = record["config"]
    cfg = DemoConfig(out=args.bundle, minutes=c["minutes"], n_places=c["n_places"],
                     seed=c["seed"], size=c["size"], data_dir=args.data, patch=c["patch"],
                     pretrain_minutes=c["pretrain_minutes"], test_frac=c["test_frac"],
                     val_frac=c["val_frac"], min_km=c["min_km"],
                     base=Path(c["base"]) if c.get("base") else None,
                     backbone_lr=c.get("backbone_lr", DemoConfig.backbone_lr))
    times = {}
    t = time.perf_counter()
    paths = prepare_data(cfg)
    train = load_dataset(paths["train"])
    views = load_views(train, cfg.size, "loading training views")
    times["data"] = time.perf_counter() - t

    t = time.perf_counter()
    bundle = load_bundle(args.bundle)
    lat, lng = train.lats(), train.lngs()
    emb = embed_panoramas(bundle.backbone, views)
    index = build_index(emb, lat, lng, bundle.geocells.assign(lat, lng),
                        num_cells=len(bundle.geocells), backbone=bundle.backbone.describe(),
                        source={"data": str(paths["train"]),
                                "made_by": "scripts/rebuild_demo_refinement.py (the recipe's "
                                           "stage 6 on the bundle's own backbone)"})
    tmp = args.bundle / "index.rebuilt.npz"
    index.save(tmp)
    attach_file(args.bundle, "index", tmp)
    tmp.unlink()
    times["index"] = time.perf_counter() - t

    t = time.perf_counter()
    cal = calibrate_bundle(args.bundle, paths["val"])
    times["calibration"] = time.perf_counter() - t

    t = time.perf_counter()
    table, metrics = evaluate_demo(cfg, paths, train, views)
    times["evaluate"] = time.perf_counter() - t

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()
    counts = index.meta["counts"]
    record["metrics"] = metrics
    record["refinement_rebuilt"] = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": "python scripts/rebuild_demo_refinement.py " + " ".join(argv or sys.argv[1:]),
        "code": commit, "index_format": index.meta["format"], "index_counts": counts,
        "embedding_norms": index.meta["embedding_norms"],
        "calibration_temperature": cal.temperature,
        "calibration_held_out": {k: cal.held_out[k] for k in ("mean_projected", "mean_actual",
                                                              "ece")} if cal.held_out else None,
        "seconds": {k: round(v, 1) for k, v in times.items()}}
    write_recipe(cfg, record, table)
    print(table)
    print(f"index: {counts['prototypes']} prototypes of {counts['members']} members "
          f"({counts['noise_points_dropped']} noise points dropped); calibration T "
          f"{cal.temperature:.3f}; seconds {record['refinement_rebuilt']['seconds']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
