"""GeoGuessr score formula."""

import math

import numpy as np
import pytest

from backend.core.scoring import geoguessr_points, geoguessr_score, score_scale_km


def test_world_formula_at_known_points():
    assert float(geoguessr_score(0)) == 5000
    assert float(geoguessr_score(1492.7)) == pytest.approx(5000 / math.e)
    assert float(geoguessr_score(100)) == pytest.approx(5000 * math.exp(-100 / 1492.7))
    assert int(geoguessr_points(1000)) == round(5000 * math.exp(-1000 / 1492.7))


def test_custom_map_scale():
    # a map with a 1000 km diagonal decays 10x faster per km than a 10,000 km one
    assert score_scale_km(1000) == pytest.approx(100)
    assert float(geoguessr_score(100, map_size_km=1000)) == pytest.approx(5000 / math.e)
    with pytest.raises(ValueError, match="positive"):
        score_scale_km(0)


def test_rejects_negative_and_nan():
    with pytest.raises(ValueError, match="non-negative"):
        geoguessr_score(-1)
    with pytest.raises(ValueError):
        geoguessr_score(np.array([1.0, np.nan]))
