"""Temperature calibration of the projected score (backend.core.calibration)."""

import json

import numpy as np
import pytest

from backend.core.calibration import (
    CalibrationError,
    apply_temperature,
    cross_fitted_stats,
    evaluate_temperature,
    expected_calibration_error,
    fit_temperature,
    log_probs_of,
)

SITES = np.array([[48.85, 2.35], [40.42, -3.70], [52.52, 13.40], [41.90, 12.50],
                  [59.33, 18.07], [38.72, -9.14]])


def overconfident_rounds(n=40, seed=0):
    """The model puts 90 % on one site but is right only half the time."""
    rng = np.random.default_rng(seed)
    logp, la, lo, tla, tlo = [], [], [], [], []
    for _ in range(n):
        guess = int(rng.integers(len(SITES)))
        truth = guess if rng.random() < 0.5 else int(rng.integers(len(SITES)))
        p = np.full(len(SITES), 0.1 / (len(SITES) - 1))
        p[guess] = 0.9
        logp.append(np.log(p))
        la.append(SITES[:, 0])
        lo.append(SITES[:, 1])
        tla.append(SITES[truth, 0])
        tlo.append(SITES[truth, 1])
    return logp, la, lo, np.array(tla), np.array(tlo)


def test_apply_temperature():
    lp = np.log([0.7, 0.2, 0.1])
    assert apply_temperature(lp, 1.0) == pytest.approx([0.7, 0.2, 0.1])
    hot = apply_temperature(lp, 100.0)
    assert hot.max() - hot.min() < 0.02
    assert apply_temperature(log_probs_of([1.0, 0.0]), 3.0).tolist() == [1.0, 0.0]
    with pytest.raises(CalibrationError):
        apply_temperature(lp, 0.0)
    with pytest.raises(CalibrationError):
        apply_temperature([-np.inf, -np.inf], 1.0)


def test_ece_known_values():
    ece, bins = expected_calibration_error([4900, 4900, 100, 100], [5000, 4800, 0, 0])
    assert ece == pytest.approx(50.0)
    assert [b["n"] for b in bins] == [2, 2]
    assert expected_calibration_error([3000], [3000])[0] == 0.0
    with pytest.raises(CalibrationError):
        expected_calibration_error([], [])


def test_fit_removes_overconfidence():
    data = overconfident_rounds()
    res = fit_temperature(*data)
    assert res.before.mean_projected > res.before.mean_actual + 300  # over-confident at T=1
    assert res.temperature > 1.0
    assert abs(res.after.mean_projected - res.after.mean_actual) < 25
    assert abs(res.after.mean_projected - res.after.mean_actual) < \
        abs(res.before.mean_projected - res.before.mean_actual)
    json.dumps(res.to_dict())
    again = evaluate_temperature(*data, res.temperature)
    assert again.mean_projected == pytest.approx(res.after.mean_projected)


def test_fit_underconfident_lowers_temperature():
    # right every time but only 40 % sure: under-confident, wants T < 1
    n = 20
    p = np.full(len(SITES), 0.6 / (len(SITES) - 1))
    p[0] = 0.4
    data = ([np.log(p)] * n, [SITES[:, 0]] * n, [SITES[:, 1]] * n,
            np.full(n, SITES[0, 0]), np.full(n, SITES[0, 1]))
    res = fit_temperature(*data)
    assert res.temperature < 1.0
    assert res.after.mean_projected > res.before.mean_projected


def test_progress_callback_and_determinism():
    data = overconfident_rounds(n=10, seed=3)
    steps = []
    a = fit_temperature(*data, on_step=lambda d, t: steps.append((d, t)))
    b = fit_temperature(*data)
    assert a.temperature == b.temperature
    assert steps and steps[-1][0] == steps[-1][1]


def test_bad_data():
    with pytest.raises(CalibrationError, match="no rounds"):
        fit_temperature([], [], [], [], [])
    with pytest.raises(CalibrationError):
        fit_temperature([np.log([0.5, 0.5])], [[1, 2]], [[1]], [0], [0])
    with pytest.raises(CalibrationError):
        fit_temperature([np.log([0.5, 0.5])], [[1, 2]], [[1, 2]], [0, 1], [0, 1])
    with pytest.raises(CalibrationError, match="true locations"):
        fit_temperature([np.log([0.5, 0.5])], [[1, 2]], [[1, 2]], [100], [0])
    with pytest.raises(CalibrationError):
        fit_temperature([[np.nan, 0.0]], [[1, 2]], [[1, 2]], [0], [0])


def long_tail_rounds(n=12, k=1500, seed=0):
    """Thousands of candidates whose tail beyond the top 512 holds a third of the mass."""
    rng = np.random.default_rng(seed)
    logp, la, lo, tla, tlo = [], [], [], [], []
    p = np.exp(-np.arange(k) / 800.0)
    p /= p.sum()
    for _ in range(n):
        lat = np.degrees(np.arcsin(rng.uniform(-1, 1, k)))
        lng = rng.uniform(-180, 180, k)
        t = rng.choice(k, p=p)
        logp.append(np.log(p))
        la.append(lat)
        lo.append(lng)
        tla.append(lat[t])
        tlo.append(lng[t])
    return logp, la, lo, np.array(tla), np.array(tlo)


def test_the_fit_sees_every_candidate_the_predictor_serves():
    data = long_tail_rounds()
    res = fit_temperature(*data)
    served = evaluate_temperature(*data, res.temperature, max_candidates=None)
    assert res.after.mean_projected == pytest.approx(served.mean_projected, abs=1e-6)
    # what a fit on the top 512 candidates would have reported instead: another number
    top512 = evaluate_temperature(*data, res.temperature, max_candidates=512)
    assert abs(top512.mean_projected - served.mean_projected) > 3


def test_after_is_labelled_in_sample_and_held_out_figures_are_cross_fitted():
    data = overconfident_rounds(n=40)
    res = fit_temperature(*data)
    assert res.after_is_in_sample and res.to_dict()["after_is_in_sample"] is True
    held = cross_fitted_stats(*data)
    assert held["folds"] == 2 and held["n_rounds"] == 40 and len(held["temperatures"]) == 2
    assert all(t > 0 for t in held["temperatures"])
    assert 0 <= held["ece"] <= 5000
    # here, as usual, the held-out gap is larger than the in-sample one (~0 by construction)
    assert abs(held["mean_projected"] - held["mean_actual"]) >= \
        abs(res.after.mean_projected - res.after.mean_actual) - 1e-6
    assert cross_fitted_stats(*overconfident_rounds(n=10)) is None  # too few rounds
