"""Plain-grid geocells (the baseline for semantic geocells): coverage, equal areas,
Geocells compatibility (assign, save/load), countries, bad inputs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from backend.eval.grid_cells import box_index, grid_boxes, make_grid_cells


def _sphere_area(box: tuple[float, float, float, float]) -> float:
    x0, y0, x1, y1 = box
    return math.radians(x1 - x0) * (math.sin(math.radians(y1)) - math.sin(math.radians(y0)))


def test_equal_area_grid_covers_globe_with_near_equal_cells() -> None:
    boxes = grid_boxes("equal_area", n_bands=18)
    areas = np.array([_sphere_area(b) for b in boxes])
    assert areas.sum() == pytest.approx(4 * math.pi)  # the whole unit sphere, no overlap
    assert areas.max() / areas.min() < 1.1
    assert 350 < len(boxes) < 450


def test_equal_angle_grid() -> None:
    boxes = grid_boxes("equal_angle", step_deg=30)
    assert len(boxes) == 6 * 12
    assert sum(_sphere_area(b) for b in boxes) == pytest.approx(4 * math.pi)
    odd = grid_boxes("equal_angle", step_deg=50)  # edges clipped at the poles/antimeridian
    assert sum(_sphere_area(b) for b in odd) == pytest.approx(4 * math.pi)


def test_box_index_edges() -> None:
    boxes = grid_boxes("equal_angle", step_deg=90)
    idx = box_index(np.array([90.0, -90.0, 0.0, 10.0]), np.array([180.0, -180.0, 0.0, -0.5]),
                    boxes)
    assert (idx >= 0).all()
    assert boxes[idx[2]][:2] == (0.0, 0.0) and boxes[idx[3]][0] == -90.0


def test_make_grid_cells_is_a_geocells(tmp_path: Path) -> None:
    from backend.geocells import Geocells

    rng = np.random.default_rng(0)
    lat = np.concatenate([rng.normal(48, 1, 60), rng.normal(-23, 1, 40), [70.0]])
    lng = np.concatenate([rng.normal(2, 1, 60), rng.normal(-46, 1, 40), [100.0]])
    countries = ["FR"] * 55 + ["BE"] * 5 + ["BR"] * 40 + ["RU"]
    cells = make_grid_cells(lat, lng, n_bands=18, min_points=2, countries=countries)
    assert isinstance(cells, Geocells)
    assert cells.n_points.sum() == 100 and cells.metadata["dropped_points"] == 1
    assert set(cells.iso2) <= {"FR", "BR", "BE"} and "FR" in cells.iso2
    # every training point in a kept cell is assigned to the cell that holds it
    assigned = cells.assign(lat[:100], lng[:100])
    for i in range(len(cells)):
        assert (assigned == i).sum() == cells.n_points[i]
    # the lone Siberian point's cell was dropped: it goes to the nearest kept cell
    assert 0 <= int(cells.assign(70.0, 100.0)) < len(cells)
    path = cells.save(tmp_path / "grid.json")
    back = Geocells.load(path)
    assert len(back) == len(cells)
    np.testing.assert_allclose(back.centroids, cells.centroids)
    assert back.metadata["parameters"]["kind"] == "equal_area"
    assert back.metadata["created_by"].endswith("make_grid_cells")


def test_grid_bad_inputs() -> None:
    with pytest.raises(ValueError, match="unknown grid kind"):
        grid_boxes("hex")
    with pytest.raises(ValueError, match="n_bands"):
        grid_boxes("equal_area", n_bands=0)
    with pytest.raises(ValueError, match="step_deg"):
        grid_boxes("equal_angle", step_deg=0)
    with pytest.raises(ValueError, match="no grid cell holds 5"):
        make_grid_cells([0, 1], [0, 1], min_points=5)
    with pytest.raises(ValueError, match="countries"):
        make_grid_cells([0, 1], [0, 1], countries=["FR"])
    with pytest.raises(ValueError, match="latitude"):
        make_grid_cells([0, 100], [0, 1])
