"""Benchmark the ready models (GeoCLIP, zero-shot): the head after the backbone, and whole
4-view rounds with ViT-L backbones through the server.

1. **GeoCLIP after the backbone**, one process, same inputs: ours — the Predictor from a
   768-d CLIP embedding to the Guess (image MLP, one product with the 100k cached gallery
   features, softmax, candidate distribution, expected-score pin) — against the ``geoclip``
   package's own per-call path (its ``forward`` re-encodes the 100,000 gallery points through
   the location encoder, then softmax and top-k, as its ``predict`` does after CLIP). Prints
   both in ms and their ratio, and the one-time gallery encoding our bundle build pays.
2. **Zero-shot build**: captions per second through the ViT-L/14 text tower (random
   weights), and the minutes the default bundle's captions would take.
3. **Rounds through the server** (``run_server_in_thread``, a websocket client, 4 JPEG views
   640x360): ``ViT-L-14`` (224 px) with the GeoCLIP head, ``ViT-L-14-336`` with a zero-shot
   head of the full default size (110 countries, 2580 regions, 4724 places). Random weights:
   the compute is the real models'; the zero-shot head's text rows are random unit vectors
   (its cost depends only on its size). Latency at the client, p50/p95, and peak memory.

On a CUDA machine add ``--device cuda`` (the server's model then runs on the GPU; this
benchmark does not switch to bf16). Usage::

    python benchmarks/bench_ready_models.py [--rounds 3] [--parts compare,captions,serve]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from machine_info import machine, peak_rss_mb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _stats(ms: list[float]) -> str:
    p50, p95 = np.percentile(ms, [50, 95])
    return f"p50 {p50:9.1f} ms  p95 {p95:9.1f} ms  (n={len(ms)})"


class _FeaturesThrough:
    """Stands in for the package's frozen CLIP: its input is already CLIP features."""

    def __call__(self, config):  # the package calls CLIPModel(config)
        import torch

        class Through(torch.nn.Module):
            def get_image_features(self, pixel_values):
                return pixel_values

        return Through()


def their_geoclip():
    """The package's GeoCLIP with its shipped weights (CLIP replaced, see above)."""
    from geoclip.model import image_encoder

    saved = image_encoder.CLIPModel
    image_encoder.CLIPModel = _FeaturesThrough()
    try:
        from geoclip import GeoCLIP

        return GeoCLIP(from_pretrained=True, clip_pretrained=False).eval()
    finally:
        image_encoder.CLIPModel = saved


def make_bundle(root: Path, backbone, head, cells, kind: str):
    from backend.model.bundle import Bundle

    meta = {"format": "pigeon-bundle/1", "backbone": backbone.describe(),
            "heads": head.config.to_dict(), "geocell_count": len(cells),
            "files": {"heads": {"sha256": kind}}}
    return Bundle(root / kind, meta, backbone, head, cells)


def bench_geoclip_head(runs: int, compare: bool = True):
    import torch

    from backend.geocells.point_cells import PointCells
    from backend.model.backbone import build_backbone
    from backend.model.geoclip_head import GeoCLIPHead
    from backend.model.geoclip_parts import read_geoclip_parts
    from backend.predict.predictor import Predictor

    parts = read_geoclip_parts()
    t0 = time.perf_counter()
    head = GeoCLIPHead.build(parts)
    build_s = time.perf_counter() - t0
    gallery = parts.gallery
    cells = PointCells(gallery[:, 0].double().numpy(), gallery[:, 1].double().numpy())
    cfg = {"embed_dim": 768, "vision_cfg": {"image_size": 32, "layers": 1, "width": 64,
                                            "patch_size": 16, "head_width": 32},
           "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 1,
                        "layers": 1}}
    small = build_backbone(cfg, embedding_kind="pooled", seed=0)  # only its size matters here
    pred = Predictor(make_bundle(Path("/tmp"), small, head, cells, "geoclip"), geo=None)
    theirs = their_geoclip() if compare else None
    torch.manual_seed(0)
    feats = torch.randn(runs + 1, 768) * 2
    ours_ms, head_ms, theirs_ms = [], [], []
    for i in range(runs + 1):  # the first of each is a warm-up
        t0 = time.perf_counter()
        guess = pred.guess_from_embedding(feats[i].numpy())
        t1 = time.perf_counter()
        if theirs is not None:
            with torch.inference_mode():
                probs = theirs(feats[i:i + 1], theirs.gps_gallery).softmax(dim=-1)
                top = torch.topk(probs, 5, dim=1)
            assert int(top.indices[0, 0]) == guess.top_k[0].cell  # the same best point
        t2 = time.perf_counter()
        if i:
            ours_ms.append((t1 - t0) * 1e3)
            head_ms.append(guess.timings["heads"])
            theirs_ms.append((t2 - t1) * 1e3)
    print(f"GeoCLIP, 100,000 gallery points, after the backbone (one 768-d embedding), "
          f"{runs} runs each:")
    print(f"  ours (Predictor: MLP + cached gallery + softmax + pin)  {_stats(ours_ms)}")
    print(f"     of which the head (MLP, product, softmax)            {_stats(head_ms)}")
    if theirs is not None:
        print(f"  geoclip package (forward re-encodes the gallery)      {_stats(theirs_ms)}")
        print(f"  ratio package / ours (medians): "
              f"{np.median(theirs_ms) / np.median(ours_ms):.0f}x")
    print(f"  our one-time gallery encoding (bundle build): {build_s:.1f} s")
    return head, cells


