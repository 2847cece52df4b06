"""The predictor's answer: ``Guess`` (the pin and what backs it) and its ``Candidate`` list.

Fields of ``Guess``:

- ``lat``, ``lng``: the pin, the point that maximises the expected GeoGuessr score under the
  (calibrated) candidate distribution (``backend.core.best_pin``).
- ``projected_score``: that maximal expected score, 0-5000 points.
- ``confidence``: the probability mass of the candidate distribution within
  ``confidence_radius_km`` (default 750 km, the paper's "country" threshold) of the pin.
- ``country`` / ``country_name``: ISO 3166-1 alpha-2 code and English name of the pin's
  country (from the geo layer when available, else the top cell's country; None if unknown).
- ``top_k``: the refined candidates of the most probable cells, most probable first.
- ``timings``: milliseconds per stage (``preprocess``, ``backbone``, ``heads``, ``refine``,
  ``pin``, ...).

``to_dict`` gives plain JSON types (floats, str, lists, dicts) and ``from_dict`` reads it back.

Usage::

    >>> g = Guess(lat=48.85, lng=2.35, projected_score=4100.0, confidence=0.9)
    >>> Guess.from_dict(g.to_dict()) == g
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from backend.core.scoring import MAX_SCORE

DEFAULT_CONFIDENCE_RADIUS_KM = 750.0


class GuessError(ValueError):
    """A guess or candidate with values out of range."""


def _finite(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise GuessError(f"{name} must be a number, got {value!r:.60}") from exc
    if not math.isfinite(v):
        raise GuessError(f"{name} must be finite, got {v}")
    return v


def _check_latlng(lat: float, lng: float) -> None:
    if not -90.0 <= lat <= 90.0 or not -180.0 <= lng <= 180.0:
        raise GuessError(f"({lat}, {lng}) is not a valid (lat, lng) in degrees")


@dataclass(frozen=True)
class Candidate:
    """One refined candidate location.

    Attributes:
        lat, lng: location in degrees.
        prob: its probability in the final distribution (0-1).
        cell: geocell id it came from.
        country: ISO-2 code of that cell's country (None if unknown).
        refined: True if retrieval moved it off the cell centroid.
    """

    lat: float
    lng: float
    prob: float
    cell: int
    country: str | None = None
    refined: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "lat", _finite("candidate lat", self.lat))
        object.__setattr__(self, "lng", _finite("candidate lng", self.lng))
        object.__setattr__(self, "prob", _finite("candidate prob", self.prob))
        object.__setattr__(self, "cell", int(self.cell))
        object.__setattr__(self, "refined", bool(self.refined))
        _check_latlng(self.lat, self.lng)
        if not 0.0 <= self.prob <= 1.0 + 1e-9:
            raise GuessError(f"candidate probability {self.prob} is outside [0, 1]")

    def to_dict(self) -> dict[str, Any]:
        return {"lat": self.lat, "lng": self.lng, "prob": self.prob, "cell": self.cell,
                "country": self.country, "refined": self.refined}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Candidate:
        try:
            return cls(lat=d["lat"], lng=d["lng"], prob=d["prob"], cell=d["cell"],
                       country=d.get("country"), refined=d.get("refined", False))
        except KeyError as exc:
            raise GuessError(f"candidate is missing {exc.args[0]!r}") from exc


@dataclass(frozen=True)
class Guess:
    """The pin, its projected score and what backs it (see the module docstring)."""

    lat: float
    lng: float
    projected_score: float
    confidence: float
    country: str | None = None
    country_name: str | None = None
    top_k: list[Candidate] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    confidence_radius_km: float = DEFAULT_CONFIDENCE_RADIUS_KM

    def __post_init__(self) -> None:
        for name in ("lat", "lng", "projected_score", "confidence", "confidence_radius_km"):
            object.__setattr__(self, name, _finite(name, getattr(self, name)))
        _check_latlng(self.lat, self.lng)
        if not 0.0 <= self.projected_score <= MAX_SCORE + 1e-6:
            raise GuessError(f"projected score {self.projected_score} is outside [0, 5000]")
        if not 0.0 <= self.confidence <= 1.0 + 1e-9:
            raise GuessError(f"confidence {self.confidence} is outside [0, 1]")
        object.__setattr__(self, "top_k", list(self.top_k))
        object.__setattr__(self, "timings",
                           {str(k): _finite(f"timing {k}", v) for k, v in self.timings.items()})

    @property
    def total_ms(self) -> float:
        """Sum of the stage timings."""
        return float(sum(self.timings.values()))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only (``json.dumps`` works on the result)."""
        return {
            "lat": self.lat, "lng": self.lng, "projected_score": self.projected_score,
            "confidence": self.confidence, "confidence_radius_km": self.confidence_radius_km,
            "country": self.country, "country_name": self.country_name,
            "top_k": [c.to_dict() for c in self.top_k], "timings": dict(self.timings),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Guess:
        """Inverse of ``to_dict``.

        Raises:
            GuessError: a missing field or a value out of range.
        """
        try:
            return cls(lat=d["lat"], lng=d["lng"], projected_score=d["projected_score"],
                       confidence=d["confidence"], country=d.get("country"),
                       country_name=d.get("country_name"),
                       top_k=[Candidate.from_dict(c) for c in d.get("top_k", [])],
                       timings=d.get("timings", {}),
                       confidence_radius_km=d.get("confidence_radius_km",
                                                  DEFAULT_CONFIDENCE_RADIUS_KM))
        except KeyError as exc:
            raise GuessError(f"guess is missing {exc.args[0]!r}") from exc
