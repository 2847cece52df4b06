"""The image backbone: an open_clip vision tower that turns images into embeddings.

Embedding kinds (``embedding_kind``):

- ``"mean_hidden"`` (default, as in PIGEON): the mean over ALL tokens (class token and patch
  tokens) of the last transformer block's output, before ``ln_post`` and the projection. This is
  what the PIGEON code computes from Hugging Face's ``last_hidden_state.mean(dim=1)``. Size =
  the vision width (1024 for ViT-L/14).
- ``"pooled"``: CLIP's own image embedding (class token -> ``ln_post`` -> projection), size =
  ``embed_dim`` (768 for ViT-L/14), unnormalised.

A panorama of up to 4 views is embedded as the mean of its views' embeddings
(:meth:`Backbone.embed_views`).

Usage::

    from backend.model.backbone import build_backbone
    bb = build_backbone("pigeon-tiny")               # random init; see weights.py for real weights
    x = torch.stack([bb.preprocess(img) for img in images])
    emb = bb.embed(x)                                 # [B, 128]
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import torch
from torch import nn

from backend.model.registry import check_model_config, get_backbone_config, image_size, vision_width

EMBEDDING_KINDS = ("mean_hidden", "pooled")
OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
_CLIP_KEYS = ("embed_dim", "vision_cfg", "text_cfg", "quick_gelu")


def default_preprocess_cfg(model_cfg: dict[str, Any]) -> dict[str, Any]:
    """The CLIP eval preprocessing for a config: resize shortest side, centre crop, normalise."""
    return {"size": image_size(model_cfg), "mean": list(OPENAI_MEAN), "std": list(OPENAI_STD),
            "interpolation": "bicubic", "resize_mode": "shortest"}


class _Preprocess:
    """Picklable eval transform (DataLoader workers get this, not the whole model)."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        from open_clip.transform import image_transform

        self.transform = image_transform(
            cfg["size"], is_train=False, mean=tuple(cfg["mean"]), std=tuple(cfg["std"]),
            resize_mode=cfg.get("resize_mode", "shortest"),
            interpolation=cfg.get("interpolation", "bicubic"))

    def __call__(self, image: Any) -> torch.Tensor:
        return self.transform(image.convert("RGB"))


def make_preprocess(preprocess_cfg: dict[str, Any]) -> Any:
    """PIL image -> ``[3, H, W]`` tensor callable for a preprocess config (picklable)."""
    return _Preprocess(preprocess_cfg)


def build_clip(model_cfg: dict[str, Any]) -> nn.Module:
    """A randomly initialised full open_clip ``CLIP`` (image + text towers) from a config dict."""
    import open_clip

    cfg = check_model_config(copy.deepcopy(model_cfg))
    return open_clip.model.CLIP(**{k: cfg[k] for k in _CLIP_KEYS if k in cfg})


def build_vision_tower(model_cfg: dict[str, Any]) -> nn.Module:
    """A randomly initialised open_clip vision tower alone (no text tower: cheaper)."""
    import open_clip

    cfg = check_model_config(copy.deepcopy(model_cfg))
    return open_clip.model._build_vision_tower(cfg["embed_dim"], cfg["vision_cfg"],
                                               bool(cfg.get("quick_gelu", False)))


def weights_sha256(module: nn.Module) -> str:
    """sha256 of a module's weights: every state-dict entry's name, shape and values.

    Floating-point tensors are hashed as float32 on the CPU, so the fingerprint does not
    depend on the device; embeddings, bundles and indexes compare it to know they come from
    the same weights (``pigeon index build``).
    """
    h = hashlib.sha256()
    for name, t in sorted(module.state_dict().items()):
        a = t.detach().cpu()
        if a.is_floating_point():
            a = a.float()
        h.update(f"{name}:{tuple(a.shape)}:{a.dtype};".encode())
        h.update(a.contiguous().numpy().tobytes())
    return h.hexdigest()


