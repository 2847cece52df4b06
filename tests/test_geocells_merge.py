"""Grouping admin areas into cells (empty areas, MIN merges inside a country) and the whole
build on hand-made areas, checked against every invariant."""

from __future__ import annotations

import collections

import numpy as np
import pytest
import shapely

from backend.core.geodesy import CoordinateError
from backend.geocells.areas import Area
from backend.geocells.build import GeocellParamError, GeocellParams, build_geocells, parse_optics
from backend.geocells.invariants import check_geocells, check_sizes
from backend.geocells.merge import group_areas


def _toy_areas() -> list[Area]:
    """Country AA: a 4x2 grid of unit boxes, admin-1 'west' (x < 2) and 'east', plus an island
    of 'east'. Country BB: two boxes right of AA. Country CC: one box (few points).
    Country DD: one box with no points."""
    areas = []
    for x in range(4):
        for y in range(2):
            areas.append(Area(f"AA-{x}{y}", "AA", "Aland", "west" if x < 2 else "east", "",
                              shapely.box(x, y, x + 1, y + 1)))
    areas.append(Area("AA-island", "AA", "Aland", "east", "", shapely.box(6, 5, 6.5, 5.5)))
    areas.append(Area("BB-0", "BB", "Beeland", "b", "", shapely.box(4, 0, 5, 1)))
    areas.append(Area("BB-1", "BB", "Beeland", "b", "", shapely.box(4, 1, 5, 2)))
    areas.append(Area("CC-0", "CC", "Ceeland", "c", "", shapely.box(0, -2, 1, -1)))
    areas.append(Area("DD-0", "DD", "Deeland", "d", "", shapely.box(2, -2, 3, -1)))
    return areas


def _points_in(box, n, rng):
    x0, y0, x1, y1 = box.bounds
    return rng.uniform(y0 + 0.01, y1 - 0.01, n), rng.uniform(x0 + 0.01, x1 - 0.01, n)


def _toy_points(counts: dict[str, int], seed: int = 0):
    rng = np.random.default_rng(seed)
    by_id = {a.id: a for a in _toy_areas()}
    lat, lng = [], []
    for aid, n in counts.items():
        la, lo = _points_in(by_id[aid].geometry, n, rng)
        lat.append(la)
        lng.append(lo)
    return np.concatenate(lat), np.concatenate(lng)


def _area_of(lat, lng, areas):
    from backend.geocells.areas import assign_points_to_areas
    return assign_points_to_areas(lat, lng, areas)


def test_group_areas_rules():
    areas = _toy_areas()
    counts = {"AA-00": 40, "AA-01": 5, "AA-10": 12, "AA-20": 50, "AA-21": 8, "AA-30": 31,
              "AA-island": 3, "BB-0": 20, "BB-1": 20, "CC-0": 7}
    lat, lng = _toy_points(counts)
    a_of = _area_of(lat, lng, areas)
    cells, dropped = group_areas(areas, a_of, min_points=30)
    assert dropped == ["DD-0"]  # no point in the whole country: no cell
    names = [sorted(areas[i].id for i in c.areas) for c in cells]
    # every area of a country with points is in exactly one cell
    flat = sorted(x for n in names for x in n)
    assert flat == sorted(a.id for a in areas if a.id != "DD-0")
    for c in cells:
        assert len({areas[i].country_key for i in c.areas}) == 1
        assert c.n >= 30 or c.country_key == "CC" or c.areas == [8]  # 8: the island
    # AA-01 (5) and AA-10 (12) merge inside 'west' (never with 'east' cells while 'west' has one)
    west = next(n for n in names if "AA-01" in n)
    assert {"AA-00", "AA-01", "AA-10"} <= set(west)
    assert not any(x in west for x in ("AA-20", "AA-21", "AA-30", "AA-31"))
    # BB's two cells of 20 merge into one; CC stays one cell below MIN
    assert ["BB-0", "BB-1"] in names and ["CC-0"] in names
    # the island (3 points, same admin-1 'east', touching no other area) is never fused with
    # the mainland across the sea (PIGEON): it stays a cell of its own, below MIN, and says why
    island = next(c for c in cells if "AA-island" in [areas[i].id for i in c.areas])
    assert [areas[i].id for i in island.areas] == ["AA-island"] and island.n == 3
    assert island.why_small == "no touching cell of its country"


