"""OSV-5M's own metrics, computed the way its benchmark code does."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backend.core.geodesy import destination_point
from backend.eval.osv5m_metrics import (
    LEADERBOARD,
    OSV5M_RADIUS_KM,
    area_labels,
    format_osv5m,
    osv5m_metrics,
    truth_labels,
)

WAITANGI = {"name": "Waitangi", "admin1": "Chatham Islands", "admin2": "", "cc": "NZ"}
PARIS = {"name": "Paris", "admin1": "Ile-de-France", "admin2": "Paris", "cc": "FR"}


def _fixed_search(places):
    return lambda points: [places[i % len(places)] for i in range(len(points))]


def test_distances_use_6371_km_and_strict_radii():
    # the guess exactly 25 km (on the 6371 km sphere) north of the truth: OSV-5M counts d < r
    lat, lng = destination_point(10.0, 20.0, 0.0, 25.0, radius_km=OSV5M_RADIUS_KM)
    res = osv5m_metrics([10.0, 10.0], [20.0, 20.0], [lat, 10.0], [lng, 20.0],
                        search=_fixed_search([PARIS]), n_boot=50)
    m = res["metrics"]
    from backend.core.metrics import distance_errors_km

    d = distance_errors_km(10.0, 20.0, lat, lng, radius_km=6371.0)[0]
    assert d == pytest.approx(25.0, abs=1e-6)
    assert m["haversine_km"]["value"] == pytest.approx(12.5, abs=1e-6)
    assert m["acc_25km"]["value"] == (100.0 if d < 25 else 50.0)  # strictly less, as theirs
    assert m["acc_200km"]["value"] == 100.0
    assert m["acc_1km"]["value"] == 50.0
    assert m["geoscore"]["value"] == pytest.approx((5000 * math.exp(-25 / 1492.7) + 5000) / 2)
    assert res["definitions"]["radius_km"] == 6371.0


def test_area_labels_are_osv5m_strings_and_compared_as_such():
    labels = area_labels([0, 0], [0, 0], search=_fixed_search([PARIS, WAITANGI]))
    assert labels == {"country": ["FR", "NZ"],
                      "region": ["Ile-de-France_FR", "Chatham Islands_NZ"],
                      "sub-region": ["Paris_Ile-de-France_FR", "_Chatham Islands_NZ"],
                      "city": ["Paris_Paris_Ile-de-France_FR", "Waitangi__Chatham Islands_NZ"]}
    # truth as the OSV-5M CSV writes it: a missing admin-2 is "NaN" inside the city label and
    # an empty sub-region; their code then counts city and sub-region as misses
    truth = {"country": ["NZ"], "region": ["Chatham Islands_NZ"], "sub-region": ["NaN"],
             "city": ["Waitangi_NaN_Chatham Islands_NZ"]}
    m = osv5m_metrics([-43.95], [-176.56], [-43.95], [-176.56], truth=truth,
                      search=_fixed_search([WAITANGI]), n_boot=20)["metrics"]
    assert (m["country_acc"]["value"], m["region_acc"]["value"], m["sub-region_acc"]["value"],
            m["city_acc"]["value"]) == (100.0, 100.0, 0.0, 0.0)


def test_real_reverse_geocoder_labels():
    labels = area_labels([48.8566], [2.3522])  # the package's own GeoNames places
    assert labels["country"] == ["FR"] and labels["region"] == ["Ile-de-France_FR"]
    assert labels["city"][0].startswith("Paris_") and labels["city"][0].endswith("_FR")


def test_truth_labels_from_the_csv_columns_or_none():
    class Loc:
        def __init__(self, extra):
            self.extra = extra

    locs = [Loc({"unique_country": "FR", "unique_region": "Ile-de-France_FR",
                 "unique_sub-region": "", "unique_city": "Paris_Paris_Ile-de-France_FR"}),
            Loc({"unique_country": "nan", "unique_region": "", "unique_city": ""})]
    t = truth_labels(locs)
    assert t["country"] == ["FR", "NaN"] and t["sub-region"] == ["NaN", "NaN"]
    assert truth_labels([Loc({"country": "FR"})]) is None and truth_labels([]) is None
    with pytest.raises(ValueError, match="truth labels"):
        osv5m_metrics([0, 1], [0, 1], [0, 1], [0, 1], truth={k: ["x"] for k in t},
                      search=_fixed_search([PARIS]), n_boot=20)


def test_table_sits_beside_the_leaderboard():
    res = osv5m_metrics([48.85], [2.35], [48.86], [2.35], search=_fixed_search([PARIS]),
                        n_boot=20)
    text = format_osv5m(res, name="bundles/x")
    assert "bundles/x (n=1)" in text and "3361" in text and "3767" in text
    assert next(r[0] for r in LEADERBOARD).startswith("OSV-5M baseline")


def test_pigeon_eval_reports_osv5m_rows(tmp_path: Path, capsys) -> None:
    """An OSV-5M-layout CSV (as `pigeon data osv5m` writes it) through `pigeon eval`."""
    pytest.importorskip("torch", reason="a real bundle needs torch")
    from backend.eval.grid_cells import make_grid_cells
    from backend.model.bundle import make_tiny_bundle
    from bot.cli import main

    rng = np.random.default_rng(0)
    cells = make_grid_cells(rng.uniform(-60, 60, 200), rng.uniform(-180, 180, 200),
                            n_bands=6, min_points=2)
    bundle = make_tiny_bundle(tmp_path / "b", cells, seed=0)
    (tmp_path / "images" / "test").mkdir(parents=True)
    rows = [("id,latitude,longitude,country,region,sub-region,city,unique_country,"
            "unique_region,unique_sub-region,unique_city,month")]
    for i in range(6):
        Image.new("RGB", (40, 30), (i * 40, 90, 200 - i * 30)).save(
            tmp_path / "images" / "test" / f"{i}.jpg")
        rows.append(f"{i},48.85,2.35,FR,Ile-de-France,Paris,Paris,FR,Ile-de-France_FR,"
                    "Paris_Ile-de-France_FR,Paris_Paris_Ile-de-France_FR,5")
    (tmp_path / "test.csv").write_text("\n".join(rows) + "\n")
    rc = main(["eval", "--model", str(bundle), "--data", str(tmp_path / "test.csv"), "--out",
               str(tmp_path / "rep"), "--n-boot", "50", "--no-geo", "--no-plots"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "OSV-5M benchmark" in out and "OSV-5M baseline" in out
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    osv = summary["osv5m"]["metrics"]
    preds = [ln.split(",") for ln in (tmp_path / "rep" / "predictions.csv").read_text()
             .splitlines()[1:]]
    from backend.core.metrics import distance_errors_km

    d = distance_errors_km([48.85] * 6, [2.35] * 6, [float(p[4]) for p in preds],
                           [float(p[5]) for p in preds], radius_km=6371.0)
    assert osv["haversine_km"]["value"] == pytest.approx(float(d.mean()), rel=1e-6)
    assert osv["geoscore"]["value"] == pytest.approx(float((5000 * np.exp(-d / 1492.7)).mean()))
    assert (tmp_path / "rep" / "osv5m.txt").is_file()
    rc = main(["eval", "--model", str(bundle), "--data", str(tmp_path / "test.csv"),
               "--n-boot", "50", "--no-geo", "--osv5m", "off"])
    assert rc == 0 and "OSV-5M benchmark" not in capsys.readouterr().out