def bench_captions(n: int, device: str) -> None:
    """Text-tower throughput of ViT-L-14(-336) on zero-shot captions: the zero-shot build."""
    import torch
    from open_clip.model import _build_text_tower

    from backend.model.registry import get_backbone_config
    from backend.model.zero_shot_head import TEMPLATES, clip_tokenizer, encode_texts, level_fields
    from backend.model.zero_shot_places import build_place_hierarchy

    cfg = get_backbone_config("ViT-L-14-336")
    torch.manual_seed(0)
    text = _build_text_tower(cfg["embed_dim"], cfg["text_cfg"], quick_gelu=True).to(device)
    h = build_place_hierarchy(None, towns_per_region=2)
    fields = level_fields(h)
    total = sum(len(v) for v in fields.values()) * 2  # two templates by default
    captions = [TEMPLATES["caption"](f) for f in fields["leaf"][:n]]
    tok = clip_tokenizer(cfg)
    encode_texts(text.eval(), tok, captions[:8], device=device)  # warm-up
    t0 = time.perf_counter()
    encode_texts(text, tok, captions, batch_size=64, device=device)
    rate = len(captions) / (time.perf_counter() - t0)
    print(f"\nzero-shot build, ViT-L/14 text tower (random weights, fp32, {device}): "
          f"{rate:.1f} captions/s over {len(captions)} town captions; the default bundle "
          f"({total} captions: 2 templates) would take {total / rate / 60:.0f} min of encoding")


def bench_serve(head, cells, rounds: int, device: str) -> None:
    import torch
    from bench_server import play, views

    from backend.model.backbone import build_backbone
    from backend.model.zero_shot_head import ZeroShotHead, ZeroShotHeadConfig
    from backend.model.zero_shot_places import build_place_hierarchy
    from backend.predict.predictor import Predictor
    from backend.server import run_server_in_thread

    frame_views = views(4, (640, 360))
    h = build_place_hierarchy(None, towns_per_region=2)
    zs = ZeroShotHead(ZeroShotHeadConfig(
        embedding_dim=768, num_cells=len(h.leaf_name), num_countries=len(h.country_name),
        num_regions=len(h.region_name), text_dim=768))
    torch.manual_seed(1)
    with torch.no_grad():
        for lvl in ("country", "region", "leaf"):
            t = getattr(zs, f"text_{lvl}")
            t.copy_(torch.nn.functional.normalize(torch.randn_like(t), dim=-1))
        zs.region_country.copy_(torch.as_tensor(h.region_country))
        zs.leaf_region.copy_(torch.as_tensor(h.leaf_region))
    from backend.geocells.point_cells import PointCells

    zs_cells = PointCells(h.leaf_lat, h.leaf_lng, iso2=h.country_iso2[h.leaf_country])
    print(f"\n4-view rounds through the server (640x360 JPEGs, latency at the client), "
          f"random weights, fp32, device {device}, {rounds} rounds after one warm-up:")
    with tempfile.TemporaryDirectory() as tmp:
        for name, config, hd, cl in (("ViT-L-14 + GeoCLIP head", "ViT-L-14", head, cells),
                                     ("ViT-L-14-336 + zero-shot head", "ViT-L-14-336", zs,
                                      zs_cells)):
            bb = build_backbone(config, embedding_kind="pooled", seed=0).to(device)
            pred = Predictor(make_bundle(Path(tmp), bb, hd.to(device), cl, config), geo=None)
            with run_server_in_thread(pred, port=0, max_batch=1) as server:
                asyncio.run(play(server.url, server.token, 1, 1, frame_views))
                lat, _ = asyncio.run(play(server.url, server.token, 1, rounds, frame_views))
            print(f"  {name:31} {_stats(lat)}  peak RSS so far {peak_rss_mb():.0f} MiB",
                  flush=True)
            del pred, bb


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="GeoCLIP head runs (default 5)")
    ap.add_argument("--rounds", type=int, default=3, help="server rounds per model (default 3)")
    ap.add_argument("--captions", type=int, default=256,
                    help="captions timed through the ViT-L text tower (default 256)")
    ap.add_argument("--parts", default="compare,captions,serve",
                    help="which parts: compare (with the geoclip package), captions, serve")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    try:
        import geoclip  # noqa: F401
    except ImportError:
        print("bench_ready_models: the geoclip package is not installed (pip install geoclip)")
        return 0
    import torch

    print(f"bench_ready_models: {machine()}")
    parts = {x.strip() for x in args.parts.split(",")}
    head, cells = bench_geoclip_head(args.runs, compare="compare" in parts)
    if "captions" in parts:
        bench_captions(args.captions, args.device)
    if "serve" in parts:
        bench_serve(head, cells, args.rounds, args.device)
    if not torch.cuda.is_available():
        print("no CUDA device here: GPU latency, bf16 and GPU memory not measured")
    return 0


if __name__ == "__main__":
    sys.exit(main())