class Backbone(nn.Module):
    """An open_clip vision tower plus everything needed to use it: config, preprocessing, kind.

    Args:
        visual: the open_clip ``VisionTransformer`` (e.g. ``clip_model.visual``).
        model_cfg: the full open_clip config the tower was built from.
        config_name: the registry name (or a free label for converted weights).
        embedding_kind: ``"mean_hidden"`` or ``"pooled"`` (see the module docstring).
        preprocess_cfg: size/mean/std/interpolation/resize_mode; CLIP's defaults when None.
    """

    def __init__(self, visual: nn.Module, model_cfg: dict[str, Any], *, config_name: str,
                 embedding_kind: str = "mean_hidden",
                 preprocess_cfg: dict[str, Any] | None = None) -> None:
        super().__init__()
        if embedding_kind not in EMBEDDING_KINDS:
            raise ValueError(f"embedding_kind must be one of {EMBEDDING_KINDS}, "
                             f"got {embedding_kind!r}")
        self.visual = visual
        self.model_cfg = copy.deepcopy(model_cfg)
        self.config_name = config_name
        self.embedding_kind = embedding_kind
        self.preprocess_cfg = dict(preprocess_cfg or default_preprocess_cfg(model_cfg))
        self._transform = None

    @property
    def embedding_dim(self) -> int:
        """Size of the vectors :meth:`embed` returns."""
        if self.embedding_kind == "mean_hidden":
            return vision_width(self.model_cfg)
        return int(self.model_cfg["embed_dim"])

    @property
    def image_size(self) -> int:
        """Side length in pixels the tower expects."""
        return image_size(self.model_cfg)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Embed a batch of preprocessed images.

        Args:
            images: ``[B, 3, H, W]`` float tensor, as made by :meth:`preprocess`.

        Returns:
            ``[B, D]`` embeddings, ``D = embedding_dim``.

        Raises:
            ValueError: wrong rank, channel count or image size.
        """
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"images must be [B, 3, H, W], got {tuple(images.shape)}")
        if tuple(images.shape[-2:]) != (self.image_size, self.image_size):
            raise ValueError(f"this backbone ({self.config_name}) takes {self.image_size}x"
                             f"{self.image_size} images, got {tuple(images.shape[-2:])}; "
                             "use backbone.preprocess(image)")
        if self.embedding_kind == "pooled":
            return self.visual(images)
        out = self.visual.forward_intermediates(
            images, indices=1, output_fmt="NLC", output_extra_tokens=True,
            intermediates_only=True)
        tokens = torch.cat([out["image_intermediates_prefix"][-1],
                            out["image_intermediates"][-1]], dim=1)
        return tokens.mean(dim=1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.embed(images)

    def embed_views(self, views: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Embed panoramas: the mean of the embeddings of each location's views.

        Args:
            views: ``[B, V, 3, H, W]`` (V = 1..4 views a location).
            mask: optional ``[B, V]`` bool, True where a view is present (missing views, e.g.
                unreadable images, are left out of the mean).

        Returns:
            ``[B, D]`` panorama embeddings.

        Raises:
            ValueError: bad shapes, or a location with no view at all.
        """
        if views.ndim != 5:
            raise ValueError(f"views must be [B, V, 3, H, W], got {tuple(views.shape)}")
        b, v = views.shape[:2]
        if mask is None:
            mask = torch.ones(b, v, dtype=torch.bool, device=views.device)
        if mask.shape != (b, v):
            raise ValueError(f"mask must be [{b}, {v}], got {tuple(mask.shape)}")
        counts = mask.sum(dim=1)
        if bool((counts == 0).any()):
            raise ValueError("every location needs at least one view (mask row all False)")
        flat = views[mask]  # only present views go through the tower
        emb = self.embed(flat)
        out = torch.zeros(b, emb.shape[1], dtype=emb.dtype, device=emb.device)
        row = torch.arange(b, device=views.device).unsqueeze(1).expand(b, v)[mask]
        out.index_add_(0, row, emb)
        return out / counts.unsqueeze(1).to(emb.dtype)

    def preprocess(self, image: Any) -> torch.Tensor:
        """PIL image (any mode) -> ``[3, H, W]`` float tensor for :meth:`embed`."""
        if self._transform is None:
            self._transform = make_preprocess(self.preprocess_cfg)
        return self._transform(image)

    def set_trainable(self, mode: str) -> None:
        """Choose which weights train: ``"frozen"``, ``"last_block"`` (PIGEON fine-tuning:
        the last transformer block and ``ln_post``/``proj``) or ``"all"``."""
        if mode not in ("frozen", "last_block", "all"):
            raise ValueError(f"mode must be frozen, last_block or all, got {mode!r}")
        for p in self.visual.parameters():
            p.requires_grad = mode == "all"
        if mode == "last_block":
            for module in (self.visual.transformer.resblocks[-1], self.visual.ln_post):
                for p in module.parameters():
                    p.requires_grad = True
            if isinstance(getattr(self.visual, "proj", None), nn.Parameter):
                self.visual.proj.requires_grad = True

    def describe(self) -> dict[str, Any]:
        """JSON-ready description (stored in bundles and embedding metadata)."""
        return {"config_name": self.config_name, "model_cfg": copy.deepcopy(self.model_cfg),
                "embedding_kind": self.embedding_kind, "embedding_dim": self.embedding_dim,
                "preprocess": dict(self.preprocess_cfg)}

    def state(self) -> dict[str, Any]:
        """Everything to rebuild this backbone (see :func:`backbone_from_state`)."""
        return {"format": "pigeon-backbone/1", **self.describe(),
                "state_dict": {k: v.detach().cpu() for k, v in self.visual.state_dict().items()}}


