"""A geocell head with no training: CLIP's text tower names the places, the image picks one.

CLIP zero-shot classification (Radford et al. 2021) as PIGEON uses it with StreetCLIP (their
Table 3): each class is a caption, its text embedding is the classifier's row, and
``logits = exp(logit_scale) · normalise(image) · normalise(text)ᵀ``. Here the classes form a
hierarchy (:mod:`backend.model.zero_shot_places`) and the head's cells are its leaves:

    log p(leaf) = log softmax_countries(s·cos(x, t_country) + log prior_country)[c]
                + log softmax_{regions of c}(s·cos(x, t_region) + log prior_region | c)[r]
                + log softmax_{leaves of r}(s·cos(x, t_leaf) + log prior_leaf | r)[leaf]

so a country is decided by country captions, a region among its country's regions, a town
among its region's towns: a finer distribution than countries, without a region's many towns
outvoting a country. Each level's text embedding is a **prompt ensemble**: the normalised
embeddings of the same place under several templates (:data:`TEMPLATES`), averaged and
normalised again. The image embedding is CLIP's own (the backbone's ``pooled`` kind); a
panorama's is the mean of its views'.

Usage::

    head = build_zero_shot_head(clip, model_cfg, hierarchy, templates=("caption",))
    head(image_embeddings)["geocell"]        # [B, leaves] log-probabilities
    head.prompt_logits(image_embeddings)     # raw zero-shot logits per level (no prior)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from backend.model.captions import base_sentence

HEAD_FORMAT = "pigeon-zero-shot-head/1"
LEVELS = ("country", "region", "leaf")


def _where(f: dict[str, str]) -> str:
    return ", ".join(v for v in (f.get("town"), f.get("region"), f.get("country")) if v)


TEMPLATES: dict[str, Callable[[dict[str, str]], str]] = {
    "caption": base_sentence,  # PIGEON's caption: "A Street View photo close to the town of ..."
    "photo": lambda f: f"A photo taken in {_where(f)}.",
    "road": lambda f: f"A road in {_where(f)}.",
    "place": lambda f: f"{_where(f)}",
}
"""Prompt templates by name; each turns ``{"town", "region", "country"}`` into a caption."""
DEFAULT_TEMPLATES = ("caption", "photo")


def level_fields(h: Any) -> dict[str, list[dict[str, str]]]:
    """The caption fields of every country, region and leaf of a ``PlaceHierarchy``."""
    countries = [{"country": str(c)} for c in h.country_name]
    regions = [{"region": str(r), "country": str(h.country_name[c])}
               for r, c in zip(h.region_name, h.region_country)]
    leaves = []
    for name, kind, r in zip(h.leaf_name, h.leaf_kind, h.leaf_region):
        f = dict(regions[int(r)])
        if kind == "town":
            f["town"] = str(name)
        leaves.append(f)
    return {"country": countries, "region": regions, "leaf": leaves}


def encode_texts(clip: nn.Module, tokenizer: Any, texts: Sequence[str], *, batch_size: int = 64,
                 device: Any = "cpu", on_batch: Callable[[int], None] | None = None
                 ) -> torch.Tensor:
    """Normalised CLIP text embeddings ``[N, E]`` (float32, on the CPU).

    The token sequence is cut after the longest caption's end token: the text transformer
    is causal, so the end token's output (CLIP's text embedding) cannot see the padding; this
    only saves time (a test checks equality with ``clip.encode_text``).
    """
    out = []
    for start in range(0, len(texts), batch_size):
        tokens = tokenizer(list(texts[start:start + batch_size])).to(device)
        with torch.inference_mode():
            out.append(F.normalize(_encode_text_short(clip, tokens).float(), dim=-1).cpu())
        if on_batch is not None:
            on_batch(len(out[-1]))
    return torch.cat(out) if out else torch.zeros(0, 1)


def _encode_text_short(clip: nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    needed = ("token_embedding", "positional_embedding", "transformer", "ln_final", "attn_mask")
    if getattr(clip, "text_pool_type", "argmax") != "argmax" or not all(
            hasattr(clip, a) for a in needed):
        return clip.encode_text(tokens)
    from open_clip.transformer import text_global_pool

    length = int(tokens.argmax(dim=-1).max()) + 1  # the end token has the largest id
    t = tokens[:, :length]
    cast = clip.transformer.get_cast_dtype()
    x = clip.token_embedding(t).to(cast) + clip.positional_embedding[:length].to(cast)
    x = clip.ln_final(clip.transformer(x, attn_mask=clip.attn_mask[:length, :length]))
    x = text_global_pool(x, t, "argmax")
    proj = clip.text_projection
    return proj(x) if isinstance(proj, nn.Linear) else (x if proj is None else x @ proj)


def clip_tokenizer(model_cfg: dict[str, Any]) -> Any:
    """open_clip's BPE tokenizer (the OpenAI CLIP vocabulary StreetCLIP also uses)."""
    from open_clip.tokenizer import SimpleTokenizer

    text = model_cfg.get("text_cfg", {})
    if text.get("hf_tokenizer_name"):
        raise ValueError("this CLIP uses a Hugging Face tokenizer; the zero-shot head takes "
                         "CLIPs with open_clip's BPE tokenizer (OpenAI CLIP, StreetCLIP)")
    return SimpleTokenizer(context_length=int(text.get("context_length", 77)))


