"""Benchmark the extension: capture time of the views and round start → guess/pin placed, in
the arena and on the geoguessr.com mock (tests/geoguessr_site).

Real parts end to end: headless Debian Chromium with the real extension, a real backend
(``backend.server`` on a tiny random-init bundle, CPU), and the arena in-process or the
geoguessr.com mock (HTTPS, its own thread). Auto mode with no human delay (0 ms).

Arena modes (duels against an opponent that never guesses):
- capture_ms: hiding the UI, turning to each heading, waiting for the settled frame and
  ``captureVisibleTab`` for every view (Chrome allows about 2 captures per second);
- start_to_placed_ms (server): from the round opening on the arena server to the guess
  arriving there — the figure the goal (<= 1500 ms) is about;
- start_to_placed_ms (extension): from the extension noticing the round to placing the guess.

geoguessr.com mock modes (duels, the opponent never guesses; 4 views; games are played until
enough rounds are collected, each game in a fresh browser):
- gg-page: setPov to 4 headings, each settled (no new frame or tile for 100 ms), the view read
  from the panorama's own canvas in the page (the 2026 path);
- gg-tab: the same turning, each view by ``captureVisibleTab`` with the UI hidden (the old
  capture path; the old arrow-key turning cannot turn the 2026 panorama at all);
- start_to_pin_ms (server): from the round's start time on the mock's gs2 node to the pin
  arriving there (``onPlacedPin``) — goal <= 1000 ms median.

Usage::

    python benchmarks/bench_extension.py [--rounds 8] [--modes 4grid 4turn 1 gg-page gg-tab]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

GOAL_MS = 1500.0
GG_GOAL_MS = 1000.0


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))]


async def run_duel(session, arena, rounds: int, views: int) -> dict:
    from bot.arena.opponents import ScriptedPlayer
    from bot.arena.rules import DuelRules

    live, me, token = arena.call(lambda: arena.hub.create_game(
        DuelRules(countdown_s=0.2, round_time_s=60, max_rounds=rounds), name="bot",
        opponent=ScriptedPlayer([None]), seed=11))
    page = await session.context.new_page()
    await page.goto(f"{arena.url}play/{live.game.id}?t={token}")
    await page.wait_for_function("document.body.dataset.phase === 'finished'",
                                 timeout=rounds * 30_000, polling=200)
    hist = json.loads(await page.evaluate(
        "document.querySelector('pigeon-bot-overlay').dataset.timingsHistory || '[]'"))
    await page.close()
    server = [1000 * r.guesses[me.id].seconds for r in live.game.rounds
              if not r.guesses[me.id].timed_out]
    return {"hist": hist, "server": server, "timed_out": sum(
        r.guesses[me.id].timed_out for r in live.game.rounds)}


async def run_geoguessr(predictor_url: str, token: str, capture: str, rounds: int, tmp: Path) -> dict:
    """Duels on the geoguessr.com mock until ``rounds`` rounds were played: start → pin (server)."""
    from bot.browser import extension_browser
    from tests.geoguessr_site import MockGeoGuessr, Timing

    timing = Timing(countdown_s=1.0, result_s=1.0, after_first_guess_s=0.5, tile_stream_s=0.6)
    start_to_pin, hist, games = [], [], 0
    while len(start_to_pin) < rounds and games < 3 * rounds:
        games += 1
        site = MockGeoGuessr(mode="duels", rounds=min(30, rounds), opponent="never", timing=timing,
                             workdir=tmp / f"gg-{capture}-{games}", seed=f"bench-{capture}-{games}")
        with site:
            async with extension_browser(extra_args=site.chromium_args) as s:
                await s.context.add_cookies(site.cookies)
                await s.pair(predictor_url, token, mode="auto", delay_ms=(0, 0), views=4, capture=capture)
                await s.wait_connected()
                page = await s.context.new_page()
                await page.goto(site.url)
                deadline = time.monotonic() + 40 * rounds
                while time.monotonic() < deadline and not site.finished:
                    await asyncio.sleep(0.3)
                hist += json.loads(await page.evaluate(
                    "document.querySelector('pigeon-bot-overlay')?.dataset.timingsHistory || '[]'"))
            duel = site.rt.duel
            starts = site.server.call(lambda d=duel: [(r.number, r.start) for r in d.game.rounds])
            pins = sorted(r["t"] for r in site.requests() if r["method"] == "POST" and r["own"]
                          and r["path"].endswith("/pin"))
            for i, (_, t0) in enumerate(starts):
                t1 = starts[i + 1][1] if i + 1 < len(starts) else float("inf")
                first = next((t for t in pins if t0 <= t < t1), None)
                if first is not None:
                    start_to_pin.append(1000 * (first - t0))
    return {"hist": hist, "server": start_to_pin, "games": games}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--modes", nargs="*", default=["4grid", "4turn", "1", "gg-page", "gg-tab"],
                    help="4grid: the arena's 2x2 layout, one capture; 4turn: turn and capture "
                    "4 times; 1: one view; gg-page / gg-tab: duels on the geoguessr.com mock, "
                    "views from the panorama canvas / by tab capture")
    args = ap.parse_args(argv)

    from backend.model.bundle import load_bundle, make_tiny_bundle
    from backend.predict.predictor import Predictor
    from backend.server import run_server_in_thread
    from bot.arena.launch import start_arena
    from bot.arena.sample_dataset import write_sample_dataset
    from bot.browser import extension_browser, find_chromium
    from tests.predict_fixtures import box_geocells

    tmp = Path(tempfile.mkdtemp(prefix="bench-ext-"))
    data = write_sample_dataset(tmp / "data", n=12, size=256)
    predictor = Predictor(load_bundle(make_tiny_bundle(tmp / "bundle", box_geocells())), geo=None)
    print("bench_extension: headless Chromium + real extension + backend (tiny bundle, CPU) + "
          "the arena in-process / the geoguessr.com mock (tests/geoguessr_site)")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{platform.platform()}; chromium {find_chromium()}")
    with run_server_in_thread(predictor, port=0, db_path=None) as srv, \
            start_arena(data, log_dir=tmp / "logs") as arena:
        async def go() -> dict:
            out = {}
            arena_modes = [m for m in args.modes if not m.startswith("gg-")]
            if arena_modes:
                async with extension_browser() as s:
                    for m in arena_modes:
                        views = 1 if m == "1" else 4
                        await s.pair(srv.url, srv.token, mode="auto", delay_ms=(0, 0), views=views,
                                     grid_capture=(m == "4grid"))
                        await s.wait_connected()
                        out[m] = await run_duel(s, arena, args.rounds, views)
            for m in [m for m in args.modes if m.startswith("gg-")]:   # one after the other, same run
                out[m] = await run_geoguessr(srv.url, srv.token, m.removeprefix("gg-"), args.rounds, tmp)
            return out
        t0 = time.perf_counter()
        results = asyncio.run(go())
        wall = time.perf_counter() - t0
    for v, res in results.items():
        hist = res["hist"]
        cap = [h["captureMs"] for h in hist if "captureMs" in h]
        ext = [h["placedMs"] for h in hist if "placedMs" in h]
        srv_ms = res["server"]
        if v.startswith("gg-"):
            print(f"\nmode {v} (geoguessr.com mock, duels): {len(srv_ms)} rounds in {res['games']} games")
        else:
            print(f"\nmode {v}: {len(hist)} rounds, {res['timed_out']} timed out")
        if cap:
            print(f"  capture_ms                  median {statistics.median(cap):7.0f}   "
                  f"p90 {pct(cap, 0.9):7.0f}   (all views, incl. turning/layout and settling)")
        if ext:
            print(f"  start_to_placed_ms (ext)    median {statistics.median(ext):7.0f}   "
                  f"p90 {pct(ext, 0.9):7.0f}")
        if srv_ms:
            med = statistics.median(srv_ms)
            goal, what = (GG_GOAL_MS, "start_to_pin_ms (server)   ") if v.startswith("gg-") else \
                (GOAL_MS, "start_to_placed_ms (server)")
            print(f"  {what} median {med:7.0f}   p90 {pct(srv_ms, 0.9):7.0f}"
                  f"   goal <= {goal:.0f}: {'met' if med <= goal else 'NOT met'}")
        settles = [x for h in hist for x in h.get("settles", [])]
        if settles:
            waits = [int(x.split(":")[1]) for x in settles]
            kinds = {k: sum(x.startswith(k) for x in settles) for k in ("quiet", "cap", "fixed")}
            print(f"  settle per view (ms)        median {statistics.median(waits):7.0f}   "
                  f"p90 {pct(waits, 0.9):7.0f}   {kinds}")
    print(f"\nwall time {wall:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
