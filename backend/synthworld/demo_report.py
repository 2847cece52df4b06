"""Evaluate the demo bundle against the baselines and write RECIPE.md, metrics and arena places.

Usage::

    table, metrics = evaluate_demo(cfg, paths, train_dataset, train_views)
    write_recipe(cfg, record, table)
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from backend.synthworld.baselines import PixelNearestNeighbour, best_constant_guess


def evaluate_demo(cfg: Any, paths: dict[str, Path], train: Any,
                  train_views: np.ndarray) -> tuple[str, dict[str, Any]]:
    """The metric table of the bundle, the best constant guess and 1-NN pixels on the test set.

    Returns:
        ``(table text, {row name: MetricReport.to_dict()})``.
    """
    from backend.eval.datasets import load_dataset
    from backend.eval.evaluate import default_country_lookup, evaluate_predictions, predict_dataset
    from backend.eval.metrics import compute_metrics, format_ladder
    from backend.predict.predictor import Predictor
    from backend.synthworld.train_demo import load_views

    test = load_dataset(paths["test"])
    predictor = Predictor.from_bundle(cfg.out)
    preds = predict_dataset(predictor, test, batch_size=32)
    lookup = default_country_lookup()
    model_rep = evaluate_predictions(preds, country_lookup=lookup,
                                     geocells=predictor.bundle.geocells, n_boot=cfg.n_boot,
                                     seed=cfg.seed)
    t_lat, t_lng = test.lats(), test.lngs()
    t_country = lookup(t_lat, t_lng) if lookup else None

    def rep(p_lat: np.ndarray, p_lng: np.ndarray) -> Any:
        kw = {}
        if lookup is not None:
            kw = {"true_country": list(t_country), "pred_country": list(lookup(p_lat, p_lng))}
        return compute_metrics(t_lat, t_lng, p_lat, p_lng, n_boot=cfg.n_boot, seed=cfg.seed,
                               **kw)

    c_lat, c_lng = best_constant_guess(train.lats(), train.lngs())
    const = rep(np.full(len(test), c_lat), np.full(len(test), c_lng))
    knn = PixelNearestNeighbour.fit(list(train_views), train.lats(), train.lngs())
    test_views = load_views(test, cfg.size, "loading test views")
    k_lat, k_lng = knn.predict(list(test_views))
    knn_rep = rep(k_lat, k_lng)
    rows = [("best constant guess", const), ("1-NN, 16x16 raw pixels", knn_rep),
            ("demo bundle (PIGEON pipeline)", model_rep)]
    table = format_ladder(rows)
    metrics = {name: r.to_dict() for name, r in rows}
    metrics["constant_pin"] = [c_lat, c_lng]
    metrics["n_test"] = len(test)
    _copy_arena_places(cfg, test)
    return table, metrics


def _copy_arena_places(cfg: Any, test: Any) -> None:
    """The first held-out test places, with their JPEGs, for the arena (``arena_places/``)."""
    from backend.eval.datasets import Location, write_generic_csv

    out = Path(cfg.out) / "arena_places"
    img = out / "images"
    img.mkdir(parents=True, exist_ok=True)
    locs = []
    for loc in test.locations[:cfg.arena_places]:
        paths = []
        for p in loc.image_paths:
            dst = img / Path(p).name
            shutil.copyfile(p, dst)
            paths.append(dst)
        locs.append(Location(loc.id, loc.lat, loc.lng, paths, loc.heading, loc.month,
                             loc.line_no, dict(loc.extra)))
    write_generic_csv(out / "test.csv", locs)
    (out / "README.md").write_text(
        "Held-out SynthWorld places for the arena: the first rows of the demo's test split\n"
        "(never seen in training, at least the split's min-km from any training place).\n"
        "Regenerate with `pigeon synthworld train-demo` (same seed, same places).\n",
        encoding="utf-8")


def _pairing(params: dict[str, Any]) -> str:
    """How the caption stage paired images with captions, in words."""
    k = int(params.get("views_per_caption", 1))
    if k == 1:
        return f"one view a caption, batch {params['batch_size']}"
    return (f"a caption against the mean of its place's {k} views, batch {params['batch_size']} "
            "places")


def _backbone_line(cfg: Any, record: dict[str, Any]) -> str:
    """The recipe's bullet on the image tower: the base, or the tiny one from scratch."""
    base = record.get("base")
    if not base:
        return f"""* Backbone: open_clip ViT from scratch — image {cfg.size}, patch {cfg.patch}, width 128, 4 layers,
  head width 32 (`pigeon-tiny` with patch {cfg.patch}); embedding = mean of the last hidden states,
  panorama = mean of the 4 views.
"""
    v = record["backbone_config"]["vision_cfg"]
    b, z = base.get("budget") or {}, base.get("zero_shot_final") or {}
    return f"""* Backbone: the SynthWorld CLIP base (`{base['config_name']}`: image {v['image_size']}, patch
  {v['patch_size']}, width {v['width']}, {v['layers']} layers; `bundles/synthworld-base/RECIPE.md`): both towers
  pretrained contrastively for {b.get('steps')} steps ({b.get('train_hours')} h of CPU) on captions of
  {base.get('n_places')} SynthWorld places of its own, all at least {base['places']['min_km']} km from this
  recipe's places (zero-shot country on its held-out views {100 * z.get('template_top1', float('nan')):.1f} %
  vs {100 * z.get('majority_top1', float('nan')):.1f} % for the most common country); embedding =
  mean of the last hidden states, panorama = mean of the 4 views.
"""


