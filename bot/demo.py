"""``pigeon demo``: the main job end to end, on the bundled demo model.

Starts the backend (``pigeon serve``) on the demo bundle, the arena on held-out SynthWorld
places, and Chromium with the real extension loaded and paired (a window when a display
exists, headless otherwise); the extension plays a whole duel in auto mode against a
built-in opponent — a recorded person when the arena's logs hold one for these places,
else the documented baseline (a constant-guess player at the places' spherical mean).
Each round is printed as it ends (guess, truth, distance, score, projected score, latency),
then the final HP; the figures are checked against the score log, a score report is
written, and everything stops cleanly (Ctrl-C too).

Usage::

    make demo                 # installs, then runs this
    pigeon demo --window      # force a browser window (needs a display)
    pigeon demo --out runs/demo --opponent baseline
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backend.cliutil import UserError, add_command, positive_float
from backend.core.geodesy import haversine_km

REPO = Path(__file__).resolve().parent.parent
DEMO_BUNDLE = REPO / "bundles" / "demo"
FIRST_RUN_NOTE = ("first run: `make demo` installs torch and builds the geographic data "
                  "(several minutes); later runs start in about 20 seconds")
"""Printed only when ``--out`` holds no score log yet (the demo's first run there)."""


class Steps:
    """Numbered progress lines with the time since the demo started."""

    def __init__(self, total: int, say: Callable[[str], None] = print) -> None:
        self.total, self.n, self.t0, self.say = total, 0, time.monotonic(), say

    def __call__(self, what: str) -> None:
        self.n += 1
        self.say(f"[{self.n}/{self.total} {time.monotonic() - self.t0:5.1f}s] {what}")


def find_places(bundle: Path, override: Path | None) -> Path:
    """The held-out places the arena plays: ``--places`` or the bundle's ``arena_places``."""
    if override is not None:
        if not override.exists():
            raise UserError(f"--places {override} does not exist")
        return override
    for cand in (bundle / "arena_places" / "data.csv", bundle / "arena_places"):
        if cand.exists():
            return cand
    raise UserError(f"the bundle {bundle} has no arena_places/: retrain it with "
                    "`pigeon synthworld train-demo`, or pass --places DATASET.csv")


def ensure_bundle(bundle: Path, steps: Steps) -> Path:
    if (bundle / "bundle.json").exists():
        return bundle
    if bundle != DEMO_BUNDLE:
        raise UserError(f"no model bundle at {bundle} (bundle.json missing)")
    steps("the demo bundle is missing: training it now with `pigeon synthworld train-demo` "
          "(about 15 minutes on 2 cores)")
    from bot.cli import main as pigeon_main

    if pigeon_main(["synthworld", "train-demo", "--out", str(bundle)]) != 0:
        raise UserError("training the demo bundle failed (see above)")
    return bundle


def has_recorded_person(log_dir: Path) -> bool:
    """Whether the arena's game logs hold a person's guesses that a replay could use."""
    from bot.arena.opponents import ReplayPlayer

    logs = sorted(log_dir.glob("*.jsonl")) if log_dir.is_dir() else []
    if not logs:
        return False
    try:
        ReplayPlayer.from_logs(logs)
    except ValueError:
        return False
    return True


def score_log_rounds(db: Path, game_id: str) -> dict[int, dict[str, Any]]:
    """The score log's rows of this arena game, by round number (read-only)."""
    if not db.exists():
        return {}
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    try:
        rows = con.execute("SELECT * FROM rounds WHERE game_id = ? ORDER BY id",
                           (game_id,)).fetchall()
    finally:
        con.close()
    out: dict[int, dict[str, Any]] = {}
    for r in rows:
        num = r["round_number"] if r["round_number"] is not None else \
            int(str(r["round_id"]).rsplit(":", 1)[-1])
        out[int(num)] = dict(r)
    return out


def format_round(num: int, mult: float, bot: Any, other: Any, truth: Any,
                 logged: dict[str, Any] | None) -> str:
    proj = f"{logged['projected_score']:.0f}" if logged and logged.get("projected_score") \
        is not None else "?"
    lat_ms = f"{logged['latency_ms']:.0f} ms" if logged and logged.get("latency_ms") \
        is not None else "?"
    if bot is None or bot.timed_out:
        guess = "timed out"
    else:
        guess = f"{bot.lat:8.3f},{bot.lng:9.3f}  {bot.distance_km:8.1f} km  {bot.score:4d} pts"
    opp = "timed out" if other is None or other.timed_out else f"{other.score:4d} pts"
    return (f"round {num} (x{mult:g}): truth {truth.lat:8.3f},{truth.lng:9.3f} | bot {guess} "
            f"| projected {proj} | latency {lat_ms} | opponent {opp}")


def check_against_log(game: Any, bot_id: str, logged: dict[int, dict[str, Any]]) -> list[str]:
    """Compare what the arena scored with what the score log holds; returns the mismatches."""
    problems = []
    for rnd in game.rounds:
        g = rnd.guesses.get(bot_id)
        if g is None or g.timed_out:
            continue
        row = logged.get(rnd.number)
        if row is None:
            problems.append(f"round {rnd.number}: not in the score log")
            continue
        d_pin = float(haversine_km(g.lat, g.lng, row["guess_lat"], row["guess_lng"]))
        if d_pin > 0.01:
            problems.append(f"round {rnd.number}: arena pin and logged guess are {d_pin:.3f} km apart")
        if row.get("score") is None or round(row["score"]) != int(g.score):
            problems.append(f"round {rnd.number}: score {g.score} vs logged {row.get('score')}")
        if row.get("distance_km") is None or abs(row["distance_km"] - g.distance_km) > 0.05:
            problems.append(f"round {rnd.number}: distance {g.distance_km:.2f} vs logged "
                            f"{row.get('distance_km')}")
    return problems


async def play_duel(arena: Any, backend: Any, *, headless: bool, opponent: str, out: Path,
                    db: Path, say: Callable[[str], None], timeout_s: float) -> dict[str, Any]:
    from bot.arena.opponents import BOT_SEAT_NAME
    from bot.browser import create_arena_game, extension_browser

    async with extension_browser(headless=headless) as session:
        await session.pair(backend.url, backend.token, mode="auto", delay_ms=(400, 900))
        await session.wait_connected()
        info = create_arena_game(arena.url, mode="duel", opponent=opponent, name=BOT_SEAT_NAME)
        page = await session.context.new_page()
        await page.goto(arena.url.rstrip("/") + info["play_url"])
        gid, bot_id = info["game_id"], info["player_id"]  # the extension plays this seat
        game = arena.hub.games[gid].game
        printed: set[int] = set()
        shot = False
        deadline = time.monotonic() + timeout_s
        while game.phase != "finished":
            if time.monotonic() > deadline:
                raise UserError(f"the duel did not finish within {timeout_s:.0f} s")
            if not shot and game.rounds and game.rounds[0].guesses.get(bot_id):
                # the bot has guessed: the page shows its pin and the extension's overlay
                await asyncio.sleep(0.8)
                await page.screenshot(path=str(out / "arena.png"))
                shot = True
            await asyncio.sleep(0.3)
            logged = score_log_rounds(db, gid)
            for rnd in game.rounds:
                if rnd.ended_at is not None and rnd.number not in printed:
                    other = next((g for pid, g in rnd.guesses.items() if pid != bot_id), None)
                    say(format_round(rnd.number, rnd.multiplier, rnd.guesses.get(bot_id), other,
                                     rnd.location, logged.get(rnd.number)))
                    printed.add(rnd.number)
        await asyncio.sleep(1.0)  # the extension sends the last result to the backend
        return {"game": game, "game_id": gid, "bot_id": bot_id}


async def until_interrupted(coro: Any) -> Any:
    """Run ``coro``; Ctrl-C cancels it inside the loop, so the browser and Playwright's
    driver are torn down in order, then raises KeyboardInterrupt."""
    task = asyncio.ensure_future(coro)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, task.cancel)

    def quiet_driver_exit(lp: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        # Ctrl-C also stops Playwright's driver process; its pipe's orphaned future is noise
        if "closed while reading from the driver" not in str(context.get("exception")):
            lp.default_exception_handler(context)

    loop.set_exception_handler(quiet_driver_exit)
    try:
        return await task
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None
    finally:
        loop.remove_signal_handler(signal.SIGINT)


def run_demo(args: Any, say: Callable[[str], None] = print) -> int:
    from bot.arena.launch import start_arena, start_backend

    steps = Steps(6, say)
    out = Path(args.out)
    first_run = not (out / "scores.sqlite").exists()
    say(f"pigeon-bot demo ({FIRST_RUN_NOTE})" if first_run else "pigeon-bot demo")
    steps("checking the demo bundle")
    bundle = ensure_bundle(Path(args.bundle), steps)
    places = find_places(bundle, Path(args.places) if args.places else None)
    out.mkdir(parents=True, exist_ok=True)
    db = out / "scores.sqlite"
    logs = out / "arena-logs"
    headless = not args.window and not os.environ.get("DISPLAY")
    opponent = args.opponent
    if opponent == "auto":
        opponent = "replay" if has_recorded_person(logs) else "baseline"
    steps(f"starting the backend on {bundle} (score log {db})")
    with start_backend(bundle, extra_args=["--db", str(db), "--log-level", "warning"]) as backend:
        steps(f"starting the arena on held-out places {places}")
        with start_arena(places, log_dir=logs, baseline_delay_s=1.5) as arena:
            steps(f"launching Chromium with the extension ({'headless' if headless else 'window'})"
                  f"; the bot plays a duel against the {opponent} opponent at {arena.url}")
            res = asyncio.run(until_interrupted(play_duel(
                arena, backend, headless=headless, opponent=opponent, out=out, db=db, say=say,
                timeout_s=args.timeout)))
    game, bot_id = res["game"], res["bot_id"]
    steps("checking the printed figures against the score log")
    logged = score_log_rounds(db, res["game_id"])
    problems = check_against_log(game, bot_id, logged)
    for p in problems:
        say(f"  MISMATCH {p}")
    if not problems:
        say(f"  all {len(logged)} logged rounds match the arena's distances and scores")
    hp = ", ".join(f"{p.name} {p.hp} HP" for p in game.players)
    winner = next((p.name for p in game.players if p.id == game.winner), "nobody")
    say(f"final: {hp}; winner: {winner}")
    steps("writing the score report")
    for path in write_report(db, out, game, res["game_id"], bot_id):
        say(f"  wrote {path}")
    say(f"done: screenshot {out / 'arena.png'}, score log {db}, arena logs {logs}")
    return 1 if problems else 0


def write_report(db: Path, out: Path, game: Any, gid: str, bot_id: str) -> list[Path]:
    """The duel's rounds (``duel.json``) and the score report over the demo's score log.

    The arena seats the extension as a person (it plays through the page); ``duel.json``
    calls that seat what it is: ``"kind": "bot"``.
    """
    from backend.scorelog import ScoreLog
    from bot.reports.scores import build_scores_report, write_scores_report

    players = [{**p.public(), **({"kind": "bot"} if p.id == bot_id else {})}
               for p in game.players]
    duel = {"game_id": gid, "players": players,
            "winner": game.winner, "rounds": [r.result(game.players) for r in game.rounds]}
    (out / "duel.json").write_text(json.dumps(duel, indent=2, default=str))
    with ScoreLog(db, readonly=True) as log:
        report = build_scores_report(log.rounds())
    return [out / "duel.json", *write_scores_report(report, out)]


def _cmd_demo(args: Any) -> int:
    try:
        return run_demo(args)
    except KeyboardInterrupt:
        print("demo interrupted: the backend, arena and browser were stopped", file=sys.stderr)
        return 130


def register(sub: Any) -> None:
    p = add_command(sub, "demo", help="the bot plays a duel in the local arena (the main job)",
                    example="pigeon demo --out runs/demo")
    p.add_argument("--bundle", default=str(DEMO_BUNDLE), help="model bundle (default: demo)")
    p.add_argument("--places", help="dataset of places to play (default: the bundle's "
                                    "arena_places, held out from training)")
    p.add_argument("--out", default="runs/demo", help="score log, logs, report, screenshot")
    p.add_argument("--opponent", choices=("auto", "baseline", "replay"), default="auto",
                   help="auto: a recorded person if the arena logs have one, else baseline")
    p.add_argument("--window", action="store_true", help="show the browser window")
    p.add_argument("--timeout", type=positive_float, default=600.0,
                   help="give up after this many s")
    p.set_defaults(func=_cmd_demo)
