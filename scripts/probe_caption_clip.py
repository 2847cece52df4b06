"""What did the caption (contrastive) stage of the demo recipe learn? Image -> caption retrieval.

Takes a full CLIP checkpoint (``work/pretrain-clip.pt`` from ``pigeon synthworld train-demo``)
and the first ``--places`` places of a SynthWorld dataset, rebuilds their captions the way the
recipe does, and reports how often a view's best-matching caption (among all the views'
captions) is its own, one of its place's, one of its country's, or one with its heading.
Run on training places it says what the towers memorised; on held-out places, what carries over.

Usage::

    .venv/bin/python scripts/probe_caption_clip.py data/synthworld-demo/work/pretrain-clip.pt \\
        --data data/synthworld-demo/fit/train.csv --places 500
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", help="full CLIP checkpoint (pigeon-openclip/1)")
    ap.add_argument("--data", required=True, help="SynthWorld dataset CSV (4 views a place)")
    ap.add_argument("--places", type=int, default=500, help="first N places (default 500)")
    ap.add_argument("--seed", type=int, default=0, help="caption clause seed (recipe: 0)")
    args = ap.parse_args(argv)

    import numpy as np
    import torch
    import torch.nn.functional as F

    from backend.eval.datasets import load_dataset
    from backend.model.weights import load_clip_model
    from backend.synthworld.captions import place_facts, view_captions
    from backend.synthworld.contrastive import normalise, tokenize
    from backend.synthworld.train_demo import load_views

    clip, mc, _ = load_clip_model("pigeon-tiny", args.checkpoint)
    size = int(mc["vision_cfg"]["image_size"])
    ds = load_dataset(args.data).head(args.places)
    views = load_views(ds, size, "views")
    facts = place_facts(ds.lats(), ds.lngs())
    caps = view_captions(facts, [loc.month for loc in ds], n_views=4,
                         rng=np.random.default_rng(args.seed))
    n = len(caps)
    with torch.no_grad():
        text = F.normalize(clip.encode_text(tokenize(caps, int(mc["text_cfg"]["context_length"]))),
                           dim=-1)
        img = F.normalize(clip.encode_image(normalise(torch.from_numpy(
            views.reshape(-1, size, size, 3)))), dim=-1)
        top = (img @ text.t()).topk(10, dim=1).indices.numpy()
    idx = np.arange(n)
    place = idx // 4
    country = np.array([str(facts[j // 4].get("country_name") or "") for j in idx])
    print(f"{args.checkpoint}: {len(ds)} places, {n} views, each view's best caption of {n}")
    print(f"  its own caption        {100 * np.mean(top[:, 0] == idx):5.1f} %  (chance "
          f"{100 / n:.2f} %)")
    print(f"  a caption of its place {100 * np.mean(place[top[:, 0]] == place):5.1f} %  "
          f"(top ten {100 * np.mean((place[top] == place[:, None]).any(1)):.1f} %, chance "
          f"{400 / n:.2f} %)")
    same_country = np.mean(country[:, None] == country[None, :])
    print(f"  a caption of its country {100 * np.mean(country[top[:, 0]] == country):5.1f} %  "
          f"(chance {100 * same_country:.1f} %)")
    print(f"  a caption of its heading {100 * np.mean(idx[top[:, 0]] % 4 == idx % 4):5.1f} %  "
          "(chance 25 %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
