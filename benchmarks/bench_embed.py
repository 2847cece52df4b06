"""Embedding throughput (images/s) of the shipped backbones, and the full embed job.

Figures:
- forward only, random weights, preprocessed random images, ``torch.no_grad``: the tiny
  config and ViT-B-32 on this CPU (fp32, all the threads torch takes, and 1 thread);
- with CUDA: ViT-L-14-336 in bf16 autocast, images/s and the share of the card's bf16 dense
  peak that the model FLOPs reach (FLOPs per image counted from the architecture; the peak from
  a table of known cards or ``--peak-tflops``);
- ``embed_dataset`` end to end on the tiny config (PNG decode + preprocess + forward + shard
  write), 1-view locations, to show what the pipeline around the model costs.

Usage::

    python benchmarks/bench_embed.py
    python benchmarks/bench_embed.py --seconds 5 --peak-tflops 989
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from machine_info import machine

from backend.model.backbone import build_backbone
from backend.model.registry import get_backbone_config

BF16_PEAK_TFLOPS = {"H100 SXM": 989.0, "H100 PCIe": 756.0, "H100": 989.0, "H200": 989.0,
                    "A100": 312.0, "L40S": 362.0, "L4": 121.0, "RTX 4090": 165.0}


def vit_flops_per_image(name: str) -> float:
    """Forward FLOPs (2 x multiply-adds) of the vision transformer's blocks and patch embed."""
    v = get_backbone_config(name)["vision_cfg"]
    d, layers = v["width"], v["layers"]
    n = (v["image_size"] // v["patch_size"]) ** 2 + 1
    mlp = v.get("mlp_ratio", 4.0)
    per_layer = 2 * n * d * d * (4 + 2 * mlp) + 4 * n * n * d
    patch = 2 * (n - 1) * d * 3 * v["patch_size"] ** 2
    return layers * per_layer + patch


def throughput(name: str, batch: int, seconds: float, device: str = "cpu",
               bf16: bool = False) -> float:
    bb = build_backbone(name, seed=0).to(device).eval()
    x = torch.randn(batch, 3, bb.image_size, bb.image_size, device=device)
    ctx = torch.autocast(device, dtype=torch.bfloat16) if bf16 else torch.no_grad()
    with torch.no_grad(), ctx:
        bb.embed(x)  # warm-up
        if device == "cuda":
            torch.cuda.synchronize()
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            bb.embed(x)
            n += batch
        if device == "cuda":
            torch.cuda.synchronize()
    return n / (time.perf_counter() - t0)


def pipeline(seconds: float) -> tuple[float, int]:
    from PIL import Image

    from backend.eval.datasets import load_dataset
    from backend.model.embed import embed_dataset

    n = max(64, int(seconds * 200))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        rng = np.random.default_rng(0)
        lines = ["id,lat,lng,image"]
        for i in range(n):
            Image.fromarray(rng.integers(0, 255, (64, 64, 3), np.uint8)).save(root / f"{i}.png")
            lines.append(f"l{i},{rng.uniform(-60, 60):.4f},{rng.uniform(-170, 170):.4f},{i}.png")
        (root / "d.csv").write_text("\n".join(lines) + "\n")
        data = load_dataset(root / "d.csv")
        bb = build_backbone("pigeon-tiny", seed=0)
        t0 = time.perf_counter()
        embed_dataset(bb, data, root / "out", batch_size=64, shard_size=1024,
                      show_progress=False)
        return n / (time.perf_counter() - t0), n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    ap.add_argument("--peak-tflops", type=float, help="the GPU's bf16 dense peak (TFLOPS)")
    args = ap.parse_args(argv)
    print(f"machine: {machine()}")
    threads = torch.get_num_threads()
    for name, batch in (("pigeon-tiny", 64), ("ViT-B-32", 16)):
        for nt in sorted({threads, 1}, reverse=True):
            torch.set_num_threads(nt)
            ips = throughput(name, batch, args.seconds)
            gflops = vit_flops_per_image(name) * ips / 1e9
            print(f"{name:<13} cpu fp32  {nt} thread(s) batch {batch:>3}: {ips:8.1f} images/s "
                  f"({gflops:.1f} GFLOP/s)")
    torch.set_num_threads(threads)
    ips, n = pipeline(args.seconds)
    print(f"embed_dataset pigeon-tiny end to end ({n} PNG locations, 1 view, cpu): "
          f"{ips:.1f} locations/s")
    if torch.cuda.is_available():
        gpu = torch.cuda.get_device_name(0)
        ips = throughput("ViT-L-14-336", 64, args.seconds, device="cuda", bf16=True)
        achieved = vit_flops_per_image("ViT-L-14-336") * ips / 1e12
        peak = args.peak_tflops or next((v for k, v in BF16_PEAK_TFLOPS.items() if k in gpu),
                                        None)
        share = f", {100 * achieved / peak:.0f} % of {peak:.0f} TFLOPS bf16 peak" if peak else \
            " (pass --peak-tflops for the share of peak)"
        print(f"ViT-L-14-336  {gpu} bf16 batch 64: {ips:8.1f} images/s, "
              f"{achieved:.0f} TFLOPS{share}")
    else:
        print("ViT-L-14-336 bf16: no CUDA device here (skipped; run on a GPU machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
