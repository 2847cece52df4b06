"""What one mock game is: its mode, rounds, answers, locale, flags and timings (validated)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

MODES = ("classic", "challenge", "duels", "team-duels", "party", "battle-royale")
LOCALES = (None, "en", "de", "ja", "pt-BR")
OPPONENTS = ("after_us", "first", "never")
TRAPS = ("currentRound.panorama", "gameState.rounds", "gameState.teams", "sv.getPosition",
         "sv.getPano", "sv.getLocation", "sv.getLinks", "sv.options", "sv.service", "tile.src",
         "resource-timing", "api.v3.games", "api.v3.challenges.game", "gs2.state", "gs2.ws",
         "archive.duels", "api.battle-royale")
PLANTABLE = ("currentRound.panorama", "gameState.rounds", "sv.getPosition", "sv.getPano",
             "resource-timing", "api.v3.games", "gs2.state")
DEFAULT_TRUTHS = ((48.8566, 2.3522), (-33.8688, 151.2093), (35.6762, 139.6503),
                  (40.4168, -3.7038), (-23.5505, -46.6333), (59.3293, 18.0686),
                  (-1.2921, 36.8219), (49.2827, -123.1207))


class MockSiteUnavailable(RuntimeError):
    """Something the mock needs is not installed; the message says what and how to install it."""


@dataclass(frozen=True)
class Timing:
    """Seconds. The real site: a round starts 2-4 s after it is announced, the next round
    follows ~8 s after a result, the other side has 15 s after a first guess
    (rashinban2026-scripts presenter-protocol.md). Defaults are shorter to keep tests quick.
    ``score_count_s``: the classic result view's points read 0 when the view appears and reach
    the round's score this long after (the count-up is the mock's; the 0 is evidenced)."""

    countdown_s: float = 2.0
    result_s: float = 3.0
    after_first_guess_s: float = 15.0
    opponent_s: float = 1.0
    tile_stream_s: float = 0.6
    party_wait_s: float = 1.0
    score_count_s: float = 0.8


@dataclass(frozen=True)
class SiteConfig:
    mode: str = "duels"
    rounds: int = 3
    truths: tuple[tuple[float, float], ...] = DEFAULT_TRUTHS
    locale: str | None = None
    rated: bool = False
    nmpz: bool = False
    br_variant: str = "distance"
    opponent: str = "after_us"
    timing: Timing = field(default_factory=Timing)
    guest: bool = False
    plant_reads: tuple[str, ...] = ()
    next_round_revealed: str = "on_guess"
    seed: str = "mock"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode {self.mode!r} is not one of {MODES}")
        if self.locale not in LOCALES:
            raise ValueError(f"locale {self.locale!r} is not one of {LOCALES}")
        if self.opponent not in OPPONENTS:
            raise ValueError(f"opponent {self.opponent!r} is not one of {OPPONENTS}")
        if self.br_variant not in ("distance", "countries"):
            raise ValueError(f"br_variant {self.br_variant!r} is not 'distance' or 'countries'")
        if self.next_round_revealed not in ("on_guess", "on_next"):
            raise ValueError("next_round_revealed must be 'on_guess' or 'on_next'")
        if not 1 <= self.rounds <= 30:
            raise ValueError(f"rounds must be 1..30, not {self.rounds}")
        if not self.truths or any(not (-90 <= la <= 90 and -180 <= lo <= 180) for la, lo in self.truths):
            raise ValueError("truths must be (lat, lng) pairs in range")
        bad = [p for p in self.plant_reads if p not in PLANTABLE]
        if bad:
            raise ValueError(f"cannot plant {bad}; plantable traps: {PLANTABLE}")

    def _hex(self, what: str, n: int) -> str:
        return hashlib.sha256(f"{self.seed}/{self.mode}/{what}".encode()).hexdigest()[:n]

    @property
    def game_id(self) -> str:
        """Duels: 24 hex (as in the captures); classic/challenge: a 16-character token."""
        if self.mode in ("classic", "challenge"):
            return "G" + self._hex("game", 15)
        return self._hex("game", 24)

    @property
    def challenge_token(self) -> str:
        return "C" + self._hex("challenge", 15)

    @property
    def node_id(self) -> str:
        return self._hex("node", 32)

    @property
    def party_id(self) -> str:
        h = self._hex("party", 32)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    @property
    def party_code(self) -> str:
        return self._hex("code", 5).upper()

    @property
    def user_id(self) -> str:
        return self._hex("user", 24)

    @property
    def guest_id(self) -> str:
        return self._hex("guest", 24)

    @property
    def player_id(self) -> str:
        return self.guest_id if self.guest else self.user_id

    @property
    def path(self) -> str:
        """The game page's path, locale prefix included."""
        prefix = f"/{self.locale}" if self.locale not in (None, "en") else ""
        return prefix + {"classic": f"/game/{self.game_id}",
                         "challenge": f"/challenge/{self.challenge_token}",
                         "duels": f"/duels/{self.game_id}",
                         "team-duels": f"/team-duels/{self.game_id}",
                         "party": f"/party/lobby/{self.party_code}",
                         "battle-royale": f"/battle-royale/{self.game_id}"}[self.mode]