def _trained_line(tr: dict[str, Any]) -> str:
    """Which weights the multi-task stage trained, at which learning rates."""
    p = tr.get("params", {})
    if p.get("trainable") == "last_block":
        return (f"the base's last block (PIGEON's last-layer fine-tuning, AdamW lr "
                f"{p['backbone_lr']:g}) and the heads (lr {p['lr']:g})")
    return f"all layers, AdamW lr {p.get('lr', 1e-3):g}"


def _pretrain_line(pre: dict[str, Any] | None, base: dict[str, Any] | None = None) -> str:
    """The recipe's bullet on the contrastive stage (or that it was skipped)."""
    if base:
        return ""
    if not pre:
        return ("* Contrastive pretraining: skipped (`--pretrain-minutes 0`); the tower starts "
                "from random weights.\n")
    from backend.synthworld.captions import CLAUSE_P

    p = pre["params"]
    return (f"""* Contrastive pretraining (PIGEON's first stage): image and text towers on PIGEON-style
  captions of every training view (town, region, country; climate, driving side, direction,
  month clauses each kept with p {CLAUSE_P:g}), CLIP loss with identical captions counted as positives,
  {_pairing(p)}, AdamW lr {p['lr']:g} wd {p['weight_decay']:g}, cosine over a \
{p['minutes']}-minute budget, +-{p['shift_px']} px shifts, no flips: {pre['steps']} steps,
  {pre['images_seen']} views ({pre['epochs']} epochs) at {pre['images_per_s']} views/s; loss \
{pre['loss_first']:.2f} -> {pre['loss_last']:.2f}
  (ln {p['batch_size']} = {math.log(p['batch_size']):.2f} is chance). Zero-shot country \
accuracy on the validation views,
  no head trained ({pre['zero_shot_classes']} countries): \
{100 * pre['zero_shot_country_top1']:.1f} % naming each country by up to 32 of
  its training captions, {100 * pre.get('zero_shot_template_top1', float('nan')):.1f} % \
by the template "A Street View photo in <country>.", vs
  {100 * pre['zero_shot_majority_top1']:.1f} % for always answering \
{pre['zero_shot_majority_country']}. The image tower starts the next stage.
""")


def _rebuilt_line(r: dict[str, Any] | None) -> str:
    """What ``scripts/rebuild_demo_refinement.py`` redid after training, if it ran."""
    if not r:
        return ""
    c, h = r["index_counts"], r.get("calibration_held_out")
    held = (f" (held-out 2-fold: projected {h['mean_projected']:.0f} vs actual "
            f"{h['mean_actual']:.0f}, ECE {h['ece']:.0f})" if h else "")
    return (f"\n  Both rebuilt on {r['when'][:10]} by `{r['command']}` (code {r['code']}), "
            f"the rest of the bundle unchanged: index {r['index_format']} on raw embeddings "
            f"(norms median {r['embedding_norms']['median']:.1f}), {c['members']} members in "
            f"{c['prototypes']} prototypes, {c['noise_points_dropped']} OPTICS noise points "
            f"dropped; calibration T {r['calibration_temperature']:.3f} fitted on every "
            f"candidate{held}. Seconds: "
            + ", ".join(f"{k} {v:.0f}" for k, v in r["seconds"].items()) + ".")


