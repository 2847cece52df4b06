"""The refinement index: per-geocell OPTICS clusters of training points, their prototypes and
members, saved as one ``index.npz`` with its metadata inside.

Building (PIGEON street-view settings by default): inside each geocell, OPTICS on the
great-circle distances of the cell's training points with ``min_samples=3``, ``xi=0.15``
(:func:`cluster_cell`: the labels of ``sklearn.cluster.OPTICS`` on the haversine matrix, 100x
faster). Conventions (PIGEON's):

- a cell with no training point gets no prototype (the predictor keeps its centroid);
- a cell with fewer points than ``min_samples`` (OPTICS cannot run) is one cluster;
- OPTICS noise points (label -1) are dropped: they belong to no prototype and are never
  retrieved (a cell where OPTICS finds no cluster at all is one cluster: ours, PIGEON's code
  would leave it without prototypes);
- prototype = mean of the members' RAW embeddings (mean last hidden states, unnormalised);
  members keep their raw embeddings in float32, exactly the values of the embeddings they
  came from, and their coordinates (float64), plus their row in the source data
  (``member_source``) to trace them back.

The metadata records the precision the embeddings were computed in (``embedding_precision``:
``fp32``, or ``bf16`` for bf16 autocast); the predictor computes its queries the same way.

File format ``pigeon-index/2`` (numpy ``.npz``, no pickles): the arrays of
``backend.core.refinement.RefinementTable`` plus ``member_source`` and ``meta`` (a JSON string:
format, created, made_by, parameters, data, backbone, geocell count, counts). Format
``pigeon-index/1`` (unit-vector embeddings in float16, noise points kept as one-member
clusters) is refused with a message to rebuild. The members are stored uncompressed, so
:meth:`RefinementIndex.load` memory-maps them; at OSV-5M's size (millions of members)
``backend.predict.index_writer.write_index`` streams the file from memory-mapped embeddings
without holding them (members in float32, or float16 to halve the disk).

Usage::

    from backend.predict.index import build_index, RefinementIndex
    index = build_index(embeddings, lat, lng, cells, num_cells=len(geocells.centroids),
                        source={"embeddings": "emb/"}, backbone=bundle.meta["backbone"])
    index.save("bundle/index.npz")
    index = RefinementIndex.load("bundle/index.npz")

    pigeon index build --bundle bundle/ --embeddings emb/
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backend.cliutil import UserError
from backend.core.geodesy import EARTH_RADIUS_KM, to_unit_vectors, validate_latlng
from backend.core.refinement import RefinementError, RefinementTable, row_sqnorms
from backend.model.sharded_rows import npz_member_memmap

INDEX_FORMAT = "pigeon-index/2"
PRECISIONS = ("fp32", "bf16")
DEFAULT_MIN_SAMPLES = 3
DEFAULT_XI = 0.15

class IndexFileError(UserError):
    """An index file that is missing, corrupt, or made for another model."""


def cluster_cell(lat: np.ndarray, lng: np.ndarray, *, min_samples: int = DEFAULT_MIN_SAMPLES,
                 xi: float = DEFAULT_XI) -> np.ndarray:
    """Cluster one cell's points: OPTICS (xi extraction) on their great-circle distances.

    The OPTICS graph is ``backend.geocells.optics_graph`` (the same graph as scikit-learn's,
    without its per-point overhead: 0.05 s instead of 7 s for a 2,000-point cell, which
    decides whether an OSV-5M index takes minutes or hours) on the points' 3-D chord
    distances in km, which order every pair exactly as the haversine distances do; a test
    checks the labels equal ``sklearn.cluster.OPTICS(metric="precomputed")`` on the
    haversine matrix.

    Args:
        lat, lng: the cell's points in degrees.
        min_samples, xi: OPTICS parameters.

    Returns:
        ``(n,)`` int labels ``0..k-1``, numbered in order of first appearance, and -1 for
        OPTICS noise (dropped from the index). A cell with fewer than ``min_samples`` points,
        or where OPTICS finds no cluster, is one cluster (all labels 0).
    """
    n = len(lat)
    if n < max(min_samples, 2):
        return np.zeros(n, dtype=np.int64)
    from backend.geocells.optics_graph import optics_xi_labels

    xyz = to_unit_vectors(lat, lng) * EARTH_RADIUS_KM
    labels = optics_xi_labels(xyz, min_samples, xi).copy()
    noise = labels < 0
    if noise.all():
        return np.zeros(n, dtype=np.int64)
    # renumber the clusters 0..k-1 in order of first appearance (deterministic layout)
    _, first, inverse = np.unique(labels[~noise], return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    labels[~noise] = rank[inverse.ravel()]
    return labels


@dataclass(frozen=True)
class ClusterLayout:
    """Where every training point goes in an index: the CSR offsets and the source row of
    each member (``member_rows``, in index order); OPTICS noise points are in none."""

    cell_offsets: np.ndarray
    member_offsets: np.ndarray
    member_rows: np.ndarray
    counts: dict[str, int]


def cluster_cells(lat: np.ndarray, lng: np.ndarray, cells: np.ndarray, num_cells: int, *,
                  min_samples: int = DEFAULT_MIN_SAMPLES, xi: float = DEFAULT_XI,
                  progress: Callable[[Iterable[int], int], Iterable[int]] | None = None
                  ) -> ClusterLayout:
    """Cluster every cell's points (coordinates only: no embedding is read here)."""
    order = np.argsort(cells, kind="stable")
    starts = np.searchsorted(cells[order], np.arange(num_cells + 1))
    cell_off, mem_sizes, mem_rows = [0], [], []
    noise = 0
    loop: Iterable[int] = range(num_cells)
    if progress is not None:
        loop = progress(loop, num_cells)
    for c in loop:
        rows = order[starts[c]:starts[c + 1]]
        n_protos = 0
        if len(rows):
            labels = cluster_cell(lat[rows], lng[rows], min_samples=min_samples, xi=xi)
            keep = labels >= 0
            noise += int((~keep).sum())
            by_label = np.argsort(labels[keep], kind="stable")  # a cluster's rows in order
            mem_rows.append(rows[keep][by_label])
            mem_sizes.append(np.bincount(labels[keep]))
            n_protos = len(mem_sizes[-1])
        cell_off.append(cell_off[-1] + n_protos)
    sizes = np.concatenate(mem_sizes) if mem_sizes else np.zeros(0, dtype=np.int64)
    member_rows = np.concatenate(mem_rows) if mem_rows else np.zeros(0, dtype=np.int64)
    return ClusterLayout(
        cell_offsets=np.asarray(cell_off, dtype=np.int64),
        member_offsets=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        member_rows=member_rows.astype(np.int64),
        counts={"points": len(cells), "members": len(member_rows),
                "noise_points_dropped": int(noise), "prototypes": len(sizes),
                "cells_with_points": int((np.diff(starts) > 0).sum()),
                "singleton_clusters": int((sizes == 1).sum())})


