"""Where backbone weights come from: an open_clip pretrained tag, a checkpoint file, or none.

Architecture and weights are separate (as in open_clip): a backbone is a config (registry
name or full config dict) plus a weights *source*:

- ``None`` — random initialisation (tests, training from scratch);
- an open_clip pretrained tag such as ``"openai"`` — open_clip downloads it once on a machine
  with internet (nothing can be downloaded in pigeon-bot's CI);
- a file: a pigeon CLIP checkpoint (format ``pigeon-openclip/1``, written by
  :func:`save_clip_checkpoint`, ``pigeon pretrain`` and ``pigeon weights convert-hf-clip``;
  it carries its own config) or a plain open_clip checkpoint for the named config.

OpenAI's CLIP weights were trained with QuickGELU; a model built with GELU around them gives
other embeddings, silently. The tag route (``openai``) switches QuickGELU on from open_clip's
registry. For a file, :func:`openai_weights_file` recognises OpenAI's weights: OpenAI's own
release files are TorchScript archives (``ViT-L-14-336px.pt``), and open_clip's registry
knows the sha256 of every one of them; for any other copy of OpenAI's weights the user says
so with the prefix ``openai:`` (``openai:/path/open_clip_pytorch_model.bin``) or
``quick_gelu=True``.

Usage::

    from backend.model.weights import load_backbone, load_clip_model
    bb = load_backbone("ViT-L-14-336", "openai")              # PIGEON's base (user machine)
    bb = load_backbone("ViT-L-14-336", "streetclip.pt")       # converted StreetCLIP
    clip, cfg, name = load_clip_model("pigeon-tiny", None)    # random full CLIP (pretraining)
"""

from __future__ import annotations

import copy
import datetime as _dt
import functools
import hashlib
import re
import warnings
import zipfile
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
OPENAI_PREFIX = "openai:"
"""``openai:PATH``: the file holds OpenAI's weights (build with QuickGELU)."""


@functools.cache
def _openai_sha256s() -> frozenset[str]:
    """sha256 of every OpenAI CLIP file open_clip knows (its download URLs carry them)."""
    import open_clip

    out = set()
    for name, tag in open_clip.list_pretrained():
        url = open_clip.get_pretrained_cfg(name, tag).get("url", "")
        m = re.search(r"/([0-9a-f]{64})/", url)
        if m and (tag == "openai" or "openaipublic" in url):
            out.add(m.group(1))
    return frozenset(out)


