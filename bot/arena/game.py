"""The arena's game engine: rounds, guesses, scores, duel HP, timeouts — no I/O, no clock.

Every method takes ``now`` (seconds, any monotonic origin), so tests drive time by hand and
scripted players are just callers of :meth:`Game.guess`. Each change appends an event dict
to the list it returns (``round_started``, ``guess``, ``round_ended``, ``game_ended``); the
web app writes them to the game log as they happen, so nothing is lost if the server stops.

Lifecycle: ``lobby`` (seats filling) → ``guessing`` → ``result`` → ``guessing`` ... →
``finished``. A round ends when every player guessed or its deadline passed (players without
a guess are recorded as timed out, 0 points). The result phase ends when every connected
human player called :meth:`Game.ready` (scripted and departed players are always ready) or
after ``result_timeout_s``.

Usage::

    g = Game("g1", DuelRules(), locations, seed=0)
    a = g.add_player("ana", kind="human", now=0.0)
    b = g.add_player("bot", kind="scripted", now=0.0)  # the second seat starts round 1
    g.guess(a.id, 48.85, 2.35, now=3.0)
    g.tick(now=20.0)          # b timed out after the 15 s countdown
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from backend.core.geodesy import CoordinateError, haversine_km, validate_latlng
from backend.core.scoring import geoguessr_points
from bot.arena.dataset import Location
from bot.arena.rules import ClassicRules, DuelRules, Rules

PLAYER_KINDS = ("human", "scripted")
Event = dict[str, Any]


class GameError(ValueError):
    """A move that the rules do not allow now (wrong phase, a second guess, unknown player)."""


@dataclass
class Player:
    """A seat in a game. ``kind``: ``human`` (a browser) or ``scripted`` (a program)."""

    id: str
    name: str
    kind: str
    hp: int = 0
    total_score: int = 0
    connected: bool = True

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "kind": self.kind, "hp": self.hp,
                "total_score": self.total_score, "connected": self.connected}


@dataclass
class Guess:
    """One player's answer in one round; ``timed_out`` guesses have no position and 0 points."""

    player_id: str
    lat: float | None
    lng: float | None
    seconds: float
    timed_out: bool = False
    distance_km: float | None = None
    score: int = 0


@dataclass
class Round:
    """One round: its location, clock, guesses and (once ended) damage."""

    number: int
    location: Location
    started_at: float
    multiplier: float = 1.0
    guesses: dict[str, Guess] = field(default_factory=dict)
    first_guess_at: float | None = None
    ended_at: float | None = None
    damage: dict[str, int] = field(default_factory=dict)
    ready: set[str] = field(default_factory=set)

    def result(self, players: list[Player]) -> dict[str, Any]:
        """The round's outcome, truth included (only for players allowed to see it)."""
        return {
            "round": self.number,
            "truth": {"lat": self.location.lat, "lng": self.location.lng,
                      "location_id": self.location.id},
            "multiplier": self.multiplier,
            "guesses": [
                {"player_id": pid, "lat": g.lat, "lng": g.lng, "timed_out": g.timed_out,
                 "distance_km": g.distance_km, "score": g.score, "seconds": round(g.seconds, 3),
                 "damage": self.damage.get(pid, 0)}
                for pid, g in self.guesses.items()],
            "hp": {p.id: p.hp for p in players},
        }


