"""One live duel on the mock gs2 node (sans-I/O): rounds, pins, guesses, the 15 s rule, HP.

The state it serialises has the shape of the captured gs2 messages (rashinban2026-scripts
docs/geoguessr/samples/gs2-ws-DuelStarted.json and presenter-protocol.md): every `Duel*`
message carries the whole state with a growing `version`; a round is announced with a
`startTime` a few seconds ahead; the first guess of a round sets `timerStartTime` and
`endTime = now + roundTime`; at the deadline each player's pin is auto-submitted; when every
player has guessed the round resolves at once (`DuelRoundTimedOut`: `roundResults`, health,
`hasProcessedRoundTimeout`, pins cleared); the next round follows after a pause
(`DuelNewRound`), or the game ends (`DuelFinished`: `status: "Finished"`, `result`).

Time is passed in (epoch seconds); the I/O shell calls `tick(now)` and broadcasts the events.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from tests.geoguessr_site.rules import (
    WORLD_MAX_ERROR_M,
    DuelRules,
    distance_m,
    resolve_round,
    score,
)


def iso(t: float | None) -> str | None:
    """Server-clock timestamp in the captures' format."""
    if t is None:
        return None
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


@dataclass
class Player:
    player_id: str
    team: int
    pin: tuple[float, float] | None = None
    guesses: list[dict] = field(default_factory=list)


@dataclass
class Round:
    number: int
    truth: tuple[float, float]
    pano_id: str
    start: float
    heading: float = 0.0
    timer_start: float | None = None
    end: float | None = None
    processed: bool = False
    multiplier: float = 1.0
    resolved_at: float | None = None


@dataclass
class DuelConfig:
    game_id: str
    node_id: str
    players: list[tuple[str, int]]               # (player id, team 0 blue / 1 red)
    truths: list[tuple[float, float]]
    max_rounds: int
    rules: DuelRules = field(default_factory=DuelRules)
    countdown_s: float = 2.0
    result_s: float = 3.0
    rated: bool = False
    team_duels: bool = False
    nmpz: bool = False
    party_id: str | None = None
    game_master_id: str | None = None