def _is_torchscript(path: Path) -> bool:
    """A TorchScript archive (a zip holding ``code/``): OpenAI's release format for CLIP."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as z:
        return any("/code/" in n or n.startswith("code/") for n in z.namelist())


def openai_weights_file(path: str | Path) -> str | None:
    """How a weights file is known to hold OpenAI's CLIP weights, or None.

    Returns:
        ``"torchscript"`` (OpenAI's release format), ``"sha256"`` (the file is one of the
        OpenAI files open_clip's registry lists), or None (not recognised: pass
        ``openai:PATH`` if it is).
    """
    p = Path(path)
    if _is_torchscript(p):
        return "torchscript"
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return "sha256" if h.hexdigest() in _openai_sha256s() else None


def split_source(source: str | Path | None) -> tuple[str | None, bool | None]:
    """``"openai:PATH"`` -> ``("PATH", True)``; anything else -> ``(source, None)``."""
    if source is None:
        return None, None
    text = str(source)
    if text.startswith(OPENAI_PREFIX) and len(text) > len(OPENAI_PREFIX):
        return text[len(OPENAI_PREFIX):], True
    return text, None


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
                    cache_dir: str | None = None,
                    quick_gelu: bool | None = None) -> tuple[nn.Module, dict[str, Any], str]:
    """A full open_clip CLIP (image + text towers) with weights from ``source``.

    Args:
        config: registry name or full config dict (only a label when ``source`` is a
            ``pigeon-openclip/1`` checkpoint, which carries its own config).
        source: None (random), an open_clip pretrained tag, a checkpoint file, or
            ``openai:PATH`` (a file of OpenAI's weights).
        model_cfg: full config overriding the registry's (as stored in bundles).
        cache_dir: open_clip's download cache for pretrained tags.
        quick_gelu: for a plain checkpoint file: True = OpenAI's weights (QuickGELU), False =
            not; None = recognise OpenAI's files (:func:`openai_weights_file`), else the
            config's own setting.

    Returns:
        ``(model, model_cfg, config_name)``; ``model_cfg`` records the true architecture
        (e.g. ``quick_gelu`` for OpenAI weights).

    Raises:
        UserError: unknown config, unknown tag that is not a file, unreadable file, or
            weights that do not fit the config.
    """
    source, said_openai = split_source(source)
    if said_openai and quick_gelu is None:
        quick_gelu = True
    if said_openai and not Path(source).is_file():
        raise UserError(f"{OPENAI_PREFIX}{source}: no such file; give the path of a file of "
                        "OpenAI's CLIP weights")
    if source is not None:
        ckpt = read_clip_checkpoint(source) if Path(source).is_file() \
            and not _is_torchscript(Path(source)) else None
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
        return _load_file(Path(source), name, cfg, quick_gelu)
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


def _load_file(path: Path, name: str, cfg: dict[str, Any], quick_gelu: bool | None
               ) -> tuple[nn.Module, dict[str, Any], str]:
    """A plain checkpoint file (state dict, or OpenAI's TorchScript release) for ``cfg``."""
    import open_clip

    how = openai_weights_file(path) if quick_gelu is None else None
    if quick_gelu is None:
        quick_gelu = True if how else bool(cfg.get("quick_gelu", False))
        if not how and not quick_gelu and "openai" in open_clip.list_pretrained_tags_by_model(
                name):
            warnings.warn(f"{path}: built with GELU; if it holds OpenAI's {name} weights "
                          f"(trained with QuickGELU), pass {OPENAI_PREFIX}{path}", stacklevel=3)
    cfg = dict(cfg, quick_gelu=bool(quick_gelu))
    model = build_clip(cfg)
    try:
        if _is_torchscript(path):
            sd = torch.jit.load(str(path), map_location="cpu").state_dict()
            want = model.state_dict()
            missing = sorted(set(want) - set(sd))
            if missing:
                raise KeyError(f"missing {', '.join(missing[:5])}")
            # the archive also carries attributes of OpenAI's code (input_resolution, ...)
            model.load_state_dict({k: sd[k].to(want[k].dtype) for k in want})
        else:
            open_clip.load_checkpoint(model, str(path))
    except (RuntimeError, KeyError, AssertionError, ValueError) as exc:
        raise UserError(f"{path} is not an open_clip checkpoint for {name}: "
                        f"{str(exc)[:200]}") from exc
    return model, cfg, name


def backbone_from_clip(model: nn.Module, model_cfg: dict[str, Any], config_name: str, *,
                       embedding_kind: str = "mean_hidden") -> Backbone:
    """Wrap a full CLIP's vision tower as a :class:`Backbone` (shares the weights)."""
    return Backbone(model.visual, model_cfg, config_name=config_name,
                    embedding_kind=embedding_kind,
                    preprocess_cfg=default_preprocess_cfg(model_cfg))


def load_backbone(config: str | dict[str, Any], source: str | Path | None = None, *,
                  embedding_kind: str = "mean_hidden",
                  model_cfg: dict[str, Any] | None = None,
                  quick_gelu: bool | None = None) -> Backbone:
    """A :class:`Backbone` with weights from ``source`` (see :func:`load_clip_model`).

    The text tower is dropped; only the vision tower is kept. ``source`` may also be a
    ``pigeon-backbone/1`` file (a bundle's or fine-tuning run's ``backbone.pt``).
    """
    if source is not None and Path(source).is_file() and not _is_torchscript(Path(source)):
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
    model, cfg, name = load_clip_model(config, source, model_cfg=model_cfg,
                                       quick_gelu=quick_gelu)
    return backbone_from_clip(model, cfg, name, embedding_kind=embedding_kind).eval()


def weights_reference(source: str | Path | None) -> dict[str, Any] | None:
    """How a bundle should refer to ``source`` (None: store the weights in the bundle)."""
    if source is None:
        return None
    path, said_openai = split_source(source)
    if Path(path).is_file():
        ref = {"kind": "checkpoint", "path": str(Path(path).resolve())}
        return {**ref, "openai": True} if said_openai else ref
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
