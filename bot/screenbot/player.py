"""The screen bot's loop: watch the region, detect a round, capture views, get a guess.

Each new round (a large, settled change of the region) is captured — four headings when a
turn key can be sent, else one — and sent to the backend as a ``round`` with source
``screen``; the backend logs it in the score log. The guess and projected score are shown
on the terminal.

Usage (see ``pigeon play --help``)::

    pigeon play --screen --region 0,80,1280,640 --backend ws://127.0.0.1:8765/ --token T
"""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from backend.client import BackendClient
from backend.core.protocol import GuessMessage, Round, View
from bot.screenbot.capture import ScreenGrabber
from bot.screenbot.region import Region
from bot.screenbot.round_detector import RoundDetector, frame_difference, thumbnail
from bot.screenbot.turning import KeyTurner


@dataclass
class PlayOptions:
    backend_url: str
    token: str
    region: str | None = None
    views: int = 4
    rounds: int = 0  # 0: until interrupted
    interval_s: float = 0.25
    settle_timeout_s: float = 5.0
    map_name: str = "unknown"
    turn_key: str = "Right"
    turn_presses: int = 1
    window: bool = False


def encode_jpeg(frame: np.ndarray, quality: int = 90) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(frame).save(out, format="JPEG", quality=quality)
    return out.getvalue()


async def wait_settled(grab: ScreenGrabber, region: Region, *, interval_s: float,
                       timeout_s: float) -> np.ndarray:
    """Poll frames until they stop changing (or the timeout): the view has settled."""
    det = RoundDetector()
    deadline = time.monotonic() + timeout_s
    frame = grab.frame(region)
    det.feed(frame)
    while time.monotonic() < deadline:
        await asyncio.sleep(interval_s / 2)
        frame = grab.frame(region)
        det.feed(frame)
        if det.settled():
            break
    return frame


STILL_VIEW = 0.005
"""A turned view this close to the one before it means the turn key did nothing."""


async def capture_views(grab: ScreenGrabber, region: Region, first: np.ndarray,
                        turner: KeyTurner | None, opts: PlayOptions,
                        say: Callable[[str], None] = print) -> list[View]:
    """The round's views: the first frame, then (with a turner) three quarter turns."""
    views = [View(jpeg=encode_jpeg(first), heading=None if turner is None else 0.0)]
    if turner is None:
        return views
    prev = thumbnail(first)
    for k in range(1, opts.views):
        turner.quarter_turn()
        frame = await wait_settled(grab, region, interval_s=opts.interval_s,
                                   timeout_s=opts.settle_timeout_s)
        thumb = thumbnail(frame)
        if frame_difference(thumb, prev) < STILL_VIEW:
            say(f"warning: the view did not change after pressing {opts.turn_key!r}: is the "
                "game window focused, and is that its turn key? (--turn-key, --views 1)")
        prev = thumb
        views.append(View(jpeg=encode_jpeg(frame), heading=90.0 * k))
    for _ in range(4 - (opts.views - 1)):
        turner.quarter_turn()  # a full circle: back to where the round started
    return views


def describe_guess(n: int, g: GuessMessage, views: int) -> str:
    country = f" {g.country}" if g.country else ""
    return (f"round {n}: guess {g.lat:.4f}, {g.lng:.4f}{country}  projected "
            f"{g.projected_score:.0f} pts  confidence {g.confidence:.2f}  "
            f"{views} view(s)  {g.latency_ms:.0f} ms")


async def play(opts: PlayOptions, *, say: Callable[[str], None] = print) -> int:
    """Run the loop; returns the number of rounds played."""
    grab = ScreenGrabber()
    window = None
    if opts.window:
        from bot.screenbot.guess_window import GuessWindow

        window = GuessWindow()
    try:
        region = grab.resolve_region(opts.region)
        turner = KeyTurner(opts.turn_key, opts.turn_presses) if opts.views > 1 else None
        if turner is not None and not turner.available:
            say("note: xdotool is not installed, so the view cannot be turned: sending one "
                "view per round (sudo apt-get install xdotool for four)")
            turner = None
        async with BackendClient(opts.backend_url, opts.token, kind="screen",
                                 name="pigeon screen bot") as client:
            w = client.welcome
            say(f"connected to {opts.backend_url} (model {w.model.id if w else '?'}); watching "
                f"region {region.x},{region.y},{region.width}x{region.height}")
            session = uuid.uuid4().hex[:8]
            det = RoundDetector()
            played = 0
            while not opts.rounds or played < opts.rounds:
                frame = grab.frame(region)
                if det.feed(frame) == "round":
                    views = await capture_views(grab, region, frame, turner, opts, say)
                    det.rebase(grab.frame(region))
                    played += 1
                    msg = Round(round_id=f"screen-{session}:{played}", source="screen",
                                mode="unknown", map=opts.map_name, views=tuple(views),
                                game_id=f"screen-{session}", round_number=played)
                    guess = await client.guess(msg)
                    line = describe_guess(played, guess, len(views))
                    say(line)
                    if window is not None:
                        window.show(line.replace("  ", "\n"))
                if window is not None:
                    window.pump()
                await asyncio.sleep(opts.interval_s)
            return played
    finally:
        grab.close()
        if window is not None:
            window.close()