def backbone_from_state(state: dict[str, Any], device: str | torch.device = "cpu") -> Backbone:
    """Rebuild a :class:`Backbone` from :meth:`Backbone.state` (e.g. a loaded ``backbone.pt``).

    Raises:
        ValueError: not a pigeon backbone state, or weights that do not fit the config.
    """
    if not isinstance(state, dict) or state.get("format") != "pigeon-backbone/1":
        raise ValueError("not a pigeon backbone file (format pigeon-backbone/1 expected)")
    visual = build_vision_tower(state["model_cfg"])
    try:
        visual.load_state_dict(state["state_dict"])
    except RuntimeError as exc:
        raise ValueError(f"backbone weights do not fit config {state['config_name']}: "
                         f"{str(exc)[:300]}") from exc
    bb = Backbone(visual, state["model_cfg"], config_name=state["config_name"],
                  embedding_kind=state["embedding_kind"], preprocess_cfg=state["preprocess"])
    return bb.to(device).eval()


def build_backbone(config: str | dict[str, Any] = "pigeon-tiny", *,
                   embedding_kind: str = "mean_hidden", seed: int | None = None,
                   config_name: str | None = None) -> Backbone:
    """A randomly initialised backbone from a registry name or a full config dict.

    For real weights use :func:`backend.model.weights.load_backbone`.

    Args:
        config: registry name (see ``list_backbones()``) or an open_clip config dict.
        embedding_kind: ``"mean_hidden"`` (PIGEON) or ``"pooled"``.
        seed: seeds torch's RNG before initialising, for reproducible random weights.
        config_name: label stored with a dict config (defaults to ``"custom"``).
    """
    if isinstance(config, str):
        name, cfg = config, get_backbone_config(config)
    else:
        name, cfg = config_name or "custom", check_model_config(copy.deepcopy(config))
    if seed is not None:
        torch.manual_seed(seed)
    return Backbone(build_vision_tower(cfg), cfg, config_name=name,
                    embedding_kind=embedding_kind).eval()
