"""An experiment's design: participants, their blinded opponent order, the consent text.

Saved as ``experiment.json`` (format ``pigeon-experiment/1``) in the experiment's directory;
the arena (``pigeon arena --experiment DIR``) reads it, asks each participant for their code
and consent, runs their games with the opponent hidden ("opponent"), and asks after each game
"Was your opponent a bot?". Answers and games go to the arena's game logs, which
``pigeon experiment report`` reads.

Usage::

    exp = create_experiment("runs/exp1", participants=12, opponents=("bot", "replay"),
                            games_per_opponent=2, seed=0)
    exp.assignment("P03-7K2Q")        # ['replay', 'bot', 'bot', 'replay']
"""

from __future__ import annotations

import json
import random
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "pigeon-experiment/1"
ARMS = ("bot", "baseline", "replay")
QUESTION = "Was your opponent a bot?"
ANSWERS = ("yes", "no", "unsure")
DEFAULT_CONSENT = (
    "You are invited to play short GeoGuessr-like duels in a local web app. Your opponent may "
    "be a computer program or a recording of a person's earlier play; you will not be told "
    "which until the study ends. We record your guesses, their timing and your answer to one "
    "question after each game, under a code that does not identify you. No images of you, no "
    "other data. You can stop at any time by closing the tab; the rounds you played are kept "
    "unless you ask us to delete them. Click 'I agree' to take part.")


class ExperimentError(ValueError):
    """A design that cannot run, or an unknown participant code."""


@dataclass
class Experiment:
    """The design: who plays which (hidden) opponents in which order, under what rules."""

    id: str
    name: str
    mode: str
    opponents: list[str]
    games_per_opponent: int
    participants: dict[str, list[str]]        # code -> opponent order
    consent: str = DEFAULT_CONSENT
    rules: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    created: float = 0.0
    format: str = FORMAT
    question: str = QUESTION

    def assignment(self, code: str) -> list[str]:
        """The opponent order of a participant. Raises ExperimentError for an unknown code."""
        code = code.strip().upper()
        if code not in self.participants:
            raise ExperimentError("unknown participant code; check the code on your sheet")
        return self.participants[code]

    def save(self, directory: str | Path) -> Path:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        path = d / "experiment.json"
        path.write_text(json.dumps(asdict(self), indent=2))
        return path

    @classmethod
    def load(cls, directory: str | Path) -> Experiment:
        """Read ``experiment.json``. Raises ExperimentError (missing, other format)."""
        p = Path(directory)
        path = p / "experiment.json" if p.is_dir() else p
        if not path.is_file():
            raise ExperimentError(f"{path}: no experiment here; make one with "
                                  "`pigeon experiment create --out DIR`")
        try:
            data = json.loads(path.read_text())
        except ValueError as exc:
            raise ExperimentError(f"{path}: not JSON ({exc})") from None
        if data.get("format") != FORMAT:
            raise ExperimentError(f"{path}: format {data.get('format')!r}, expected {FORMAT}")
        return cls(**data)


def create_experiment(directory: str | Path, *, participants: int, name: str = "experiment",
                      opponents: tuple[str, ...] = ("bot", "replay"), games_per_opponent: int = 1,
                      mode: str = "duel", rules: dict[str, Any] | None = None, seed: int = 0,
                      consent: str = DEFAULT_CONSENT) -> Experiment:
    """Make and save a counterbalanced design: each participant meets every opponent
    ``games_per_opponent`` times, in an order balanced across participants (rotations of a
    shuffled base order, so each opponent comes first equally often).

    Raises:
        ExperimentError: no participants, an unknown opponent, an unknown mode.
    """
    if participants < 1 or participants > 10_000:
        raise ExperimentError("participants must be 1..10000")
    if games_per_opponent < 1 or games_per_opponent > 50:
        raise ExperimentError("games per opponent must be 1..50")
    bad = [o for o in opponents if o not in ARMS]
    if bad or not opponents:
        raise ExperimentError(f"opponents must be some of {ARMS}, got {list(opponents)}")
    if mode not in ("duel", "classic"):
        raise ExperimentError(f"mode must be duel or classic, got {mode!r}")
    rng = random.Random(seed)
    base = list(opponents) * games_per_opponent
    rng.shuffle(base)
    codes: dict[str, list[str]] = {}
    for i in range(participants):
        k = i % len(base)
        order = base[k:] + base[:k]
        code = f"P{i + 1:02d}-{secrets.token_hex(2).upper()}"
        codes[code] = order
    exp = Experiment(id=f"exp-{secrets.token_hex(3)}", name=name, mode=mode,
                     opponents=list(opponents), games_per_opponent=games_per_opponent,
                     participants=codes, consent=consent, rules=dict(rules or {}), seed=seed,
                     created=time.time())
    exp.save(directory)
    return exp
