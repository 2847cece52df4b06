"""Memory-mapped embedding shards: ShardedRows indexing, and load_embeddings not loading them."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import torch

from backend.model.embed import EmbeddingSet, load_embeddings, save_embedding_set
from backend.model.sharded_rows import ShardedRows, npz_member_memmap
from backend.model.training_data import EmbeddingSource


def _blocks(rng, sizes, dim=5):
    return [rng.normal(size=(n, dim)).astype(np.float32) for n in sizes]


def test_indexing_matches_the_concatenated_array():
    rng = np.random.default_rng(0)
    parts = _blocks(rng, [4, 1, 7, 3])
    full = np.concatenate(parts)
    rows = ShardedRows(parts)
    assert rows.shape == full.shape and len(rows) == 15 and rows.dtype == np.float32
    idx = np.array([14, 0, 5, 5, 4, -1])
    mask = rng.random(15) < 0.5
    for key in (3, -2, slice(2, 9), slice(None, None, 4), slice(9, 2), idx, mask):
        assert np.array_equal(rows[key], full[key]), key
    assert np.array_equal(np.asarray(rows), full)
    sub = rows.take(np.array([9, 1, 12]))  # a view in the given order
    assert np.array_equal(sub[:], full[[9, 1, 12]]) and np.array_equal(sub[-1], full[12])
    assert np.array_equal(sub.take(np.array([2, 0]))[:], full[[12, 9]])
    got = np.concatenate([b for _, b in rows.blocks(4)])
    assert np.array_equal(got, full) and [s for s, _ in rows.blocks(4)] == [0, 4, 8, 12]
    with pytest.raises(IndexError):
        rows[np.array([15])]
    with pytest.raises(ValueError, match="differ"):
        ShardedRows([np.zeros((2, 3)), np.zeros((2, 4))])


def test_npz_members_are_mapped_not_read(tmp_path):
    a = np.arange(60, dtype=np.float32).reshape(12, 5)
    np.savez(tmp_path / "s.npz", embeddings=a, ids=np.array(["x"] * 12))
    m = npz_member_memmap(tmp_path / "s.npz", "embeddings")
    assert isinstance(m, np.memmap) and np.array_equal(m, a) and not m.flags.writeable
    np.savez_compressed(tmp_path / "c.npz", embeddings=a)  # compressed: read the plain way
    assert np.array_equal(npz_member_memmap(tmp_path / "c.npz", "embeddings"), a)
    with pytest.raises(KeyError):
        npz_member_memmap(tmp_path / "s.npz", "nope")


def _save(tmp_path, n, dim, shard_size, seed=0):
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(n, dim)).astype(np.float32)
    es = EmbeddingSet(ids=[f"p{i}" for i in range(n)], latlng=rng.uniform(-50, 50, (n, 2)),
                      embeddings=emb, month=np.full(n, -1), heading=np.zeros(n, np.float32),
                      n_views=np.ones(n, np.int64),
                      meta={"backbone": {"config_name": "synthetic", "embedding_dim": dim}})
    save_embedding_set(es, tmp_path / "emb", shard_size=shard_size)
    return emb


def test_load_embeddings_streams_instead_of_concatenating(tmp_path):
    n, dim = 20_000, 256  # 20 MB of float32 embeddings in 10 shards
    emb = _save(tmp_path, n, dim, shard_size=2000)
    tracemalloc.start()
    e = load_embeddings(tmp_path / "emb")
    src = EmbeddingSource.from_embedding_set(e)
    train, val = src.split(0.1, seed=0)
    batch = train.batch(torch.tensor([5, 17_000, 3]))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < emb.nbytes / 4, f"peak {peak / 1e6:.1f} MB while loading"
    assert isinstance(e.embeddings, ShardedRows) and e.embeddings.shape == (n, dim)
    assert np.array_equal(e.embeddings[[0, n - 1]], emb[[0, n - 1]])
    keep = np.sort(np.setdiff1d(np.arange(n), np.sort(
        np.random.default_rng(0).permutation(n)[:round(n * 0.1)])))
    assert np.array_equal(batch["embedding"].numpy(), emb[keep[[5, 17_000, 3]]])
    assert len(val) == 2000 and np.array_equal(val.embeddings[:], emb[np.sort(
        np.random.default_rng(0).permutation(n)[:2000])])


def test_shards_written_out_of_order_come_back_in_dataset_order(tmp_path):
    emb = _save(tmp_path, 30, 4, shard_size=10)
    # swap the rows of a shard on disk: load_embeddings orders by the stored index
    path = tmp_path / "emb" / "shard-00001.npz"
    with np.load(path) as z:
        d = {k: z[k] for k in z.files}
    rev = {k: (v[::-1] if len(v) == 10 else v) for k, v in d.items()}
    np.savez(path, **rev)
    e = load_embeddings(tmp_path / "emb")
    assert e.ids == [f"p{i}" for i in range(30)]
    assert np.array_equal(np.asarray(e.embeddings), emb)
