"""Pretrain the SynthWorld CLIP base: both towers, contrastively, on places no test uses.

PIGEON starts from a CLIP that already knows the world. This is ours for SynthWorld: the
``synthworld-base`` open_clip model (image 64, patch 8, width 192, 6 layers; text width 128,
4 layers) trained from scratch with the CLIP loss on PIGEON-style captions of a large set of
SynthWorld places that is disjoint from the demo's, the ladder's and the tests' places
(``base_places``; data in ``base_data``). The ablation ladder's rung 1 and the demo start from
its image tower; its text tower lets the ladder's contrastive rung go on from it.

The run is budgeted in steps (a cosine over ``steps`` after a linear warmup) and resumable:
``OUT/checkpoint-last.pt`` (model, optimizer, step, seconds trained, config) is written every
``save_minutes`` and on SIGTERM / SIGINT; running the same command again continues exactly
where it stopped (the batch order, captions and shifts are pure functions of seed, epoch and
step). Curves go to ``OUT/curves.jsonl`` as it trains: the loss, and every ``eval_every``
steps the zero-shot country accuracy on the held-out validation places. At the end:
``OUT/base-clip.pt`` (``pigeon-openclip/1``, both towers), ``OUT/base.json`` (recipe, data
seed and rule, budget, curves summary, final zero-shot) and ``OUT/RECIPE.md``.

Usage::

    pigeon synthworld pretrain-base --data data/synthworld-base --out data/synthworld-base/run
    result = pretrain_base(BaseConfig(steps=4000))      # same thing from Python
"""

from __future__ import annotations

import json
import math
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backend.cliutil import UserError, progress
from backend.synthworld.base_places import BASE_MIN_KM

CHECKPOINT_KIND = "synthworld-base"
BASE_FORMAT = "synthworld-base/1"
NOT_RECIPE = ("out", "eval_every", "save_minutes", "stop_after_hours", "threads", "workers",
              "max_steps_now")
"""Settings that may change between a run and its resume (they do not change the result)."""


@dataclass
class BaseConfig:
    """Everything the base depends on (stored in the checkpoint, ``base.json`` and RECIPE.md)."""

    data_dir: Path = Path("data/synthworld-base")
    out: Path = Path("data/synthworld-base/run")
    n_places: int = 44_000
    val_places: int = 500
    min_km: float = BASE_MIN_KM
    size: int = 64
    model: str = "synthworld-base"
    steps: int = 4000
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.1
    warmup_steps: int = 200
    shift: int = 3
    seed: int = 0
    eval_every: int = 250
    save_minutes: float = 5.0
    stop_after_hours: float | None = None
    max_steps_now: int | None = None
    """Stop this invocation after this many steps in total (tests; resume later)."""
    threads: int = 1
    workers: int = 2

    def recipe(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()
                if k not in NOT_RECIPE}


@dataclass
class BaseResult:
    out: Path
    finished: bool
    step: int
    record: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        if not self.finished:
            return (f"paused at step {self.step}; run the same command again to resume "
                    f"({self.out / 'checkpoint-last.pt'})")
        z = self.record.get("zero_shot_final", {})
        return (f"base: {self.out / 'base-clip.pt'} after {self.step} steps; zero-shot "
                f"country on {z.get('n')} held-out views: template "
                f"{100 * z.get('template_top1', float('nan')):.1f} %, captions "
                f"{100 * z.get('captions_top1', float('nan')):.1f} % (most common country "
                f"{100 * z.get('majority_top1', float('nan')):.1f} %, chance "
                f"{100 * z.get('chance_top1', float('nan')):.1f} %); recipe {self.out / 'RECIPE.md'}")


def _model_config(cfg: BaseConfig) -> dict[str, Any]:
    from backend.model.registry import get_backbone_config, image_size

    try:
        mc = get_backbone_config(cfg.model)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if image_size(mc) != cfg.size:
        raise UserError(f"--size {cfg.size} does not match {cfg.model}'s image size "
                        f"{image_size(mc)}")
    return mc


