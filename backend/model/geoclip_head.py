"""GeoCLIP as a pigeon head: its image MLP against its GPS gallery, the gallery encoded once.

GeoCLIP (Vivanco Cepeda, Nayak, Shah, NeurIPS 2023; PyPI ``geoclip``, MIT) scores a photo
against GPS points. Its parts, re-implemented here from the maths (the weights are theirs):

- **image side**: the frozen openai CLIP ViT-L/14 image embedding (768-d, CLIP's own pooled
  and projected output at 224 px: our backbone's ``pooled`` kind on ``ViT-L-14``/``openai``),
  then an MLP ``Linear(768, 768) → ReLU → Linear(768, 512)``;
- **location side**: (lat, lng) → the Equal Earth projection (Šavrič, Patterson, Jenny 2018),
  scaled by ``66.50336 / 180``; for each of three scales σ ∈ {2⁰, 2⁴, 2⁸} random Fourier
  features ``[cos 2πBv, sin 2πBv]`` (B: 256×2, drawn once from N(0, σ²), shipped in the
  weights) → ``Linear(512, 1024) → ReLU → Linear(1024, 1024) → ReLU → Linear(1024, 1024) →
  ReLU → Linear(1024, 512)``; the three branches are summed;
- **score**: both sides L2-normalised, ``logits = exp(logit_scale) · image · locationᵀ``; a
  softmax over the gallery gives the distribution over its 100,000 points.

The package's ``predict`` re-encodes the whole gallery through the location side on every
call; here the gallery's normalised location features are computed once
(:meth:`GeoCLIPHead.build`) and kept in the head (float32, 512 per point), so a round costs the
MLP and one ``[512] × [512, N]`` product. The location encoder stays in the head file too, so a
gallery can be re-encoded (:meth:`GeoCLIPHead.with_gallery`).

Usage::

    from backend.model.geoclip_head import GeoCLIPHead, read_geoclip_parts
    parts = read_geoclip_parts()                 # the installed package's weights + gallery
    head = GeoCLIPHead.build(parts)              # encodes the gallery (about 1 min on 2 cores)
    out = head(clip_image_features)              # {"geocell": [B, N] logits}
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

HEAD_FORMAT = "pigeon-geoclip-head/1"
DEFAULT_SIGMAS = (1.0, 16.0, 256.0)
# Equal Earth polynomial coefficients and GeoCLIP's scale factor
_A1, _A2, _A3, _A4 = 1.340264, -0.081106, 0.000893, 0.003796
_SCALE = 66.50336


def equal_earth(latlng: torch.Tensor) -> torch.Tensor:
    """``(N, 2)`` degrees (lat, lng) → ``(N, 2)`` Equal Earth (x, y), scaled by 66.50336/180.

    Computed in the input's dtype (float32 for GeoCLIP), in the same operation order as
    GeoCLIP's reference, so the highest-frequency Fourier features see the same inputs.
    """
    phi = torch.deg2rad(latlng[:, 0])
    lam = torch.deg2rad(latlng[:, 1])
    root3 = torch.sqrt(torch.tensor(3.0, dtype=latlng.dtype, device=latlng.device))
    theta = torch.asin(root3 / 2 * torch.sin(phi))
    denom = 3 * (9 * _A4 * theta**8 + 7 * _A3 * theta**6 + 3 * _A2 * theta**2 + _A1)
    x = (2 * root3 * lam * torch.cos(theta)) / denom
    y = _A4 * theta**9 + _A3 * theta**7 + _A2 * theta**3 + _A1 * theta
    return (torch.stack((x, y), dim=1) * _SCALE) / 180


class FourierBranch(nn.Module):
    """One scale of the location encoder: random Fourier features and a 4-layer MLP."""

    def __init__(self, sigma: float, n_freq: int = 256, hidden: int = 1024, out: int = 512):
        super().__init__()
        self.sigma = float(sigma)
        self.register_buffer("freqs", torch.randn(n_freq, 2) * sigma)  # overwritten on load
        self.fc1 = nn.Linear(2 * n_freq, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, out)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        z = (2 * math.pi * v) @ self.freqs.T
        h = torch.cat([torch.cos(z), torch.sin(z)], dim=-1)
        h = F.relu(self.fc1(h))
        h = F.relu(self.fc2(h))
        h = F.relu(self.fc3(h))
        return self.out(h)


class LocationEncoder(nn.Module):
    """GeoCLIP's location side: Equal Earth, then the sum of one branch per scale."""

    def __init__(self, sigmas: tuple[float, ...] = DEFAULT_SIGMAS) -> None:
        super().__init__()
        self.branches = nn.ModuleList(FourierBranch(s) for s in sigmas)

    def forward(self, latlng: torch.Tensor) -> torch.Tensor:
        v = equal_earth(latlng)
        out = self.branches[0](v)
        for branch in self.branches[1:]:
            out = out + branch(v)
        return out

    def load_geoclip_state(self, sd: dict[str, torch.Tensor]) -> None:
        """Load the package's ``location_encoder_weights.pth`` (keys ``LocEnc{i}.capsule.{0,1,
        3,5}``, ``LocEnc{i}.head.0``).

        Raises:
            ValueError: a key is missing or a shape differs.
        """
        mine: dict[str, torch.Tensor] = {}
        for i in range(len(self.branches)):
            src = f"LocEnc{i}."
            mine[f"branches.{i}.freqs"] = sd[f"{src}capsule.0.b"]
            for theirs, ours in (("capsule.1", "fc1"), ("capsule.3", "fc2"),
                                 ("capsule.5", "fc3"), ("head.0", "out")):
                for p in ("weight", "bias"):
                    mine[f"branches.{i}.{ours}.{p}"] = sd[f"{src}{theirs}.{p}"]
        _load_exact(self, mine, "location encoder")