def group_log_softmax(z: torch.Tensor, group: torch.Tensor, n_groups: int) -> torch.Tensor:
    """Log-softmax of ``z`` ``[B, N]`` within each group (``group`` ``[N]`` ids 0..G-1)."""
    b = z.shape[0]
    idx = group.expand(b, -1)
    gmax = torch.full((b, n_groups), -math.inf, dtype=z.dtype, device=z.device)
    gmax = gmax.scatter_reduce(1, idx, z, reduce="amax", include_self=True)
    zz = z - gmax[:, group]
    sums = torch.zeros(b, n_groups, dtype=z.dtype, device=z.device).index_add_(1, group,
                                                                                zz.exp())
    return zz - sums.log()[:, group]


@dataclass
class ZeroShotHeadConfig:
    """Shape and recipe of the head; stored in ``bundle.json`` (``heads``) and the head file."""

    embedding_dim: int
    num_cells: int
    num_countries: int
    num_regions: int
    text_dim: int
    templates: list[str] = field(default_factory=lambda: list(DEFAULT_TEMPLATES))
    prior: str = "sampler"
    prior_strength: float = 1.0
    kind: str = "zero-shot"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ZeroShotHead(nn.Module):
    """Hierarchical zero-shot classifier over the leaves (see the module docstring)."""

    def __init__(self, config: ZeroShotHeadConfig) -> None:
        super().__init__()
        self.config = config
        sizes = {"country": config.num_countries, "region": config.num_regions,
                 "leaf": config.num_cells}
        for level, n in sizes.items():
            self.register_buffer(f"text_{level}", torch.zeros(n, config.text_dim))
            self.register_buffer(f"prior_{level}", torch.zeros(n))
        self.register_buffer("region_country", torch.zeros(config.num_regions, dtype=torch.long))
        self.register_buffer("leaf_region", torch.zeros(config.num_cells, dtype=torch.long))
        self.register_buffer("logit_scale", torch.tensor(math.log(100.0)))
        self.prompts: dict[str, list[str]] = {}

    def _image(self, emb: torch.Tensor) -> torch.Tensor:
        if emb.ndim != 2 or emb.shape[1] != self.config.embedding_dim:
            raise ValueError(f"the zero-shot head takes [B, {self.config.embedding_dim}] CLIP "
                             f"image embeddings (pooled), got {tuple(emb.shape)}")
        return F.normalize(emb.to(self.text_leaf.dtype), dim=-1)

    def prompt_logits(self, emb: torch.Tensor) -> dict[str, torch.Tensor]:
        """CLIP's zero-shot logits ``exp(logit_scale)·cos`` of every level, before any prior."""
        x = self._image(emb)
        s = self.logit_scale.exp()
        return {lvl: s * (x @ getattr(self, f"text_{lvl}").T) for lvl in LEVELS}

    def forward(self, emb: torch.Tensor) -> dict[str, torch.Tensor]:
        """``[B, D]`` image embeddings → ``{"geocell": [B, leaves]}`` log-probabilities."""
        z = self.prompt_logits(emb)
        lc = (z["country"] + self.prior_country).log_softmax(dim=-1)
        lr = group_log_softmax(z["region"] + self.prior_region, self.region_country,
                               self.config.num_countries)
        ll = group_log_softmax(z["leaf"] + self.prior_leaf, self.leaf_region,
                               self.config.num_regions)
        leaf_country = self.region_country[self.leaf_region]
        return {"geocell": lc[:, leaf_country] + lr[:, self.leaf_region] + ll}

    def state(self) -> dict[str, Any]:
        """Everything to rebuild the head (see :func:`zero_shot_head_from_state`)."""
        return {"format": HEAD_FORMAT, "config": self.config.to_dict(),
                "prompts": {k: list(v) for k, v in self.prompts.items()},
                "state_dict": {k: v.detach().cpu() for k, v in self.state_dict().items()}}


