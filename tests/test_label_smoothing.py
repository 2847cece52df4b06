"""Haversine label smoothing: the numpy reference (core) and the torch version (model)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from backend.core.geodesy import CoordinateError, haversine_km
from backend.core.label_smoothing import haversine_smoothed_labels
from backend.model.label_smoothing import smoothed_cross_entropy, smoothed_targets

RNG = np.random.default_rng(7)
CENTROIDS = np.stack([RNG.uniform(-60, 70, 40), RNG.uniform(-180, 180, 40)], axis=1)
LAT = RNG.uniform(-60, 70, 25)
LNG = RNG.uniform(-180, 180, 25)


def _unnormalised(lat, lng, cents, tau):
    """The public PIGEON code's version: the same exponent, no normalisation (the bug)."""
    d = np.stack([haversine_km(la, lo, cents[:, 0], cents[:, 1]) for la, lo in zip(lat, lng)])
    return np.exp(-(d - d.min(axis=1, keepdims=True)) / tau)


def _is_proper_target(y: np.ndarray) -> bool:
    return bool(np.all(y >= 0) and np.allclose(y.sum(axis=1), 1.0, atol=1e-9))


def test_reference_rows_sum_to_one_and_peak_at_nearest_cell():
    y = haversine_smoothed_labels(LAT, LNG, CENTROIDS, tau_km=75.0)
    assert y.shape == (25, 40)
    assert _is_proper_target(y)
    d = np.stack([haversine_km(la, lo, CENTROIDS[:, 0], CENTROIDS[:, 1])
                  for la, lo in zip(LAT, LNG)])
    np.testing.assert_array_equal(y.argmax(axis=1), d.argmin(axis=1))


def test_reference_matches_the_formula_term_by_term():
    tau = 75.0
    y = haversine_smoothed_labels(LAT[:3], LNG[:3], CENTROIDS, tau_km=tau)
    for n in range(3):
        d = [float(haversine_km(LAT[n], LNG[n], g[0], g[1])) for g in CENTROIDS]
        raw = [np.exp(-(di - min(d)) / tau) for di in d]
        np.testing.assert_allclose(y[n], np.array(raw) / sum(raw), rtol=1e-12)


def test_property_check_rejects_the_unnormalised_public_version():
    # the check used above must be able to fail: the public code's targets do not sum to 1
    dense = np.array([[10.0, 10.0], [10.2, 10.1], [9.9, 10.3], [10.0, 9.8]])
    y_bad = _unnormalised(np.array([10.05]), np.array([10.05]), dense, 75.0)
    assert not _is_proper_target(y_bad)
    assert _is_proper_target(haversine_smoothed_labels([10.05], [10.05], dense, 75.0))


def test_tau_controls_sharpness():
    sharp = haversine_smoothed_labels(LAT, LNG, CENTROIDS, tau_km=10.0).max(axis=1)
    soft = haversine_smoothed_labels(LAT, LNG, CENTROIDS, tau_km=1000.0).max(axis=1)
    assert np.all(sharp >= soft)


@pytest.mark.parametrize("tau", [0.0, -5.0, float("nan"), float("inf")])
def test_reference_rejects_bad_tau(tau):
    with pytest.raises(ValueError, match="tau_km"):
        haversine_smoothed_labels([0.0], [0.0], CENTROIDS, tau_km=tau)


def test_reference_rejects_bad_input():
    with pytest.raises(ValueError, match="centroids"):
        haversine_smoothed_labels([0.0], [0.0], np.zeros((3, 3)))
    with pytest.raises(ValueError, match="centroids"):
        haversine_smoothed_labels([0.0], [0.0], np.zeros((0, 2)))
    with pytest.raises(CoordinateError, match="latitude"):
        haversine_smoothed_labels([95.0], [0.0], CENTROIDS)


def test_torch_matches_reference_in_float64():
    latlng = torch.tensor(np.stack([LAT, LNG], axis=1))
    got = smoothed_targets(latlng, torch.tensor(CENTROIDS), tau_km=75.0)
    assert got.dtype == torch.float64
    np.testing.assert_allclose(got.numpy(), haversine_smoothed_labels(LAT, LNG, CENTROIDS, 75.0),
                               rtol=1e-9, atol=1e-12)


