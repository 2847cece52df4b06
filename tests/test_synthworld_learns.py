"""The pipeline learns on SynthWorld: a tiny ViT trained for seconds beats the best constant guess.

600 GeoGuessr-like places (real sampler, real geo facts) in eight countries of different
climates, hemispheres, scripts and driving sides, at 32 px; semantic geocells on the
training places; ``train_multitask`` (PIGEON's multi-task loss with haversine label smoothing)
on a 2-layer ViT; the expected-score pin over the geocell distribution. Fails if rendering,
geocells, label smoothing or training break. Needs the geographic assets (``make setup``).
"""

from __future__ import annotations

import copy
import time

import numpy as np
import pytest
import torch

from backend.cliutil import UserError
from backend.core.best_pin import best_pin
from backend.core.geodesy import haversine_km
from backend.core.scoring import geoguessr_score

N_PLACES = 600
SEED = 11
"""The sampler seed of these places (``backend.synthworld.base_places.RESERVED`` keeps the
SynthWorld CLIP base away from them)."""
SIZE = 32
COUNTRIES = ("FI", "ES", "BR", "AU", "JP", "ZA", "TH", "US")
STEPS = 400
MARGIN = 400.0
"""Measured when written: model 1839-2000 vs constant 1105 after 300-600 steps."""


@pytest.fixture(scope="module")
def world():
    try:
        from backend.geo.sampler import sample_points
        from backend.synthworld.scene_builder import SceneBuilder

        builder = SceneBuilder.default()
        lat, lng = sample_points(N_PLACES, SEED, countries=COUNTRIES)
    except (UserError, OSError) as exc:  # AssetsMissing: say why
        pytest.skip(f"geographic assets unavailable ({exc}); run `make setup`")
    from backend.synthworld.make_dataset import place_seed
    from backend.synthworld.render import render_panorama

    months = np.random.default_rng(1).integers(1, 13, N_PLACES)
    scenes = builder.build(lat, lng, months, [place_seed(SEED, i) for i in range(N_PLACES)])
    views = np.stack([np.stack(render_panorama(s, SIZE, supersample=1)) for s in scenes])
    return np.asarray(lat), np.asarray(lng), months, views


@pytest.mark.slow
def test_tiny_model_beats_the_constant_guess(world):
    from backend.eval.split import split_indices
    from backend.geocells.areas import load_areas
    from backend.geocells.build import GeocellParams, build_geocells
    from backend.model.registry import get_backbone_config
    from backend.synthworld.baselines import best_constant_guess
    from backend.synthworld.supervised import train_multitask
    from backend.synthworld.train_demo import embed_panoramas

    lat, lng, months, views = world
    tr, te = split_indices(lat, lng, test_frac=0.2, min_km=1.0, seed=0)
    cells, _ = build_geocells(lat[tr], lng[tr], load_areas(), GeocellParams(8, 20))
    cfg = copy.deepcopy(get_backbone_config("pigeon-tiny"))
    cfg["vision_cfg"].update(image_size=SIZE, patch_size=8, width=64, layers=2, head_width=32)
    t0 = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # fastest on a busy 2-core machine; restored below
    try:
        backbone, heads, stats = train_multitask(
            cfg, torch.from_numpy(views[tr]), np.stack([lat[tr], lng[tr]], 1),
            np.full(len(tr), -1), months[tr] - 1, np.full((len(tr), 6), np.nan, np.float32),
            cells.centroids, minutes=3.0, batch_size=64, lr=2e-3, max_steps=STEPS, seed=0)
    finally:
        torch.set_num_threads(threads)
    assert stats["steps"] == STEPS, f"training stopped early: {stats}"
    assert stats["loss_last"]["geocell"] < stats["loss_first"]["geocell"] - 0.2, stats
    with torch.no_grad():
        probs = torch.softmax(heads(torch.from_numpy(embed_panoramas(backbone, views[te])))
                              ["geocell"], 1).numpy()
    cent = cells.centroids
    pins = np.array([best_pin(cent[:, 0], cent[:, 1], p)[:2] for p in probs])
    model = float(geoguessr_score(haversine_km(lat[te], lng[te], pins[:, 0], pins[:, 1])).mean())
    c = best_constant_guess(lat[tr], lng[tr])
    const = float(geoguessr_score(haversine_km(lat[te], lng[te], c[0], c[1])).mean())
    print(f"mean score: model {model:.0f}, constant {const:.0f}; "
          f"{time.perf_counter() - t0:.1f} s of training and evaluation")
    assert model > const + MARGIN, (model, const)

