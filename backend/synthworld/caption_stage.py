"""The demo recipe's caption stage, from scratch (``train-demo --from-scratch``).

PIGEON's contrastive pretraining on the training places' captions, for a tower that starts
from random weights: both towers of the tiny config train with the CLIP loss for
``pretrain_minutes`` (``contrastive.pretrain_clip``), then the result is checked the CLIP way,
by zero-shot country accuracy on the validation views (``zero_shot.zero_shot_country``). The
recipe that starts from the SynthWorld CLIP base skips it: the base went through a far longer
caption stage on places of its own.

Usage::

    visual_state, stats = caption_stage(cfg, model_cfg, paths, views, lat, lng, month)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def caption_stage(cfg: Any, mc: dict[str, Any], paths: dict[str, Path], views: np.ndarray,
                  lat: np.ndarray, lng: np.ndarray, month: np.ndarray,
                  ) -> tuple[dict[str, Any], dict[str, Any]]:
    """CLIP pretraining on PIGEON-style captions of the training places' views.

    Writes ``work/init-clip.pt`` (the same architecture before any training: the from-scratch
    ladder's base) and ``work/pretrain-clip.pt`` (both towers after this stage: that ladder's
    ``--contrastive-weights``).

    Returns:
        ``(vision tower state, stats)`` — the tower starts the multi-task stage from this state.
    """
    import torch

    from backend.eval.datasets import load_dataset
    from backend.model.backbone import build_clip
    from backend.model.weights import save_clip_checkpoint
    from backend.synthworld.captions import place_facts, view_captions
    from backend.synthworld.contrastive import pretrain_clip
    from backend.synthworld.train_demo import SecondsBar, load_views
    from backend.synthworld.zero_shot import zero_shot_country

    work = cfg.data_dir / "work"
    k = views.shape[1]
    facts = place_facts(lat, lng)
    rng = np.random.default_rng(cfg.seed)
    caps = view_captions(facts, month + 1, n_views=k, rng=rng)   # month: 0-11, -1 unknown
    torch.manual_seed(cfg.seed)  # pretrain_clip builds its model after the same seeding
    save_clip_checkpoint(build_clip(mc), mc, work / "init-clip.pt", config_name="synthworld-tiny",
                         source={"trained_by": "nothing: random initialisation (seed "
                                               f"{cfg.seed}), the ablation ladder's base"})
    bar = SecondsBar(cfg.pretrain_minutes, "contrastive pretraining (s)")
    pairing = ({"views_per_caption": k, "batch_size": 64} if cfg.pretrain_panorama
               else {"views_per_caption": 1, "batch_size": 128})
    clip, stats = pretrain_clip(mc, torch.from_numpy(views.reshape(-1, *views.shape[2:])), caps,
                                minutes=cfg.pretrain_minutes, seed=cfg.seed, on_step=bar.on_step,
                                **pairing)
    bar.close()
    val = load_dataset(paths["val"])
    val_views = load_views(val, cfg.size, "loading validation views")
    val_facts = place_facts(val.lats(), val.lngs())
    labels = [str(val_facts[i].get("country_name") or "") for i in range(len(val))
              for _ in range(k)]
    # the countries are named by the training captions (one view's caption per place)
    train_countries = [str(f.get("country_name") or "") for f in facts]
    one_caption = [caps[i * k + int(rng.integers(k))] for i in range(len(facts))]
    z = zero_shot_country(clip, mc, val_views.reshape(-1, *val_views.shape[2:]), labels,
                          train_countries, one_caption, seed=cfg.seed)
    stats.update({"zero_shot_country_top1": z["captions_top1"],
                  "zero_shot_template_top1": z["template_top1"],
                  "zero_shot_majority_country": z["majority_country"],
                  "zero_shot_majority_top1": z["majority_top1"],
                  "zero_shot_classes": z["classes"]})
    save_clip_checkpoint(clip, mc, work / "pretrain-clip.pt", config_name="synthworld-tiny",
                         source={"trained_by": "pigeon synthworld train-demo (contrastive stage)"},
                         extra=stats)
    return clip.visual.state_dict(), stats
