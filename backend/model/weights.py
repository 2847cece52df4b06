"""Where backbone weights come from: an open_clip pretrained tag, a checkpoint file, or none.

Architecture and weights are separate (as in open_clip): a backbone is a config (registry
name or full config dict) plus a weights *source*:

- ``None`` — random initialisation (tests, training from scratch);
- an open_clip pretrained tag such as ``"openai"`` — open_clip downloads it once on a machine
  with internet (nothing can be downloaded in pigeon-bot's CI);
- a file: a pigeon CLIP checkpoint (format ``pigeon-openclip/1``, written by
  :func:`save_clip_checkpoint`, ``pigeon pretrain`` and ``pigeon weights convert-hf-clip``;
  it carries its own config) or a plain open_clip checkpoint for the named config.

Usage::

    from backend.model.weights import load_backbone, load_clip_model
    bb = load_backbone("ViT-L-14-336", "openai")              # PIGEON's base (user machine)
    bb = load_backbone("ViT-L-14-336", "streetclip.pt")       # converted StreetCLIP
    clip, cfg, name = load_clip_model("pigeon-tiny", None)    # random full CLIP (pretraining)
"""

from __future__ import annotations

import copy
import datetime as _dt
from pathlib import Path
from typing import Any

import torch
from torch import nn

from backend.cliutil import UserError
from backend.model.backbone import Backbone, build_clip, default_preprocess_cfg
from backend.model.registry import (
    DEFAULT_PRETRAINED,
    get_backbone_config,
    list_backbones,
    register_configs,
    vision_width,
)

CLIP_CHECKPOINT_FORMAT = "pigeon-openclip/1"


