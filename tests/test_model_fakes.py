"""Test-only stand-ins shared by tests/test_model_*.py (never imported by the product code).

``FakeGeocells`` mimics the two things the model package needs from
``backend.geocells.Geocells``: ``.centroids`` and ``save``/``load``. Used only while (or where)
the real geocells package is not what the test is about.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest


class FakeGeocells:
    def __init__(self, centroids) -> None:
        self.centroids = np.asarray(centroids, dtype=np.float64)

    def save(self, path) -> None:
        Path(path).write_text(json.dumps({"fake_geocells": self.centroids.tolist()}))

    @classmethod
    def load(cls, path) -> FakeGeocells:
        return cls(json.loads(Path(path).read_text())["fake_geocells"])


def world_centroids(n: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.stack([rng.uniform(-60, 70, n), rng.uniform(-180, 180, n)], axis=1)


def test_fake_geocells_round_trip(tmp_path):
    g = FakeGeocells(world_centroids(5))
    g.save(tmp_path / "g.json")
    assert np.allclose(FakeGeocells.load(tmp_path / "g.json").centroids, g.centroids)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models run fastest on one thread on a shared 2-core box (restored afterwards)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