class DuelGame:
    """The duel's authoritative state; every mutating call returns the event codes it caused."""

    def __init__(self, config: DuelConfig, now: float) -> None:
        self.config = config
        self.players = {pid: Player(pid, team) for pid, team in config.players}
        self.health = [config.rules.initial_health] * 2
        self.multipliers = [1.0, 1.0]
        self.round_results: list[list[dict]] = [[], []]
        self.rounds: list[Round] = []
        self.status = "Ongoing"
        self.version = 1
        self.result: dict | None = None
        self._final_result: dict | None = None
        self.next_round_at: float | None = None
        self.finish_at: float | None = None
        self._announce(1, now)

    # --- queries ---------------------------------------------------------------------------
    @property
    def current(self) -> Round:
        return self.rounds[-1]

    def phase(self, now: float) -> str:
        if self.status == "Finished":
            return "finished"
        if self.current.processed:
            return "result"
        return "countdown" if now < self.current.start else "guessing"

    def guessed_at(self, player_id: str, number: int) -> float | None:
        """When ``player_id``'s guess of round ``number`` was registered (None: not yet)."""
        for g in self.players[player_id].guesses:
            if g["roundNumber"] == number:
                return g["_t"]
        return None

    def next_deadline(self) -> float | None:
        """The next time at which `tick` has something to do."""
        times = [self.next_round_at, self.finish_at]
        r = self.current
        if self.status != "Finished" and not r.processed and r.end is not None:
            times.append(r.end)
        return min((t for t in times if t is not None), default=None)

    # --- player actions --------------------------------------------------------------------
    def pin(self, player_id: str, lat: float, lng: float, now: float) -> list[str]:
        if self.phase(now) != "guessing":
            raise ValueError("round not active")
        self.players[player_id].pin = (lat, lng)
        self.version += 1
        return ["DuelPinPlaced"]

    def guess(self, player_id: str, lat: float, lng: float, now: float) -> list[str]:
        if self.phase(now) != "guessing":
            raise ValueError("round not active")
        p = self.players[player_id]
        r = self.current
        if any(g["roundNumber"] == r.number for g in p.guesses):
            raise ValueError("already guessed")
        self._add_guess(p, r, (lat, lng), now)
        p.pin = None
        events = ["DuelPlayerGuessed"]
        if r.timer_start is None:                   # the first guess starts the countdown
            r.timer_start = now
            r.end = now + self.config.rules.time_after_guess_s
        self.version += 1
        if all(any(g["roundNumber"] == r.number for g in q.guesses) for q in self.players.values()):
            events += self._resolve(now)
        return events

    def force_timeout(self, now: float) -> list[str]:
        """End the current round now, as its deadline would (pins auto-submitted)."""
        if self.status == "Finished" or self.current.processed:
            return []
        self.current.end = now
        return self.tick(now)

    def tick(self, now: float) -> list[str]:
        events: list[str] = []
        r = self.current
        if self.status != "Finished" and not r.processed and r.end is not None and now >= r.end:
            for p in self.players.values():          # the deadline auto-submits every pin
                if p.pin is not None and not any(g["roundNumber"] == r.number for g in p.guesses):
                    self._add_guess(p, r, p.pin, now, created=r.end)
            events += self._resolve(now)
        if self.finish_at is not None and now >= self.finish_at:
            self.finish_at = None
            self.status, self.result = "Finished", self._final_result
            self.version += 1
            events.append("DuelFinished")
        if self.next_round_at is not None and now >= self.next_round_at:
            self.next_round_at = None
            self._announce(len(self.rounds) + 1, now)
            events.append("DuelNewRound")
        return events

    # --- internals -------------------------------------------------------------------------
    def _announce(self, number: int, now: float) -> None:
        truth = self.config.truths[(number - 1) % len(self.config.truths)]
        pano = "".join(f"{b:02X}" for b in f"mockpano-{self.config.game_id[:6]}-{number}".encode())
        self.rounds.append(Round(number, truth, pano, now + self.config.countdown_s,
                                 heading=(number * 97.0) % 360,
                                 multiplier=max(self.multipliers)))
        for p in self.players.values():
            p.pin = None
        self.version += 1

    def _add_guess(self, p: Player, r: Round, where: tuple[float, float], now: float,
                   created: float | None = None) -> None:
        d = distance_m(where, r.truth)
        p.guesses.append({"roundNumber": r.number, "lat": where[0], "lng": where[1],
                          "distance": d, "score": score(d), "created": iso(created or now),
                          "isTeamsBestGuessOnRound": False, "_t": now})

    def _team_best(self, team: int, number: int) -> dict | None:
        best = None
        for p in self.players.values():
            for g in p.guesses:
                if p.team == team and g["roundNumber"] == number and (
                        best is None or g["score"] > best["score"]):
                    best = g
        return best

    def _resolve(self, now: float) -> list[str]:
        r = self.current
        bests = [self._team_best(t, r.number) for t in (0, 1)]
        for b in bests:
            if b is not None:
                b["isTeamsBestGuessOnRound"] = True
        scores = tuple(b["score"] if b else 0 for b in bests)
        before = tuple(self.health)
        out = resolve_round(self.config.rules, r.number, scores, before, tuple(self.multipliers))
        for t in (0, 1):
            self.round_results[t].append({
                "roundNumber": r.number, "score": scores[t], "healthBefore": before[t],
                "healthAfter": out.health_after[t],
                "bestGuess": _public_guess(bests[t]) if bests[t] else None,
                "damageDealt": out.damage if out.winner == t else 0,
                "multiplier": self.multipliers[t]})
        self.health = list(out.health_after)
        self.multipliers = list(out.multipliers_after)
        r.processed, r.resolved_at = True, now
        if r.end is None:
            r.end = now
        for p in self.players.values():
            p.pin = None
        self.version += 1
        if min(self.health) == 0 or r.number >= self.config.max_rounds:
            winner = None if self.health[0] == self.health[1] else (
                0 if self.health[0] > self.health[1] else 1)
            self._final_result = {"isDraw": winner is None,
                                  "winningTeamId": None if winner is None else self.team_id(winner),
                                  "winnerStyle": "Victory"}
            self.finish_at = now + self.config.result_s     # DuelFinished follows the last result
        else:
            self.next_round_at = now + self.config.result_s
        return ["DuelRoundTimedOut"]

    # --- serialisation ---------------------------------------------------------------------
    def team_id(self, team: int) -> str:
        return f"{self.config.game_id[:8]}-team-{'blue' if team == 0 else 'red'}"

    def state(self, *, upto_round: int | None = None, version: int | None = None) -> dict:
        """The duel state as gs2 serialises it. ``upto_round`` cuts the rounds (and what the
        players did in later rounds) to model a stale copy."""
        cfg = self.config
        n = len(self.rounds) if upto_round is None else upto_round
        movement = {"forbidMoving": cfg.nmpz, "forbidZooming": cfg.nmpz,
                    "forbidRotating": cfg.nmpz, "speedLimit": False}
        teams = []
        for t in (0, 1):
            players = [{"playerId": p.player_id,
                        "guesses": [_public_guess(g) for g in p.guesses if g["roundNumber"] <= n],
                        "countryCode": "", "progressChange": None,
                        "pin": None if p.pin is None else {"lat": p.pin[0], "lng": p.pin[1]},
                        "helpRequested": False, "isSteam": False}
                       for p in self.players.values() if p.team == t]
            teams.append({"id": self.team_id(t), "name": "blue" if t == 0 else "red",
                          "health": self.health[t] if upto_round is None else cfg.rules.initial_health,
                          "players": players,
                          "roundResults": [x for x in self.round_results[t] if x["roundNumber"] <= n
                                           and upto_round is None],
                          "currentMultiplier": self.multipliers[t]})
        rounds = [{"roundNumber": r.number,
                   "panorama": {"panoId": r.pano_id, "lat": r.truth[0], "lng": r.truth[1],
                                "countryCode": "", "heading": r.heading, "pitch": 0.0, "zoom": 0},
                   "hasProcessedRoundTimeout": r.processed, "isHealingRound": False,
                   "multiplier": r.multiplier, "damageMultiplier": 1,
                   "startTime": iso(r.start), "endTime": iso(r.end),
                   "timerStartTime": iso(r.timer_start), "skippedByPlayerId": None}
                  for r in self.rounds[:n]]
        options = {**cfg.rules.as_options(), "individualInitialHealth": False,
                   "maxRoundTime": 0, "gracePeriodTime": 0,
                   "maxNumberOfRounds": cfg.max_rounds, "healingRounds": [],
                   "movementOptions": movement, "mapSlug": "mock-world", "isRated": cfg.rated,
                   "map": {"name": "A Mock World", "slug": "mock-world",
                           "bounds": _BOUNDS, "maxErrorDistance": WORLD_MAX_ERROR_M},
                   "disableHealing": True, "isTeamDuels": cfg.team_duels,
                   "gameContext": None, "roundStartingBehavior": "Default",
                   "competitiveGameMode": "StandardDuels" if cfg.rated else "None",
                   "countAllGuesses": False, "masterControlAutoStartRounds": True,
                   "allowSpectators": not cfg.rated, "guessMapType": "roadmap"}
        return {"gameId": cfg.game_id, "gameServerNodeId": cfg.node_id, "teams": teams,
                "rounds": rounds, "currentRoundNumber": n,
                "status": self.status if upto_round is None else "Created",
                "version": self.version if version is None else version,
                "options": options,
                "context": None if cfg.party_id is None else {"type": "Party", "id": cfg.party_id},
                "movementOptions": movement, "mapBounds": _BOUNDS,
                "initialHealth": cfg.rules.initial_health, "maxNumberOfRounds": cfg.max_rounds,
                "result": self.result if upto_round is None else None, "isPaused": False,
                "gameMasterId": cfg.game_master_id}


_BOUNDS = {"min": {"lat": -85.0, "lng": -180.0}, "max": {"lat": 85.0, "lng": 180.0}}


def _public_guess(g: dict) -> dict:
    return {k: v for k, v in g.items() if not k.startswith("_")}