def test_empty_area_joins_an_adjacent_cell_of_its_admin1():
    areas = _toy_areas()
    lat, lng = _toy_points({"AA-00": 35, "AA-20": 35, "AA-31": 35, "BB-0": 40})
    cells, _ = group_areas(areas, _area_of(lat, lng, areas), min_points=30)
    owner = {areas[i].id: k for k, c in enumerate(cells) for i in c.areas}
    # 'west' has one cell with points: all its empty areas join it, not an 'east' cell
    assert owner["AA-01"] == owner["AA-10"] == owner["AA-11"] == owner["AA-00"]
    assert owner["AA-21"] in (owner["AA-20"], owner["AA-31"])
    assert owner["BB-1"] == owner["BB-0"]


@pytest.mark.parametrize("seed", [0, 1])
def test_build_on_toy_areas_meets_every_invariant(seed):
    areas = _toy_areas()
    counts = {"AA-00": 200, "AA-01": 5, "AA-10": 70, "AA-20": 130, "AA-21": 8, "AA-30": 31,
              "AA-31": 61, "AA-island": 3, "BB-0": 20, "BB-1": 100, "CC-0": 7}
    lat, lng = _toy_points(counts, seed)
    cells, labels = build_geocells(lat, lng, areas, GeocellParams(30, 60))
    country = np.array([areas[i].iso2 for i in _area_of(lat, lng, areas)])
    assert check_geocells(cells, labels, lat, lng, country, min_points=30, max_points=60) == []
    assert collections.Counter(cells.iso2)["CC"] == 1
    names = list(counts)
    island = int(labels[sum(counts[k] for k in names[:names.index("AA-island")])])
    assert sorted(cells.metadata["below_min"], key=lambda b: b["iso2"]) == [
        {"cell": island, "n_points": 3, "iso2": "AA", "reason": "no touching cell of its country"},
        {"cell": cells.iso2.index("CC"), "n_points": 7, "iso2": "CC",
         "reason": "the only cell of its country (the country has fewer than MIN points)"}]
    assert cells.metadata["countries_without_cells"] == ["DD"]
    # centroids are the spherical mean of each cell's points
    k = int(labels[0])
    assert abs(cells.centroids[k, 0] - lat[labels == k].mean()) < 0.01


def test_build_is_deterministic():
    areas = _toy_areas()
    lat, lng = _toy_points({"AA-00": 150, "AA-20": 90, "BB-0": 70, "CC-0": 3}, 2)
    a, la = build_geocells(lat, lng, areas)
    b, lb = build_geocells(lat, lng, areas)
    np.testing.assert_array_equal(la, lb)
    np.testing.assert_array_equal(a.centroids, b.centroids)
    assert all(x.equals_exact(y, 0) for x, y in zip(a.polygons, b.polygons))


def test_size_check_catches_a_violation():
    # the invariant checker must be able to fail
    class Fake:
        n_points = np.array([10, 50, 80])
        iso2 = ("AA", "AA", "BB")
    problems = check_sizes(Fake(), 30, 60)
    assert len(problems) == 2 and "< MIN" in problems[0] and "> MAX" in problems[1]


def test_bad_parameters_and_points():
    areas = _toy_areas()
    with pytest.raises(GeocellParamError, match="greater than MAX"):
        build_geocells([0.5], [0.5], areas, GeocellParams(70, 60))
    with pytest.raises(GeocellParamError, match="at least 1"):
        GeocellParams(0, 60).check()
    with pytest.raises(GeocellParamError, match="xi"):
        GeocellParams(30, 60, ((8, 1.5),)).check()
    with pytest.raises(GeocellParamError, match="min_samples"):
        GeocellParams(30, 60, ((1, 0.05),)).check()
    with pytest.raises(CoordinateError):
        build_geocells([95.0], [0.5], areas)
    with pytest.raises(GeocellParamError, match="bad OPTICS"):
        parse_optics("8;.05")
    assert parse_optics("8,.05; 10,.025") == ((8, 0.05), (10, 0.025))


def test_edge_cases_single_point_and_identical_points():
    areas = _toy_areas()
    cells, labels = build_geocells([0.5], [0.5], areas)
    assert len(cells) == 1 and labels.tolist() == [0]
    assert cells.metadata["below_min"][0]["n_points"] == 1
    # 100 copies of one location cannot be split: one cell above MAX, recorded with the reason
    cells, labels = build_geocells(np.full(100, 0.5), np.full(100, 0.5), areas)
    assert cells.n_points.tolist() == [100] and set(labels.tolist()) == {0}
    assert "identical coordinates" in cells.metadata["above_max"][0]["reason"]
    assert all(g.is_valid for g in cells.polygons)
