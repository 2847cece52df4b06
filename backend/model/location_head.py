"""The head interface: an embedding in, scores over a fixed set of candidate places out.

Every bundle holds one *head* (``heads.pt``) and its *cells* (``geocells.json`` for polygon
geocells, ``cells.npz`` for point cells). The predictor, the evaluation, the refinement index
and the server know a head only through this contract:

- ``head.config.embedding_dim`` — the size of the embeddings it reads (checked against the
  backbone) — and ``head.config.num_cells`` — C, the number of cells it scores;
  ``head.config.to_dict()`` (stored in ``bundle.json``, with a ``"kind"``);
- ``head(emb)`` with ``emb`` a ``[B, D]`` float tensor returns a dict whose ``"geocell"`` entry
  is ``[B, C]`` logits over the cells (log-probabilities up to a constant per row; the
  predictor applies the softmax). Optional entries — ``"koppen"`` ``[B, 31]``, ``"month"``
  ``[B, 12]``, ``"regression"`` ``[B, 6]`` with ``head.regression_to_units`` — are the
  auxiliary outputs ``pigeon eval`` reports when a head has them;
- ``head.state()`` — a dict with a ``"format"`` this module can load back
  (:func:`head_from_state`);
- the cells: ``.centroids`` ``(C, 2)`` lat/lng (where each cell's candidate sits),
  ``.iso2``, ``.countries``, ``.assign(lat, lng)`` (the cell of a location: for the
  refinement index and geocell metrics).

From there the predictor builds the candidate distribution the same way for every head:
softmax over the cells (float64), refinement of the top cells when the bundle has an index,
each other cell at its centroid with its probability (``lat``, ``lng``, ``prob`` arrays), then
the expected-score pin, the projected score and the calibration.

Kinds shipped (``state()["format"]`` → loader):

==============================  ============================================================
``pigeon-heads/1``              :class:`backend.model.heads.PigeonHeads`: PIGEON's trained
                                linear geocell classifier and its auxiliary heads
``pigeon-zero-shot-head/1``     :class:`backend.model.zero_shot_head.ZeroShotHead`: CLIP text
                                embeddings of place prompts (countries → regions → towns)
``pigeon-geoclip-head/1``       :class:`backend.model.geoclip_head.GeoCLIPHead`: GeoCLIP's
                                image MLP against its cached GPS-gallery embeddings
==============================  ============================================================

A new kind (say a PLONK-style sampler discretised onto a gallery, or osv5m's baseline) adds a
module with a ``from_state`` loader and one :func:`register_head_format` call; the
predictor does not change.

Usage::

    from backend.model.location_head import head_from_state, cell_logits
    head = head_from_state(torch.load("bundle/heads.pt", weights_only=True))
    logits = cell_logits(head, emb)             # [B, C], checked
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol

HEAD_FORMATS: dict[str, str] = {
    "pigeon-heads/1": "backend.model.heads:heads_from_state",
    "pigeon-zero-shot-head/1": "backend.model.zero_shot_head:zero_shot_head_from_state",
    "pigeon-geoclip-head/1": "backend.model.geoclip_head:geoclip_head_from_state",
}
"""Head file format → ``"module:function"`` that rebuilds it from ``state()``."""


class HeadConfig(Protocol):
    """What every head's ``config`` offers."""

    embedding_dim: int
    num_cells: int

    def to_dict(self) -> dict[str, Any]: ...


class LocationHead(Protocol):
    """The interface of a head (see the module docstring)."""

    config: HeadConfig

    def __call__(self, emb: Any) -> dict[str, Any]: ...

    def state(self) -> dict[str, Any]: ...


class HeadError(ValueError):
    """A head state or output that does not follow the interface."""


def register_head_format(fmt: str, loader: str | Callable[..., Any]) -> None:
    """Make :func:`head_from_state` load heads whose state has ``format == fmt``.

    Args:
        fmt: the format string the head writes into its ``state()``.
        loader: ``"package.module:function"`` (imported on first use) or the function
            itself; called as ``loader(state, device)``.
    """
    HEAD_FORMATS[fmt] = loader  # type: ignore[assignment]


def _resolve(loader: str | Callable[..., Any]) -> Callable[..., Any]:
    if callable(loader):
        return loader
    module, _, name = loader.partition(":")
    return getattr(importlib.import_module(module), name)


def head_from_state(state: Any, device: Any = "cpu") -> Any:
    """Rebuild any registered head from its ``state()`` (in eval mode, on ``device``).

    Raises:
        HeadError: not a head state, or a format no loader is registered for.
        ValueError: the loader's own complaint (weights that do not fit, bad arrays).
    """
    fmt = state.get("format") if isinstance(state, dict) else None
    if fmt not in HEAD_FORMATS:
        known = ", ".join(sorted(HEAD_FORMATS))
        raise HeadError(f"not a head file this pigeon-bot knows (format {fmt!r}; known: "
                        f"{known})")
    return _resolve(HEAD_FORMATS[fmt])(state, device)


def head_kind(head_config: dict[str, Any]) -> str:
    """The kind recorded in ``bundle.json``'s ``heads`` entry (PIGEON heads before kinds)."""
    return str(head_config.get("kind") or "pigeon-geocells")


def head_device(head: Any) -> Any:
    """The device a head's tensors are on (a head may hold only buffers, no parameters)."""
    import itertools

    import torch

    first = next(itertools.chain(head.parameters(), head.buffers()), None)
    return first.device if first is not None else torch.device("cpu")


def cell_logits(head: Any, emb: Any) -> Any:
    """Run ``head`` on ``[B, D]`` embeddings and return its checked ``[B, C]`` cell logits.

    Raises:
        HeadError: the head returned no ``"geocell"`` entry or one of the wrong shape.
    """
    out = head(emb)
    logits = out.get("geocell") if isinstance(out, dict) else None
    want = (int(emb.shape[0]), int(head.config.num_cells))
    if logits is None or tuple(logits.shape) != want:
        got = None if logits is None else tuple(logits.shape)
        raise HeadError(f"the {type(head).__name__} head returned cell logits of shape {got}, "
                        f"expected {want}")
    return logits
