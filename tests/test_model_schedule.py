"""The warmup + cosine learning-rate factor shared by the time-budgeted trainers."""

import math

import pytest

from backend.model.train_loop import warmup_cosine


def test_warmup_then_cosine():
    assert warmup_cosine(0.0, 0.1) == 0.0
    assert warmup_cosine(0.05, 0.1) == pytest.approx(0.5)
    assert warmup_cosine(0.1, 0.1) == pytest.approx(1.0)
    assert warmup_cosine(0.55, 0.1) == pytest.approx(0.5)
    assert warmup_cosine(1.0, 0.1) == pytest.approx(0.0, abs=1e-12)
    mid = warmup_cosine(0.3, 0.1)
    assert mid == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.2 / 0.9)))
