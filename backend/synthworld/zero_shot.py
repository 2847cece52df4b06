"""Zero-shot country accuracy of a SynthWorld CLIP: what the two towers learnt together.

The CLIP way of checking a contrastively trained model (StreetCLIP's and PIGEON's country
evaluations): no head is trained; each view goes to the country whose text embedding it
matches best. A country is named two ways:

* ``template`` — PIGEON's one-line prompt, "A Street View photo in <country>.";
* ``captions`` — the mean embedding of up to ``per_country`` training captions of places in
  that country (prompt ensembling with the sentences the text tower was trained on).

Both are reported next to chance (one over the number of countries) and the most-common-
country baseline (always answering the training set's most frequent country).

Usage::

    report = zero_shot_country(clip, model_cfg, views, true_countries,
                               train_countries, train_captions)
    report["template_top1"], report["majority_top1"], report["chance_top1"]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch


def country_prompts(train_countries: Sequence[str], train_captions: Sequence[str], *,
                    per_country: int = 32, seed: int = 0) -> dict[str, list[str]]:
    """Up to ``per_country`` captions of each country's training places (a seeded draw)."""
    if len(train_countries) != len(train_captions):
        raise ValueError(f"{len(train_countries)} countries but {len(train_captions)} captions")
    by_country: dict[str, list[int]] = {}
    for i, c in enumerate(train_countries):
        if c:
            by_country.setdefault(c, []).append(i)
    rng = np.random.default_rng(seed)
    out = {}
    for c in sorted(by_country):
        idx = by_country[c]
        pick = rng.choice(len(idx), size=min(per_country, len(idx)), replace=False)
        out[c] = [train_captions[idx[j]] for j in sorted(pick)]
    return out


def zero_shot_country(clip: torch.nn.Module, model_cfg: dict[str, Any], views: Any,
                      countries: Sequence[str], train_countries: Sequence[str],
                      train_captions: Sequence[str], *, per_country: int = 32,
                      seed: int = 0) -> dict[str, Any]:
    """Zero-shot country accuracy of ``views`` (``[N, H, W, 3]`` uint8) and its baselines.

    Args:
        clip: an open_clip ``CLIP`` (image and text towers).
        model_cfg: its config (the text context length).
        views: the held-out views; ``countries`` their true country names.
        train_countries, train_captions: one entry per training caption; the classes are
            the countries that occur here.
        per_country: captions per country in the ``captions`` naming.
        seed: which captions are drawn.

    Returns:
        ``{"n", "classes", "template_top1", "captions_top1", "majority_country",
        "majority_top1", "chance_top1"}``.
    """
    from backend.synthworld.contrastive import ZERO_SHOT_TEMPLATE, zero_shot_accuracy

    prompts = country_prompts(train_countries, train_captions, per_country=per_country,
                              seed=seed)
    if not prompts:
        raise ValueError("no training caption names a country: nothing to classify into")
    images = torch.as_tensor(np.asarray(views))
    labels = list(countries)
    counts = Counter(c for c in train_countries if c)
    majority = counts.most_common(1)[0][0]
    return {
        "n": len(labels), "classes": len(prompts),
        "template_top1": round(zero_shot_accuracy(
            clip, model_cfg, images, labels,
            {c: [ZERO_SHOT_TEMPLATE.format(c)] for c in prompts}), 4),
        "captions_top1": round(zero_shot_accuracy(clip, model_cfg, images, labels, prompts), 4),
        "majority_country": majority,
        "majority_top1": round(float(np.mean([lab == majority for lab in labels])), 4),
        "chance_top1": round(1.0 / len(prompts), 4),
    }