def test_torch_float32_sums_to_one_and_peaks_at_true_cell():
    latlng = torch.tensor(np.stack([LAT, LNG], axis=1), dtype=torch.float32)
    got = smoothed_targets(latlng, torch.tensor(CENTROIDS, dtype=torch.float32))
    assert got.dtype == torch.float32 and got.shape == (25, 40)
    torch.testing.assert_close(got.sum(dim=1), torch.ones(25), rtol=0, atol=1e-5)
    ref = haversine_smoothed_labels(LAT, LNG, CENTROIDS)
    assert torch.equal(got.argmax(dim=1), torch.as_tensor(ref.argmax(axis=1)))
    np.testing.assert_allclose(got.numpy(), ref, atol=1e-5)


def test_torch_runs_on_the_centroids_device():
    device = "cuda" if torch.cuda.is_available() else "cpu"
    cents = torch.tensor(CENTROIDS, dtype=torch.float32, device=device)
    got = smoothed_targets(torch.tensor([[LAT[0], LNG[0]]]), cents)
    assert got.device.type == device


def test_cross_entropy_is_minimised_at_the_targets_and_fails_unnormalised():
    # PIGEON-like density: cells about 50 km apart, so several get real weight
    g = np.array([[45 + 0.5 * i, 5 + 0.5 * j] for i in range(6) for j in range(6)])
    pts = np.array([[46.1, 6.3], [47.0, 7.2], [45.2, 5.1]])
    latlng = torch.tensor(pts)
    y = smoothed_targets(latlng, torch.tensor(g), tau_km=75.0)
    logits = torch.log(y).clone().requires_grad_(True)
    smoothed_cross_entropy(logits, y).backward()
    assert logits.grad.abs().max().item() < 1e-9  # softmax(log y) == y is the optimum
    # at the optimum the loss is the targets' entropy: a proper cross-entropy
    entropy = -(y * torch.log(y)).sum(dim=1).mean()
    torch.testing.assert_close(smoothed_cross_entropy(torch.log(y), y), entropy)
    # the public code's unnormalised targets break both: rows sum to more than 1 and the
    # loss is rescaled per sample (dense regions weigh more), so the same checks fail
    y_bad = torch.tensor(_unnormalised(pts[:, 0], pts[:, 1], g, 75.0))
    assert (y_bad.sum(dim=1) > 1.5).all()
    q = y_bad / y_bad.sum(dim=1, keepdim=True)
    bad_loss = smoothed_cross_entropy(torch.log(q), y_bad)
    assert not torch.allclose(bad_loss, -(q * torch.log(q)).sum(dim=1).mean())


def test_cross_entropy_matches_torch_and_reductions():
    logits = torch.randn(5, 7, generator=torch.Generator().manual_seed(0))
    y = torch.softmax(torch.randn(5, 7, generator=torch.Generator().manual_seed(1)), dim=1)
    ref = torch.nn.functional.cross_entropy(logits, y)
    torch.testing.assert_close(smoothed_cross_entropy(logits, y), ref)
    assert smoothed_cross_entropy(logits, y, reduction="none").shape == (5,)
    torch.testing.assert_close(smoothed_cross_entropy(logits, y, reduction="sum"), ref * 5)
    with pytest.raises(ValueError, match="reduction"):
        smoothed_cross_entropy(logits, y, reduction="max")
    with pytest.raises(ValueError, match="logits and targets"):
        smoothed_cross_entropy(logits, y[:, :3])


def test_torch_rejects_bad_input():
    cents = torch.tensor(CENTROIDS)
    with pytest.raises(ValueError, match="true_latlng"):
        smoothed_targets(torch.zeros(3), cents)
    with pytest.raises(ValueError, match="latitude"):
        smoothed_targets(torch.tensor([[100.0, 0.0]]), cents)
    with pytest.raises(ValueError, match="NaN"):
        smoothed_targets(torch.tensor([[float("nan"), 0.0]]), cents)
    with pytest.raises(ValueError, match="centroids"):
        smoothed_targets(torch.zeros(2, 2), torch.zeros(0, 2))
    with pytest.raises(ValueError, match="tau_km"):
        smoothed_targets(torch.zeros(2, 2), cents, tau_km=0)
