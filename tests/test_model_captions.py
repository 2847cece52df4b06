"""Caption generation: wording, optional clauses, determinism."""

from __future__ import annotations

import pytest

from backend.model.captions import base_sentence, compass_word, make_caption

FIELDS = {"country": "France", "region": "Brittany", "town": "Rennes", "koppen_name": "Cfb",
          "driving_side": "right"}


def test_base_sentence_uses_what_is_known():
    assert base_sentence(FIELDS) == ("A Street View photo close to the town of Rennes in the "
                                     "region of Brittany in France.")
    assert base_sentence({"country": "Chad"}) == "A Street View photo in Chad."
    assert base_sentence({}) == "A Street View photo."


def test_all_clauses_when_kept_and_none_when_dropped():
    full = make_caption(FIELDS, heading=95.0, month=6, keep_prob=1.0)
    for clause in ("temperate oceanic climate", "drive on the right side", "faces east",
                   "taken in June"):
        assert clause in full
    assert make_caption(FIELDS, heading=95.0, month=6, keep_prob=0.0) == base_sentence(FIELDS)


def test_deterministic_and_varied():
    a = [make_caption(FIELDS, heading=0.0, month=1, seed=3, index=i) for i in range(40)]
    b = [make_caption(FIELDS, heading=0.0, month=1, seed=3, index=i) for i in range(40)]
    c = [make_caption(FIELDS, heading=0.0, month=1, seed=4, index=i) for i in range(40)]
    assert a == b and a != c and len(set(a)) > 5


def test_compass_and_bad_input():
    assert [compass_word(h) for h in (0, 44, 46, 180, 359, -90)] == \
        ["north", "north-east", "north-east", "south", "north", "west"]
    with pytest.raises(ValueError, match="keep_prob"):
        make_caption(FIELDS, keep_prob=1.5)