def index_metadata(layout: ClusterLayout, *, num_cells: int, dim: int, min_samples: int,
                   xi: float, source: dict[str, Any] | None, backbone: dict[str, Any] | None,
                   precision: str, norms: np.ndarray, member_dtype: str = "float32"
                   ) -> dict[str, Any]:
    """The ``meta`` an index file carries: what made it, from what, with which parameters
    (``norms``: the embeddings' norms, summarised)."""
    return {
        "format": INDEX_FORMAT, "created": _now(),
        "made_by": "backend.predict.index (pigeon-bot)",
        "parameters": {"clustering": "OPTICS-xi on great-circle distances (chord km; the same "
                                     "labels as sklearn OPTICS on the haversine matrix)",
                       "min_samples": int(min_samples), "xi": float(xi),
                       "earth_radius_km": EARTH_RADIUS_KM,
                       "small_cells": "fewer points than min_samples: one cluster",
                       "noise": "OPTICS noise points are dropped (PIGEON); a cell with no "
                                "cluster at all is one cluster",
                       "prototype": "mean of the members' raw embeddings",
                       "member_embeddings": f"raw, {member_dtype}"},
        "embedding_precision": precision,
        "data": dict(source or {}), "backbone": dict(backbone or {}),
        "geocell_count": int(num_cells), "embedding_dim": int(dim),
        "embedding_norms": {"min": float(norms.min()), "median": float(np.median(norms)),
                            "max": float(norms.max())},
        "counts": dict(layout.counts),
    }