def _resolve_config(config: str | dict[str, Any],
                    model_cfg: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    if isinstance(config, dict):
        return "custom", copy.deepcopy(config)
    if model_cfg is not None:
        return config, copy.deepcopy(model_cfg)
    try:
        return config, get_backbone_config(config)
    except ValueError as exc:
        raise UserError(str(exc)) from exc


def read_clip_checkpoint(path: str | Path) -> dict[str, Any] | None:
    """Load a ``pigeon-openclip/1`` checkpoint, or None when the file is another kind.

    Raises:
        UserError: the file is missing or cannot be read.
    """
    p = Path(path)
    if not p.is_file():
        raise UserError(f"weights file {p} does not exist; give an open_clip tag (e.g. openai) "
                        "or a checkpoint path")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise UserError(f"cannot read weights file {p} ({type(exc).__name__}); is it a torch "
                        "checkpoint? convert Hugging Face CLIP with `pigeon weights "
                        "convert-hf-clip`") from exc
    if isinstance(obj, dict) and obj.get("format") == CLIP_CHECKPOINT_FORMAT:
        return obj
    return None


def save_clip_checkpoint(model: nn.Module, model_cfg: dict[str, Any], path: str | Path, *,
                         config_name: str, source: dict[str, Any],
                         extra: dict[str, Any] | None = None) -> Path:
    """Save a full open_clip CLIP with its config and where it came from.

    Args:
        model: the open_clip ``CLIP`` (image and text towers).
        model_cfg: the config it was built from.
        path: output file.
        config_name: registry name or a label.
        source: what made it (e.g. ``{"converted_from": "geolocal/StreetCLIP"}``).
        extra: more metadata (training parameters, data...).

    Returns:
        The written path.
    """
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    state = {"format": CLIP_CHECKPOINT_FORMAT, "config_name": config_name,
             "model_cfg": copy.deepcopy(model_cfg), "source": source, "extra": extra or {},
             "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
             "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}
    tmp = out.with_name(out.name + ".tmp")
    torch.save(state, tmp)
    tmp.replace(out)
    return out


def load_clip_model(config: str | dict[str, Any], source: str | Path | None = None, *,
                    model_cfg: dict[str, Any] | None = None,
                    cache_dir: str | None = None) -> tuple[nn.Module, dict[str, Any], str]:
    """A full open_clip CLIP (image + text towers) with weights from ``source``.

    Args:
        config: registry name or full config dict (only a label when ``source`` is a
            ``pigeon-openclip/1`` checkpoint, which carries its own config).
        source: None (random), an open_clip pretrained tag, or a checkpoint file.
        model_cfg: full config overriding the registry's (as stored in bundles).
        cache_dir: open_clip's download cache for pretrained tags.

    Returns:
        ``(model, model_cfg, config_name)``; ``model_cfg`` records the true architecture
        (e.g. ``quick_gelu`` for OpenAI weights).

    Raises:
        UserError: unknown config, unknown tag that is not a file, unreadable file, or
            weights that do not fit the config.
    """
    if source is not None:
        source = str(source)
        ckpt = read_clip_checkpoint(source) if Path(source).is_file() else None
        if ckpt is not None:  # carries its own config: ``config`` is only a label here
            cfg = ckpt["model_cfg"]
            model = build_clip(cfg)
            try:
                model.load_state_dict(ckpt["state_dict"])
            except RuntimeError as exc:
                raise UserError(f"{source} does not fit its own config: {str(exc)[:200]}") \
                    from exc
            return model, cfg, ckpt.get("config_name") or str(config)
    name, cfg = _resolve_config(config, model_cfg)
    if source is None:
        return build_clip(cfg), cfg, name
    import open_clip

    register_configs()
    if Path(source).is_file():
        model = build_clip(cfg)
        try:
            open_clip.load_checkpoint(model, source)
        except (RuntimeError, KeyError, AssertionError, ValueError) as exc:
            raise UserError(f"{source} is not an open_clip checkpoint for {name}: "
                            f"{str(exc)[:200]}") from exc
        return model, cfg, name
    tag_cfg = open_clip.get_pretrained_cfg(name, source)
    if not tag_cfg:
        tags = open_clip.list_pretrained_tags_by_model(name)
        raise UserError(f"{source!r} is neither a file nor an open_clip pretrained tag for "
                        f"{name} (tags: {', '.join(tags) or 'none'})")
    quick = bool(tag_cfg.get("quick_gelu", False))
    from backend.model.pretrained_weights import local_pretrained_file

    # a cached file loads with no network; offline and not cached fails here in one line
    local = local_pretrained_file(name, source, cache_dir=cache_dir, tag_cfg=tag_cfg)
    try:
        model = open_clip.create_model(name, pretrained=local or source,
                                       force_quick_gelu=quick, cache_dir=cache_dir)
    except RuntimeError as exc:
        raise UserError(f"could not get open_clip weights {name}/{source} ({str(exc)[:160]}); "
                        "this needs internet once, or pass a local checkpoint file") from exc
    cfg = dict(cfg, quick_gelu=quick)
    return model, cfg, name


def backbone_from_clip(model: nn.Module, model_cfg: dict[str, Any], config_name: str, *,
                       embedding_kind: str = "mean_hidden") -> Backbone:
    """Wrap a full CLIP's vision tower as a :class:`Backbone` (shares the weights)."""
    return Backbone(model.visual, model_cfg, config_name=config_name,
                    embedding_kind=embedding_kind,
                    preprocess_cfg=default_preprocess_cfg(model_cfg))


def load_backbone(config: str | dict[str, Any], source: str | Path | None = None, *,
                  embedding_kind: str = "mean_hidden",
                  model_cfg: dict[str, Any] | None = None) -> Backbone:
    """A :class:`Backbone` with weights from ``source`` (see :func:`load_clip_model`).

    The text tower is dropped; only the vision tower is kept. ``source`` may also be a
    ``pigeon-backbone/1`` file (a bundle's or fine-tuning run's ``backbone.pt``).
    """
    if source is not None and Path(source).is_file():
        try:
            obj = torch.load(source, map_location="cpu", weights_only=True)
        except Exception:  # noqa: BLE001  not a torch file: the loader below explains
            obj = None  # read_clip_checkpoint below gives the user-facing error
        if isinstance(obj, dict) and obj.get("format") == "pigeon-backbone/1":
            from backend.model.backbone import backbone_from_state

            bb = backbone_from_state(obj)
            if bb.embedding_kind != embedding_kind:
                bb = Backbone(bb.visual, bb.model_cfg, config_name=bb.config_name,
                              embedding_kind=embedding_kind, preprocess_cfg=bb.preprocess_cfg)
            return bb.eval()
    model, cfg, name = load_clip_model(config, source, model_cfg=model_cfg)
    return backbone_from_clip(model, cfg, name, embedding_kind=embedding_kind).eval()


def weights_reference(source: str | Path | None) -> dict[str, Any] | None:
    """How a bundle should refer to ``source`` (None: store the weights in the bundle)."""
    if source is None:
        return None
    if Path(source).is_file():
        return {"kind": "checkpoint", "path": str(Path(source).resolve())}
    return {"kind": "pretrained", "tag": str(source)}


def list_weights() -> list[dict[str, Any]]:
    """One row per shipped config: sizes, embedding dims and known open_clip tags."""
    import open_clip

    rows = []
    for name in list_backbones():
        cfg = get_backbone_config(name)
        v = cfg["vision_cfg"]
        rows.append({"name": name, "image_size": v["image_size"], "patch_size": v["patch_size"],
                     "width": v["width"], "layers": v["layers"],
                     "mean_hidden_dim": vision_width(cfg), "pooled_dim": cfg["embed_dim"],
                     "default_pretrained": DEFAULT_PRETRAINED.get(name),
                     "pretrained_tags": open_clip.list_pretrained_tags_by_model(name)})
    return rows
