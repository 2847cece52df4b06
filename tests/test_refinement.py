"""Retrieval refinement math (backend.core.refinement)."""

import numpy as np
import pytest

from backend.core.geodesy import haversine_km
from backend.core.refinement import (
    RefinementError,
    RefinementTable,
    candidate_distribution,
    refine,
)

D = 4
E = np.eye(D, dtype=np.float32)


def make_table(cells, dim=D):
    """cells: list (per cell) of list (per cluster) of list of (embedding, lat, lng)."""
    cell_off, protos, mem_off, mem_emb, mlat, mlng = [0], [], [0], [], [], []
    for clusters in cells:
        for members in clusters:
            embs = np.array([m[0] for m in members], dtype=np.float32)  # raw, as PIGEON
            protos.append(embs.mean(axis=0))
            mem_emb.extend(embs)
            mlat.extend(m[1] for m in members)
            mlng.extend(m[2] for m in members)
            mem_off.append(len(mem_emb))
        cell_off.append(len(protos))
    return RefinementTable(
        cell_offsets=np.array(cell_off), prototypes=np.array(protos, dtype=np.float32).reshape(-1, dim),
        member_offsets=np.array(mem_off), member_embeddings=np.array(mem_emb, np.float32).reshape(-1, dim),
        member_lat=np.array(mlat, float), member_lng=np.array(mlng, float)).check()


# cell 0 around (45, 5): cluster A near embedding e0 at (45.5, 5.5); cluster B near e1 at (44, 4)
CELLS = [
    [[(E[0], 45.5, 5.5), (E[0] + 0.1 * E[2], 45.6, 5.4)], [(E[1], 44.0, 4.0), (E[1] + 0.2 * E[3], 44.1, 4.2)]],
    [[(E[2], 10.0, 10.0)]],
    [],  # a cell without training points
]
CENTROIDS = np.array([[45.0, 5.0], [10.0, 10.5], [-30.0, 20.0]])


def test_nearest_prototype_not_farthest():
    # the query looks like cluster A: the candidate must be A's nearest member, not B's
    t = make_table(CELLS)
    r = refine([0.7, 0.2, 0.1], E[0], t, CENTROIDS, top_k=3)
    assert r.cells.tolist() == [0, 1, 2]
    assert (r.lat[0], r.lng[0]) == (45.5, 5.5)
    r = refine([0.7, 0.2, 0.1], E[1], t, CENTROIDS, top_k=3)
    assert (r.lat[0], r.lng[0]) == (44.0, 4.0)


def test_nearest_member_inside_the_cluster():
    t = make_table(CELLS)
    q = E[1] + 0.2 * E[3]
    r = refine([0.7, 0.2, 0.1], q, t, CENTROIDS)
    assert (r.lat[0], r.lng[0]) == (44.1, 4.2)


def test_empty_cell_stays_on_centroid_with_its_probability():
    t = make_table(CELLS)
    r = refine([0.1, 0.2, 0.7], E[0], t, CENTROIDS)
    assert r.cells[0] == 2 and not r.refined[0]
    assert (r.lat[0], r.lng[0]) == (-30.0, 20.0)
    assert r.prob[0] == pytest.approx(0.7)
    assert r.prob.sum() == pytest.approx(1.0)


def test_a_far_member_of_the_cell_itself_is_still_retrieved():
    # PIGEON has no per-candidate cap: a cell's member 2000 km from its centroid (a cell whose
    # points lie far apart) is its candidate; only the refined winner is checked (below)
    far = [[[(E[0], 60.0, 30.0)]], [[(E[1], 10.0, 10.0)]], []]
    t = make_table(far)
    r = refine([0.6, 0.3, 0.1], E[0], t, CENTROIDS, max_move_km=1000)
    assert r.refined[0] and (r.lat[0], r.lng[0]) == (60.0, 30.0)


# realistic embeddings: a large shared component (norms in the tens, as CLIP's mean hidden
# states) plus small place-specific parts; cell 0 near (45, 5), cell 1 near (47, 8), 300 km
# apart, cell 2 near (10, 10), 4000 km away
BASE = 15.0 * np.ones(8, dtype=np.float32) / np.sqrt(8)
A = BASE + 2.0 * np.eye(8, dtype=np.float32)[0]
B = BASE + 2.0 * np.eye(8, dtype=np.float32)[1]
NEAR = np.array([[45.0, 5.0], [47.0, 8.0], [10.0, 10.0]])
WORLD = [[[(A, 45.1, 5.1), (A + 0.1, 45.2, 5.0)]],
         [[(B, 47.1, 8.1), (B + 0.1, 47.0, 8.2)]],
         [[(B, 10.1, 10.1)]]]


def test_raw_distances_let_the_embeddings_change_the_top_candidate():
    # the heads slightly prefer cell 0, the embedding looks exactly like cell 1's places:
    # on raw embeddings (distance ~2.8 vs 0) T = 1.6 moves the top to cell 1; on unit vectors
    # (distance ~0.19) the same T would leave it on cell 0
    t = make_table(WORLD, dim=8)
    r = refine([0.55, 0.45, 0.0], B, t, NEAR, top_k=2)
    assert r.reweighted and r.cells.tolist() == [0, 1]
    assert r.prob[1] > r.prob[0]
    assert (r.lat[1], r.lng[1]) == (47.1, 8.1)
    assert r.prob.sum() == pytest.approx(1.0)
    assert r.winner_km == pytest.approx(float(haversine_km(47.1, 8.1, 45.0, 5.0)))


