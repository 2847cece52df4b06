"""The arena's game rules as data: classic and duel settings, the duel multiplier table.

Rules are plain frozen dataclasses, so a game's exact rules are stored with its log and a
test can build any variant. Nothing here touches a clock or a socket.

Duel rules (the default table follows the public description of GeoGuessr duels: 1x for the
first rounds, then +0.5 per round):

- both players start with ``start_hp`` (6000) HP;
- each round the player with the lower score loses ``(high - low) * multiplier(round)`` HP
  (rounded to a whole number, never below 0); equal scores cost nothing;
- after the first guess of a round the other player has ``countdown_s`` (15 s) left;
- the game ends when a player reaches 0 HP (or after ``max_rounds``, the higher HP wins).

Usage::

    >>> from bot.arena.rules import DuelRules
    >>> r = DuelRules()
    >>> r.multiplier(1), r.multiplier(4), r.multiplier(7)
    (1.0, 1.5, 3.0)
    >>> r.damage(5000, 3000, round_number=4)
    3000
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

DEFAULT_MULTIPLIERS: tuple[float, ...] = (1.0, 1.0, 1.0, 1.5, 2.0, 2.5, 3.0)
"""Round 1..7 multipliers; rounds beyond the table keep growing by ``multiplier_step``."""


class RulesError(ValueError):
    """Rules that cannot make a game (a negative time limit, an empty multiplier table...)."""


def _check_positive(name: str, value: float, *, allow_zero: bool = False) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise RulesError(f"{name} must be a number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise RulesError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")


@dataclass(frozen=True)
class ClassicRules:
    """Classic: every player plays ``rounds`` rounds; the total score decides.

    Attributes:
        rounds: number of rounds (GeoGuessr: 5).
        round_time_s: time limit per round in seconds; 0 means no limit.
        countdown_s: after the first guess the others have this long (0: no countdown).
    """

    rounds: int = 5
    round_time_s: float = 120.0
    countdown_s: float = 0.0
    mode: str = field(default="classic", init=False)

    def check(self) -> ClassicRules:
        """Validate and return self. Raises RulesError."""
        if not isinstance(self.rounds, int) or not 1 <= self.rounds <= 100:
            raise RulesError(f"rounds must be a whole number in 1..100, got {self.rounds!r}")
        _check_positive("round_time_s", self.round_time_s, allow_zero=True)
        _check_positive("countdown_s", self.countdown_s, allow_zero=True)
        return self

    @property
    def max_rounds(self) -> int:
        return self.rounds

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class DuelRules:
    """Duels: two players, HP, damage = score difference x the round's multiplier.

    Attributes:
        start_hp: HP of each player at the start (6000).
        multipliers: multiplier of rounds 1, 2, ...; later rounds add ``multiplier_step`` each.
        multiplier_step: growth per round beyond the table (0.5).
        countdown_s: time left to the other player after the first guess (15 s).
        round_time_s: time limit of a round when nobody guesses; 0 means no limit.
        max_rounds: safety stop; after it the higher HP wins (equal HP: a draw).
    """

    start_hp: int = 6000
    multipliers: tuple[float, ...] = DEFAULT_MULTIPLIERS
    multiplier_step: float = 0.5
    countdown_s: float = 15.0
    round_time_s: float = 120.0
    max_rounds: int = 30
    mode: str = field(default="duel", init=False)

    def check(self) -> DuelRules:
        """Validate and return self. Raises RulesError."""
        if not isinstance(self.start_hp, int) or self.start_hp <= 0:
            raise RulesError(f"start_hp must be a positive whole number, got {self.start_hp!r}")
        if not self.multipliers:
            raise RulesError("the multiplier table is empty; give at least one multiplier, e.g. 1")
        for i, m in enumerate(self.multipliers):
            _check_positive(f"multiplier of round {i + 1}", m, allow_zero=True)
        _check_positive("multiplier_step", self.multiplier_step, allow_zero=True)
        _check_positive("countdown_s", self.countdown_s, allow_zero=True)
        _check_positive("round_time_s", self.round_time_s, allow_zero=True)
        if not isinstance(self.max_rounds, int) or not 1 <= self.max_rounds <= 1000:
            raise RulesError(f"max_rounds must be a whole number in 1..1000, got {self.max_rounds!r}")
        return self

    def multiplier(self, round_number: int) -> float:
        """The damage multiplier of a 1-based round number."""
        if round_number < 1:
            raise RulesError(f"round numbers start at 1, got {round_number}")
        if round_number <= len(self.multipliers):
            return float(self.multipliers[round_number - 1])
        extra = round_number - len(self.multipliers)
        return float(self.multipliers[-1] + extra * self.multiplier_step)

    def damage(self, score_a: float, score_b: float, *, round_number: int) -> int:
        """HP lost by the lower scorer of the round (0 when equal)."""
        return round(abs(score_a - score_b) * self.multiplier(round_number))

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["multipliers"] = list(self.multipliers)
        return d


Rules = ClassicRules | DuelRules


def parse_multipliers(text: str) -> tuple[float, ...]:
    """Parse a comma-separated multiplier table such as ``"1,1,1,1.5,2"``.

    Raises:
        RulesError: an empty table or a value that is not a non-negative number.
    """
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise RulesError(f"multiplier table {text!r} is empty; write e.g. 1,1,1,1.5,2,2.5,3")
    out = []
    for p in parts:
        try:
            v = float(p)
        except ValueError:
            raise RulesError(f"multiplier {p!r} is not a number; write e.g. 1,1,1,1.5,2") from None
        if not math.isfinite(v) or v < 0:
            raise RulesError(f"multiplier {p!r} must be a non-negative number")
        out.append(v)
    return tuple(out)


def rules_from_dict(d: dict[str, Any]) -> Rules:
    """Rebuild rules from :meth:`to_dict` output (or a user's JSON), validated.

    Raises:
        RulesError: an unknown mode or field, or invalid values.
    """
    d = dict(d)
    mode = d.pop("mode", "classic")
    if not isinstance(mode, str):
        raise RulesError(f"the game mode must be 'classic' or 'duel', got {mode!r:.40}")
    cls: type[ClassicRules | DuelRules]
    if mode == "classic":
        cls = ClassicRules
    elif mode == "duel":
        cls = DuelRules
        if "multipliers" in d:
            try:
                d["multipliers"] = tuple(float(x) for x in d["multipliers"])
            except (TypeError, ValueError):
                raise RulesError(f"multipliers must be a list of numbers, e.g. [1, 1, 1.5, 2]; "
                                 f"got {d['multipliers']!r:.60}") from None
    else:
        raise RulesError(f"unknown game mode {mode!r}; use 'classic' or 'duel'")
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(d) - names)
    if unknown:
        raise RulesError(f"unknown rule(s) {unknown} for {mode}; known: {sorted(names)}")
    try:
        return cls(**d).check()
    except TypeError as exc:
        raise RulesError(f"bad rules for {mode}: {exc}") from None
