"""Dataset adapters (generic, OSV-5M, IM2GPS/YFCC) and the min-distance split."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backend.core.geodesy import haversine_matrix_km
from backend.eval.datasets import DatasetError, detect_layout, load_dataset, write_generic_csv
from backend.eval.split import split_indices, write_split


def _img(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (10, 20, 30)).save(path)
    return path


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_generic_four_views_heading_month(tmp_path: Path) -> None:
    for i in range(1, 5):
        _img(tmp_path / "img" / f"a_{i}.jpg")
    csv = _write(tmp_path / "d.csv",
                 "id,lat,lng,image_1,image_2,image_3,image_4,heading,month,country\n"
                 "a,48.85,2.35,img/a_1.jpg,img/a_2.jpg,img/a_3.jpg,img/a_4.jpg,450,7,FR\n")
    ds = load_dataset(csv)
    assert ds.layout == "generic" and len(ds) == 1
    loc = ds[0]
    assert (loc.id, loc.lat, loc.lng, loc.heading, loc.month) == ("a", 48.85, 2.35, 90.0, 7)
    assert loc.image_paths == [tmp_path / "img" / f"a_{i}.jpg" for i in range(1, 5)]
    assert loc.line_no == 2 and loc.extra == {"country": "FR"}


def test_generic_single_view_optional_columns_empty(tmp_path: Path) -> None:
    _img(tmp_path / "x.png")
    csv = _write(tmp_path / "d.csv", "id,lat,lng,image,heading,month\nx,-33.9,151.2,x.png,,\n")
    loc = load_dataset(csv)[0]
    assert loc.heading is None and loc.month is None and loc.image_paths == [tmp_path / "x.png"]


BAD_CSV = ("id,lat,lng,image,month\n"
           "ok1,10,20,ok.jpg,1\n"          # line 2: fine
           "b1,abc,20,ok.jpg,1\n"          # line 3: latitude not a number
           "b2,95,20,ok.jpg,1\n"           # line 4: latitude out of range
           "ok1,11,21,ok.jpg,1\n"          # line 5: duplicate id
           "b3,10,20,missing.jpg,1\n"      # line 6: missing image
           "b4,10,200,ok.jpg,13\n"         # line 7: longitude and month bad
           "ok2,-10,-20,ok.jpg,\n")        # line 8: fine


def test_bad_rows_fail_lists_line_numbers(tmp_path: Path) -> None:
    _img(tmp_path / "ok.jpg")
    csv = _write(tmp_path / "d.csv", BAD_CSV)
    with pytest.raises(DatasetError) as err:
        load_dataset(csv)
    msg = str(err.value)
    assert [b.line_no for b in err.value.bad_rows] == [3, 4, 5, 6, 7]
    for needle in ("line 3", "'abc' is not a number", "line 4", "outside [-90, 90]",
                   "duplicate id (first on line 2)", "missing image", "month '13'",
                   "longitude 200.0", "--on-bad-row skip"):
        assert needle in msg, needle


def test_bad_rows_skip_keeps_good_and_reports(tmp_path: Path) -> None:
    _img(tmp_path / "ok.jpg")
    ds = load_dataset(_write(tmp_path / "d.csv", BAD_CSV), on_bad_row="skip")
    assert ds.ids() == ["ok1", "ok2"] and ds.rows_read == 7
    assert [b.line_no for b in ds.bad_rows] == [3, 4, 5, 6, 7]
    assert len(ds.bad_rows[4].reasons) == 2  # longitude AND month
    np.testing.assert_allclose(ds.lats(), [10, -10])


def test_all_bad_rows_skip_still_errors(tmp_path: Path) -> None:
    csv = _write(tmp_path / "d.csv", "id,lat,lng,image\na,1,2,nope.jpg\n")
    with pytest.raises(DatasetError, match="no usable rows"):
        load_dataset(csv, on_bad_row="skip")


@pytest.mark.parametrize("text,match", [
    ("", "empty file"),
    ("foo,bar\n1,2\n", "unrecognised CSV header"),
    ("id,lat,lng,heading\na,1,2,0\n", "needs an 'image'"),
])
def test_unreadable_files(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(DatasetError, match=match):
        load_dataset(_write(tmp_path / "d.csv", text))


def test_missing_file_and_bad_options(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such dataset file"):
        load_dataset(tmp_path / "nope.csv")
    csv = _write(tmp_path / "d.csv", "id,lat,lng,image\n")
    with pytest.raises(DatasetError, match="on_bad_row"):
        load_dataset(csv, on_bad_row="ignore")
    with pytest.raises(DatasetError, match="unknown layout"):
        load_dataset(csv, layout="coco")


def test_osv5m_layout(tmp_path: Path) -> None:
    _img(tmp_path / "images" / "test" / "123.jpg")
    _img(tmp_path / "images" / "test" / "456.jpg")
    csv = _write(tmp_path / "test.csv",
                 "id,latitude,longitude,thumb_original_url,country,region,sub-region,city\n"
                 "123,45.5,-73.6,http://x,CA,Quebec,Montreal,Montreal\n"
                 "456,-23.5,-46.6,http://y,BR,Sao Paulo,,Sao Paulo\n"
                 "789,1,1,http://z,XX,,,\n")
    ds = load_dataset(csv, on_bad_row="skip")
    assert ds.layout == "osv5m" and ds.ids() == ["123", "456"]
    assert ds[0].image_paths == [tmp_path / "images" / "test" / "123.jpg"]
    assert ds[0].extra["country"] == "CA" and ds[1].extra["region"] == "Sao Paulo"
    assert ds.bad_rows[0].line_no == 4 and "missing image" in str(ds.bad_rows[0])
    with pytest.raises(DatasetError, match="missing image"):
        load_dataset(csv, split="train")


def test_im2gps_layout_with_and_without_extension(tmp_path: Path) -> None:
    _img(tmp_path / "im2gps3ktest" / "1000_abc.jpg")
    _img(tmp_path / "im2gps3ktest" / "2000.jpg")
    csv = _write(tmp_path / "im2gps3k_places365.csv",
                 "IMG_ID,AUTHOR,LAT,LON,S3_Label\n1000_abc.jpg,me,40.7,-74.0,1\n2000,you,35.7,139.7,2\n")
    ds = load_dataset(csv)
    assert ds.layout == "im2gps"
    assert ds[0].image_paths == [tmp_path / "im2gps3ktest" / "1000_abc.jpg"]
    assert ds[1].image_paths == [tmp_path / "im2gps3ktest" / "2000.jpg"]
    other = tmp_path / "elsewhere"
    _img(other / "1000_abc.jpg")
    _img(other / "2000.jpg")
    assert load_dataset(csv, images_dir=other)[0].image_paths == [other / "1000_abc.jpg"]


def test_detect_layout() -> None:
    assert detect_layout(["id", "lat", "lng", "image"]) == "generic"
    assert detect_layout(["id", "latitude", "longitude", "country"]) == "osv5m"
    assert detect_layout(["IMG_ID", "AUTHOR", "LAT", "LON"]) == "im2gps"


def test_write_generic_round_trip(tmp_path: Path) -> None:
    for i in range(1, 3):
        _img(tmp_path / "src" / f"v{i}.jpg")
    csv = _write(tmp_path / "src" / "d.csv",
                 "id,lat,lng,image_1,image_2,heading,month,country\n"
                 "p,1.5,-2.25,v1.jpg,v2.jpg,10,3,FR\n")
    ds = load_dataset(csv)
    out = write_generic_csv(tmp_path / "out" / "copy.csv", ds.locations)
    back = load_dataset(out)
    assert [p.resolve() for p in back[0].image_paths] == \
        [p.resolve() for p in ds[0].image_paths]
    assert "../src/v1.jpg" in out.read_text()  # relative to the new CSV's folder
    assert (back[0].lat, back[0].lng, back[0].heading, back[0].month) == (1.5, -2.25, 10.0, 3)
    assert back[0].extra == {"country": "FR"}


# --- split -------------------------------------------------------------------------------

def _clustered_points(seed: int = 0, n_clusters: int = 60, per: int = 5) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    centres = np.stack([rng.uniform(-60, 60, n_clusters), rng.uniform(-180, 180, n_clusters)], 1)
    pts = np.repeat(centres, per, axis=0)
    pts = pts + rng.normal(0, 0.002, pts.shape)  # ~200 m jitter: within-cluster links at 1 km
    return pts[:, 0], pts[:, 1]


def test_split_keeps_min_distance_and_covers_all() -> None:
    lat, lng = _clustered_points()
    train, test = split_indices(lat, lng, test_frac=0.2, min_km=1.0, seed=3)
    assert len(set(train) | set(test)) == len(lat) and not set(train) & set(test)
    # independent brute-force check of the guarantee
    d = haversine_matrix_km(lat[test], lng[test], lat[train], lng[train])
    assert d.min() >= 1.0
    assert abs(len(test) / len(lat) - 0.2) < 0.05
    # a naive random split would put cluster mates on both sides
    rng = np.random.default_rng(3)
    naive = rng.permutation(len(lat))
    dn = haversine_matrix_km(lat[naive[:60]], lng[naive[:60]], lat[naive[60:]], lng[naive[60:]])
    assert dn.min() < 1.0


def test_split_is_seeded() -> None:
    lat, lng = _clustered_points()
    a = split_indices(lat, lng, test_frac=0.1, min_km=1.0, seed=1)
    b = split_indices(lat, lng, test_frac=0.1, min_km=1.0, seed=1)
    c = split_indices(lat, lng, test_frac=0.1, min_km=1.0, seed=2)
    assert np.array_equal(a[1], b[1]) and not np.array_equal(a[1], c[1])


def test_split_bad_inputs() -> None:
    lat, lng = _clustered_points(n_clusters=1)
    with pytest.raises(ValueError, match="chains"):
        split_indices(lat, lng, test_frac=0.5, min_km=1.0)
    with pytest.raises(ValueError, match="strictly between"):
        split_indices([0, 1], [0, 1], test_frac=1.0)
    with pytest.raises(ValueError, match="non-negative"):
        split_indices([0, 1], [0, 1], min_km=-1)
    with pytest.raises(ValueError, match="at least 2"):
        split_indices([0], [0])


def test_write_split_files_and_metadata(tmp_path: Path) -> None:
    lat, lng = _clustered_points(n_clusters=10, per=3)
    _img(tmp_path / "src" / "i.jpg")
    rows = "".join(f"p{i},{float(a)!r},{float(b)!r},i.jpg\n" for i, (a, b) in enumerate(zip(lat, lng)))
    ds = load_dataset(_write(tmp_path / "src" / "d.csv", "id,lat,lng,image\n" + rows))
    meta = write_split(ds, tmp_path / "out", test_frac=0.2, min_km=1.0, seed=0)
    train = load_dataset(tmp_path / "out" / "train.csv")
    test = load_dataset(tmp_path / "out" / "test.csv")
    assert len(train) + len(test) == 30 and len(test) == meta["counts"]["test"]
    assert meta["min_test_train_km"] >= 1.0
    saved = json.loads((tmp_path / "out" / "split.json").read_text())
    assert saved["format"] == "pigeon-split/1" and saved["params"]["seed"] == 0
    assert saved["source"]["path"].endswith("d.csv")
