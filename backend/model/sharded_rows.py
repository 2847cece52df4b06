"""Memory-mapped rows of many shard files, read as one ``(N, D)`` array without loading it.

The embeddings of a dataset live in ``shard-NNNNN.npz`` files (``backend.model.embed``); at
OSV-5M's size (5 M x 1024 float32 = 20 GB) they must not be concatenated in memory.
``np.savez`` stores its members uncompressed, so each member is a plain ``.npy`` inside the
zip at a fixed offset: :func:`npz_member_memmap` maps it read-only, and :class:`ShardedRows`
presents the shards' row blocks as one array — indexing by an int, a slice, an int array or
a boolean mask gathers just those rows (the page cache does the rest).

Usage::

    rows = ShardedRows([npz_member_memmap(p, "embeddings") for p in shard_paths])
    rows.shape, rows[123], rows[np.array([5, 2, 9])], np.asarray(rows[:1000])
    for start, block in rows.blocks(65536): ...        # streamed, in order
    sub = rows.take(np.array([...]))                   # a view: no rows read yet
"""

from __future__ import annotations

import struct
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")  # zip local file header, 30 bytes


def npz_member_memmap(path: str | Path, name: str) -> np.ndarray:
    """Map one array of an uncompressed ``.npz`` read-only (no copy).

    Falls back to reading the member into memory when it is compressed (``np.savez_compressed``)
    or empty.

    Raises:
        KeyError: no such member; ValueError: not a zip / not an ``.npy`` member.
    """
    path = Path(path)
    member = name if name.endswith(".npy") else name + ".npy"
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
        if info.compress_type != zipfile.ZIP_STORED or info.file_size == 0:
            with np.load(path, allow_pickle=False) as z:
                return z[name]
    with path.open("rb") as fh:
        fh.seek(info.header_offset)
        fields = _LOCAL_HEADER.unpack(fh.read(_LOCAL_HEADER.size))
        if fields[0] != b"PK\x03\x04":
            raise ValueError(f"{path}: bad zip local header for {member}")
        fh.seek(info.header_offset + _LOCAL_HEADER.size + fields[9] + fields[10])
        version = np.lib.format.read_magic(fh)
        read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                       (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read_header is None:  # a newer .npy version: read it the ordinary way
            with np.load(path, allow_pickle=False) as z:
                return z[name]
        shape, fortran, dtype = read_header(fh)
        offset = fh.tell()
    if dtype.hasobject:
        raise ValueError(f"{path}:{member} holds Python objects; it cannot be memory-mapped")
    if int(np.prod(shape)) == 0:
        return np.zeros(shape, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape,
                     order="F" if fortran else "C")


class ShardedRows:
    """Row blocks of several 2-D arrays (same width and dtype) seen as one array.

    Args:
        parts: the blocks, in order (memory maps, or any arrays).
        rows: optional selection: row ``i`` of this view is row ``rows[i]`` of the
            concatenation (a reordering or subset, no data read).
    """

    def __init__(self, parts: Sequence[np.ndarray], rows: np.ndarray | None = None) -> None:
        parts = [p for p in parts if len(p)]
        if not parts:
            raise ValueError("ShardedRows needs at least one non-empty block")
        width = {p.shape[1:] for p in parts}
        if len(width) != 1 or len({p.dtype for p in parts}) != 1:
            raise ValueError(f"blocks differ in width or dtype: {sorted(map(str, width))}")
        self._parts = list(parts)
        self._starts = np.cumsum([0] + [len(p) for p in parts])
        self._rows = None if rows is None else np.asarray(rows, dtype=np.int64)
        if self._rows is not None and len(self._rows) and (
                self._rows.min() < 0 or self._rows.max() >= self._starts[-1]):
            raise IndexError("row selection out of range")

    @property
    def shape(self) -> tuple[int, ...]:
        n = int(self._starts[-1]) if self._rows is None else len(self._rows)
        return (n, *self._parts[0].shape[1:])

    @property
    def dtype(self) -> np.dtype:
        return self._parts[0].dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * self.dtype.itemsize

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"ShardedRows(shape={self.shape}, dtype={self.dtype}, blocks={len(self._parts)})"

    def _absolute(self, idx: Any) -> np.ndarray | slice:
        n = len(self)
        if isinstance(idx, slice):
            if self._rows is None:
                return slice(*idx.indices(n))
            return self._rows[idx]
        a = np.asarray(idx)
        if a.dtype == bool:
            if a.shape != (n,):
                raise IndexError(f"boolean index of shape {a.shape} for {n} rows")
            a = np.flatnonzero(a)
        a = a.astype(np.int64, copy=False)
        if a.size and (a.min() < -n or a.max() >= n):
            raise IndexError(f"row index out of range for {n} rows")
        a = np.where(a < 0, a + n, a)
        return a if self._rows is None else self._rows[a]

    def _gather(self, absolute: np.ndarray) -> np.ndarray:
        out = np.empty((len(absolute), *self.shape[1:]), dtype=self.dtype)
        block = np.searchsorted(self._starts, absolute, side="right") - 1
        for b in np.unique(block):
            sel = block == b
            out[sel] = self._parts[b][absolute[sel] - self._starts[b]]
        return out

    def __getitem__(self, idx: Any) -> np.ndarray:
        """Rows as a new in-memory array (an int gives one row)."""
        if isinstance(idx, (int, np.integer)):
            return self._gather(np.atleast_1d(self._absolute(idx)))[0]
        a = self._absolute(idx)
        if isinstance(a, slice):  # contiguous, no selection: read block by block
            if a.step != 1:
                return self._gather(np.arange(a.start, a.stop, a.step))
            return self._gather(np.arange(a.start, a.stop)) if a.stop > a.start else \
                np.empty((0, *self.shape[1:]), dtype=self.dtype)
        return self._gather(a)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        whole = self[:]
        return whole if dtype is None else whole.astype(dtype, copy=False)

    def take(self, idx: Any) -> ShardedRows:
        """A view of rows ``idx`` (int array or boolean mask); nothing is read."""
        a = self._absolute(slice(None)) if idx is None else self._absolute(idx)
        if isinstance(a, slice):
            a = np.arange(a.start, a.stop, a.step)
        return ShardedRows(self._parts, a)

    def blocks(self, size: int) -> Iterator[tuple[int, np.ndarray]]:
        """``(start, rows[start:start+size])`` in order, each block read when asked for."""
        if size < 1:
            raise ValueError(f"block size must be >= 1, got {size}")
        for start in range(0, len(self), size):
            yield start, self[start:start + size]
