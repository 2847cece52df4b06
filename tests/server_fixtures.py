"""Helpers of the server tests: JPEG views, round frames, a real websocket client, a fake predictor.

The fake predictor is for the server's own unit tests only; the round-trip tests use a real
tiny bundle (``backend.model.bundle.make_tiny_bundle``) and the real Predictor.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import threading
import time
from typing import Any

import numpy as np
from PIL import Image
from websockets.asyncio.client import connect

from backend.core import protocol as p
from backend.core.guess import Candidate, Guess


def jpeg_bytes(seed: int = 0, size: tuple[int, int] = (64, 64), quality: int = 85) -> bytes:
    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def round_frame(round_id: str, views: list[bytes], *, source: str = "test",
                mode: str = "unknown", game_id: str | None = None) -> str:
    msg = p.Round(round_id=round_id, source=source, mode=mode, map="world",
                  views=tuple(p.View(v, heading=90.0 * i) for i, v in enumerate(views)),
                  game_id=game_id)
    return msg.serialize()


def raw_round(round_id: str, views_b64: list[str]) -> str:
    """A round frame built by hand (to send views the dataclass would refuse)."""
    return json.dumps({"v": 1, "type": "round", "round_id": round_id, "source": "test",
                       "mode": "unknown", "map": "world",
                       "views": [{"heading": None, "jpeg": v} for v in views_b64]})


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hello_frame(token: str, kind: str = "test") -> str:
    return p.Hello(token=token, client=p.ClientInfo(kind=kind, version="0.1.0")).serialize()


async def open_client(url: str, token: str, *, origin: str | None = None,
                      kind: str = "test") -> tuple[Any, p.Welcome]:
    """Connect, say hello, return (websocket, welcome)."""
    ws = await connect(url, origin=origin, max_size=None, open_timeout=20)
    await ws.send(hello_frame(token, kind))
    welcome = p.parse_message(await asyncio.wait_for(ws.recv(), 20))
    assert isinstance(welcome, p.Welcome), welcome
    return ws, welcome


async def recv_msg(ws: Any, timeout: float = 30.0) -> p.Message:
    return p.parse_message(await asyncio.wait_for(ws.recv(), timeout))


class FakePredictor:
    """Unit tests only: guesses from the mean colour of the views; records batch sizes."""

    model_info = p.ModelInfo(id="fake-1", backbone="none", geocells=0, device="cpu")

    def __init__(self, delay_s: float = 0.0, fail_on_dark: bool = False) -> None:
        self.delay_s = delay_s
        self.fail_on_dark = fail_on_dark
        self.batch_sizes: list[int] = []
        self.threads: set[str] = set()
        self._lock = threading.Lock()

    def predict_batch(self, rounds: list[list[Image.Image]]) -> list[Guess]:
        with self._lock:
            self.batch_sizes.append(len(rounds))
            self.threads.add(threading.current_thread().name)
        if self.delay_s:
            time.sleep(self.delay_s)
        out = []
        for views in rounds:
            m = float(np.mean([np.asarray(v, dtype=np.float32).mean() for v in views]))
            if self.fail_on_dark and m < 20:
                raise RuntimeError("dark views break this model")
            lat, lng = m / 255 * 120 - 60, m / 255 * 300 - 150
            out.append(Guess(lat=lat, lng=lng, projected_score=2500.0, confidence=0.5,
                             country="XX", top_k=[Candidate(lat, lng, 0.7, 0, "XX")],
                             timings={"fake": 0.1}))
        return out
