"""Refinement pays off where the embedding carries location: a learnable toy world.

Embeddings are random Fourier features of the location (nearby places look alike, with
noise), the geocell head scores each cell by similarity to its mean training embedding.
With the refinement index the median error must fall well below the centroid-only guess.
The backbone is left out (a stand-in that is never called): this tests everything after it.
"""

from types import SimpleNamespace

import numpy as np
import torch

from backend.core.geodesy import haversine_km
from backend.model.heads import HeadsConfig, PigeonHeads
from backend.predict.index import build_index
from backend.predict.predictor import Predictor
from tests.predict_fixtures import box_geocells

D = 96


class UnusedBackbone:
    embedding_dim = D

    def __init__(self):
        self._p = torch.nn.Parameter(torch.zeros(1))

    def eval(self):
        return self

    def parameters(self):
        yield self._p


def features(lat, lng, w, b, rng, noise=0.05):
    x = np.stack([lat, lng], axis=1)
    e = np.cos(x @ w + b) + noise * rng.normal(size=(len(lat), D))
    return e / np.linalg.norm(e, axis=1, keepdims=True)


def test_refinement_cuts_the_median_error():
    rng = np.random.default_rng(0)
    sites = [(40.0 + 6 * i, -5.0 + 6 * j, "XX", "X") for i in range(3) for j in range(4)]
    cells = box_geocells(sites, half_deg=3.0)
    w = rng.normal(scale=1 / 1.2, size=(2, D))  # ~1.2 degree feature length
    b = rng.uniform(0, 2 * np.pi, D)
    lat = rng.uniform(37.5, 55.5, 1150)
    lng = rng.uniform(-7.5, 16.5, 1150)
    emb = features(lat, lng, w, b, rng)
    cell = cells.assign(lat, lng)
    heads = PigeonHeads(HeadsConfig(embedding_dim=D, num_cells=len(sites))).eval()
    with torch.no_grad():
        means = np.stack([emb[cell == c].mean(axis=0) for c in range(len(sites))])
        heads.geocell.weight.copy_(torch.from_numpy(20 * means).float())
        heads.geocell.bias.zero_()
    bundle = SimpleNamespace(backbone=UnusedBackbone(), heads=heads, geocells=cells,
                             path="toy", index_path=None, calibration=None)
    index = build_index(emb[:1000], lat[:1000], lng[:1000], cell[:1000], num_cells=len(sites))
    plain = Predictor(bundle, index=None, geo=None)
    refined = Predictor(bundle, index=index, geo=None)
    err_plain, err_refined = [], []
    for i in range(1000, 1150):
        for pred, errs in ((plain, err_plain), (refined, err_refined)):
            g = pred.guess_from_embedding(emb[i])
            errs.append(float(haversine_km(g.lat, g.lng, lat[i], lng[i])))
    med_plain, med_refined = np.median(err_plain), np.median(err_refined)
    assert med_refined < 0.6 * med_plain, (med_plain, med_refined)