def _load_exact(module: nn.Module, sd: dict[str, torch.Tensor], what: str) -> None:
    try:
        module.load_state_dict(sd, strict=True)
    except RuntimeError as exc:
        raise ValueError(f"GeoCLIP {what} weights do not fit: {str(exc)[:200]}") from None


def image_mlp() -> nn.Sequential:
    """GeoCLIP's image MLP (768 → 768 → 512); its state-dict keys match the package's."""
    return nn.Sequential(nn.Linear(768, 768), nn.ReLU(), nn.Linear(768, 512))


@dataclass
class GeoCLIPHeadConfig:
    """Shape of the head; stored in ``bundle.json`` (``heads``) and the head file."""

    embedding_dim: int = 768
    num_cells: int = 100_000
    sigmas: tuple[float, ...] = DEFAULT_SIGMAS
    kind: str = "geoclip-gallery"
    source: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sigmas"] = list(self.sigmas)
        return d


@dataclass
class GeoCLIPParts:
    """GeoCLIP's shipped parts as read from the package (or a folder laid out like it)."""

    mlp: dict[str, torch.Tensor]
    location: dict[str, torch.Tensor]
    logit_scale: torch.Tensor
    gallery: torch.Tensor  # (N, 2) float32 lat, lng
    source: dict[str, Any]


