"""A classic (or challenge) game on www.geoguessr.com (sans-I/O).

The JSON has the shape NickEvans4130/Geoguessr-API-Guide games.md and challenges.md document
for `GET /api/v3/games/<token>`: `token, type, mode, state, roundCount, forbidMoving/Zooming/
Rotating, round, rounds[{lat, lng, panoId, heading, pitch, zoom, startTime}], player{
totalScore, guesses[{lat, lng, timedOut, roundScoreInPoints, distanceInMeters, ...}]}`.
`rounds[round - 1]` is the round being played: its answer is in the JSON before the guess
(Orlando-PB/OGGS core/game.js reads it there and warns never to show it before guessing).

When the next round appears in `rounds` is not documented; `next_round_revealed="on_guess"`
(the default, the stricter assumption) appends it as soon as the current round is guessed,
`"on_next"` only when the page moves on. "Play again" restarts the game under the same token
(a new `generation`, round 1 again).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tests.geoguessr_site.duel_state import iso
from tests.geoguessr_site.rules import distance_m, score


@dataclass
class ClassicGuess:
    round: int
    lat: float
    lng: float
    t: float
    via: str
    score: int
    distance: float


@dataclass
class ClassicGame:
    token: str
    truths: list[tuple[float, float]]
    round_count: int
    now: float
    kind: str = "standard"                  # "standard" | "challenge"
    nmpz: bool = False
    next_round_revealed: str = "on_guess"
    player_id: str = "5f0000000000000000000001"
    generation: int = 0
    rounds: list[dict] = field(default_factory=list)
    guesses: list[ClassicGuess] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._open_round(self.now)

    # --- queries ---------------------------------------------------------------------------
    @property
    def round(self) -> int:
        """The round the server considers current (the last one in `rounds`)."""
        return len(self.rounds)

    @property
    def finished(self) -> bool:
        return len(self.guesses) >= self.round_count

    def guessed_at(self, number: int) -> float | None:
        return next((g.t for g in self.guesses if g.round == number), None)

    def truth(self, number: int) -> tuple[float, float]:
        i = (self.generation * self.round_count + number - 1) % len(self.truths)
        return self.truths[i]

    # --- actions ---------------------------------------------------------------------------
    def guess(self, lat: float, lng: float, now: float, via: str) -> ClassicGuess:
        if self.finished:
            raise ValueError("game finished")
        n = self.round
        if self.guessed_at(n) is not None:
            raise ValueError("round already guessed; the next round has not started")
        d = distance_m((lat, lng), self.truth(n))
        g = ClassicGuess(n, lat, lng, now, via, score(d), d)
        self.guesses.append(g)
        if self.next_round_revealed == "on_guess" and not self.finished:
            self._open_round(now)
        return g

    def next_round(self, now: float) -> None:
        """The page closed the round result ("on_next": the next round opens now)."""
        if self.next_round_revealed == "on_next" and not self.finished and \
                self.guessed_at(self.round) is not None:
            self._open_round(now)

    def play_again(self, now: float) -> None:
        self.generation += 1
        self.rounds, self.guesses = [], []
        self._open_round(now)

    def _open_round(self, now: float) -> None:
        n = len(self.rounds) + 1
        lat, lng = self.truth(n)
        pano = "".join(f"{b:02X}" for b in f"mockpano-{self.token[:6]}-{self.generation}-{n}".encode())
        self.rounds.append({"lat": lat, "lng": lng, "panoId": pano, "heading": (n * 97.0) % 360,
                            "pitch": 0.0, "zoom": 0, "streakLocationCode": None,
                            "startTime": iso(now)})

    # --- serialisation ---------------------------------------------------------------------
    def state(self) -> dict:
        total = sum(g.score for g in self.guesses)
        return {
            "token": self.token, "type": self.kind, "mode": "standard",
            "state": "finished" if self.finished else "started",
            "roundCount": self.round_count, "timeLimit": 0,
            "forbidMoving": self.nmpz, "forbidZooming": self.nmpz, "forbidRotating": self.nmpz,
            "guessMapType": "roadmap", "streakType": "countrystreak", "map": "mock-world",
            "mapName": "A Mock World", "panoramaProvider": 1,
            "bounds": {"min": {"lat": -85.0, "lng": -180.0}, "max": {"lat": 85.0, "lng": 180.0}},
            "round": self.round, "rounds": list(self.rounds),
            "player": {
                "totalScore": {"amount": str(total), "unit": "points",
                               "percentage": round(100 * total / (5000 * self.round_count), 2)},
                "totalDistanceInMeters": sum(g.distance for g in self.guesses),
                "guesses": [{"lat": g.lat, "lng": g.lng, "timedOut": False,
                             "roundScore": {"amount": str(g.score), "unit": "points",
                                            "percentage": round(g.score / 50, 2)},
                             "roundScoreInPoints": g.score,
                             "distance": {"meters": {"amount": f"{g.distance / 1000:.1f}",
                                                     "unit": "km"}},
                             "distanceInMeters": g.distance, "time": 10, "stepsCount": 0}
                            for g in self.guesses],
                "id": self.player_id, "nick": "pigeon-test", "isVerified": False, "flair": 0,
                "countryCode": "se"},
            "progressChange": None,
        }
