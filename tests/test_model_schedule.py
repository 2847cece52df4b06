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


def test_budgeted_batches_cover_the_data_and_stop():
    import torch

    from backend.model.train_loop import budgeted_batches

    gen = torch.Generator().manual_seed(0)
    batches = list(budgeted_batches(10, 4, minutes=5.0, gen=gen, warmup_frac=0.5,
                                    lr_floor=0.02, max_steps=6))
    assert len(batches) == 6 and all(len(idx) == 4 for idx, _ in batches)
    # two batches per permutation (2 of 10 left over are skipped), each without repeats
    for a, b in zip(batches[::2], batches[1::2], strict=True):
        both = torch.cat([a[0], b[0]]).tolist()
        assert len(set(both)) == 8 and all(0 <= i < 10 for i in both)
    # the first factor is read at the very start of warmup: the floor
    assert batches[0][1] == pytest.approx(0.02)
    assert all(0.02 <= f <= 1.0 for _, f in batches)
    # a spent budget yields nothing
    assert list(budgeted_batches(10, 4, minutes=1e-9, gen=gen, warmup_frac=0.1)) == []
