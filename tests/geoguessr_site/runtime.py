"""The mock site's live state: its game, the page markers it handed out, and its logs.

Only the server's event-loop thread mutates it; the test thread reads the logs through
`MockGeoGuessr`, which marshals calls onto that loop (or copies under a lock).
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field

from tests.geoguessr_site.classic_state import ClassicGame
from tests.geoguessr_site.config import SiteConfig
from tests.geoguessr_site.traps import TrapLog


@dataclass(frozen=True)
class GuessRecord:
    round: int
    lat: float
    lng: float
    t: float
    via: str          # "page" (the page's own client) | "external"
    accepted: bool


@dataclass
class Runtime:
    config: SiteConfig
    nonces: set[str] = field(default_factory=set)
    request_log: list[dict] = field(default_factory=list)
    pov_log: list[dict] = field(default_factory=list)
    guess_log: list[GuessRecord] = field(default_factory=list)
    page_guess_rounds: list[int] = field(default_factory=list)
    plant_queue: list[str] = field(default_factory=list)
    classic: ClassicGame | None = None
    duel: object | None = None                  # DuelRuntime, set by the duel routes
    party_polled_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    traps: TrapLog = field(init=False)

    def __post_init__(self) -> None:
        self.traps = TrapLog(self.our_guess_at)
        self.plant_queue = list(self.config.plant_reads)
        if self.config.mode in ("classic", "challenge", "battle-royale"):
            kind = {"classic": "standard"}.get(self.config.mode, self.config.mode)
            self.classic = ClassicGame(self.config.game_id, list(self.config.truths),
                                       self.config.rounds, time.time(), kind=kind,
                                       nmpz=self.config.nmpz,
                                       next_round_revealed="on_next" if kind == "battle-royale"
                                       else self.config.next_round_revealed,
                                       player_id=self.config.player_id)

    def new_nonce(self) -> str:
        n = secrets.token_hex(12)
        self.nonces.add(n)
        return n

    def is_own(self, marker: str | None) -> bool:
        return bool(marker) and marker in self.nonces

    def our_guess_at(self, number: int) -> float | None:
        """When our guess of round ``number`` was registered by the server (None: not yet)."""
        if self.classic is not None:
            return self.classic.guessed_at(number)
        if self.duel is not None:
            return self.duel.our_guess_at(number)
        return None

    def server_trap(self, request, trap: str, rounds: list[int]) -> None:
        """Record that ``request`` (not the page's own client) received these rounds' answers."""
        host = request.host.split(":")[0]
        self.traps.server_read(trap, rounds, time.time(), f"{request.method} {host}{request.path_qs}",
                               planted=request.headers.get("x-mock-planted") == "1")

    def own(self, request) -> bool:
        """Whether ``request`` came from the page's own client (its per-load marker)."""
        return self.is_own(request.headers.get("x-mock-own"))

    def classic_guess(self, lat: float, lng: float, via: str) -> str | None:
        """Apply a guess to the classic-type game and log it; the error message, or None."""
        n = self.classic.round
        try:
            self.classic.guess(lat, lng, time.time(), via)
        except ValueError as e:
            self.log_guess(GuessRecord(n, lat, lng, time.time(), via, False))
            return str(e)
        self.log_guess(GuessRecord(n, lat, lng, time.time(), via, True))
        if via == "page":
            self.page_guess_rounds.append(n)
        return None

    def log_request(self, entry: dict) -> None:
        with self.lock:
            self.request_log.append(entry)

    def log_guess(self, rec: GuessRecord) -> None:
        with self.lock:
            self.guess_log.append(rec)


async def read_latlng(request) -> tuple[float, float]:
    """The `{lat, lng}` of a guess or pin body; HTTP 400 with a clear message otherwise."""
    from aiohttp import web
    try:
        body = await request.json()
        return float(body["lat"]), float(body["lng"])
    except (ValueError, KeyError, TypeError):
        raise web.HTTPBadRequest(text=json.dumps({"message": "lat and lng are required"}),
                                 content_type="application/json") from None