class Captioner:
    """The caption of training view ``j`` in ``epoch``: fresh clauses every epoch, seeded."""

    def __init__(self, data: Any, seed: int, context_length: int) -> None:
        from open_clip.tokenizer import SimpleTokenizer

        self.data, self.seed = data, seed
        self.tok = SimpleTokenizer(context_length=context_length)
        self.ctx = context_length

    def text(self, j: int, epoch: int) -> str:
        from backend.synthworld.captions import caption

        p = int(self.data.train_idx[j // 4])
        m = int(self.data.months[p])
        return caption(self.data.facts[p], heading_deg=90.0 * (j % 4),
                       month=m if 1 <= m <= 12 else None,
                       rng=np.random.default_rng([self.seed, epoch, j]))

    def tokens(self, idx: Any, epoch: int) -> Any:
        return self.tok([self.text(int(j), epoch) for j in idx], context_length=self.ctx)


def _evaluate(clip: Any, mc: dict[str, Any], data: Any, captioner: Captioner,
              views: np.ndarray | None = None, countries: list[str] | None = None,
              ) -> dict[str, Any]:
    """Zero-shot country accuracy (see ``zero_shot``) of ``views`` (``[N, 4, H, W, 3]``) with
    their places' ``countries``; default the validation places. The countries to choose
    from are those of the training places, named by one caption of each."""
    from backend.synthworld.zero_shot import zero_shot_country

    if views is None:
        views, countries = np.asarray(data.views[data.val_idx]), data.countries(data.val_idx)
    labels = [c for c in countries for _ in range(views.shape[1])]
    # one caption per training place (its first view, epoch 0) names the countries
    train_caps = [captioner.text(4 * j, 0) for j in range(len(data.train_idx))]
    return zero_shot_country(clip, mc, views.reshape(-1, *views.shape[2:]), labels,
                             data.countries(data.train_idx), train_caps, seed=captioner.seed)


def pretrain_base(cfg: BaseConfig) -> BaseResult:
    """Prepare the data, then train (or resume) the base; see the module docstring.

    Raises:
        UserError: bad settings, a checkpoint made with another recipe, missing assets.
    """
    import torch

    if cfg.steps < 1 or cfg.batch_size < 2 or cfg.lr <= 0 or cfg.eval_every < 1:
        raise UserError("--steps and --eval-every must be >= 1, --batch-size >= 2, --lr > 0")
    mc = _model_config(cfg)
    from backend.synthworld.base_data import prepare_base_data

    data = prepare_base_data(Path(cfg.data_dir), n_places=cfg.n_places, size=cfg.size,
                             val_places=cfg.val_places, workers=cfg.workers,
                             min_km=cfg.min_km)
    if 4 * len(data.train_idx) < cfg.batch_size:
        raise UserError(f"--batch-size {cfg.batch_size} exceeds the {4 * len(data.train_idx)} "
                        "training views")
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, int(cfg.threads)))
    try:
        return _train(cfg, mc, data)
    finally:
        torch.set_num_threads(threads)


def _optimizer(model: Any, cfg: BaseConfig) -> Any:
    import torch

    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "logit" not in n]
    other = [p for n, p in model.named_parameters() if not (p.ndim >= 2 and "logit" not in n)]
    return torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                              {"params": other, "weight_decay": 0.0}],
                             lr=cfg.lr, betas=(0.9, 0.98), eps=1e-6)


