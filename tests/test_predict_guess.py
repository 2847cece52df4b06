"""Guess / Candidate dataclasses (backend.core.guess)."""

import json

import pytest

from backend.core.guess import Candidate, Guess, GuessError


def make():
    return Guess(lat=48.85, lng=2.35, projected_score=4100.5, confidence=0.83, country="FR",
                 country_name="France",
                 top_k=[Candidate(48.85, 2.35, 0.6, 12, "FR", True),
                        Candidate(50.85, 4.35, 0.2, 3, "BE")],
                 timings={"backbone": 12.5, "pin": 1.0})


def test_roundtrip_through_json():
    g = make()
    text = json.dumps(g.to_dict())
    assert Guess.from_dict(json.loads(text)) == g
    assert g.total_ms == 13.5


def test_numpy_scalars_become_plain_floats():
    import numpy as np
    g = Guess(lat=np.float64(1.0), lng=np.float32(2.0), projected_score=np.float64(3.0),
              confidence=np.float64(0.5), top_k=[Candidate(np.float64(1), 2, np.float32(0.5),
                                                          np.int64(4))])
    json.dumps(g.to_dict())
    assert type(g.to_dict()["top_k"][0]["cell"]) is int


@pytest.mark.parametrize("kw", [
    {"lat": 91}, {"lng": 200}, {"projected_score": 5001}, {"projected_score": -1},
    {"confidence": 1.5}, {"lat": float("nan")}, {"lat": "north"},
])
def test_out_of_range_values_are_rejected(kw):
    base = {"lat": 0.0, "lng": 0.0, "projected_score": 1.0, "confidence": 0.5}
    base.update(kw)
    with pytest.raises(GuessError):
        Guess(**base)


def test_missing_field():
    with pytest.raises(GuessError, match="projected_score"):
        Guess.from_dict({"lat": 0, "lng": 0, "confidence": 0.1})
    with pytest.raises(GuessError):
        Candidate(0, 0, 1.5, 1)
