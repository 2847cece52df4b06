"""The refinement index file (backend.predict.index): PIGEON's clustering conventions, raw
embeddings stored exactly, the format version and the error for an old index."""

import json

import numpy as np
import pytest

from backend.cliutil import UserError
from backend.core.refinement import refine
from backend.predict.index import IndexFileError, RefinementIndex, build_index, cluster_cell


def _blobs(rng, centres, n_each, spread_deg=0.05):
    lat = np.concatenate([rng.normal(c[0], spread_deg, n_each) for c in centres])
    lng = np.concatenate([rng.normal(c[1], spread_deg, n_each) for c in centres])
    return lat, lng


def test_optics_noise_points_are_dropped():
    rng = np.random.default_rng(0)
    lat, lng = _blobs(rng, [(45.0, 5.0), (46.0, 7.0)], 12)
    lat = np.append(lat, 43.0)  # a lone point ~250 km from both blobs: OPTICS noise
    lng = np.append(lng, 1.0)
    labels = cluster_cell(lat, lng)
    assert labels[-1] == -1
    assert sorted(set(labels.tolist()) - {-1}) == [0, 1]
    noise = int((labels < 0).sum())
    emb = rng.normal(size=(len(lat), 6)).astype(np.float32)
    index = build_index(emb, lat, lng, np.zeros(len(lat), dtype=int), num_cells=1)
    assert len(index.table.prototypes) == 2  # no one-member prototype for noise points
    assert set(index.member_source.tolist()) == set(np.flatnonzero(labels >= 0).tolist())
    assert index.meta["counts"]["noise_points_dropped"] == noise
    assert index.meta["counts"]["members"] == len(lat) - noise
    assert index.meta["counts"]["singleton_clusters"] == 0


def test_a_cell_too_small_to_cluster_is_one_cluster():
    lat, lng = np.array([10.0, 12.0]), np.array([20.0, 25.0])
    assert cluster_cell(lat, lng, min_samples=3).tolist() == [0, 0]
    index = build_index(np.ones((2, 4)), lat, lng, np.zeros(2, dtype=int), num_cells=1)
    assert len(index.table.prototypes) == 1 and index.meta["counts"]["singleton_clusters"] == 0


def test_prototypes_are_means_of_raw_embeddings():
    rng = np.random.default_rng(1)
    lat, lng = _blobs(rng, [(0.0, 0.0)], 10)
    emb = (15.0 + rng.normal(size=(10, 8))).astype(np.float32)  # norms ~ 45
    index = build_index(emb, lat, lng, np.zeros(10, dtype=int), num_cells=1)
    members = index.member_source[index.table.member_offsets[0]:index.table.member_offsets[1]]
    assert index.table.prototypes[0] == pytest.approx(emb[members].mean(axis=0), rel=1e-6)
    assert index.meta["embedding_norms"]["median"] > 40


def test_stored_members_are_the_exact_float32_embeddings(tmp_path):
    # near ties closer than float16 can tell: after saving and loading, the query's nearest
    # member is still the one brute force finds on the original embeddings
    rng = np.random.default_rng(2)
    lat, lng = _blobs(rng, [(30.0, 30.0)], 40, spread_deg=0.02)
    emb = (20.0 + 0.003 * rng.normal(size=(40, 16))).astype(np.float32)
    index = build_index(emb, lat, lng, np.zeros(40, dtype=int), num_cells=1)
    loaded = RefinementIndex.load(index.save(tmp_path / "index.npz"))
    assert loaded.table.member_embeddings.dtype == np.float32
    assert np.array_equal(loaded.table.member_embeddings, emb[loaded.member_source])
    for i in range(0, 40, 3):
        q = emb[i] + np.float32(0.0005)
        r = refine([1.0], q, loaded.table, np.array([[30.0, 30.0]]))
        m = int(r.member[0])
        members = loaded.member_source[loaded.table.member_offsets[r.prototype[0]]:
                                       loaded.table.member_offsets[r.prototype[0] + 1]]
        want = members[np.argmin(np.linalg.norm(emb[members].astype(np.float64) - q, axis=1))]
        assert loaded.member_source[m] == want


def test_an_old_index_is_refused_with_a_rebuild_message(tmp_path):
    rng = np.random.default_rng(3)
    lat, lng = _blobs(rng, [(0.0, 0.0)], 6)
    index = build_index(rng.normal(size=(6, 4)), lat, lng, np.zeros(6, dtype=int), num_cells=1)
    path = index.save(tmp_path / "index.npz")
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["meta"]))
    meta["format"] = "pigeon-index/1"
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "old.npz", **arrays)
    with pytest.raises(IndexFileError, match="pigeon index build") as err:
        RefinementIndex.load(tmp_path / "old.npz")
    assert "pigeon-index/1" in str(err.value)


def test_precision_is_recorded_and_checked():
    lat, lng = np.zeros(3), np.zeros(3)
    index = build_index(np.ones((3, 4)), lat, lng, np.zeros(3, dtype=int), num_cells=1,
                        precision="bf16")
    assert index.meta["embedding_precision"] == "bf16"
    with pytest.raises(UserError, match="precision"):
        build_index(np.ones((3, 4)), lat, lng, np.zeros(3, dtype=int), num_cells=1,
                    precision="fp8")
