"""Write a refinement index straight to disk, for millions of training points.

``build_index`` holds every embedding and member in memory; at OSV-5M's size (5 M x 1024
float32 = 20 GB of embeddings) that does not fit. :func:`write_index` makes the same
``index.npz`` (same arrays, same ``pigeon-index`` format, a test checks they are equal) in a
streaming way:

1. cluster every cell from the coordinates alone (``index.cluster_cells``; embeddings not read);
2. walk the members in index order in blocks of whole clusters: gather their rows from the
   (memory-mapped) embeddings and write them into the zip as they come (raw, float32 or
   float16); a second walk reduces each cluster to its prototype and writes those
   (a zip member is one stream: two reads of the source cost less than a scratch copy);
3. add the offsets, coordinates and metadata; rename the finished file into place.

The ``.npz`` members are stored uncompressed, so the result loads memory-mapped
(``RefinementIndex.load``). Peak memory is one block (``block_rows`` x D) plus the coordinates.

Usage::

    emb = load_embeddings("cache/train")           # memory-mapped ShardedRows
    index = write_index("bundle/index.npz", emb.embeddings, lat, lng, cells,
                        num_cells=len(geocells.centroids))
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from backend.cliutil import UserError
from backend.core.geodesy import validate_latlng
from backend.core.refinement import row_sqnorms
from backend.predict.index import (
    DEFAULT_MIN_SAMPLES,
    DEFAULT_XI,
    PRECISIONS,
    RefinementIndex,
    cluster_cells,
    index_metadata,
)

BLOCK_ROWS = 16_384
MEMBER_DTYPES = {"float16": np.float16, "float32": np.float32}


def _npy_header(shape: tuple[int, ...], dtype: Any) -> bytes:
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_2_0(
        buf, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
              "shape": shape})
    return buf.getvalue()


def _add_array(zf: zipfile.ZipFile, name: str, array: np.ndarray) -> None:
    with zf.open(f"{name}.npy", "w", force_zip64=True) as fh:
        np.lib.format.write_array(fh, np.asarray(array), allow_pickle=False)


def _blocks(member_offsets: np.ndarray, block_rows: int) -> Iterable[tuple[int, int]]:
    """``(first cluster, end cluster)`` ranges of whole clusters, about ``block_rows`` rows."""
    k, n = 0, len(member_offsets) - 1
    while k < n:
        end = int(np.searchsorted(member_offsets, member_offsets[k] + block_rows, "right")) - 1
        end = min(max(end, k + 1), n)
        yield k, end
        k = end


def write_index(path: str | Path, embeddings: Any, lat: Any, lng: Any, cells: Any, *,
                num_cells: int, min_samples: int = DEFAULT_MIN_SAMPLES, xi: float = DEFAULT_XI,
                source: dict[str, Any] | None = None, backbone: dict[str, Any] | None = None,
                precision: str = "fp32", member_dtype: str = "float32",
                block_rows: int = BLOCK_ROWS,
                progress: Callable[[Iterable[int], int], Iterable[int]] | None = None
                ) -> RefinementIndex:
    """Cluster, then stream the index to ``path``; returns it loaded (memory-mapped).

    Args:
        path: the ``index.npz`` to write (written under a temporary name, then renamed).
        embeddings: ``(N, D)`` training embeddings: an array, a memory map or
            ``ShardedRows`` (anything indexable by an int array).
        lat, lng, cells, num_cells, min_samples, xi, source, backbone, precision: as
            ``build_index``.
        member_dtype: ``"float32"`` (the embeddings exactly, the default) or ``"float16"``
            (half the disk: OSV-5M's millions).
        block_rows: members gathered and written at a time.
        progress: wraps the loops (``lambda it, n: progress(it, total=n)``).

    Raises:
        UserError: mismatched lengths, bad coordinates or cell ids, non-finite embeddings.
    """
    if precision not in PRECISIONS:
        raise UserError(f"embedding precision must be one of {PRECISIONS}, got {precision!r}")
    if member_dtype not in MEMBER_DTYPES:
        raise UserError(f"member dtype must be one of {', '.join(MEMBER_DTYPES)}, got "
                        f"{member_dtype!r}")
    shape = tuple(getattr(embeddings, "shape", ()))
    if len(shape) != 2 or shape[0] == 0:
        raise UserError(f"embeddings must be a non-empty (N, D) array, got {shape}")
    n, dim = shape
    cell = np.asarray(cells)
    try:
        la, lo = validate_latlng(np.asarray(lat).ravel(), np.asarray(lng).ravel())
    except ValueError as exc:
        raise UserError(f"training locations: {exc}") from exc
    if not (len(la) == len(cell) == n):
        raise UserError(f"{n} embeddings, {len(la)} locations and {len(cell)} cell ids: need "
                        "one of each per training point")
    if not np.issubdtype(cell.dtype, np.integer) or (cell < 0).any() or (cell >= num_cells).any():
        raise UserError(f"cell ids must be integers in 0..{num_cells - 1}")
    if min_samples < 2 or not 0 < xi < 1:
        raise UserError(f"OPTICS needs min_samples >= 2 and 0 < xi < 1, got {min_samples}, {xi}")
    layout = cluster_cells(la, lo, cell, num_cells, min_samples=min_samples, xi=xi,
                           progress=progress)
    rows, mo = layout.member_rows, layout.member_offsets
    n_protos = len(mo) - 1
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp.npz")
    blocks = list(_blocks(mo, block_rows))
    member_type = MEMBER_DTYPES[member_dtype]

    def gathered(k0: int, k1: int) -> np.ndarray:
        sel = rows[mo[k0]:mo[k1]]
        order = np.argsort(sel, kind="stable")  # read the source in row order
        x = np.empty((len(sel), dim), dtype=np.float32)
        x[order] = np.asarray(embeddings[sel[order]], dtype=np.float32)
        if not np.isfinite(x).all():
            raise UserError("embeddings contain NaN or infinite values; re-embed the data")
        return x

    # two passes over the source (members, then prototypes) rather than a scratch copy of
    # the prototypes: a zip member is written as one stream
    norms: list[np.ndarray] = []
    sqnorms = []
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for member, shape, dtype in (("member_embeddings", (len(rows), dim), member_type),
                                     ("prototypes", (n_protos, dim), np.float32)):
            with zf.open(f"{member}.npy", "w", force_zip64=True) as fh:
                fh.write(_npy_header(shape, dtype))
                loop: Iterable[tuple[int, int]] = blocks
                if progress is not None:
                    loop = progress(blocks, len(blocks))
                for k0, k1 in loop:
                    x = gathered(k0, k1)
                    if member == "member_embeddings":
                        norms.append(np.linalg.norm(x, axis=1))
                        fh.write(x.astype(member_type).tobytes())
                    else:
                        sums = np.add.reduceat(x.astype(np.float64), mo[k0:k1] - mo[k0],
                                               axis=0)
                        protos = (sums / np.diff(mo[k0:k1 + 1])[:, None]).astype(np.float32)
                        sqnorms.append(row_sqnorms(protos))
                        fh.write(protos.tobytes())
        sqn = np.concatenate(sqnorms) if sqnorms else np.zeros(0, dtype=np.float32)
        for name, arr in (("prototype_sqnorms", sqn),
                          ("cell_offsets", layout.cell_offsets), ("member_offsets", mo),
                          ("member_lat", la[rows]), ("member_lng", lo[rows]),
                          ("member_source", rows)):
            _add_array(zf, name, arr)
        meta = index_metadata(layout, num_cells=num_cells, dim=dim, min_samples=min_samples,
                              xi=xi, source=source, backbone=backbone, precision=precision,
                              norms=np.concatenate(norms) if norms else np.zeros(1),
                              member_dtype=member_dtype)
        meta["made_by"] = "backend.predict.index_writer.write_index (pigeon-bot)"
        _add_array(zf, "meta", np.array(json.dumps(meta)))
    os.replace(tmp, out)
    return RefinementIndex.load(out)