def zero_shot_head_from_state(state: dict[str, Any], device: Any = "cpu") -> ZeroShotHead:
    """Rebuild a :class:`ZeroShotHead` from :meth:`ZeroShotHead.state`.

    Raises:
        ValueError: another format, or tensors that do not fit the config.
    """
    if not isinstance(state, dict) or state.get("format") != HEAD_FORMAT:
        raise ValueError(f"not a zero-shot head file (format {HEAD_FORMAT} expected)")
    known = set(ZeroShotHeadConfig.__dataclass_fields__)
    head = ZeroShotHead(ZeroShotHeadConfig(**{k: v for k, v in state["config"].items()
                                              if k in known}))
    try:
        head.load_state_dict(state["state_dict"])
    except RuntimeError as exc:
        raise ValueError(f"zero-shot head tensors do not fit their config: {str(exc)[:200]}") \
            from None
    head.prompts = {k: list(v) for k, v in state.get("prompts", {}).items()}
    return head.to(device).eval()


def build_zero_shot_head(clip: nn.Module, model_cfg: dict[str, Any], hierarchy: Any, *,
                         templates: Sequence[str] = DEFAULT_TEMPLATES, prior: str = "sampler",
                         prior_strength: float = 1.0, batch_size: int = 64,
                         device: Any = "cpu",
                         on_batch: Callable[[int], None] | None = None) -> ZeroShotHead:
    """Encode every level's prompts with ``clip``'s text tower and assemble the head.

    Args:
        clip: a full open_clip CLIP (``backend.model.weights.load_clip_model``).
        model_cfg: its config (for the tokenizer's context length).
        hierarchy: a ``PlaceHierarchy``.
        templates: names from :data:`TEMPLATES`; their embeddings are averaged (ensemble).
        prior, prior_strength: see ``PlaceHierarchy.log_prior``.
        batch_size, device: text encoding batches.
        on_batch: called with the number of captions encoded after each batch (progress).

    Raises:
        ValueError: unknown template names, or a CLIP this head cannot use.
    """
    bad = [t for t in templates if t not in TEMPLATES]
    if bad or not templates:
        raise ValueError(f"unknown prompt templates {bad or 'none'}; known: "
                         f"{', '.join(TEMPLATES)}")
    tokenizer = clip_tokenizer(model_cfg)
    clip = clip.to(device).eval()
    fields = level_fields(hierarchy)
    texts: dict[str, torch.Tensor] = {}
    prompts: dict[str, list[str]] = {}
    for level in LEVELS:
        acc = None
        for name in templates:
            captions = [TEMPLATES[name](f) for f in fields[level]]
            prompts.setdefault(level, captions)
            e = encode_texts(clip, tokenizer, captions, batch_size=batch_size, device=device,
                             on_batch=on_batch)
            acc = e if acc is None else acc + e
        texts[level] = F.normalize(acc / len(templates), dim=-1)
    log_prior = hierarchy.log_prior(prior, prior_strength)
    cfg = ZeroShotHeadConfig(
        embedding_dim=int(model_cfg["embed_dim"]), num_cells=len(hierarchy.leaf_name),
        num_countries=len(hierarchy.country_name), num_regions=len(hierarchy.region_name),
        text_dim=int(texts["leaf"].shape[1]), templates=list(templates), prior=prior,
        prior_strength=float(prior_strength))
    head = ZeroShotHead(cfg)
    with torch.no_grad():
        for level in LEVELS:
            getattr(head, f"text_{level}").copy_(texts[level])
            getattr(head, f"prior_{level}").copy_(torch.as_tensor(
                np.nan_to_num(log_prior[level], neginf=-1e4), dtype=torch.float32))
        head.region_country.copy_(torch.as_tensor(hierarchy.region_country))
        head.leaf_region.copy_(torch.as_tensor(hierarchy.leaf_region))
        head.logit_scale.copy_(clip.logit_scale.detach().float().reshape(()).cpu())
    head.prompts = prompts
    return head.eval()
