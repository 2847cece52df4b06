"""The site's scoring and duels damage rules, as the public captures show them (sans-I/O).

Sources (EVIDENCE.md): rashinban2026-scripts docs/geoguessr/pinpointing-duels-userscripts.md
("Score formula ... 0 mismatches" against 25 server scores; "Presenter-managed HP": damage =
round-half-to-even(score difference x winner's multiplier); multiplier steps from
`options.roundWinMultiplierIncrement`, `multiplierIncrement`, `roundsWithoutDamageMultiplier`,
in tenths) and presenter-protocol.md (1 -> 1.5 -> 2 -> 2.5 with the defaults).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_000.0
WORLD_MAX_ERROR_M = 14_999_250.0      # options.map.maxErrorDistance of the world map in the captures
FIVE_K_M = 25.0                       # a guess within 25 m scores 5000


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in metres between two (lat, lng) points."""
    la1, lo1, la2, lo2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def score(distance: float, max_error_m: float = WORLD_MAX_ERROR_M) -> int:
    """GeoGuessr's round score for a guess ``distance`` metres away."""
    if distance < FIVE_K_M:
        return 5000
    return round(5000 * math.exp(-10 * distance / max_error_m))


@dataclass(frozen=True)
class DuelRules:
    """The duel options that decide damage (names as in the gs2 `options` object)."""

    initial_health: int = 6000
    round_win_multiplier_increment: int = 5     # tenths: +0.5 for the round's winner
    multiplier_increment: int = 0               # tenths: added to both after every round
    rounds_without_damage_multiplier: int = 1   # increments start after this round
    time_after_guess_s: float = 15.0            # options.roundTime: the countdown after a first guess

    def as_options(self) -> dict:
        return {"initialHealth": self.initial_health,
                "roundWinMultiplierIncrement": self.round_win_multiplier_increment,
                "multiplierIncrement": self.multiplier_increment,
                "roundsWithoutDamageMultiplier": self.rounds_without_damage_multiplier,
                "roundTime": self.time_after_guess_s}


@dataclass
class RoundOutcome:
    """What one resolved round did to both teams."""

    damage: int
    winner: int | None              # team index (0 or 1) or None on a tie
    health_after: tuple[int, int]
    multipliers_after: tuple[float, float]


def resolve_round(rules: DuelRules, round_number: int, scores: tuple[int, int],
                  health: tuple[int, int], multipliers: tuple[float, float]) -> RoundOutcome:
    """Apply one round's scores: the lower team loses the difference times the winner's
    multiplier (rounded half to even, as the server does); then the multipliers step."""
    diff = abs(scores[0] - scores[1])
    winner = None if diff == 0 else (0 if scores[0] > scores[1] else 1)
    hp = list(health)
    damage = 0
    if winner is not None:
        damage = round(diff * multipliers[winner])
        loser = 1 - winner
        hp[loser] = max(0, hp[loser] - damage)
    mult = list(multipliers)
    if round_number >= rules.rounds_without_damage_multiplier:
        for i in (0, 1):
            mult[i] += rules.multiplier_increment / 10
        step = rules.round_win_multiplier_increment / 10
        if winner is None:
            mult = [m + step for m in mult]
        else:
            mult[winner] += step
    return RoundOutcome(damage, winner, (hp[0], hp[1]), (mult[0], mult[1]))
