"""``pigeon eval`` end to end: a fake predictor with known guesses (table checked against
hand-computed numbers), then a real run with a tiny bundle through the CLI."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backend.cliutil import UserError
from backend.core.geodesy import EARTH_RADIUS_KM, haversine_km
from backend.core.guess import Guess
from backend.eval.datasets import load_dataset
from backend.eval.evaluate import evaluate_predictions, predict_dataset, write_reports
from backend.eval.metrics import format_report

KM_PER_DEG = EARTH_RADIUS_KM * math.pi / 180.0
# the error (km, due north) of guess i; chosen to straddle every threshold
ERRORS_KM = [0.3, 0.8, 5.0, 24.0, 30.0, 150.0, 199.0, 400.0, 700.0, 760.0, 1500.0, 2400.0,
             3000.0, 6000.0, 0.0, 12.0, 90.0, 1000.0, 2600.0, 50.0]


def _make_dataset(root: Path, n: int, views: int = 2) -> Path:
    rng = np.random.default_rng(5)
    lat = rng.uniform(-60, 20, n)  # guesses stay below 80° north
    lng = rng.uniform(-170, 170, n)
    rows = ["id,lat,lng," + ",".join(f"image_{v}" for v in range(1, views + 1)) + ",month"]
    for i in range(n):
        names = []
        for v in range(views):
            name = f"loc{i}_{v}.png"
            # the index is written into the pixels, so the fake model can "recognise" it
            Image.new("RGB", (16, 16), (i, v, 0)).save(root / name)
            names.append(name)
        rows.append(f"L{i},{float(lat[i])!r},{float(lng[i])!r},{','.join(names)},{i % 12 + 1}")
    path = root / "test.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


class KnownGuesses:
    """Reads the location index from the pixels and answers a guess ERRORS_KM[i] north."""

    def __init__(self, csv_path: Path) -> None:
        self.ds = load_dataset(csv_path)
        self.calls = 0

    def predict_batch(self, rounds: list[list[Image.Image]]) -> list[Guess]:
        self.calls += 1
        out = []
        for views in rounds:
            assert all(isinstance(v, Image.Image) for v in views)
            i = views[0].getpixel((0, 0))[0]
            loc = self.ds[i]
            d = ERRORS_KM[i]
            out.append(Guess(lat=loc.lat + d / KM_PER_DEG, lng=loc.lng,
                             projected_score=2500.0, confidence=0.5,
                             country="AA" if i % 2 else "BB"))
        return out


def test_fake_predictor_table_matches_hand_computation(tmp_path: Path) -> None:
    csv_path = _make_dataset(tmp_path, len(ERRORS_KM))
    ds = load_dataset(csv_path)
    model = KnownGuesses(csv_path)
    preds = predict_dataset(model, ds, batch_size=6, show_progress=False)
    assert model.calls == 4 and len(preds.locations) == 20

    # a stand-in polygon lookup: "T" on a true location's parallel, "X" anywhere else
    def lookup(la: np.ndarray, lo: np.ndarray) -> np.ndarray:
        return np.where(np.isin(np.round(la, 9), np.round(ds.lats(), 9)), "T", "X")

    rep = evaluate_predictions(preds, country_lookup=lookup, n_boot=300, seed=1)
    d = np.array(ERRORS_KM)
    for key, km in (("acc_1km", 1), ("acc_25km", 25), ("acc_200km", 200),
                    ("acc_750km", 750), ("acc_2500km", 2500)):
        assert rep[key].value == pytest.approx(100.0 * (d <= km).mean()), key
    assert rep["acc_1km"].value == pytest.approx(15.0)      # 0.3, 0.8, 0.0
    assert rep["acc_25km"].value == pytest.approx(30.0)     # + 5, 24, 12 (not 30 km)
    # country: only the exact hits (0 km) keep the truth's latitude -> "T" both sides
    assert rep["country_acc"].value == pytest.approx(5.0)
    assert rep["mean_km"].value == pytest.approx(d.mean(), rel=1e-6)
    assert rep["median_km"].value == pytest.approx(np.median(d), rel=1e-6)
    assert rep["mean_score"].value == pytest.approx(np.mean(5000 * np.exp(-d / 1492.7)),
                                                    rel=1e-6)
    assert rep["projected_mean"].value == pytest.approx(2500.0)
    assert "cell_top1" not in rep  # a plain predict_batch model gives no cell scores

    paths = write_reports(tmp_path / "rep", preds, rep, meta={"model": {"name": "fake"}})
    names = {p.name for p in paths}
    assert {"summary.json", "summary.csv", "predictions.csv", "table.txt", "error_cdf.png",
            "calibration.png", "error_map.png"} <= names
    for p in paths:
        assert p.stat().st_size > 100, p
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert summary["format"] == "pigeon-eval/1" and summary["model"] == {"name": "fake"}
    assert summary["metrics"]["metrics"]["acc_25km"]["value"] == pytest.approx(30.0)
    rows = list(csv.DictReader((tmp_path / "rep" / "predictions.csv").open()))
    assert [r["id"] for r in rows] == ds.ids()
    np.testing.assert_allclose([float(r["distance_km"]) for r in rows], d, atol=1e-4)
    assert rows[3]["guess_country"] == "AA" and rows[3]["line_no"] == "5"
    assert "city 25 km" in (tmp_path / "rep" / "table.txt").read_text()


def test_unreadable_image_fail_or_skip(tmp_path: Path) -> None:
    csv_path = _make_dataset(tmp_path, 5, views=1)
    (tmp_path / "loc2_0.png").write_bytes(b"not a png")
    ds = load_dataset(csv_path)
    with pytest.raises(UserError, match=r"line 4 \(id 'L2'\): unreadable image"):
        predict_dataset(KnownGuesses(csv_path), ds, show_progress=False)
    preds = predict_dataset(KnownGuesses(csv_path), ds, on_bad_image="skip",
                            show_progress=False)
    assert [loc.id for loc in preds.locations] == ["L0", "L1", "L3", "L4"]
    assert preds.skipped[0].line_no == 4


class WrongCount:
    def predict_batch(self, rounds: list) -> list:
        return []


def test_predictor_returning_wrong_count(tmp_path: Path) -> None:
    ds = load_dataset(_make_dataset(tmp_path, 3, views=1))
    with pytest.raises(UserError, match="0 guesses for 3"):
        predict_dataset(WrongCount(), ds, show_progress=False)


# --- a real run: tiny open_clip bundle, real Predictor, through the pigeon CLI ------------

@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch", reason="torch is needed for a real bundle")
    from backend.eval.grid_cells import make_grid_cells
    from backend.model.bundle import make_tiny_bundle

    rng = np.random.default_rng(0)
    cells = make_grid_cells(rng.uniform(-60, 60, 200), rng.uniform(-180, 180, 200),
                            n_bands=6, min_points=2)
    return make_tiny_bundle(tmp_path_factory.mktemp("bundle") / "tiny", cells, seed=0)


def test_real_tiny_bundle_through_cli(tmp_path: Path, tiny_bundle: Path,
                                      capsys: pytest.CaptureFixture) -> None:
    from bot.cli import main

    csv_path = _make_dataset(tmp_path, 24, views=2)
    rc = main(["eval", "--model", str(tiny_bundle), "--data", str(csv_path), "--out",
               str(tmp_path / "rep"), "--limit", "20", "--n-boot", "100", "--no-geo",
               "--batch-size", "8"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "geocell top-5" in out and "month accuracy" in out
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    metrics = summary["metrics"]["metrics"]
    assert summary["data"]["evaluated"] == 20 and summary["model"]["format"]
    rows = list(csv.DictReader((tmp_path / "rep" / "predictions.csv").open()))
    assert len(rows) == 20
    # recompute the headline numbers independently from the per-item file
    d = haversine_km([float(r["true_lat"]) for r in rows], [float(r["true_lng"]) for r in rows],
                     [float(r["pred_lat"]) for r in rows], [float(r["pred_lng"]) for r in rows])
    assert metrics["mean_km"]["value"] == pytest.approx(float(np.mean(d)), rel=1e-5)
    assert metrics["median_km"]["value"] == pytest.approx(float(np.median(d)), rel=1e-5)
    assert metrics["acc_2500km"]["value"] == pytest.approx(100 * float((d <= 2500).mean()))
    assert 0 <= metrics["cell_top1"]["value"] <= metrics["cell_top5"]["value"] <= 100
    proj = np.array([float(r["projected_score"]) for r in rows])
    assert ((proj >= 0) & (proj <= 5000)).all()
    assert metrics["projected_mean"]["value"] == pytest.approx(proj.mean(), rel=1e-5)


def test_cli_bad_inputs(tmp_path: Path, tiny_bundle: Path,
                        capsys: pytest.CaptureFixture) -> None:
    from bot.cli import main

    csv_path = _make_dataset(tmp_path, 4, views=1)
    assert main(["eval", "--model", str(tmp_path / "nope"), "--data", str(csv_path)]) == 2
    assert "error" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("id,lat,lng,image\nA,91,0,loc0_0.png\nB,0,0,missing.png\n")
    assert main(["eval", "--model", str(tiny_bundle), "--data", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "line 2" in err and "line 3" in err and "--on-bad-row skip" in err
    with pytest.raises(SystemExit):
        main(["eval", "--model", str(tiny_bundle), "--data", str(csv_path), "--limit", "0"])


def test_format_report_of_real_shape(tmp_path: Path) -> None:
    ds = load_dataset(_make_dataset(tmp_path, 20, views=1))
    preds = predict_dataset(KnownGuesses(tmp_path / "test.csv"), ds, show_progress=False)
    text = format_report(evaluate_predictions(preds, n_boot=50))
    assert "median error" in text and "month accuracy" not in text  # no month head here


class PinAndCandidates(KnownGuesses):
    """Pin at the truth; the most probable candidate 1000 km south of it."""

    def predict_batch(self, rounds: list[list[Image.Image]]) -> list[Guess]:
        from backend.core.guess import Candidate

        out = []
        for views in rounds:
            loc = self.ds[views[0].getpixel((0, 0))[0]]
            south = loc.lat - 1000.0 / KM_PER_DEG
            out.append(Guess(lat=loc.lat, lng=loc.lng, projected_score=4000.0, confidence=0.9,
                             top_k=[Candidate(south, loc.lng, 0.6, 0),
                                    Candidate(loc.lat, loc.lng, 0.4, 1)]))
        return out


def test_pin_choice_expected_vs_argmax(tmp_path: Path) -> None:
    csv_path = _make_dataset(tmp_path, 6, views=1)
    ds = load_dataset(csv_path)
    model = PinAndCandidates(csv_path)
    ours = evaluate_predictions(predict_dataset(model, ds, show_progress=False), n_boot=20)
    paper = evaluate_predictions(predict_dataset(model, ds, pin="argmax", show_progress=False),
                                 n_boot=20)
    assert ours["mean_km"].value == pytest.approx(0.0, abs=1e-6)
    assert paper["mean_km"].value == pytest.approx(1000.0, rel=1e-6)
    with pytest.raises(ValueError, match="pin must be"):
        predict_dataset(model, ds, pin="median", show_progress=False)


def test_real_geo_country_and_aux_truth() -> None:
    from backend.eval.evaluate import default_aux_truth, default_country_lookup

    lookup = default_country_lookup()
    if lookup is None:
        pytest.skip("geo assets are not built (run `make setup`): no polygon countries")
    lat, lng = np.array([48.8566, -33.87, 0.0]), np.array([2.3522, 151.21, -30.0])
    assert list(lookup(lat, lng)) == ["FR", "AU", ""]  # the last point is mid-Atlantic
    aux = default_aux_truth(lat, lng)
    assert aux is not None
    assert set(aux) == {"climate_zone", "elevation", "population_density", "temperature",
                        "precipitation"}
    assert 5 < aux["temperature"][0] < 20 and 0.5 < aux["precipitation"][0] < 3.5  # Paris
    assert np.isnan(aux["climate_zone"][2])  # ocean: no Köppen class


class RefusesOne(KnownGuesses):
    """Like the predictor on a too-large or corrupt view: refuses the batch holding loc 2."""

    def predict_batch(self, rounds: list[list[Image.Image]]) -> list[Guess]:
        from backend.predict.images import ImageError

        if any(views[0].getpixel((0, 0))[0] == 2 for views in rounds):
            raise ImageError("view 1 has 99999 x 99999 pixels, more than the limit")
        return super().predict_batch(rounds)


def test_view_refused_by_the_model_is_found_and_reported(tmp_path: Path) -> None:
    csv_path = _make_dataset(tmp_path, 5, views=1)
    ds = load_dataset(csv_path)
    with pytest.raises(UserError, match=r"line 4 \(id 'L2'\): image refused by the model"):
        predict_dataset(RefusesOne(csv_path), ds, batch_size=4, show_progress=False)
    preds = predict_dataset(RefusesOne(csv_path), ds, batch_size=4, on_bad_image="skip",
                            show_progress=False)
    assert [loc.id for loc in preds.locations] == ["L0", "L1", "L3", "L4"]
    assert "more than the limit" in str(preds.skipped[0])
    np.testing.assert_allclose(preds.lat - [loc.lat for loc in preds.locations],
                               np.array(ERRORS_KM)[[0, 1, 3, 4]] / KM_PER_DEG)
