"""The model bundle: make, load, info, and clear errors for missing/corrupt files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from test_model_fakes import (
    FakeGeocells,
    one_torch_thread,  # noqa: F401  (autouse fixture)
    world_centroids,
)

from backend.model import bundle as bundle_mod
from backend.model.bundle import BundleError, bundle_summary, load_bundle, make_tiny_bundle
from backend.model.heads import EmbeddingSizeError


@pytest.fixture
def fake_cells(monkeypatch):
    monkeypatch.setattr(bundle_mod, "_load_geocells", FakeGeocells.load)
    return FakeGeocells(world_centroids(8))


def test_tiny_bundle_round_trip_and_predicts(tmp_path, fake_cells):
    path = make_tiny_bundle(tmp_path / "b", fake_cells, seed=3)
    b = load_bundle(path)
    assert b.num_cells == 8 and b.meta["format"] == "pigeon-bundle/1"
    assert np.allclose(b.geocells.centroids, fake_cells.centroids)
    img = Image.fromarray(np.random.default_rng(0).integers(0, 255, (90, 120, 3), np.uint8))
    x = torch.stack([b.backbone.preprocess(img)] * 4)
    assert x.shape == (4, 3, 64, 64)
    with torch.no_grad():
        emb = b.backbone.embed(x)
        out = b.heads(emb.mean(0, keepdim=True))
    assert out["geocell"].shape == (1, 8) and out["koppen"].shape == (1, 31)
    assert out["month"].shape == (1, 12) and out["regression"].shape == (1, 6)
    # same seed -> same weights; another seed -> different
    b2 = load_bundle(make_tiny_bundle(tmp_path / "b2", fake_cells, seed=3))
    b3 = load_bundle(make_tiny_bundle(tmp_path / "b3", fake_cells, seed=4))
    with torch.no_grad():
        assert torch.allclose(b2.backbone.embed(x), emb)
        assert not torch.allclose(b3.backbone.embed(x), emb)


def test_summary_without_loading(tmp_path, fake_cells):
    path = make_tiny_bundle(tmp_path / "b", fake_cells)
    s = bundle_summary(path)
    assert s["backbone"] == "pigeon-tiny" and s["geocell_count"] == 8
    assert s["embedding_kind"] == "mean_hidden" and s["embedding_dim"] == 128


def test_wrong_embedding_size_is_explained(tmp_path, fake_cells):
    b = load_bundle(make_tiny_bundle(tmp_path / "b", fake_cells))
    with pytest.raises(EmbeddingSizeError, match=r"take \[B, 128\] embeddings, got \(2, 64\)"):
        b.heads(torch.zeros(2, 64))


def test_missing_and_corrupt_files_are_named(tmp_path, fake_cells):
    with pytest.raises(BundleError, match="not a bundle directory"):
        load_bundle(tmp_path / "nope")
    path = make_tiny_bundle(tmp_path / "b", fake_cells)
    (path / "heads.pt").unlink()
    with pytest.raises(BundleError, match="missing heads.pt"):
        load_bundle(path)
    path = make_tiny_bundle(tmp_path / "c", fake_cells)
    data = (path / "backbone.pt").read_bytes()
    (path / "backbone.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(BundleError, match="backbone.pt is corrupt"):
        load_bundle(path)
    with pytest.raises(BundleError, match="backbone.pt cannot be read"):
        load_bundle(path, verify=False)
    path = make_tiny_bundle(tmp_path / "d", fake_cells)
    (path / "bundle.json").write_text("{not json")
    with pytest.raises(BundleError, match="bundle.json is corrupt"):
        load_bundle(path)
    (path / "bundle.json").write_text(json.dumps({"format": "pigeon-bundle/1", "files": {}}))
    with pytest.raises(BundleError, match="incomplete .no backbone, geocell_count, heads"):
        load_bundle(path)
    (path / "bundle.json").write_text(json.dumps({"format": "pigeon-bundle/99"}))
    with pytest.raises(BundleError, match="pigeon-bundle/99"):
        load_bundle(path)
    with pytest.raises(BundleError, match="already exists"):
        make_tiny_bundle(path, fake_cells)


def test_large_files_are_hashed_only_on_a_full_check(tmp_path, fake_cells, monkeypatch):
    """A multi-GB refinement index is not re-hashed at every server start; its size still is
    checked, and `verify="full"` (pigeon bundle info --check) hashes everything."""
    path = make_tiny_bundle(tmp_path / "b", fake_cells)
    data = bytearray((path / "backbone.pt").read_bytes())
    data[-40] ^= 0xFF  # same size, different bytes
    (path / "backbone.pt").write_bytes(bytes(data))
    monkeypatch.setattr(bundle_mod, "HASH_ON_LOAD_MAX_BYTES", len(data) - 1)
    with pytest.raises(BundleError, match="backbone.pt is corrupt"):
        load_bundle(path, verify="full")
    try:
        load_bundle(path)  # not hashed: whatever torch makes of the flipped byte
    except BundleError as exc:
        assert "is corrupt" not in str(exc)
    (path / "backbone.pt").write_bytes(bytes(data[:-1]))
    with pytest.raises(BundleError, match="backbone.pt is corrupt"):  # size: always checked
        load_bundle(path)


def test_mismatched_geocells_rejected(tmp_path, fake_cells):
    path = make_tiny_bundle(tmp_path / "b", fake_cells)
    FakeGeocells(world_centroids(5)).save(path / "geocells.json")
    with pytest.raises(BundleError, match="heads predict 8 cells but geocells.json has 5"):
        load_bundle(path, verify=False)



def test_tiny_bundle_with_real_geocells(tmp_path):
    from test_model_train_heads import make_geocells

    from backend.geocells import Geocells

    cells = Geocells.load(make_geocells(tmp_path / "g.json"))
    b = load_bundle(make_tiny_bundle(tmp_path / "b", cells))
    assert isinstance(b.geocells, Geocells) and b.num_cells == len(cells) == 4
    assert np.allclose(b.geocells.centroids, cells.centroids)
    assert b.index_path is None and b.calibration is None


def test_optional_index_and_calibration(tmp_path, fake_cells):
    from backend.model.backbone import build_backbone
    from backend.model.bundle import save_bundle
    from backend.model.heads import HeadsConfig, PigeonHeads

    np.savez(tmp_path / "idx.npz", x=np.arange(3))
    bb = build_backbone("pigeon-tiny", embedding_kind="pooled")
    heads = PigeonHeads(HeadsConfig(embedding_dim=64, num_cells=8))
    path = save_bundle(tmp_path / "b", backbone=bb, heads=heads, geocells=fake_cells,
                       index_file=tmp_path / "idx.npz", calibration={"temperature": 1.3},
                       metrics={"median_km": 12.0})
    b = load_bundle(path)
    assert b.backbone.embedding_kind == "pooled" and b.calibration == {"temperature": 1.3}
    assert b.index_path == path / "index.npz" and b.meta["metrics"]["median_km"] == 12.0
    with pytest.raises(BundleError, match="heads take 128-d embeddings but the backbone"):
        save_bundle(tmp_path / "c", backbone=bb, geocells=fake_cells,
                    heads=PigeonHeads(HeadsConfig(embedding_dim=128, num_cells=8)))