def _mode_args(cfg: Any) -> str:
    if cfg.base is None:
        return f"--from-scratch --pretrain-minutes {cfg.pretrain_minutes}"
    return f"--base {cfg.base} --backbone-lr {cfg.backbone_lr:g}"


def write_recipe(cfg: Any, record: dict[str, Any], table: str) -> Path:
    """Write ``demo_metrics.json`` and ``RECIPE.md`` into the bundle."""
    out = Path(cfg.out)
    (out / "demo_metrics.json").write_text(json.dumps(record, indent=2, default=str) + "\n",
                                           encoding="utf-8")
    tr = record["train"]
    tm = record["timings_s"]
    m = record["machine"]
    ds = record.get("dataset") or {}
    ds_s = round(sum((ds.get("seconds") or {}).values()), 1)
    size_mb = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
    text = f"""# The demo bundle — recipe

Made by:

```
{record['command'] or 'pigeon synthworld train-demo'}
```

i.e. `pigeon synthworld train-demo --out {cfg.out} {_mode_args(cfg)} \\
--minutes {cfg.minutes} --n {cfg.n_places} --seed {cfg.seed} --size {cfg.size}` (code:
`backend/synthworld/train_demo.py`).

* Data: SynthWorld, {cfg.n_places} GeoGuessr-like places (`backend.geo.sampler`, seed {cfg.seed}),
  4 views of {cfg.size}x{cfg.size} px each; split with `backend.eval.split` (test share
  {cfg.test_frac}, then validation share {cfg.val_frac} of the rest, both >= {cfg.min_km} km from
  any training place). Same seed, same places and pixels.
* Geocells: {record['geocells']['n']} semantic geocells (MIN {cfg.geocell_min}, MAX
  {cfg.geocell_max}, PIGEON's OPTICS settings) over Natural Earth admin-1.
{_backbone_line(cfg, record)}{_pretrain_line(record.get("pretrain"), record.get("base"))}* Multi-task training: PIGEON's loss (haversine label smoothing tau 75 km,
  regressions x8, Köppen x2, month x1), {_trained_line(tr)}, wd 0.05, batch 128, cosine
  over a {cfg.minutes}-minute wall-clock budget, +-3 px shifts, no flips: {tr['steps']} steps,
  {tr['images_seen']} views seen ({tr['epochs']} epochs) at {tr['images_per_s']} views/s,
  {cfg.threads} torch thread(s).
* Refinement index (OPTICS per cell on training embeddings) and calibration (temperature fitted
  on the validation places) from `backend.predict`.{_rebuilt_line(record.get("refinement_rebuilt"))}

Time (s): {', '.join(f'{k} {v:.0f}' for k, v in tm.items())}; total {sum(tm.values()) / 60:.1f} min.
Rendering the dataset (`make_dataset`, {ds.get('workers')} processes, made {ds.get('created')}; the
data stage reuses it when seed, size and count match): {ds_s} s.
Machine: {m['processor']}, {m['cores']} cores, Python {m['python']}; load average at start
{m['load_average_at_start']} (a machine shared with other jobs: views/s vary with the load).
Bundle size: {size_mb:.1f} MB.

## Held-out test places ({record['metrics']['n_test']}), 95 % bootstrap intervals in demo_metrics.json

```
{table}
```

The best constant guess is the pin with the highest mean score over the training places
({record['metrics']['constant_pin'][0]:.2f}, {record['metrics']['constant_pin'][1]:.2f}); 1-NN
takes the location of the training panorama nearest in standardised 16x16 RGB pixels.
Arena places: `arena_places/` (first {cfg.arena_places} test places with their JPEGs).
"""
    path = out / "RECIPE.md"
    path.write_text(text, encoding="utf-8")
    return path
