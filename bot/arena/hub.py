"""The arena's live state: games, their logs, and the server-side opponents that play them.

The hub is the asyncio shell around :mod:`bot.arena.game`: it feeds the engine the clock,
writes every engine event to the game's log (one JSON line each, flushed at once, so a crash
loses nothing already played), and runs the scripted opponents as tasks. All engine calls
happen on the event loop, so no lock is needed.

Game log format (``pigeon-arena-log/1``): the first line is ``{"event": "game_created",
"format": ..., "rules": ..., "dataset": ..., "opponent": ...}``, then the engine's events.

Usage::

    hub = ArenaHub(dataset, log_dir=Path("arena-logs"))
    await hub.start()
    game, player, token = hub.create_game("duel", opponent=ConstantGuessPlayer(0, 0))
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bot.arena.dataset import ArenaDataset
from bot.arena.game import Event, Game, GameError, Player
from bot.arena.opponents import Opponent, RoundContext
from bot.arena.rules import Rules

LOG_FORMAT = "pigeon-arena-log/1"
MAX_GAMES = 200
EVICT_IDLE_S = 60.0
"""When the arena is full, a game nobody has called for this long makes room for a new one."""
IDLE_TTL_S = 3600.0
"""A game nobody has called for this long is dropped (its log stays on disk)."""
log = logging.getLogger("pigeon.arena")


@dataclass
class LiveGame:
    """A game plus what the hub needs around it."""

    game: Game
    log_file: TextIO | None
    tokens: dict[str, str] = field(default_factory=dict)          # token -> player id
    opponents: dict[str, Opponent] = field(default_factory=dict)  # player id -> opponent
    tasks: set[asyncio.Task] = field(default_factory=set)
    opponent_errors: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    last_active: float = 0.0      # hub clock of the last call a player made about this game


class UnknownGame(GameError):
    """No game with that id (never created, or the arena restarted)."""


class ArenaHub:
    """All games of one arena server.

    Args:
        dataset: the playable locations.
        log_dir: where each game's ``<id>.jsonl`` log goes (None: no logs, tests only).
        clock: seconds, monotonic (tests may pass a fake).
        tick_s: how often the clock is applied to open games.
    """

    def __init__(self, dataset: ArenaDataset, *, log_dir: Path | None = None,
                 clock: Callable[[], float] = time.monotonic, tick_s: float = 0.1,
                 result_timeout_s: float = 60.0) -> None:
        self.dataset = dataset
        self.log_dir = log_dir
        self.clock = clock
        self.tick_s = tick_s
        self.result_timeout_s = result_timeout_s
        self.games: dict[str, LiveGame] = {}
        self._ticker: asyncio.Task | None = None
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)

    async def start(self) -> None:
        self._ticker = asyncio.create_task(self._tick_forever())

    async def stop(self) -> None:
        if self._ticker:
            self._ticker.cancel()
        for live in self.games.values():
            for t in list(live.tasks):
                t.cancel()
            for opp in live.opponents.values():
                try:
                    await opp.close()
                except Exception:  # noqa: BLE001, S110 - a dead socket must not stop the shutdown
                    pass
            if live.log_file:
                live.log_file.close()

    async def _tick_forever(self) -> None:
        last_sweep = self.clock()
        while True:
            await asyncio.sleep(self.tick_s)
            for live in list(self.games.values()):
                if live.game.phase != "finished":
                    live.game.tick(self.clock())
                    self.flush(live)
            if self.clock() - last_sweep > 10.0:
                last_sweep = self.clock()
                for gid in self.idle_games(IDLE_TTL_S):
                    self._drop(gid)

    def idle_games(self, idle_s: float) -> list[str]:
        """Games nobody has called for ``idle_s`` seconds, least recently active first
        (finished games before the rest)."""
        now = self.clock()
        idle = [(lg.game.phase != "finished", lg.last_active, gid)
                for gid, lg in self.games.items() if now - lg.last_active >= idle_s]
        return [gid for *_, gid in sorted(idle)]

    def _make_room(self) -> None:
        """At :data:`MAX_GAMES`: drop a finished game, else one idle for EVICT_IDLE_S.

        Raises:
            GameError: every game is in play.
        """
        done = [gid for gid, lg in self.games.items() if lg.game.phase == "finished"]
        victims = done or self.idle_games(EVICT_IDLE_S)
        if not victims:
            raise GameError(f"the arena already runs {MAX_GAMES} games that are being played; "
                            f"try again in {EVICT_IDLE_S:.0f} s")
        log.info("arena full: dropping game %s to make room", victims[0])
        self._drop(victims[0])

    # ---------------------------------------------------------------- games and players
    def create_game(self, rules: Rules, *, name: str = "player", opponent: Opponent | None = None,
                    seats: int | None = None, seed: int | None = None,
                    extra: dict[str, Any] | None = None) -> tuple[LiveGame, Player, str]:
        """A new game with the caller seated first; ``opponent`` (if any) takes seat 2.

        Returns:
            ``(live game, the caller's player, the caller's secret token)``.
        Raises:
            GameError: too many games or bad rules.
        """
        if len(self.games) >= MAX_GAMES:
            self._make_room()
        gid = secrets.token_hex(4)
        seed = secrets.randbelow(2**31) if seed is None else seed
        if opponent is not None and seats is None:
            seats = 2
        game = Game(gid, rules, self.dataset.locations, seed=seed, seats=seats,
                    result_timeout_s=self.result_timeout_s)
        fh = None
        if self.log_dir is not None:
            fh = (self.log_dir / f"{gid}.jsonl").open("a", encoding="utf-8")
        live = LiveGame(game, fh, extra=dict(extra or {}), last_active=self.clock())
        self.games[gid] = live
        self._write(live, {"event": "game_created", "format": LOG_FORMAT, "game": gid,
                           "wall_time": time.time(), "rules": rules.to_dict(), "seed": seed,
                           "dataset": str(self.dataset.path), "locations": len(self.dataset),
                           "opponent": opponent.describe() if opponent else None,
                           **live.extra})
        player, token = self.join(gid, name, kind="human")
        if opponent is not None:
            self.add_opponent(gid, opponent)
        return live, player, token

    def join(self, game_id: str, name: str, *, kind: str = "human") -> tuple[Player, str]:
        """Seat a player; returns it and its secret token. Raises GameError (full, unknown)."""
        live = self.live(game_id)
        player = live.game.add_player(name, kind=kind, now=self.clock())
        token = secrets.token_urlsafe(12)
        live.tokens[token] = player.id
        self.flush(live)
        return player, token

    def add_opponent(self, game_id: str, opponent: Opponent) -> Player:
        live = self.live(game_id)
        player, _ = self.join(game_id, opponent.name, kind="scripted")
        live.opponents[player.id] = opponent
        # the seat may have started round 1 before the opponent was registered
        if live.game.phase == "guessing" and live.game.current is not None:
            self._schedule(live, player.id, opponent)
        return player

    def live(self, game_id: str) -> LiveGame:
        try:
            return self.games[game_id]
        except KeyError:
            raise UnknownGame(f"no game {game_id!r} on this arena (games end when it restarts)"
                            ) from None

    def player_of(self, live: LiveGame, token: str | None) -> str:
        """The player id a token belongs to. Raises PermissionError."""
        if not token or token not in live.tokens:
            raise PermissionError("missing or wrong player token for this game")
        return live.tokens[token]

    def _drop(self, game_id: str) -> None:
        live = self.games.pop(game_id)
        for task in list(live.tasks):
            task.cancel()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:     # called outside the arena's loop (tests): nothing to close
            loop = None
        for opp in live.opponents.values() if loop is not None else ():
            loop.create_task(opp.close())        # e.g. a bot's backend connection
        if live.log_file:
            live.log_file.close()

    # ---------------------------------------------------------------- events
    def _write(self, live: LiveGame, event: Event) -> None:
        if live.log_file is not None:
            live.log_file.write(json.dumps(event, default=str) + "\n")
            live.log_file.flush()

    def flush(self, live: LiveGame) -> list[Event]:
        """Log the engine's new events and react to them (start opponents, report results)."""
        events = live.game.drain()
        for ev in events:
            self._write(live, ev)
            if ev["event"] == "round_started":
                for pid, opp in live.opponents.items():
                    self._schedule(live, pid, opp)
            elif ev["event"] == "round_ended":
                for pid, opp in live.opponents.items():
                    ctx = self._context(live, ev["round"], opp)
                    self._spawn(live, opp.round_ended(ctx, ev, pid), f"result {pid}")
            elif ev["event"] == "game_ended" and live.log_file is not None:
                live.log_file.flush()
        return events

    def _context(self, live: LiveGame, round_number: int, opp: Opponent) -> RoundContext:
        loc = live.game.rounds[round_number - 1].location
        views = [p.read_bytes() for p in loc.images if p.is_file()]
        return RoundContext(live.game.id, round_number, live.game.rules.mode, views,
                            location_id=loc.id if getattr(opp, "needs_location_id", False)
                            else None)

    def _schedule(self, live: LiveGame, pid: str, opp: Opponent) -> None:
        rnd = live.game.current
        assert rnd is not None
        if pid in rnd.guesses:
            return

        async def play() -> None:
            ctx = self._context(live, rnd.number, opp)
            t0 = time.perf_counter()
            guess = await opp.play_round(ctx)
            if guess is None:
                return
            game = live.game
            if game.phase != "guessing" or game.current is not rnd:
                live.opponent_errors.append(f"round {rnd.number}: {opp.name} answered after "
                                            f"the round ended ({time.perf_counter() - t0:.1f} s)")
                return
            game.guess(pid, guess[0], guess[1], now=self.clock(), round_number=rnd.number)
            self.flush(live)

        self._spawn(live, play(), f"round {rnd.number} {pid}")

    def _spawn(self, live: LiveGame, coro: Any, what: str) -> None:
        task = asyncio.create_task(coro)
        live.tasks.add(task)

        def done(t: asyncio.Task) -> None:
            live.tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                msg = f"{what}: {type(t.exception()).__name__}: {t.exception()}"
                log.warning("opponent failed in game %s: %s", live.game.id, msg)
                live.opponent_errors.append(msg)
                self._write(live, {"event": "opponent_error", "game": live.game.id,
                                   "t": self.clock(), "message": msg})

        task.add_done_callback(done)
