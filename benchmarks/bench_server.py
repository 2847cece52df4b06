"""Benchmark the inference server end to end: round latency and throughput over real sockets.

For each model (``pigeon-tiny`` and, with ``--models tiny,vit-b-32``, an open_clip ViT-B/32
with random weights: same compute as the real one) and for micro-batching on
(``max_batch 8, max_wait 5 ms``) and off (``max_batch 1``), 1 / 4 / 8 websocket clients each
play ``--rounds`` rounds back to back (send the round, wait for the guess, next). A round is
``--views`` JPEG views of ``--size`` pixels. Latency is measured at the client, from sending
the round to receiving the guess; throughput is all rounds over the wall time.

The server runs in a thread of this process (``run_server_in_thread``), the clients on the
main event loop, as the demo does. Prints the figures and the machine. Usage::

    python benchmarks/bench_server.py [--rounds 20] [--models tiny,vit-b-32] [--device cpu]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from machine_info import machine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SITES = [(40.0, -100.0, "US", "United States"), (48.0, 2.0, "FR", "France"),
         (-25.0, 135.0, "AU", "Australia"), (35.0, 139.0, "JP", "Japan"),
         (-15.0, -50.0, "BR", "Brazil"), (0.0, 20.0, "CD", "DR Congo")]


def geocells():
    import shapely

    from backend.geocells import Geocells

    polys = [shapely.box(lo - 5, la - 5, lo + 5, la + 5) for la, lo, _, _ in SITES]
    return Geocells(polys, np.array([(la, lo) for la, lo, _, _ in SITES]),
                    countries=[s[3] for s in SITES], iso2=[s[2] for s in SITES],
                    admin1=["-"] * len(SITES), n_points=[10] * len(SITES),
                    metadata={"made_by": "benchmarks/bench_server.py"})


def make_bundle(kind: str, root: Path) -> Path:
    import torch

    from backend.model.backbone import build_backbone
    from backend.model.bundle import make_tiny_bundle, save_bundle
    from backend.model.heads import HeadsConfig, PigeonHeads

    cells = geocells()
    if kind == "tiny":
        return make_tiny_bundle(root / "tiny", cells, seed=0)
    backbone = build_backbone("ViT-B-32", seed=0)
    torch.manual_seed(1)
    heads = PigeonHeads(HeadsConfig(embedding_dim=backbone.embedding_dim,
                                    num_cells=len(cells.centroids))).eval()
    return save_bundle(root / "vitb32", backbone=backbone, heads=heads, geocells=cells,
                       data={"kind": "none (random init for the benchmark)"},
                       parameters={"made_by": "bench_server.py"})


def views(n: int, size: tuple[int, int]) -> list[bytes]:
    from PIL import Image

    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        # smooth-ish content so the JPEG size is realistic (noise would be 5x bigger)
        small = rng.integers(0, 256, (size[1] // 16, size[0] // 16, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize(size, Image.BILINEAR)
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=85)
        out.append(buf.getvalue())
    return out


async def play(url: str, token: str, n_clients: int, rounds: int, frame_views: list[bytes]
               ) -> tuple[list[float], float]:
    from websockets.asyncio.client import connect

    from backend.core import protocol as p

    hello = p.Hello(token=token, client=p.ClientInfo(kind="test", version="bench")).serialize()
    frames = [p.Round(round_id=f"r{i}", source="test", mode="unknown", map="bench",
                      views=tuple(p.View(v, 90.0 * k) for k, v in enumerate(frame_views))
                      ).serialize() for i in range(rounds)]
    latencies: list[float] = []

    async def client() -> None:
        async with connect(url, max_size=None) as ws:
            await ws.send(hello)
            await ws.recv()
            for frame in frames:
                t0 = time.perf_counter()
                await ws.send(frame)
                msg = p.parse_message(await ws.recv())
                if not isinstance(msg, p.GuessMessage):
                    raise TypeError(f"expected a guess, got {msg}")
                latencies.append((time.perf_counter() - t0) * 1000.0)

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(n_clients)))
    return latencies, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20, help="rounds per client (default 20)")
    ap.add_argument("--clients", default="1,4,8")
    ap.add_argument("--models", default="tiny", help="tiny and/or vit-b-32 (comma-separated)")
    ap.add_argument("--views", type=int, default=4)
    ap.add_argument("--size", default="640x360", help="view size WxH (default 640x360)")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)

    import torch

    from backend.model.bundle import load_bundle
    from backend.predict.predictor import Predictor
    from backend.server import run_server_in_thread

    w, h = (int(x) for x in args.size.split("x"))
    frame_views = views(args.views, (w, h))
    clients = [int(c) for c in args.clients.split(",")]
    print(f"bench_server: {machine()}")
    print(f"rounds of {args.views} JPEG views {w}x{h} ({sum(map(len, frame_views)) / 1024:.0f} "
          f"KiB per round), {args.rounds} rounds per client, device {args.device}; latency "
          "measured at the client (send round -> guess)")
    print(f"{'model':9} {'batching':9} {'clients':>7} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'rounds/s':>9} {'mean batch':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.models.split(","):
            bundle = load_bundle(make_bundle(kind.strip(), Path(tmp)), device=args.device)
            predictor = Predictor(bundle, geo=None)
            for batching, max_batch in (("on", 8), ("off", 1)):
                for n in clients:
                    with run_server_in_thread(predictor, port=0, max_batch=max_batch,
                                              max_wait_ms=5.0) as server:
                        # one warm-up round (first call allocates)
                        asyncio.run(play(server.url, server.token, 1, 1, frame_views))
                        lat, wall = asyncio.run(play(server.url, server.token, n, args.rounds,
                                                     frame_views))
                        m = server.metrics()
                    p50, p95 = np.percentile(lat, [50, 95])
                    mb = m["mean_batch_size"] or 0.0
                    print(f"{kind:9} {batching:9} {n:>7} {p50:>8.1f} {p95:>8.1f} "
                          f"{len(lat) / wall:>9.2f} {mb:>10.2f}", flush=True)
            del predictor, bundle
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
