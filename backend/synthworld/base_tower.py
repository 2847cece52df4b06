"""The committed image tower of the SynthWorld CLIP base (``bundles/synthworld-base/``).

``pigeon synthworld pretrain-base`` leaves a full CLIP (``base-clip.pt``: image and text
towers, fp32, about 40 MB). What the demo recipe and the ladder's frozen rungs need is its
image tower, so that is what the repository carries: ``base-visual.pt``, a
``pigeon-backbone/1`` file in fp16 (about 5 MB) that any ``--weights`` option and
``load_backbone`` read, with the base's whole record (recipe, data seed and rule, budget,
curves, zero-shot) inside. ``base.json``, ``RECIPE.md`` and ``curves.png`` sit beside it.
The text tower is not committed: the ladder's contrastive rung and the zero-shot check need
``base-clip.pt``, rebuilt with ``pigeon synthworld pretrain-base`` (``docs/SYNTHWORLD.md``).

Usage::

    export_base(Path("data/synthworld-base/run"), Path("bundles/synthworld-base"))
    tower = load_base_tower()            # the committed one; .model_cfg, .state, .record
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.cliutil import UserError

BASE_DIR = Path(__file__).resolve().parents[2] / "bundles" / "synthworld-base"
BASE_VISUAL = "base-visual.pt"
REBUILD = ("rebuild it with `pigeon synthworld pretrain-base` (hours on a CPU) and "
           "`pigeon synthworld export-base`, or train from scratch with --from-scratch")


@dataclass
class BaseTower:
    """The base's image tower: its open_clip config, weights and record."""

    path: Path
    model_cfg: dict[str, Any]
    config_name: str
    state: dict[str, Any]
    record: dict[str, Any]

    def backbone(self) -> Any:
        """A float32 :class:`backend.model.backbone.Backbone` with these weights (eval mode)."""
        from backend.model.backbone import Backbone, build_vision_tower

        visual = build_vision_tower(self.model_cfg)
        visual.load_state_dict(self.state)
        return Backbone(visual, self.model_cfg, config_name=self.config_name).eval()


def export_base(run_dir: Path, out_dir: Path) -> Path:
    """Write ``out_dir/base-visual.pt`` (fp16 image tower + record) and copy the run's
    ``base.json``, ``RECIPE.md`` and ``curves.png``; returns the tower's path.

    Raises:
        UserError: the run has not finished (no ``base-clip.pt``).
    """
    import torch

    from backend.model.weights import read_clip_checkpoint
    from backend.synthworld.base_report import BASE_CLIP

    src = Path(run_dir) / BASE_CLIP
    if not src.is_file():
        raise UserError(f"{src} does not exist: finish `pigeon synthworld pretrain-base` first")
    ck = read_clip_checkpoint(src)
    if ck is None:
        raise UserError(f"{src} is not a pigeon-openclip/1 checkpoint")
    state = {k[len("visual."):]: v.half() for k, v in ck["state_dict"].items()
             if k.startswith("visual.")}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    from backend.model.backbone import default_preprocess_cfg
    from backend.model.registry import vision_width

    obj = {"format": "pigeon-backbone/1", "config_name": ck["config_name"],
           "model_cfg": ck["model_cfg"], "embedding_kind": "mean_hidden",
           "embedding_dim": vision_width(ck["model_cfg"]),
           "preprocess": default_preprocess_cfg(ck["model_cfg"]), "state_dict": state,
           "dtype": "float16 (stored; loads as float32)", "base": ck.get("extra", {})}
    tmp = out / (BASE_VISUAL + ".tmp")
    torch.save(obj, tmp)
    tmp.replace(out / BASE_VISUAL)
    for name in ("base.json", "RECIPE.md", "curves.png"):
        if (Path(run_dir) / name).is_file():
            shutil.copyfile(Path(run_dir) / name, out / name)
    return out / BASE_VISUAL


def load_base_tower(path: Path | None = None) -> BaseTower:
    """Read a ``base-visual.pt`` (default: the committed one).

    Raises:
        UserError: the file is missing or not a base tower (the message says how to rebuild).
    """
    import torch

    p = Path(path) if path is not None else BASE_DIR / BASE_VISUAL
    if p.is_dir():
        p = p / BASE_VISUAL
    if not p.is_file():
        raise UserError(f"no SynthWorld CLIP base at {p}; {REBUILD}")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001  any unreadable file gets the same advice
        raise UserError(f"cannot read {p} ({type(exc).__name__}); {REBUILD}") from None
    if not isinstance(obj, dict) or obj.get("format") != "pigeon-backbone/1" or "base" not in obj:
        raise UserError(f"{p} is not a SynthWorld CLIP base tower (base-visual.pt); {REBUILD}")
    state = {k: v.float() for k, v in obj["state_dict"].items()}
    return BaseTower(p, obj["model_cfg"], obj["config_name"], state, obj["base"])


def base_summary(tower: BaseTower) -> dict[str, Any]:
    """What a recipe that starts from the base records about it."""
    rec = tower.record
    return {"path": str(tower.path), "config_name": tower.config_name,
            "made_by": rec.get("made_by"), "created_utc": rec.get("created_utc"),
            "budget": rec.get("budget"), "zero_shot_final": rec.get("zero_shot_final"),
            "n_places": rec.get("recipe", {}).get("n_places"),
            "places": {k: rec.get("data", {}).get("places", {}).get(k)
                       for k in ("seed", "min_km", "closest_reserved_km")}}


def read_base_json(folder: Path | None = None) -> dict[str, Any]:
    """The committed ``base.json`` (empty when missing)."""
    p = (Path(folder) if folder is not None else BASE_DIR) / "base.json"
    return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else {}
