"""Retrieval refinement (PIGEON §refinement): from geocell probabilities to located candidates.

Inside every geocell the training points were clustered (OPTICS on their haversine distances,
see ``backend.predict.index``); each cluster has a *prototype*, the mean of its members' RAW
embeddings (the mean last hidden states, unnormalised: their norms are in the tens). At
inference, for each of the ``top_k`` most probable cells:

1. take the NEAREST prototype to the raw query embedding, by Euclidean distance (the public
   PIGEON code takes the farthest member inside the cluster: a bug this module avoids, and a
   test checks);
2. inside that cluster take the nearest member (Euclidean, raw); its location is the cell's
   candidate;
3. the candidates are re-weighted by ``softmax(-distance_to_prototype / T)`` (T = 1.6) times
   their cell probabilities, renormalised so that together they keep the probability mass
   their cells had. T is applied to distances between RAW embeddings, as in PIGEON: on unit
   vectors (distances at most 2) the same T would leave the weights almost flat;
4. the 1000 km rule (PIGEON street view): the refined winner (the most probable candidate
   after re-weighting) is compared with the initial guess (the top cell's centroid); when it
   lies more than ``max_move_km`` away the re-weighting is dropped (every candidate keeps its
   cell's probability; the candidates keep their retrieved locations, as in PIGEON's code).

Cells with no index entry keep their probability and their centroid.

The tables are flat CSR-style arrays (one row per prototype, one per member) so that a query
touches only the top cells' slices: no Python loop over all cells. Distances are computed in
float64 from the stored float32 values (the query is float32 too): what is stored is what is
compared.

Usage::

    table = RefinementTable(cell_offsets, prototypes, member_offsets, member_embeddings,
                            member_lat, member_lng)
    cands = refine(cell_probs, query_embedding, table, centroids)
    lat, lng, prob, cell = candidate_distribution(cell_probs, cands, centroids)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from backend.core.geodesy import haversine_km

DEFAULT_TOP_K = 5
DEFAULT_TEMPERATURE = 1.6
DEFAULT_MAX_MOVE_KM = 1000.0


class RefinementError(ValueError):
    """Inputs to the refinement that do not fit together (shapes, sizes, values)."""


@dataclass(frozen=True)
class RefinementTable:
    """Prototypes and members of every geocell, as flat arrays.

    Attributes:
        cell_offsets: ``(C+1,)`` int; the prototypes of cell ``c`` are rows
            ``cell_offsets[c]:cell_offsets[c+1]`` of ``prototypes``.
        prototypes: ``(P, D)`` float32; mean of each cluster's raw member embeddings.
        member_offsets: ``(P+1,)`` int; the members of prototype ``k`` are rows
            ``member_offsets[k]:member_offsets[k+1]`` of the member arrays.
        member_embeddings: ``(M, D)`` float32, the raw embeddings (as the query is made).
        member_lat, member_lng: ``(M,)`` member locations in degrees.
        prototype_sqnorms: optional ``(P,)`` squared norms of the prototypes (the index
            stores them, so a query reads each prototype once: :func:`nearest_row`).
    """

    cell_offsets: np.ndarray
    prototypes: np.ndarray
    member_offsets: np.ndarray
    member_embeddings: np.ndarray
    member_lat: np.ndarray
    member_lng: np.ndarray
    prototype_sqnorms: np.ndarray | None = None

    @property
    def n_cells(self) -> int:
        return len(self.cell_offsets) - 1

    @property
    def dim(self) -> int:
        return int(self.prototypes.shape[1])

    def check(self) -> RefinementTable:
        """Validate shapes and offsets; return self.

        Raises:
            RefinementError: inconsistent shapes, offsets that are not non-decreasing from 0
                to the row count, a prototype without members, or bad coordinates.
        """
        co, mo = np.asarray(self.cell_offsets), np.asarray(self.member_offsets)
        p, m = self.prototypes, self.member_embeddings
        if co.ndim != 1 or len(co) < 2 or mo.ndim != 1:
            raise RefinementError("cell_offsets needs C+1 >= 2 entries and member_offsets P+1")
        if p.ndim != 2 or m.ndim != 2 or p.shape[1] != m.shape[1]:
            raise RefinementError(f"prototypes {p.shape} and members {m.shape} must be 2-D "
                                  "with the same embedding size")
        for name, off, rows in (("cell_offsets", co, p.shape[0]),
                                ("member_offsets", mo, m.shape[0])):
            if off[0] != 0 or off[-1] != rows or (np.diff(off) < 0).any():
                raise RefinementError(f"{name} must rise from 0 to {rows}")
        if len(mo) != p.shape[0] + 1:
            raise RefinementError(f"member_offsets has {len(mo)} entries for {p.shape[0]} "
                                  "prototypes (want one more)")
        if p.shape[0] and (np.diff(mo) == 0).any():
            raise RefinementError("every prototype needs at least one member")
        sqn = self.prototype_sqnorms
        if sqn is not None and np.shape(sqn) != (p.shape[0],):
            raise RefinementError(f"prototype_sqnorms has shape {np.shape(sqn)} for "
                                  f"{p.shape[0]} prototypes")
        if self.member_lat.shape != (m.shape[0],) or self.member_lng.shape != (m.shape[0],):
            raise RefinementError("member_lat/member_lng need one entry per member")
        lat = np.asarray(self.member_lat, dtype=np.float64)
        if not (np.isfinite(lat).all() and (np.abs(lat) <= 90).all()
                and np.isfinite(np.asarray(self.member_lng, dtype=np.float64)).all()):
            raise RefinementError("member coordinates must be finite degrees")
        return self


@dataclass(frozen=True)
class RefinedCandidates:
    """One candidate per top cell, most probable cell first.

    Attributes:
        cells: ``(k,)`` geocell ids.
        lat, lng: ``(k,)`` candidate locations (the retrieved member or the centroid).
        prob: ``(k,)`` probabilities after re-weighting (sum = the cells' total mass).
        cell_prob: ``(k,)`` the cells' own probabilities.
        distance: ``(k,)`` embedding distance to the chosen prototype (NaN: no refinement).
        refined: ``(k,)`` bool, False where the candidate stayed on the centroid.
        prototype, member: ``(k,)`` row of the chosen prototype / member (-1: none).
        reweighted: False when the 1000 km rule dropped the re-weighting (``prob`` is then
            ``cell_prob``), or when nothing was refined.
        winner_km: distance from the refined winner to the initial guess (the top cell's
            centroid), in km; NaN when nothing was refined.
    """

    cells: np.ndarray
    lat: np.ndarray
    lng: np.ndarray
    prob: np.ndarray
    cell_prob: np.ndarray
    distance: np.ndarray
    refined: np.ndarray
    prototype: np.ndarray
    member: np.ndarray
    reweighted: bool = False
    winner_km: float = float("nan")


def l2_normalise(x: Any) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero). float32 out."""
    a = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(a, axis=-1, keepdims=True)
    return a / np.maximum(n, 1e-12)


def _check_inputs(cell_probs: Any, query: Any, table: RefinementTable,
                  centroids: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = np.asarray(cell_probs, dtype=np.float64)
    q = np.asarray(query, dtype=np.float32)
    c = np.asarray(centroids, dtype=np.float64)
    if p.ndim != 1 or not np.isfinite(p).all() or (p < 0).any():
        raise RefinementError("cell probabilities must be a 1-D array of finite values >= 0")
    if p.shape[0] != table.n_cells or c.shape != (table.n_cells, 2):
        raise RefinementError(
            f"{p.shape[0]} cell probabilities and {c.shape[0]} centroids for an index of "
            f"{table.n_cells} cells: the index was built for other geocells")
    if q.shape != (table.dim,):
        raise RefinementError(f"query embedding has shape {q.shape}; the index holds "
                              f"{table.dim}-dim embeddings (built with another backbone?)")
    if not np.isfinite(q).all():
        raise RefinementError("query embedding has NaN or infinite values")
    return p, q.astype(np.float64), c


def _distances(rows: Any, q: np.ndarray) -> np.ndarray:
    """Euclidean distances of stored rows to the query, in float64."""
    return np.linalg.norm(np.asarray(rows, dtype=np.float64) - q, axis=1)


def row_sqnorms(rows: Any) -> np.ndarray:
    """Squared norms of rows, computed in float32 (what :func:`nearest_row` expects)."""
    r = np.asarray(rows, dtype=np.float32)
    return np.einsum("ij,ij->i", r, r)


def nearest_row(rows: Any, q: np.ndarray, sqnorms: Any = None) -> tuple[int, float]:
    """The row nearest to ``q`` and its distance, both as :func:`_distances` gives them.

    A top cell of an OSV-5M index holds a thousand prototypes, so the scan avoids
    ``_distances``'s float64 ``(P, D)`` temporary: ``|r|^2 - 2 r.q + |q|^2`` in float32 with
    the rows' stored squared norms (one pass over the rows), then the rows within float32's
    error of the minimum are compared exactly in float64 — the same row, 5x faster. ``einsum``,
    not ``@``: a matrix-vector product goes to the multi-threaded BLAS, whose spinning threads
    made it 40x slower than one thread on a loaded machine (measured, docs/TRAINING.md).
    """
    r = np.asarray(rows, dtype=np.float32)
    q32 = np.asarray(q, dtype=np.float32)
    sq = row_sqnorms(r) if sqnorms is None else np.asarray(sqnorms, dtype=np.float32)
    qq = float(q32 @ q32)
    d2 = sq - 2.0 * np.einsum("ij,j->i", r, q32) + qq
    slack = 1e-5 * (float(sq.max()) + qq) + 1e-6  # float32 error of the expansion, with room
    near = np.flatnonzero(d2 <= d2.min() + slack)
    exact = _distances(r[near], np.asarray(q, dtype=np.float64))
    k = int(np.argmin(exact))
    return int(near[k]), float(exact[k])


def refine(cell_probs: Any, query: Any, table: RefinementTable, centroids: Any, *,
           top_k: int = DEFAULT_TOP_K, temperature: float = DEFAULT_TEMPERATURE,
           max_move_km: float | None = DEFAULT_MAX_MOVE_KM) -> RefinedCandidates:
    """Refine the ``top_k`` most probable cells into located, re-weighted candidates.

    Args:
        cell_probs: ``(C,)`` geocell probabilities (need not sum to 1).
        query: ``(D,)`` raw query embedding (the same kind the index was built from).
        table: the refinement table for the same C cells and D-dim embeddings.
        centroids: ``(C, 2)`` cell centroids (lat, lng).
        top_k: how many cells to refine (clipped to C).
        temperature: softmax temperature over ``-distance`` (PIGEON street view: 1.6).
        max_move_km: drop the re-weighting when the refined winner lies farther than this
            from the initial guess, the top cell's centroid (None: no limit).

    Returns:
        ``RefinedCandidates`` for the top cells; ties in probability go to the lower cell id.

    Raises:
        RefinementError: mismatched sizes (another model's index), bad values, bad options.
    """
    if top_k < 1:
        raise RefinementError(f"top_k must be at least 1, got {top_k}")
    if not temperature > 0:
        raise RefinementError(f"temperature must be positive, got {temperature}")
    if max_move_km is not None and not max_move_km >= 0:
        raise RefinementError(f"max_move_km must be >= 0 or None, got {max_move_km}")
    p, q, cent = _check_inputs(cell_probs, query, table, centroids)
    k = min(top_k, len(p))
    cells = np.argsort(-p, kind="stable")[:k]
    lat, lng = cent[cells, 0].copy(), cent[cells, 1].copy()
    dist = np.full(k, np.nan)
    proto = np.full(k, -1, dtype=np.int64)
    member = np.full(k, -1, dtype=np.int64)
    refined = np.zeros(k, dtype=bool)
    for i, c in enumerate(cells):
        lo, hi = int(table.cell_offsets[c]), int(table.cell_offsets[c + 1])
        if hi <= lo:
            continue  # a cell without training points: stays on its centroid
        sqn = None if table.prototype_sqnorms is None else table.prototype_sqnorms[lo:hi]
        j, d_j = nearest_row(table.prototypes[lo:hi], q, sqn)  # NEAREST prototype (argmin)
        j += lo
        m_lo, m_hi = int(table.member_offsets[j]), int(table.member_offsets[j + 1])
        m = m_lo + int(np.argmin(_distances(table.member_embeddings[m_lo:m_hi], q)))
        lat[i], lng[i] = float(table.member_lat[m]), float(table.member_lng[m])
        dist[i], proto[i], member[i], refined[i] = d_j, j, m, True
    cell_prob = p[cells]
    prob = cell_prob.copy()
    if not refined.any():
        return RefinedCandidates(cells=cells, lat=lat, lng=lng, prob=prob, cell_prob=cell_prob,
                                 distance=dist, refined=refined, prototype=proto,
                                 member=member)
    mass = cell_prob[refined].sum()
    logits = -dist[refined] / temperature
    w = cell_prob[refined] * np.exp(logits - logits.max())
    if w.sum() > 0:
        prob[refined] = mass * w / w.sum()
    win = int(np.argmax(prob))  # ties: the more probable cell
    winner_km = float(haversine_km(lat[win], lng[win], cent[cells[0], 0], cent[cells[0], 1]))
    reweighted = max_move_km is None or winner_km <= max_move_km
    if not reweighted:  # the refinement would move the guess too far: drop the re-weighting
        prob = cell_prob.copy()
    return RefinedCandidates(cells=cells, lat=lat, lng=lng, prob=prob, cell_prob=cell_prob,
                             distance=dist, refined=refined, prototype=proto, member=member,
                             reweighted=reweighted, winner_km=winner_km)


def candidate_distribution(cell_probs: Any, cands: RefinedCandidates, centroids: Any, *,
                           include_rest: bool = True
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The full location distribution: refined top cells plus every other cell's centroid.

    Args:
        cell_probs: ``(C,)`` the same probabilities given to ``refine``.
        cands: its result.
        centroids: ``(C, 2)`` cell centroids.
        include_rest: keep the cells outside the top k at their centroids (True: the
            projected score then counts the mass outside the top cells honestly).

    Returns:
        ``(lat, lng, prob, cell)`` arrays; top candidates first, ``prob`` summing to 1.

    Raises:
        RefinementError: all probabilities zero.
    """
    p = np.asarray(cell_probs, dtype=np.float64)
    cent = np.asarray(centroids, dtype=np.float64)
    if include_rest:
        rest = np.ones(len(p), dtype=bool)
        rest[cands.cells] = False
        rest &= p > 0
        idx = np.flatnonzero(rest)
    else:
        idx = np.zeros(0, dtype=np.int64)
    lat = np.concatenate([cands.lat, cent[idx, 0]])
    lng = np.concatenate([cands.lng, cent[idx, 1]])
    prob = np.concatenate([cands.prob, p[idx]])
    cell = np.concatenate([cands.cells, idx]).astype(np.int64)
    total = prob.sum()
    if not total > 0:
        raise RefinementError("all cell probabilities are zero: nothing to aim at")
    return lat, lng, prob / total, cell
