"""Zero-shot country accuracy of a finished SynthWorld CLIP base on any dataset's places.

The check PIGEON reports for its CLIP (its Table 3): with no head trained, how often does a
view's best-matching country prompt name its true country? Here the prompts are those of
the base's own recipe (PIGEON's template, and 32 training captions per country; the classes
are the countries of the base's training places), the places are a dataset's (e.g. the
demo's and the ladder's held-out test places, which the base never saw), next to chance and
the most common country of the base's training places.

Usage::

    report = zero_shot_on_dataset(Path("run/base-clip.pt"), Path("split/test.csv"),
                                  Path("data/synthworld-base"))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backend.cliutil import UserError


def zero_shot_on_dataset(clip_path: Path, csv_path: Path, base_data: Path, *,
                         limit: int | None = None) -> dict[str, Any]:
    """The zero-shot report (``zero_shot.zero_shot_country``) on ``csv_path``'s places.

    Raises:
        UserError: not a base checkpoint, unreadable data, or a base data folder that does
            not match the checkpoint's recipe.
    """
    from backend.eval.datasets import DatasetError, load_dataset
    from backend.model.weights import load_clip_model, read_clip_checkpoint
    from backend.synthworld.base_data import prepare_base_data
    from backend.synthworld.base_pretrain import Captioner, _evaluate
    from backend.synthworld.captions import place_facts
    from backend.synthworld.train_demo import load_views

    ck = read_clip_checkpoint(clip_path)
    recipe = ((ck or {}).get("extra") or {}).get("recipe")
    if not recipe:
        raise UserError(f"{clip_path} is not a finished SynthWorld CLIP base (base-clip.pt "
                        "from `pigeon synthworld pretrain-base`)")
    clip, mc, _ = load_clip_model(recipe["model"], clip_path)
    data = prepare_base_data(base_data, n_places=recipe["n_places"], size=recipe["size"],
                             val_places=recipe["val_places"], min_km=recipe["min_km"])
    try:
        ds = load_dataset(csv_path).head(limit)
    except (DatasetError, OSError) as exc:
        raise UserError(f"cannot read {csv_path}: {exc}") from None
    views = load_views(ds, recipe["size"], "loading views")
    countries = [str(f.get("country_name") or "") for f in place_facts(ds.lats(), ds.lngs())]
    captioner = Captioner(data, recipe["seed"], int(mc["text_cfg"]["context_length"]))
    return _evaluate(clip.eval(), mc, data, captioner, views, countries)
