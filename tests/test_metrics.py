"""The paper's metrics on arrays: hand-computed tables, an independent geodesic check,
the published score formula, the bootstrap against a naive loop, and bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from backend.core import metrics as core
from backend.core.geodesy import EARTH_RADIUS_KM, CoordinateError
from backend.core.scoring import geoguessr_score
from backend.eval.bootstrap import bootstrap_intervals
from backend.eval.metrics import compute_metrics, format_ladder, format_report

KM_PER_DEG = EARTH_RADIUS_KM * math.pi / 180.0  # along a meridian on the sphere


def test_distances_agree_with_wgs84_geodesics() -> None:
    geographiclib = pytest.importorskip(
        "geographiclib", reason="geographiclib is in the dev extra: pip install -e '.[dev]'")
    from geographiclib.geodesic import Geodesic

    rng = np.random.default_rng(0)
    n = 400
    lat1, lat2 = rng.uniform(-89, 89, n), rng.uniform(-89, 89, n)
    lng1, lng2 = rng.uniform(-180, 180, n), rng.uniform(-180, 180, n)
    # add short pairs (a few km) where the relative error is largest along meridians
    lat2[:50] = lat1[:50] + rng.uniform(-0.05, 0.05, 50)
    lng2[:50] = lng1[:50] + rng.uniform(-0.05, 0.05, 50)
    ours = core.distance_errors_km(lat1, lng1, lat2, lng2)
    wgs = np.array([Geodesic.WGS84.Inverse(a, b, c, d)["s12"] / 1000.0
                    for a, b, c, d in zip(lat1, lng1, lat2, lng2)])
    keep = wgs > 0.5
    rel = np.abs(ours[keep] - wgs[keep]) / wgs[keep]
    assert rel.max() < 0.006, rel.max()
    assert geographiclib.__version__


def test_score_matches_published_formula() -> None:
    # 5000 * exp(-d / 1492.7): 5000 at 0 km, 5000/e at 1492.7 km, and known game values
    assert geoguessr_score(0.0) == pytest.approx(5000.0)
    assert geoguessr_score(1492.7) == pytest.approx(5000.0 / math.e)
    assert geoguessr_score(100.0) == pytest.approx(4676.0, abs=1.0)
    assert geoguessr_score(1000.0) == pytest.approx(2559.0, abs=1.0)
    assert geoguessr_score(5000.0) == pytest.approx(175.6, abs=0.5)


def _table_case() -> tuple[np.ndarray, ...]:
    # truths on the equator; guesses displaced north by chosen distances (km)
    d = np.array([0.5, 10.0, 100.0, 500.0, 1000.0, 3000.0, 20.0, 0.9])
    t_lat, t_lng = np.zeros(8), np.linspace(-100, 100, 8)
    p_lat, p_lng = d / KM_PER_DEG, t_lng.copy()
    return d, t_lat, t_lng, p_lat, p_lng


def test_table_matches_hand_computation() -> None:
    d, t_lat, t_lng, p_lat, p_lng = _table_case()
    rep = compute_metrics(t_lat, t_lng, p_lat, p_lng,
                          true_country=["FR", "FR", "DE", "", "US", "US", "BR", "BR"],
                          pred_country=["FR", "DE", "DE", "DE", None, "CA", "BR", "br"],
                          n_boot=200, seed=0)
    # within 1 km: 0.5, 0.9 -> 2/8; 25 km: + 10, 20 -> 4/8; 200: + 100 -> 5/8;
    # 750: + 500 -> 6/8; 2500: + 1000 -> 7/8
    expected = {"acc_1km": 25.0, "acc_25km": 50.0, "acc_200km": 62.5, "acc_750km": 75.0,
                "acc_2500km": 87.5}
    for key, val in expected.items():
        assert rep[key].value == pytest.approx(val), key
    # country: the "" truth does not count; 7 judged, right: FR, DE, BR, br -> 4/7
    assert rep["country_acc"].value == pytest.approx(400 / 7) and rep["country_acc"].n == 7
    assert rep["mean_km"].value == pytest.approx(d.mean(), rel=1e-9)
    assert rep["median_km"].value == pytest.approx(np.median(d), rel=1e-9)
    assert rep["mean_score"].value == pytest.approx(np.mean(5000 * np.exp(-d / 1492.7)))
    for m in rep.metrics.values():
        if np.isfinite(m.low):
            assert m.low <= m.value + 1e-9 and m.value - 1e-9 <= m.high, m.key
    text = format_report(rep)
    assert "city 25 km" in text and "50.00%" in text and "country (polygon)" in text
    ladder = format_ladder([("CLIP base", rep), ("+ refinement", rep)])
    assert ladder.splitlines()[0].split()[:3] == ["configuration", "1", "km"]
    assert "+ refinement" in ladder and "62.50" in ladder


def test_radius_choice_changes_distances() -> None:
    d_mean = core.distance_errors_km(0, 0, 1, 0)
    d_pigeon = core.distance_errors_km(0, 0, 1, 0, radius_km=6378.137)
    assert d_pigeon[0] / d_mean[0] == pytest.approx(6378.137 / EARTH_RADIUS_KM)


def test_topk_and_label_match() -> None:
    logits = np.array([[0.1, 0.9, 0.0, 0.2, 0.3, 0.4, 0.5],
                       [5.0, 4.0, 3.0, 2.0, 1.0, 0.0, -1.0],
                       [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
    hits = core.topk_hits(logits, [1, 6, -1], ks=(1, 5))
    assert hits[1][:2].tolist() == [1.0, 0.0] and hits[5][:2].tolist() == [1.0, 0.0]
    assert np.isnan(hits[1][2])
    assert core.topk_hits(logits, [3, 4, 0], ks=(5,))[5].tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="outside the 7 cells"):
        core.topk_hits(logits, [7, 0, 0])
    with pytest.raises(ValueError, match=r"\(n, C\)"):
        core.topk_hits(logits[0], [1])
    m = core.label_match(["Af", None, 3, float("nan")], ["Af", "Cf", 3.0, "x"])
    assert m[0] == 1.0 and np.isnan(m[1]) and m[2] == 1.0 and np.isnan(m[3])
    # numeric class indices take a vectorised path with the same rules
    fast = core.label_match(np.array([1.0, np.nan, 2.0, 3.0]), np.array([1, 1, np.nan, 4]))
    slow = core.label_match([1.0, None, 2, 3], [1, 1, None, 4])
    np.testing.assert_array_equal(fast, slow)
    np.testing.assert_array_equal(fast, [1.0, np.nan, 0.0, 0.0])


def test_auxiliary_metrics_and_seasons() -> None:
    n = 4
    t_lat = np.array([45.0, -30.0, 10.0, -5.0])
    aux_true = {"elevation": [100, 200, 300, np.nan], "temperature": [10, 20, 30, 25],
                "climate_zone": ["Cfb", "BWh", "Af", "Af"], "month": [1, 1, 7, 4]}
    aux_pred = {"elevation": [110, 180, 300, 5], "temperature": [12, 20, 27, 25],
                "climate_zone": ["Cfb", "BWk", "Af", "Aw"], "month": [2, 7, 7, 5]}
    rep = compute_metrics(t_lat, np.zeros(n), t_lat, np.zeros(n), aux_true=aux_true,
                          aux_pred=aux_pred, n_boot=100)
    assert rep["elevation_mae"].value == pytest.approx(10.0) and rep["elevation_mae"].n == 3
    assert rep["temperature_mae"].value == pytest.approx(5 / 4)
    assert rep["climate_zone_acc"].value == pytest.approx(50.0)
    assert rep["month_acc"].value == pytest.approx(25.0)
    # seasons: Jan/Feb north winter (ok); Jan vs Jul south: summer vs winter (wrong);
    # Jul/Jul (ok); Apr vs May south: autumn both (ok)
    assert rep["season_acc"].value == pytest.approx(75.0)
    assert core.month_to_season([12, 3, 6, 9], [1, 1, 1, 1]).tolist() == [0, 1, 2, 3]
    assert core.month_to_season([12, 3, 6, 9], [-1] * 4).tolist() == [2, 3, 0, 1]
    with pytest.raises(ValueError, match="unknown auxiliary"):
        compute_metrics([0], [0], [0], [0], aux_true={"snow": [1]}, aux_pred={"snow": [1]})


def test_projected_score_calibration() -> None:
    d = np.array([0.0, 100.0, 1000.0, 3000.0])
    actual = geoguessr_score(d)
    rep = compute_metrics(np.zeros(4), np.zeros(4), d / KM_PER_DEG, np.zeros(4),
                          projected_score=actual, n_boot=50)
    assert rep["projected_bias"].value == pytest.approx(0.0, abs=1e-6)
    assert rep["calibration_error"].value == pytest.approx(0.0, abs=1e-6)
    rep2 = compute_metrics(np.zeros(4), np.zeros(4), d / KM_PER_DEG, np.zeros(4),
                           projected_score=np.clip(actual + 300, 0, 5000), n_boot=50)
    assert rep2["projected_bias"].value == pytest.approx(np.mean(np.clip(actual + 300, 0, 5000)
                                                                 - actual))
    assert rep2["calibration_error"].value > 100


def test_bootstrap_equals_naive_loop_with_same_draws() -> None:
    rng = np.random.default_rng(1)
    x = rng.exponential(300.0, 257)
    y = np.where(rng.random(257) < 0.2, np.nan, rng.random(257))
    iv = bootstrap_intervals({"x": x, "y": y}, {"med": (x, 0.5)}, n_boot=300, seed=7,
                             max_chunk_elements=257 * 16)
    draws = np.random.default_rng(7)
    mx, my, md = [], [], []
    for _ in range(300):
        idx = draws.integers(0, 257, size=257)
        mx.append(x[idx].mean())
        my.append(np.nanmean(y[idx]))
        md.append(np.quantile(x[idx], 0.5, method="inverted_cdf"))
    for key, stats in (("x", mx), ("y", my), ("med", md)):
        want = np.quantile(stats, [0.025, 0.975])
        np.testing.assert_allclose(iv[key], want, rtol=1e-5, err_msg=key)


def test_bootstrap_seeded_and_shrinks_with_n() -> None:
    rng = np.random.default_rng(2)
    small, big = rng.normal(size=100), rng.normal(size=10_000)
    a = bootstrap_intervals({"m": small}, n_boot=200, seed=3)
    assert a == bootstrap_intervals({"m": small}, n_boot=200, seed=3)
    assert a != bootstrap_intervals({"m": small}, n_boot=200, seed=4)
    b = bootstrap_intervals({"m": big}, n_boot=200, seed=3)
    assert (b["m"][1] - b["m"][0]) < (a["m"][1] - a["m"][0]) / 5
    # the 95 % interval of a mean is about +-1.96 standard errors
    half = (b["m"][1] - b["m"][0]) / 2
    assert half == pytest.approx(1.96 * big.std() / 100, rel=0.2)


def test_bootstrap_bad_inputs() -> None:
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_intervals({"a": np.ones(3)}, n_boot=5)
    with pytest.raises(ValueError, match="same length"):
        bootstrap_intervals({"a": np.ones(3), "b": np.ones(4)})
    with pytest.raises(ValueError, match="non-finite"):
        bootstrap_intervals({}, {"q": (np.array([1.0, np.nan]), 0.5)})
    with pytest.raises(ValueError, match="ci"):
        bootstrap_intervals({"a": np.ones(3)}, ci=1.5)
    out = bootstrap_intervals({"a": np.full(5, np.nan)}, n_boot=20)
    assert all(math.isnan(v) for v in out["a"])


def test_compute_metrics_bad_inputs() -> None:
    with pytest.raises(CoordinateError, match="latitude"):
        compute_metrics([0, 95], [0, 0], [0, 0], [0, 0])
    with pytest.raises(CoordinateError, match="finite"):
        compute_metrics([0, np.nan], [0, 0], [0, 0], [0, 0])
    with pytest.raises(ValueError, match="one guess each"):
        compute_metrics([0, 1], [0, 1], [0], [0])
    with pytest.raises(ValueError, match="both true_country"):
        compute_metrics([0], [0], [0], [0], true_country=["FR"])
    with pytest.raises(ValueError, match="both cell_logits"):
        compute_metrics([0], [0], [0], [0], true_cells=[0])
    with pytest.raises(ValueError, match="projected_score needs 1"):
        compute_metrics([0], [0], [0], [0], projected_score=[1, 2])


def test_report_to_dict_is_json_ready() -> None:
    import json

    _, t_lat, t_lng, p_lat, p_lng = _table_case()
    out = compute_metrics(t_lat, t_lng, p_lat, p_lng, n_boot=20).to_dict()
    text = json.dumps(out, allow_nan=False)
    assert out["format"] == "pigeon-eval-metrics/1" and "median_km" in text
