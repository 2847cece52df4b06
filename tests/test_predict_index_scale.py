"""The refinement index at scale: fast OPTICS with sklearn's labels, a streamed writer that
makes the same file as build_index, memory-mapped loading, and a query that reads only the
top cells."""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest

from backend.core.geodesy import haversine_matrix_km
from backend.model.embed import EmbeddingSet, load_embeddings, save_embedding_set
from backend.predict.index import RefinementIndex, build_index, cluster_cell
from backend.predict.index_writer import write_index


def _clustered(rng, n, spread=1.0):
    towns = rng.normal(0, spread, (max(1, n // 25), 2))
    k = rng.integers(0, len(towns), n)
    return 45 + towns[k, 0] + rng.normal(0, 0.02, n), 5 + towns[k, 1] + rng.normal(0, 0.02, n)


@pytest.mark.parametrize("n, seed", [(40, 0), (300, 1), (900, 2)])
def test_cluster_cell_gives_sklearn_optics_labels(n, seed):
    from sklearn.cluster import OPTICS

    lat, lng = _clustered(np.random.default_rng(seed), n)
    d = haversine_matrix_km(lat, lng, lat, lng)
    np.fill_diagonal(d, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = OPTICS(min_samples=3, xi=0.15, metric="precomputed").fit(d).labels_
    got = cluster_cell(lat, lng)
    assert (ref >= 0).any()  # a cell with clusters (an all-noise cell is one cluster in ours)
    assert np.array_equal(got < 0, ref < 0)  # the same noise points, dropped
    keep = ref >= 0  # and the same partition of the others
    same = (ref[keep, None] == ref[None, keep]) == (got[keep, None] == got[None, keep])
    assert same.all()


def _world(rng, n, dim, n_cells):
    lat, lng = _clustered(rng, n, spread=6.0)
    cells = (np.floor(lat) * 7 + np.floor(lng)).astype(np.int64) % n_cells
    emb = (rng.normal(size=(n_cells, dim))[cells] * 10 + rng.normal(size=(n, dim))).astype(
        np.float32)
    return emb, lat, lng, cells


def test_streamed_writer_makes_the_build_index_file(tmp_path):
    rng = np.random.default_rng(0)
    emb, lat, lng, cells = _world(rng, 3000, 16, 30)
    ref = build_index(emb, lat, lng, cells, num_cells=30, source={"x": 1})
    ref.save(tmp_path / "ref.npz")
    got = write_index(tmp_path / "got.npz", emb, lat, lng, cells, num_cells=30,
                      source={"x": 1}, block_rows=257)  # many blocks, clusters never split
    a, b = RefinementIndex.load(tmp_path / "ref.npz"), got
    for name in ("cell_offsets", "prototypes", "prototype_sqnorms", "member_offsets",
                 "member_embeddings",
                 "member_lat", "member_lng"):
        assert np.array_equal(getattr(a.table, name), getattr(b.table, name)), name
    assert np.array_equal(a.member_source, b.member_source)
    assert a.meta["counts"] == b.meta["counts"] and b.meta["data"] == {"x": 1}
    assert isinstance(b.table.member_embeddings, np.memmap)  # loaded memory-mapped


def test_writer_streams_from_memory_mapped_embeddings(tmp_path):
    rng = np.random.default_rng(1)
    emb, lat, lng, cells = _world(rng, 20_000, 256, 40)  # 20 MB of float32 embeddings
    es = EmbeddingSet(ids=[str(i) for i in range(len(emb))], latlng=np.stack([lat, lng], 1),
                      embeddings=emb, month=np.full(len(emb), -1),
                      heading=np.zeros(len(emb), np.float32), n_views=np.ones(len(emb), int),
                      meta={"backbone": {"config_name": "synthetic"}})
    save_embedding_set(es, tmp_path / "emb", shard_size=2500)
    rows = load_embeddings(tmp_path / "emb").embeddings
    import scipy.spatial  # noqa: F401  (imports are not what is measured)
    import sklearn.cluster  # noqa: F401

    tracemalloc.start()
    index = write_index(tmp_path / "i.npz", rows, lat, lng, cells, num_cells=40,
                        block_rows=512, member_dtype="float16")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < emb.nbytes / 4, f"{peak / 1e6:.1f} MB held while writing"
    m = index.table.member_embeddings
    assert m.shape[1] == emb.shape[1] and m.dtype == np.float16  # raw, half the disk
    assert m.shape[0] == index.meta["counts"]["members"] <= len(emb)  # noise dropped
    j = int(index.member_source[123])
    assert np.allclose(m[123], emb[j], rtol=2e-3, atol=2e-2)


def test_query_reads_only_the_top_cells(tmp_path):
    """A refine() on a memory-mapped index touches a few pages, not the member file."""
    from backend.core.refinement import refine

    rng = np.random.default_rng(2)
    emb, lat, lng, cells = _world(rng, 20_000, 64, 200)
    write_index(tmp_path / "i.npz", emb, lat, lng, cells, num_cells=200)
    cents = np.stack([np.zeros(200), np.zeros(200)], 1)
    probs = np.full(200, 1e-4)
    probs[[7, 3, 150]] = [0.5, 0.2, 0.1]
    tracemalloc.start()
    index = RefinementIndex.load(tmp_path / "i.npz")  # opening costs offsets only
    cands = refine(probs, emb[0], index.table, cents, max_move_km=None)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert list(cands.cells[:3]) == [7, 3, 150] and cands.refined[:3].all()
    t = index.table  # opening reads the offsets and checks the coordinates, no more
    assert peak < (t.member_embeddings.nbytes + t.prototypes.nbytes) / 10


def test_an_index_without_stored_norms_still_loads_and_refines_the_same(tmp_path):
    import dataclasses

    from backend.core.refinement import refine

    rng = np.random.default_rng(4)
    emb, lat, lng, cells = _world(rng, 2000, 32, 20)
    index = build_index(emb, lat, lng, cells, num_cells=20)
    old = RefinementIndex(dataclasses.replace(index.table, prototype_sqnorms=None),
                          index.member_source, index.meta)
    old.save(tmp_path / "old.npz")
    index.save(tmp_path / "new.npz")
    a, b = RefinementIndex.load(tmp_path / "old.npz"), RefinementIndex.load(tmp_path / "new.npz")
    assert a.table.prototype_sqnorms is None and b.table.prototype_sqnorms is not None
    probs = rng.dirichlet(np.ones(20))
    cents = np.zeros((20, 2))
    ra, rb = (refine(probs, emb[7], t.table, cents, max_move_km=None) for t in (a, b))
    assert np.array_equal(ra.member, rb.member) and np.allclose(ra.prob, rb.prob, rtol=1e-4)