def lr_at(step: int, cfg: BaseConfig) -> float:
    """Linear warmup over ``warmup_steps``, then cosine to 2 % of ``lr`` at ``steps``."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    frac = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.lr * max(0.02, 0.5 * (1.0 + math.cos(math.pi * min(1.0, frac))))


def _train(cfg: BaseConfig, mc: dict[str, Any], data: Any) -> BaseResult:
    import torch

    from backend.model.backbone import build_clip
    from backend.model.checkpoint import check_resume_args, load_checkpoint, save_checkpoint
    from backend.model.train_loop import epoch_order
    from backend.synthworld.contrastive import caption_step, normalise, random_shift

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    ck_path, curves_path = out / "checkpoint-last.pt", out / "curves.jsonl"
    torch.manual_seed(cfg.seed)
    model = build_clip(mc)
    opt = _optimizer(model, cfg)
    step, trained_s = 0, 0.0
    if ck_path.is_file():
        ck = load_checkpoint(ck_path, kind=CHECKPOINT_KIND)
        check_resume_args(ck["config"], cfg.recipe(), list(cfg.recipe()), ck_path)
        model.load_state_dict(ck["model"]["clip"])
        opt.load_state_dict(ck["optimizer"])
        step, trained_s = ck["step"], float(ck["metrics"].get("train_seconds", 0.0))
        print(f"resuming at step {step} ({trained_s / 3600:.2f} h trained) from {ck_path}")
    elif curves_path.exists():
        curves_path.unlink()  # a fresh run: curves of an older run would mislead
    captioner = Captioner(data, cfg.seed, int(mc["text_cfg"]["context_length"]))
    n_views = 4 * len(data.train_idx)
    per_epoch = n_views // cfg.batch_size
    flat = data.views.reshape(-1, *data.views.shape[2:])  # memory-mapped, place-major
    view_rows = torch.from_numpy((data.train_idx[:, None] * 4 + np.arange(4)).reshape(-1))
    stop = {"signal": None}

    def on_signal(signum: int, _frame: Any) -> None:
        stop["signal"] = signum

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}

    def save() -> None:
        save_checkpoint(ck_path, kind=CHECKPOINT_KIND, config=cfg.recipe(),
                        model={"clip": model.state_dict()}, optimizer=opt, step=step,
                        epoch=step // per_epoch, metrics={"train_seconds": trained_s},
                        extra={"model_cfg": mc, "data": data.meta["places"]})

    def log(row: dict[str, Any]) -> None:
        with open(curves_path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row) + "\n")

    if step == 0:
        model.eval()
        log({"step": 0, "train_seconds": 0.0, "zero_shot": _evaluate(model, mc, data, captioner)})
    model.train()
    session_t0, last_save = time.monotonic(), time.monotonic()
    limit = cfg.max_steps_now if cfg.max_steps_now is not None else cfg.steps
    bar = progress(range(cfg.steps), total=cfg.steps, desc="base pretraining", unit="step")
    bar.update(step)
    losses: list[float] = []
    order_epoch, order = -1, None
    try:
        while step < min(cfg.steps, limit):
            epoch, offset = divmod(step, per_epoch)
            if epoch != order_epoch:
                order, order_epoch = epoch_order(n_views, cfg.seed, epoch), epoch
            idx = order[offset * cfg.batch_size:(offset + 1) * cfg.batch_size]
            t0 = time.perf_counter()
            for g in opt.param_groups:
                g["lr"] = lr_at(step, cfg)
            gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)
            idx = idx[torch.argsort(view_rows[idx])]  # sorted reads from the memory map
            rows = view_rows[idx].numpy()
            x = random_shift(normalise(torch.from_numpy(np.asarray(flat[rows]))), cfg.shift, gen)
            tokens = captioner.tokens(idx.tolist(), epoch)
            img_f = model.encode_image(x, normalize=True)
            txt_f = model.encode_text(tokens, normalize=True)
            losses.append(caption_step(model, opt, img_f, txt_f, tokens))
            step += 1
            trained_s += time.perf_counter() - t0
            bar.update(1)
            if step % 25 == 0 or step == cfg.steps:
                log({"step": step, "epoch": epoch, "loss": round(float(np.mean(losses)), 4),
                     "lr": lr_at(step - 1, cfg), "train_seconds": round(trained_s, 1),
                     "logit_scale": round(float(model.logit_scale.detach().exp()), 2)})
                losses = []
            if step % cfg.eval_every == 0 or step == cfg.steps:
                model.eval()
                log({"step": step, "train_seconds": round(trained_s, 1),
                     "zero_shot": _evaluate(model, mc, data, captioner)})
                model.train()
            hours = (time.monotonic() - session_t0) / 3600
            over = cfg.stop_after_hours is not None and hours >= cfg.stop_after_hours
            if (stop["signal"] is not None or over
                    or time.monotonic() - last_save >= 60 * cfg.save_minutes):
                save()
                last_save = time.monotonic()
                if stop["signal"] is not None or over:
                    break
    finally:
        bar.close()
        for s, h in old.items():
            signal.signal(s, h)
    save()
    if step < cfg.steps:
        return BaseResult(out, False, step)
    from backend.synthworld.base_report import finish_base

    return BaseResult(out, True, step, finish_base(cfg, mc, data, model, trained_s,
                                                   captioner))
