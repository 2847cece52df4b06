"""The backbones pigeon-bot ships: open_clip architectures kept as JSON data in ``configs/``.

Each ``configs/<name>.json`` is an open_clip model config (``embed_dim``, ``vision_cfg``,
``text_cfg``, optional ``quick_gelu``). :func:`register_configs` adds the folder to open_clip's
registry with ``open_clip.add_model_config`` so ``open_clip.create_model(name)`` knows them too.
The real configs (``ViT-L-14-336``, ``ViT-L-14``, ``ViT-B-32``) are byte-for-byte open_clip's
own, so registering them changes nothing for other users of open_clip; ``pigeon-tiny`` (tests)
and ``synthworld-base`` (the SynthWorld CLIP base: image 64, patch 8, width 192, 6 layers;
``pigeon synthworld pretrain-base``) are ours. ``ViT-L-14`` (224 px) is the frozen base under
GeoCLIP.

Usage::

    >>> from backend.model.registry import list_backbones, get_backbone_config
    >>> "pigeon-tiny" in list_backbones()
    True
    >>> get_backbone_config("pigeon-tiny")["vision_cfg"]["image_size"]
    64
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
"""The folder of shipped model configs (one JSON file per architecture)."""

DEFAULT_BACKBONE = "ViT-L-14-336"
"""The real default: CLIP ViT-L/14 at 336 px, as in PIGEON (StreetCLIP has this shape)."""

TINY_BACKBONE = "pigeon-tiny"
"""A 0.8 M-parameter vision tower for tests and the CPU demo (image 64, patch 8, width 128)."""

DEFAULT_PRETRAINED: dict[str, str] = {"ViT-L-14-336": "openai", "ViT-L-14": "openai",
                                      "ViT-B-32": "openai"}
"""The open_clip pretrained tag a user normally loads for each shipped config."""

_registered = False


def register_configs() -> None:
    """Add ``configs/`` to open_clip's model-config registry (idempotent)."""
    global _registered
    if _registered:
        return
    import open_clip

    open_clip.add_model_config(CONFIG_DIR)
    _registered = True


def list_backbones() -> list[str]:
    """Names of the backbone configs we ship, sorted."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.json"))


def get_backbone_config(name: str) -> dict[str, Any]:
    """A deep copy of a shipped config.

    Args:
        name: a name from :func:`list_backbones`.

    Returns:
        The open_clip model config as a dict.

    Raises:
        ValueError: unknown name (the message lists the known ones).
    """
    path = CONFIG_DIR / f"{name}.json"
    if not path.is_file():
        raise ValueError(f"unknown backbone {name!r}; known: {', '.join(list_backbones())} "
                         "(see `pigeon weights list`)")
    with open(path, encoding="utf-8") as fh:
        return copy.deepcopy(json.load(fh))


def check_model_config(cfg: Any) -> dict[str, Any]:
    """Validate the shape of an open_clip config dict (as stored in bundles and checkpoints).

    Raises:
        ValueError: the config lacks ``embed_dim``/``vision_cfg``/``text_cfg`` or has bad sizes.
    """
    if not isinstance(cfg, dict) or not all(k in cfg for k in ("embed_dim", "vision_cfg",
                                                                "text_cfg")):
        raise ValueError("a model config needs embed_dim, vision_cfg and text_cfg "
                         f"(open_clip layout); got {str(cfg)[:120]}")
    vision = cfg["vision_cfg"]
    for key in ("image_size", "width", "layers", "patch_size"):
        if key in vision and not isinstance(vision[key], (int, list, tuple)):
            raise ValueError(f"vision_cfg.{key} must be an integer, got {vision[key]!r}")
    return cfg


def vision_width(cfg: dict[str, Any]) -> int:
    """Width of the vision transformer (= size of the mean-hidden-state embedding)."""
    return int(cfg["vision_cfg"].get("width", 768))


def image_size(cfg: dict[str, Any]) -> int:
    """Input side length in pixels of a config's vision tower."""
    size = cfg["vision_cfg"].get("image_size", 224)
    return int(size[0] if isinstance(size, (list, tuple)) else size)
