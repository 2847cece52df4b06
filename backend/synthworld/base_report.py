"""The SynthWorld CLIP base's record: checkpoint, ``base.json``, RECIPE.md and the curves.

Usage::

    record = finish_base(cfg, model_cfg, data, model, trained_seconds, captioner)
    curves = read_curves(Path("data/synthworld-base/run/curves.jsonl"))
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

BASE_CLIP = "base-clip.pt"


def read_curves(path: Path) -> dict[str, list[dict[str, Any]]]:
    """``{"loss": [...], "zero_shot": [...]}`` rows of a run's ``curves.jsonl``."""
    loss, zero = [], []
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            (zero if "zero_shot" in row else loss).append(row)
    return {"loss": loss, "zero_shot": zero}


def plot_curves(curves: dict[str, list[dict[str, Any]]], path: Path) -> Path | None:
    """Loss and zero-shot accuracy against steps, one PNG (None when there is nothing)."""
    if not curves["loss"]:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    a.plot([r["step"] for r in curves["loss"]], [r["loss"] for r in curves["loss"]], lw=1)
    a.set(xlabel="step", ylabel="caption loss (CLIP)", title="training loss")
    z = curves["zero_shot"]
    steps = [r["step"] for r in z]
    for key, label in (("template_top1", 'template "A Street View photo in <country>."'),
                       ("captions_top1", "32 training captions per country")):
        b.plot(steps, [100 * r["zero_shot"][key] for r in z], marker=".", label=label)
    if z:
        b.axhline(100 * z[-1]["zero_shot"]["majority_top1"], color="grey", ls="--",
                  label="most common country")
        b.axhline(100 * z[-1]["zero_shot"]["chance_top1"], color="grey", ls=":", label="chance")
    b.set(xlabel="step", ylabel="top-1 %", title="zero-shot country, held-out places")
    b.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def finish_base(cfg: Any, mc: dict[str, Any], data: Any, model: Any, trained_s: float,
                captioner: Any) -> dict[str, Any]:
    """Write ``base-clip.pt``, ``base.json``, ``curves.png`` and ``RECIPE.md``; returns the
    record stored in ``base.json``."""
    from backend.model.weights import save_clip_checkpoint
    from backend.synthworld.base_pretrain import BASE_FORMAT, _evaluate

    out = Path(cfg.out)
    model.eval()
    final = _evaluate(model, mc, data, captioner)
    curves = read_curves(out / "curves.jsonl")
    views = cfg.steps * cfg.batch_size
    record = {
        "format": BASE_FORMAT, "made_by": "pigeon synthworld pretrain-base "
        "(backend.synthworld.base_pretrain)",
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "recipe": cfg.recipe(), "model_cfg": mc,
        "data": {k: v for k, v in data.meta.items() if k != "rendered"},
        "rendering": {k: data.meta["rendered"].get(k) for k in
                      ("renderer", "seed", "n_places", "seconds", "workers", "created")},
        "budget": {"steps": cfg.steps, "views_seen": views,
                   "epochs": round(views / (4 * len(data.train_idx)), 2),
                   "train_hours": round(trained_s / 3600, 3),
                   "views_per_s": round(views / max(trained_s, 1e-9), 1)},
        "curves": {"loss_first": curves["loss"][0]["loss"] if curves["loss"] else None,
                   "loss_last": curves["loss"][-1]["loss"] if curves["loss"] else None,
                   "chance_loss": round(float(np.log(cfg.batch_size)), 3),
                   "zero_shot": [{"step": r["step"], **r["zero_shot"]}
                                 for r in curves["zero_shot"]]},
        "zero_shot_final": final,
        "machine": {"processor": platform.processor() or platform.machine(),
                    "cores": os.cpu_count(), "python": platform.python_version(),
                    "threads": cfg.threads},
    }
    save_clip_checkpoint(model, mc, out / BASE_CLIP, config_name=cfg.model,
                         source={"trained_by": record["made_by"]}, extra=record)
    (out / "base.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    plot_curves(curves, out / "curves.png")
    (out / "RECIPE.md").write_text(recipe_text(record), encoding="utf-8")
    return record


def recipe_text(r: dict[str, Any]) -> str:
    """RECIPE.md of the base from its record."""
    rc, b, z, p = r["recipe"], r["budget"], r["zero_shot_final"], r["data"]["places"]
    v, t = r["model_cfg"]["vision_cfg"], r["model_cfg"]["text_cfg"]
    zs = "\n".join(f"| {row['step']} | {100 * row['template_top1']:.1f} | "
                   f"{100 * row['captions_top1']:.1f} |" for row in r["curves"]["zero_shot"])
    return f"""# The SynthWorld CLIP base — recipe

Made by `pigeon synthworld pretrain-base --data {rc['data_dir']} --steps {rc['steps']}`
(code: `backend/synthworld/base_pretrain.py`), finished {r['created_utc']}.

* Model: open_clip `{rc['model']}`: image {v['image_size']} px, patch {v['patch_size']}, width
  {v['width']}, {v['layers']} layers; text width {t['width']}, {t['layers']} layers, context
  {t['context_length']}; embed dim {r['model_cfg']['embed_dim']}. Both towers from random weights.
* Data: {rc['n_places']} SynthWorld places from `sample_points(..., seed={p['seed']})`, each at
  least {p['min_km']} km from every place of the reserved datasets (closest:
  {p.get('closest_reserved_km')} km; {p['dropped_near_reserved']} candidates dropped):
  {'; '.join(f"{x['name']} ({x['n']} places, seed {x['seed']})" for x in p['reserved'])}.
  {r['data']['split']['train']} training places, {r['data']['split']['val']} held out (>= 1 km)
  for the zero-shot curve. 4 views of {rc['size']} px each.
* Loss: CLIP's symmetric cross-entropy, identical captions counted as positives; captions
  redrawn every epoch (town, region, country; climate, driving side, direction, month clauses
  each kept with p 0.6). AdamW (0.9, 0.98) lr {rc['lr']}, wd {rc['weight_decay']}, batch
  {rc['batch_size']}, warmup {rc['warmup_steps']} steps then cosine, +-{rc['shift']} px shifts,
  no flips, seed {rc['seed']}.
* Budget: {b['steps']} steps, {b['views_seen']} views ({b['epochs']} epochs), {b['train_hours']} h
  of training at {b['views_per_s']} views/s on {r['machine']['threads']} thread(s) of a
  {r['machine']['cores']}-core {r['machine']['processor']} machine shared with other jobs.
* Loss {r['curves']['loss_first']} -> {r['curves']['loss_last']} (chance ln {rc['batch_size']} =
  {r['curves']['chance_loss']}).

## Zero-shot country accuracy on the {z['n']} held-out views ({z['classes']} countries)

Final: template "A Street View photo in <country>." **{100 * z['template_top1']:.1f} %**,
32 training captions per country **{100 * z['captions_top1']:.1f} %**; always answering the most
common country ({z['majority_country']}) {100 * z['majority_top1']:.1f} %; chance
{100 * z['chance_top1']:.1f} %.

| step | template % | captions % |
|---|---|---|
{zs}

Curves: `curves.jsonl`, `curves.png`.
"""
