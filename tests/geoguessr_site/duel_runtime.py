"""The live duel behind the gs2 node: starts when the page first joins, runs the round clock,
moves the opponent (and a team-duels teammate), and pushes every `Duel*` message to the game
sockets. Sockets that are not the page's own are trap reads (the state holds the answers).
"""

from __future__ import annotations

import asyncio
import json
import time

from tests.geoguessr_site.duel_state import DuelConfig, DuelGame, iso
from tests.geoguessr_site.rules import DuelRules
from tests.geoguessr_site.runtime import GuessRecord, Runtime

OPPONENT = "6aa2000000000000000000aa"
TEAMMATE = "6aa2000000000000000000bb"
OPPONENT_2 = "6aa2000000000000000000cc"


class DuelRuntime:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        cfg = rt.config
        self.me = cfg.player_id
        team = [(self.me, 0), (OPPONENT, 1)]
        if cfg.mode == "team-duels":
            team += [(TEAMMATE, 0), (OPPONENT_2, 1)]
        self.duel_config = DuelConfig(
            game_id=cfg.game_id, node_id=cfg.node_id, players=team, truths=list(cfg.truths),
            max_rounds=cfg.rounds, rules=DuelRules(time_after_guess_s=cfg.timing.after_first_guess_s),
            countdown_s=cfg.timing.countdown_s, result_s=cfg.timing.result_s, rated=cfg.rated,
            team_duels=cfg.mode == "team-duels", nmpz=cfg.nmpz,
            party_id=cfg.party_id if cfg.mode == "party" else None,
            game_master_id=cfg.user_id if cfg.mode == "party" else None)
        self.game: DuelGame | None = None
        self.sockets: list[tuple[object, bool]] = []      # (websocket, own)
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._timers: list[asyncio.TimerHandle] = []

    # --- lifecycle -------------------------------------------------------------------------
    def ensure_started(self) -> DuelGame:
        if self.game is None:
            self.game = DuelGame(self.duel_config, time.time())
            self._task = asyncio.get_running_loop().create_task(self._clock())
            self._on_events(["DuelStarted"], None)
        return self.game

    def our_guess_at(self, number: int) -> float | None:
        return None if self.game is None else self.game.guessed_at(self.me, number)

    async def _clock(self) -> None:
        while True:
            deadline = self.game.next_deadline()
            timeout = None if deadline is None else max(0.0, deadline - time.time())
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass
            self._wake.clear()
            events = self.game.tick(time.time())
            if events:
                self._on_events(events, None)

    # --- actions ---------------------------------------------------------------------------
    def pin(self, lat: float, lng: float) -> None:
        self._on_events(self.ensure_started().pin(self.me, lat, lng, time.time()), self.me)

    def guess(self, lat: float, lng: float, via: str) -> None:
        g = self.ensure_started()
        n = g.current.number
        try:
            events = g.guess(self.me, lat, lng, time.time())
        except ValueError:
            self.rt.log_guess(GuessRecord(n, lat, lng, time.time(), via, False))
            raise
        self.rt.log_guess(GuessRecord(n, lat, lng, time.time(), via, True))
        if via == "page":
            self.rt.page_guess_rounds.append(n)
        self._on_events(events, self.me)

    def others_guess(self, lat: float | None = None, lng: float | None = None) -> None:
        """Every player but us who has not guessed this round guesses now."""
        g = self.game
        if g is None or g.phase(time.time()) != "guessing":
            return
        r = g.current
        for k, (pid, _team) in enumerate(self.duel_config.players):
            if pid == self.me or g.guessed_at(pid, r.number) is not None or g.status == "Finished":
                continue
            if g.current.processed:
                break
            where = (lat, lng) if lat is not None else (
                max(-85.0, min(85.0, r.truth[0] + 2.0 * (k + 1))), ((r.truth[1] + 3.0 + 180) % 360) - 180)
            self._on_events(g.guess(pid, where[0], where[1], time.time()), pid)

    def force_timeout(self) -> None:
        if self.game is not None:
            self._on_events(self.game.force_timeout(time.time()), None)

    # --- events ----------------------------------------------------------------------------
    def _after(self, at: float, fn) -> None:
        loop = asyncio.get_running_loop()
        self._timers.append(loop.call_later(max(0.0, at - time.time()), fn))

    def _on_events(self, events: list[str], actor: str | None) -> None:
        opp = self.rt.config.opponent
        t = self.rt.config.timing
        for code in events:
            if code in ("DuelStarted", "DuelNewRound") and opp == "first":
                self._after(self.game.current.start + t.opponent_s, self.others_guess)
            if code == "DuelPlayerGuessed" and actor == self.me and opp == "after_us":
                self._after(time.time() + t.opponent_s, self.others_guess)
            self.broadcast(code)
        self._wake.set()

    def message(self, code: str) -> dict:
        return {"code": code, "gameId": self.game.config.game_id,
                "duel": {"state": self.game.state(), "pin": None, "fromPanoId": None,
                         "location": None, "playerId": None},
                "timestamp": iso(time.time())}

    def broadcast(self, code: str) -> None:
        text = json.dumps(self.message(code))
        for ws, own in list(self.sockets):
            if ws.closed:
                self.sockets.remove((ws, own))
                continue
            if not own:
                self.rt.traps.server_read("gs2.ws", self.rounds_held(), time.time(), f"WS {code}")
            asyncio.get_running_loop().create_task(ws.send_str(text))

    def rounds_held(self) -> list[int]:
        return [] if self.game is None else [r.number for r in self.game.rounds]

    def archive(self) -> dict:
        """The legacy game-server copy: stale (Created, version 0) until the game is finished."""
        g = self.ensure_started()
        return g.state() if g.status == "Finished" else g.state(upto_round=1, version=0)