def test_the_1000_km_rule_checks_the_refined_winner_against_the_initial_guess():
    t = make_table(WORLD, dim=8)
    # the embedding points at cell 2, 4000 km from the top cell's centroid: drop the re-weighting
    r = refine([0.55, 0.0, 0.45], B, t, NEAR, top_k=2, max_move_km=1000)
    assert r.cells.tolist() == [0, 2]
    assert not r.reweighted and r.winner_km > 3000
    assert r.prob == pytest.approx([0.55, 0.45])
    assert (r.lat[1], r.lng[1]) == (10.1, 10.1)  # the candidates keep their locations
    r = refine([0.55, 0.0, 0.45], B, t, NEAR, top_k=2, max_move_km=None)
    assert r.reweighted and r.prob[1] > r.prob[0]


def test_reweighting_keeps_mass_and_favours_close_prototypes():
    t = make_table(CELLS)
    r = refine([0.5, 0.5, 0.0], E[2], t, CENTROIDS, top_k=2, max_move_km=None)
    # cell 1's prototype is exactly e2 (distance 0); cell 0's are farther: cell 1 gains mass
    i1 = list(r.cells).index(1)
    assert r.prob[i1] > 0.5
    assert r.prob.sum() == pytest.approx(1.0)
    cold = refine([0.5, 0.5, 0.0], E[2], t, CENTROIDS, top_k=2, temperature=1e6,
                  max_move_km=None)
    assert cold.prob == pytest.approx([0.5, 0.5])


def test_candidate_distribution_adds_the_other_cells():
    t = make_table(CELLS)
    p = np.array([0.6, 0.3, 0.1])
    r = refine(p, E[0], t, CENTROIDS, top_k=1)
    lat, lng, prob, cell = candidate_distribution(p, r, CENTROIDS)
    assert cell.tolist() == [0, 1, 2]
    assert prob.sum() == pytest.approx(1.0)
    assert (lat[1], lng[1]) == (10.0, 10.5)
    lat, _, prob, cell = candidate_distribution(p, r, CENTROIDS, include_rest=False)
    assert cell.tolist() == [0] and prob.tolist() == [1.0]


def test_deterministic_and_distances_on_raw_embeddings():
    t = make_table(CELLS)
    q = E[0] + E[1] * 0.3
    a = refine([0.4, 0.4, 0.2], q, t, CENTROIDS)
    again = refine([0.4, 0.4, 0.2], q, t, CENTROIDS)
    assert np.array_equal(a.prob, again.prob) and np.array_equal(a.lat, again.lat)
    # the distance is the raw Euclidean distance to the prototype, not between unit vectors
    i0 = list(a.cells).index(0)
    proto = t.prototypes[a.prototype[i0]].astype(np.float64)
    assert a.distance[i0] == pytest.approx(np.linalg.norm(q - proto))
    scaled = refine([0.4, 0.4, 0.2], 7.0 * q, t, CENTROIDS)
    assert scaled.distance[i0] > 3 * a.distance[i0]


def test_mismatched_model_is_rejected():
    t = make_table(CELLS)
    with pytest.raises(RefinementError, match="other geocells"):
        refine([0.5, 0.5], E[0], t, CENTROIDS[:2])
    with pytest.raises(RefinementError, match="another backbone"):
        refine([0.5, 0.3, 0.2], np.ones(8), t, CENTROIDS)
    with pytest.raises(RefinementError):
        refine([0.5, np.nan, 0.2], E[0], t, CENTROIDS)
    with pytest.raises(RefinementError):
        refine([0.5, 0.3, 0.2], E[0], t, CENTROIDS, top_k=0)
    with pytest.raises(RefinementError):
        refine([0.5, 0.3, 0.2], E[0], t, CENTROIDS, temperature=0)


def test_table_check_catches_broken_offsets():
    t = make_table(CELLS)
    bad = RefinementTable(np.array([0, 1, 3, 2]), t.prototypes, t.member_offsets,
                          t.member_embeddings, t.member_lat, t.member_lng)
    with pytest.raises(RefinementError):
        bad.check()
    bad = RefinementTable(t.cell_offsets, t.prototypes, t.member_offsets,
                          t.member_embeddings, t.member_lat[:-1], t.member_lng)
    with pytest.raises(RefinementError):
        bad.check()


def test_nearest_row_is_the_exact_nearest_with_or_without_stored_norms():
    """nearest_row (float32 scan with the index's squared norms, float64 for the close ones)
    picks the row the float64 distances pick, with its float64 distance."""
    from backend.core.refinement import _distances, nearest_row, row_sqnorms

    rng = np.random.default_rng(3)
    for trial in range(20):
        rows = (rng.normal(size=(300, 64)) * 5 + 20).astype(np.float32)  # raw: norms ~ 160
        q = rows[trial] + rng.normal(size=64).astype(np.float32) * 1e-3  # near ties too
        ref = _distances(rows, q.astype(np.float64))
        for sqn in (None, row_sqnorms(rows)):
            j, d = nearest_row(rows, q, sqn)
            assert j == int(np.argmin(ref)) and d == ref[j]