@dataclass
class RefinementIndex:
    """A loaded or freshly built index: the core table plus provenance."""

    table: RefinementTable
    member_source: np.ndarray
    meta: dict[str, Any]

    @property
    def n_cells(self) -> int:
        return self.table.n_cells

    @property
    def dim(self) -> int:
        return self.table.dim

    def check_compatible(self, *, num_cells: int, embedding_dim: int, what: str = "the model"
                         ) -> None:
        """Raise IndexFileError unless the index fits a model with these sizes."""
        if self.n_cells != num_cells:
            raise IndexFileError(
                f"the refinement index has {self.n_cells} geocells but {what} has {num_cells}; "
                "it was built for other geocells: rebuild it with `pigeon index build`")
        if self.dim != embedding_dim:
            raise IndexFileError(
                f"the refinement index holds {self.dim}-dim embeddings but {what} makes "
                f"{embedding_dim}-dim ones; it was built with another backbone: rebuild it "
                "with `pigeon index build`")

    def save(self, path: str | Path) -> Path:
        """Write ``index.npz`` (atomically: a temporary file, then a rename)."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp.npz")
        t = self.table
        extra = {} if t.prototype_sqnorms is None else {
            "prototype_sqnorms": np.asarray(t.prototype_sqnorms, dtype=np.float32)}
        np.savez(tmp, **extra, cell_offsets=t.cell_offsets,
                 prototypes=t.prototypes.astype(np.float32),
                 member_offsets=t.member_offsets,
                 member_embeddings=t.member_embeddings.astype(  # float16 kept as written
                     np.float16 if t.member_embeddings.dtype == np.float16 else np.float32),
                 member_lat=t.member_lat, member_lng=t.member_lng,
                 member_source=self.member_source, meta=np.array(json.dumps(self.meta)))
        os.replace(tmp, out)
        return out

    @classmethod
    def load(cls, path: str | Path) -> RefinementIndex:
        """Open and check an ``index.npz``; prototypes, members and their coordinates stay
        on disk, memory-mapped (an index of millions of members costs no RAM until read).

        Raises:
            IndexFileError: missing or unreadable file, wrong format, inconsistent arrays.
        """
        p = Path(path)
        if not p.is_file():
            raise IndexFileError(f"{p}: no such index file; build one with `pigeon index build`")
        try:  # the big arrays are memory-mapped: a query reads only its top cells' rows
            with np.load(p, allow_pickle=False) as z:
                arrays = {k: z[k] for k in ("cell_offsets", "member_offsets", "meta")}
            for k in ("prototypes", "member_embeddings", "member_lat", "member_lng",
                      "member_source"):
                arrays[k] = npz_member_memmap(p, k)
            with zipfile.ZipFile(p) as zf:  # optional (older files have none)
                if "prototype_sqnorms.npy" in zf.namelist():
                    arrays["prototype_sqnorms"] = npz_member_memmap(p, "prototype_sqnorms")
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            raise IndexFileError(f"{p} is not a readable refinement index ({exc}); rebuild "
                                 "it with `pigeon index build`") from exc
        try:
            meta = json.loads(str(arrays.pop("meta")))
        except json.JSONDecodeError as exc:
            raise IndexFileError(f"{p}: corrupt metadata ({exc}); rebuild the index") from exc
        if meta.get("format") == "pigeon-index/1":
            raise IndexFileError(
                f"{p} is an old refinement index (format pigeon-index/1: unit-length embeddings "
                "in float16, noise points kept); this pigeon-bot reads "
                f"{INDEX_FORMAT} (raw embeddings, as PIGEON): rebuild it with "
                "`pigeon index build`")
        if meta.get("format") != INDEX_FORMAT:
            raise IndexFileError(f"{p} has format {meta.get('format')!r}; this pigeon-bot reads "
                                 f"{INDEX_FORMAT}: rebuild it with `pigeon index build`")
        source = arrays.pop("member_source")
        try:
            table = RefinementTable(**arrays).check()
        except RefinementError as exc:
            raise IndexFileError(f"{p} is inconsistent ({exc}); rebuild the index") from exc
        return cls(table=table, member_source=source, meta=meta)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def build_index(embeddings: Any, lat: Any, lng: Any, cells: Any, *, num_cells: int,
                min_samples: int = DEFAULT_MIN_SAMPLES, xi: float = DEFAULT_XI,
                source: dict[str, Any] | None = None, backbone: dict[str, Any] | None = None,
                precision: str = "fp32",
                progress: Callable[[Iterable[int], int], Iterable[int]] | None = None
                ) -> RefinementIndex:
    """Cluster every cell's training points and collect prototypes and members.

    Args:
        embeddings: ``(N, D)`` raw training embeddings (kept as they are, in float32).
        lat, lng: ``(N,)`` their locations in degrees.
        cells: ``(N,)`` their geocell ids in ``0..num_cells-1`` (``Geocells.assign``).
        num_cells: the number of geocells of the model.
        min_samples, xi: OPTICS parameters (PIGEON street view: 3, 0.15).
        source: metadata about the data (paths, dataset name, ...), stored in the file.
        backbone: the backbone description (``bundle.meta["backbone"]``), stored in the file.
        precision: what the embeddings were computed in, ``"fp32"`` or ``"bf16"`` (autocast);
            the predictor computes its queries the same way.
        progress: wraps the loop over cells (e.g. ``lambda it, n: progress(it, total=n)``).

    Returns:
        The ``RefinementIndex``.

    Raises:
        UserError: mismatched lengths, bad coordinates, cell ids out of range, bad parameters.
    """
    emb = np.asarray(embeddings, dtype=np.float32)
    cell = np.asarray(cells)
    if emb.ndim != 2 or emb.shape[0] == 0:
        raise UserError(f"embeddings must be a non-empty (N, D) array, got {emb.shape}")
    try:
        la, lo = validate_latlng(np.asarray(lat).ravel(), np.asarray(lng).ravel())
    except ValueError as exc:
        raise UserError(f"training locations: {exc}") from exc
    if not (len(la) == len(cell) == emb.shape[0]):
        raise UserError(f"{emb.shape[0]} embeddings, {len(la)} locations and {len(cell)} cell "
                        "ids: need one of each per training point")
    if not np.isfinite(emb).all():
        raise UserError("embeddings contain NaN or infinite values; re-embed the data")
    if not np.issubdtype(cell.dtype, np.integer) or (cell < 0).any() or (cell >= num_cells).any():
        raise UserError(f"cell ids must be integers in 0..{num_cells - 1}")
    if min_samples < 2 or not 0 < xi < 1:
        raise UserError(f"OPTICS needs min_samples >= 2 and 0 < xi < 1, got {min_samples}, {xi}")
    if precision not in PRECISIONS:
        raise UserError(f"embedding precision must be one of {PRECISIONS}, got {precision!r}")
    layout = cluster_cells(la, lo, cell, num_cells, min_samples=min_samples, xi=xi,
                           progress=progress)
    rows, mo = layout.member_rows, layout.member_offsets
    dim = emb.shape[1]
    sizes = np.diff(mo)
    protos = (np.add.reduceat(emb[rows].astype(np.float64), mo[:-1], axis=0)
              / sizes[:, None]) if len(sizes) else np.zeros((0, dim))
    protos = protos.astype(np.float32).reshape(-1, dim)
    table = RefinementTable(
        cell_offsets=layout.cell_offsets, prototypes=protos,
        member_offsets=mo, member_embeddings=emb[rows],
        member_lat=la[rows], member_lng=lo[rows],
        prototype_sqnorms=row_sqnorms(protos)).check()
    meta = index_metadata(layout, num_cells=num_cells, dim=dim, min_samples=min_samples, xi=xi,
                          source=source, backbone=backbone, precision=precision,
                          norms=np.linalg.norm(emb, axis=1))
    return RefinementIndex(table=table, member_source=rows.astype(np.int64), meta=meta)