class GeoCLIPHead(nn.Module):
    """GeoCLIP's image MLP scoring a fixed GPS gallery whose location features are cached."""

    def __init__(self, config: GeoCLIPHeadConfig) -> None:
        super().__init__()
        self.config = config
        n = config.num_cells
        self.mlp = image_mlp()
        self.location = LocationEncoder(tuple(config.sigmas))
        self.register_buffer("logit_scale", torch.tensor(math.log(1 / 0.07)))
        self.register_buffer("gallery", torch.zeros(n, 2))
        self.register_buffer("gallery_features", torch.zeros(n, 512))

    @classmethod
    def build(cls, parts: GeoCLIPParts, *, chunk: int = 25_000, device: Any = "cpu",
              on_chunk: Callable[[int, int], None] | None = None) -> GeoCLIPHead:
        """A head from GeoCLIP's parts: loads the weights and encodes the gallery once.

        Args:
            parts: from :func:`backend.model.geoclip_parts.read_geoclip_parts`.
            chunk: gallery points per location-encoder call (memory: about 12 kB a point).
            device: where the gallery is encoded (the head comes back on the CPU).
            on_chunk: called as ``on_chunk(done, total)`` after each chunk (progress).

        Raises:
            ValueError: weights that do not fit GeoCLIP's shapes, or a bad gallery.
        """
        gallery = parts.gallery.to(torch.float32)
        if gallery.ndim != 2 or gallery.shape[1] != 2 or len(gallery) == 0:
            raise ValueError(f"the GPS gallery must be (N, 2) lat/lng, got {tuple(gallery.shape)}")
        head = cls(GeoCLIPHeadConfig(num_cells=len(gallery), source=dict(parts.source)))
        _load_exact(head.mlp, parts.mlp, "image MLP")
        head.location.load_geoclip_state(parts.location)
        head.logit_scale.copy_(parts.logit_scale.reshape(()))
        head.gallery.copy_(gallery)
        head.to(device)
        head.gallery_features.copy_(head.encode_locations(head.gallery, chunk=chunk,
                                                          on_chunk=on_chunk))
        return head.cpu().eval()

    @torch.no_grad()
    def encode_locations(self, latlng: torch.Tensor, *, chunk: int = 25_000,
                         on_chunk: Callable[[int, int], None] | None = None) -> torch.Tensor:
        """``(N, 2)`` lat/lng → ``(N, 512)`` L2-normalised location features."""
        parts = []
        for start in range(0, len(latlng), chunk):
            parts.append(F.normalize(self.location(latlng[start:start + chunk]), dim=1))
            if on_chunk is not None:
                on_chunk(min(start + chunk, len(latlng)), len(latlng))
        return torch.cat(parts)

    def with_gallery(self, latlng: torch.Tensor, **kw: Any) -> GeoCLIPHead:
        """The same head over another gallery (its features encoded now)."""
        head = type(self)(GeoCLIPHeadConfig(
            embedding_dim=self.config.embedding_dim, num_cells=len(latlng),
            sigmas=tuple(self.config.sigmas), source=dict(self.config.source)))
        head.load_state_dict({k: v for k, v in self.state_dict().items()
                              if not k.startswith("gallery")}, strict=False)
        head.gallery.copy_(latlng.to(torch.float32))
        head.gallery_features.copy_(head.encode_locations(head.gallery, **kw))
        return head.eval()

    def image_features(self, emb: torch.Tensor) -> torch.Tensor:
        """CLIP image embeddings ``[B, 768]`` → normalised GeoCLIP image features ``[B, 512]``."""
        return F.normalize(self.mlp(emb.to(self.gallery_features.dtype)), dim=1)

    def forward(self, emb: torch.Tensor) -> dict[str, torch.Tensor]:
        """``[B, 768]`` CLIP image embeddings → ``{"geocell": [B, N]}`` gallery logits."""
        if emb.ndim != 2 or emb.shape[1] != self.config.embedding_dim:
            raise ValueError(f"the GeoCLIP head takes [B, {self.config.embedding_dim}] CLIP "
                             f"image embeddings (ViT-L-14, pooled), got {tuple(emb.shape)}")
        scale = self.logit_scale.exp()
        return {"geocell": scale * (self.image_features(emb) @ self.gallery_features.T)}

    def state(self) -> dict[str, Any]:
        """Everything to rebuild the head (see :func:`geoclip_head_from_state`)."""
        return {"format": HEAD_FORMAT, "config": self.config.to_dict(),
                "state_dict": {k: v.detach().cpu() for k, v in self.state_dict().items()}}


def geoclip_head_from_state(state: dict[str, Any], device: Any = "cpu") -> GeoCLIPHead:
    """Rebuild a :class:`GeoCLIPHead` from :meth:`GeoCLIPHead.state`.

    Raises:
        ValueError: another format, or weights that do not fit the config.
    """
    if not isinstance(state, dict) or state.get("format") != HEAD_FORMAT:
        raise ValueError(f"not a GeoCLIP head file (format {HEAD_FORMAT} expected)")
    cfg = dict(state["config"])
    cfg["sigmas"] = tuple(cfg.get("sigmas", DEFAULT_SIGMAS))
    known = set(GeoCLIPHeadConfig.__dataclass_fields__)
    head = GeoCLIPHead(GeoCLIPHeadConfig(**{k: v for k, v in cfg.items() if k in known}))
    _load_exact(head, state["state_dict"], "head")
    return head.to(device).eval()