class Game:
    """One game between 1+ players (classic) or exactly 2 (duel) on a list of locations.

    Args:
        game_id: the game's id (used in URLs and logs).
        rules: :class:`ClassicRules` or :class:`DuelRules` (validated here).
        locations: the pool to draw rounds from (drawn without replacement while it lasts).
        seed: seed of the location draw.
        seats: how many players the game waits for (duel: 2; classic: default 1).
        result_timeout_s: the result phase ends by itself after this long.
    """

    def __init__(self, game_id: str, rules: Rules, locations: list[Location], *, seed: int = 0,
                 seats: int | None = None, result_timeout_s: float = 60.0) -> None:
        if not locations:
            raise GameError("a game needs at least one location")
        self.id = game_id
        self.rules = rules.check()
        self.seats = 2 if isinstance(rules, DuelRules) else (seats or 1)
        if isinstance(rules, DuelRules) and seats not in (None, 2):
            raise GameError("a duel has exactly 2 players")
        if self.seats < 1:
            raise GameError("a game needs at least one seat")
        self.result_timeout_s = result_timeout_s
        self.seed = seed
        self._rng = random.Random(seed)
        self._pool = list(locations)
        self._order: list[Location] = []
        self.players: list[Player] = []
        self.rounds: list[Round] = []
        self.phase = "lobby"
        self.result_started_at: float | None = None
        self.winner: str | None = None
        self.outbox: list[Event] = []

    # ---------------------------------------------------------------- players
    def add_player(self, name: str, *, kind: str, now: float, player_id: str | None = None
                   ) -> Player:
        """Take a seat; the last seat starts round 1. Raises GameError when full or bad kind."""
        if kind not in PLAYER_KINDS:
            raise GameError(f"unknown player kind {kind!r}; use one of {PLAYER_KINDS}")
        if self.phase != "lobby" or len(self.players) >= self.seats:
            raise GameError("this game is full or has started; create a new game")
        pid = player_id or f"p{len(self.players) + 1}"
        if any(p.id == pid for p in self.players):
            raise GameError(f"player id {pid!r} is taken")
        hp = self.rules.start_hp if isinstance(self.rules, DuelRules) else 0
        player = Player(pid, str(name)[:40] or pid, kind, hp=hp)
        self.players.append(player)
        self.outbox.append({"event": "player_joined", "game": self.id, "t": now,
                            **player.public()})
        if len(self.players) == self.seats:
            self.outbox.extend(self._start_round(now))
        return player

    def drain(self) -> list[Event]:
        """Every event since the last drain (for the game log), oldest first."""
        out, self.outbox = self.outbox, []
        return out

    def player(self, player_id: str) -> Player:
        for p in self.players:
            if p.id == player_id:
                return p
        raise GameError(f"no player {player_id!r} in game {self.id}")

    # ---------------------------------------------------------------- rounds
    @property
    def current(self) -> Round | None:
        return self.rounds[-1] if self.rounds else None

    def _next_location(self) -> Location:
        if not self._order:
            self._order = list(self._pool)
            self._rng.shuffle(self._order)
        return self._order.pop()

    def _start_round(self, now: float) -> list[Event]:
        n = len(self.rounds) + 1
        mult = self.rules.multiplier(n) if isinstance(self.rules, DuelRules) else 1.0
        rnd = Round(n, self._next_location(), started_at=now, multiplier=mult)
        self.rounds.append(rnd)
        self.phase = "guessing"
        self.result_started_at = None
        return [{"event": "round_started", "game": self.id, "round": n, "t": now,
                 "multiplier": mult, "location_id": rnd.location.id}]

    def deadline(self) -> float | None:
        """When the current round ends by itself (None: no limit), in ``now`` units."""
        rnd = self.current
        if rnd is None or self.phase != "guessing":
            return None
        ends: list[float] = []
        if self.rules.round_time_s > 0:
            ends.append(rnd.started_at + self.rules.round_time_s)
        if rnd.first_guess_at is not None and self.rules.countdown_s > 0:
            ends.append(rnd.first_guess_at + self.rules.countdown_s)
        return min(ends) if ends else None

    def _guess(self, player_id: str, lat: Any, lng: Any, *, now: float,
              round_number: int | None = None) -> list[Event]:
        """Record a guess. Returns the events it caused (a round may end).

        Raises:
            GameError: not guessing now, wrong round number, a second guess, unknown player,
                or coordinates out of range.
        """
        events: list[Event] = []
        player = self.player(player_id)
        rnd = self.current
        if self.phase != "guessing" or rnd is None:
            raise GameError(f"no round is open for guesses (game is {self.phase})")
        if round_number is not None and round_number != rnd.number:
            raise GameError(f"round {round_number} is not open; the current round is {rnd.number}")
        if player.id in rnd.guesses:
            raise GameError(f"{player.name} already guessed in round {rnd.number}")
        try:
            la, lo = validate_latlng(lat, lng)
        except CoordinateError as exc:
            raise GameError(str(exc)) from None
        d = float(haversine_km(la, lo, rnd.location.lat, rnd.location.lng))
        g = Guess(player.id, float(la), float(lo), now - rnd.started_at, distance_km=d,
                  score=int(geoguessr_points(d)))
        rnd.guesses[player.id] = g
        if rnd.first_guess_at is None:
            rnd.first_guess_at = now
        events.append({"event": "guess", "game": self.id, "round": rnd.number,
                       "player": player.id, "lat": g.lat, "lng": g.lng, "t": now,
                       "seconds": round(g.seconds, 3)})
        if len(rnd.guesses) == len(self.players):
            events += self._end_round(now)
        return events

    def _end_round(self, now: float) -> list[Event]:
        rnd = self.current
        assert rnd is not None
        for p in self.players:
            if p.id not in rnd.guesses:
                rnd.guesses[p.id] = Guess(p.id, None, None, now - rnd.started_at, timed_out=True)
        rnd.ended_at = now
        for p in self.players:
            p.total_score += rnd.guesses[p.id].score
        if isinstance(self.rules, DuelRules):
            a, b = self.players
            sa, sb = rnd.guesses[a.id].score, rnd.guesses[b.id].score
            dmg = self.rules.damage(sa, sb, round_number=rnd.number)
            loser = a if sa < sb else b if sb < sa else None
            if loser is not None:
                dealt = min(dmg, loser.hp)
                loser.hp -= dealt
                rnd.damage[loser.id] = dealt
        self.phase = "result"
        self.result_started_at = now
        rnd.ready = {p.id for p in self.players if p.kind != "human" or not p.connected}
        events: list[Event] = [{"event": "round_ended", "game": self.id, "t": now,
                                **rnd.result(self.players)}]
        if self._is_over():
            events += self._finish(now)
        elif len(rnd.ready) == len(self.players):   # nobody to wait for on the result screen
            events += self._start_round(now)
        return events

    def _is_over(self) -> bool:
        if isinstance(self.rules, DuelRules):
            return any(p.hp <= 0 for p in self.players) or len(self.rounds) >= self.rules.max_rounds
        assert isinstance(self.rules, ClassicRules)
        return len(self.rounds) >= self.rules.rounds

    def _finish(self, now: float) -> list[Event]:
        self.phase = "finished"
        key = (lambda p: p.hp) if isinstance(self.rules, DuelRules) else (lambda p: p.total_score)
        best = max(key(p) for p in self.players)
        top = [p for p in self.players if key(p) == best]
        self.winner = top[0].id if len(top) == 1 else None
        return [{"event": "game_ended", "game": self.id, "t": now, "winner": self.winner,
                 "players": [p.public() for p in self.players], "rounds": len(self.rounds)}]

    def _ready(self, player_id: str, *, now: float) -> list[Event]:
        """A player has seen the round result and wants the next round."""
        events: list[Event] = []
        self.player(player_id)
        rnd = self.current
        if self.phase == "result" and rnd is not None:
            rnd.ready.add(player_id)
            if len(rnd.ready) == len(self.players):
                events += self._start_round(now)
        return events

    def _leave(self, player_id: str, *, now: float) -> list[Event]:
        """A player closed the page: no longer waited for; its open round times out."""
        p = self.player(player_id)
        events: list[Event] = []
        if p.connected:
            p.connected = False
            events.append({"event": "player_left", "game": self.id, "player": p.id, "t": now,
                           "round": self.current.number if self.current else 0})
        if self.phase == "result":
            events += self._ready(player_id, now=now)
        return events

    def rejoin(self, player_id: str) -> None:
        """A player's page is back (a reload): it is waited for again."""
        self.player(player_id).connected = True

    def _tick(self, now: float) -> list[Event]:
        """Apply the clock: end rounds past their deadline, leave stale result screens."""
        events: list[Event] = []
        if self.phase == "guessing":
            dl = self.deadline()
            if dl is not None and now >= dl:
                events += self._end_round(dl)
        if self.phase == "result" and self.result_started_at is not None \
                and now >= self.result_started_at + self.result_timeout_s:
            events += self._start_round(now)
        return events

    # ---------------------------------------------------------------- public moves
    def guess(self, player_id: str, lat: Any, lng: Any, *, now: float,
              round_number: int | None = None) -> list[Event]:
        """Record a guess. Returns the events it caused (a round may end).

        Raises:
            GameError: not guessing now, wrong round number, a second guess, unknown player,
                or coordinates out of range.
        """
        events = self.tick(now)
        return events + self._record(self._guess(player_id, lat, lng, now=now, round_number=round_number))

    def ready(self, player_id: str, *, now: float) -> list[Event]:
        """A player has seen the round result and wants the next round."""
        events = self.tick(now)
        return events + self._record(self._ready(player_id, now=now))

    def leave(self, player_id: str, *, now: float) -> list[Event]:
        """A player closed the page: no longer waited for; its open round times out."""
        events = self.tick(now)
        return events + self._record(self._leave(player_id, now=now))

    def tick(self, now: float) -> list[Event]:
        """Apply the clock: end rounds past their deadline, leave stale result screens."""
        return self._record(self._tick(now))

    def _record(self, events: list[Event]) -> list[Event]:
        self.outbox.extend(events)
        return events

    # ---------------------------------------------------------------- views
    def state_for(self, player_id: str | None, *, now: float) -> dict[str, Any]:
        """What a player may see now: no truth, no distance, no score of the open round."""
        rnd = self.current
        dl = self.deadline()
        out: dict[str, Any] = {
            "game_id": self.id, "mode": self.rules.mode, "rules": self.rules.to_dict(),
            "phase": self.phase, "seats": self.seats, "you": player_id,
            "players": [p.public() for p in self.players], "winner": self.winner,
            "round": None,
        }
        if rnd is not None:
            out["round"] = {
                "number": rnd.number, "multiplier": rnd.multiplier,
                "views": len(rnd.location.images),
                "elapsed_s": round(now - rnd.started_at, 3),
                "time_left_s": None if dl is None else round(max(0.0, dl - now), 3),
                "guessed": sorted(rnd.guesses) if self.phase == "guessing" else
                [p.id for p in self.players],
                "ended": rnd.ended_at is not None,
            }
        return out

    def result_for(self, player_id: str, round_number: int) -> dict[str, Any]:
        """The result (with truth) of an ended round. Raises GameError while it is open."""
        self.player(player_id)
        if not 1 <= round_number <= len(self.rounds):
            raise GameError(f"round {round_number} has not been played")
        rnd = self.rounds[round_number - 1]
        if rnd.ended_at is None:
            raise GameError(f"round {round_number} is still open; its result comes after it ends")
        return rnd.result(self.players)
