"""The Predictor: 1-4 views of one place in, a :class:`~backend.core.guess.Guess` out.

Pipeline for one round (ARCHITECTURE §3):

1. ``preprocess``: each view is checked and decoded (``backend.predict.images.load_view``)
   and turned into the backbone's input tensor;
2. ``backbone``: all views of all rounds of a batch go through the backbone at once; a
   round's embedding is the mean of its views' embeddings;
3. ``heads``: the bundle's head (any head of ``backend.model.location_head``: PIGEON's
   geocell classifier, a zero-shot text head, a GeoCLIP gallery head) gives logits over its
   cells -> probabilities (softmax, float64); each cell's candidate sits at its centroid;
4. ``refine``: the top-5 cells are refined through the bundle's refinement index
   (nearest prototype, nearest member, softmax(-distance / 1.6) re-weighting on raw
   embeddings, dropped when the refined winner lies over 1000 km from the top cell's
   centroid; ``backend.core.refinement``); the other cells stay at their centroids. Without
   an index every candidate is a centroid. The backbone runs in the precision the index's
   embeddings were made in (bf16 autocast when they were), so stored and query embeddings
   compare like with like;
5. ``pin``: the calibration temperature (``calibration.json``, else 1) is applied to the
   candidate distribution, and the pin is the point maximising the expected GeoGuessr score;
   the projected score is that expectation and the confidence is the probability mass within
   750 km of the pin (``backend.core.best_pin``).

The pin's country comes from the geo layer's admin polygons (``backend.geo.admin``; a pin
at sea takes the nearest country within 50 km); when the geo assets are missing or the pin
is farther out at sea, the top cell's country is used. ``timings`` are milliseconds per
stage; for a batch, the shared stages (preprocess, backbone, heads) are split evenly.

Usage::

    from backend.predict.predictor import Predictor
    predictor = Predictor.from_bundle("bundle/")          # or Predictor(load_bundle(...))
    guess = predictor.predict([view1, view2, view3, view4])   # PIL images, bytes or paths
    guesses = predictor.predict_batch([[v1, v2], [w1]])
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backend.cliutil import UserError
from backend.core.best_pin import best_pin, probability_within
from backend.core.calibration import apply_temperature, log_probs_of
from backend.core.guess import DEFAULT_CONFIDENCE_RADIUS_KM, Candidate, Guess
from backend.core.refinement import (
    DEFAULT_MAX_MOVE_KM,
    DEFAULT_TEMPERATURE,
    DEFAULT_TOP_K,
    RefinedCandidates,
    candidate_distribution,
    refine,
)
from backend.model.location_head import cell_logits
from backend.predict.images import DEFAULT_MAX_PIXELS, ImageError, load_views
from backend.predict.index import RefinementIndex

MAX_VIEWS = 4
COUNTRY_NEAREST_KM = 50.0


class PredictorError(UserError):
    """The predictor cannot be set up from this bundle (mismatched index, bad calibration)."""


@dataclass(frozen=True)
class Distribution:
    """A round's candidate distribution before calibration (what ``calibrate`` fits on)."""

    lat: np.ndarray
    lng: np.ndarray
    prob: np.ndarray
    cell: np.ndarray
    refined: RefinedCandidates
    cell_probs: np.ndarray


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()


class Predictor:
    """Runs a loaded bundle end to end (see the module docstring).

    Args:
        bundle: a ``backend.model.bundle.Bundle``.
        index: a refinement index; default the bundle's ``index.npz`` (None if it has none).
        calibration_temperature: default the bundle's ``calibration.json`` (else 1.0).
        top_k, temperature, max_move_km: refinement settings (PIGEON street view: 5, 1.6, 1000).
        confidence_radius_km: radius of ``Guess.confidence``.
        geo: ``"auto"`` (admin polygons if the geo assets are built), an object with
            ``country_of`` / ``country_name_of`` (like ``backend.geo.admin.AdminAreas``), or
            None (the top cell's country).
        max_pixels: per-view pixel limit (decompression-bomb guard).

    Raises:
        PredictorError: an index or calibration that does not fit the bundle.
    """

    def __init__(self, bundle: Any, *, index: RefinementIndex | None | str = "bundle",
                 calibration_temperature: float | None = None, top_k: int = DEFAULT_TOP_K,
                 temperature: float = DEFAULT_TEMPERATURE,
                 max_move_km: float | None = DEFAULT_MAX_MOVE_KM,
                 confidence_radius_km: float = DEFAULT_CONFIDENCE_RADIUS_KM,
                 geo: Any = "auto", max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        import torch

        self._torch = torch
        self.bundle = bundle
        self.backbone = bundle.backbone.eval()
        self.heads = bundle.heads.eval()
        self.centroids = np.asarray(bundle.geocells.centroids, dtype=np.float64)
        self.num_cells = len(self.centroids)
        self.embedding_dim = int(self.backbone.embedding_dim)
        if index == "bundle":
            path = getattr(bundle, "index_path", None)
            index = RefinementIndex.load(path) if path is not None else None
        if index is not None and not isinstance(index, RefinementIndex):
            raise PredictorError(f"index must be a RefinementIndex or None, got {index!r:.60}")
        if index is not None:
            index.check_compatible(num_cells=self.num_cells, embedding_dim=self.embedding_dim,
                                   what=f"the bundle {getattr(bundle, 'path', '')}")
        self.index = index
        self.embedding_precision = str((index.meta if index is not None else {})
                                       .get("embedding_precision", "fp32"))
        if calibration_temperature is None:
            cal = getattr(bundle, "calibration", None) or {}
            if not isinstance(cal, dict):
                raise PredictorError("the bundle's calibration.json is not a JSON object; "
                                     "rerun `pigeon calibrate`")
            calibration_temperature = cal.get("temperature", 1.0)
        try:
            t = float(calibration_temperature)
        except (TypeError, ValueError):
            t = float("nan")
        if not (np.isfinite(t) and t > 0):
            raise PredictorError(f"calibration temperature must be a positive number, got "
                                 f"{calibration_temperature!r}; rerun `pigeon calibrate`")
        self.calibration_temperature = t
        if top_k < 1 or not temperature > 0:
            raise PredictorError("top_k must be >= 1 and temperature > 0")
        self.top_k, self.temperature, self.max_move_km = top_k, temperature, max_move_km
        self.confidence_radius_km = confidence_radius_km
        self.max_pixels = max_pixels
        self._geo = geo
        gc = bundle.geocells
        self._cell_iso2 = list(getattr(gc, "iso2", [None] * self.num_cells))
        self._cell_country = list(getattr(gc, "countries", [None] * self.num_cells))

    @classmethod
    def from_bundle(cls, path: str | Path, *, device: str = "cpu", **kwargs: Any) -> Predictor:
        """Load the bundle at ``path`` and build a predictor on it."""
        from backend.model.bundle import load_bundle

        return cls(load_bundle(path, device=device), **kwargs)

    # -- stages ------------------------------------------------------------------------------
    def _device(self) -> Any:
        return next(self.backbone.parameters()).device

    def _precision(self) -> Any:
        """bf16 autocast when the index's embeddings were made that way, else nothing."""
        if self.embedding_precision != "bf16":
            return contextlib.nullcontext()
        return self._torch.autocast(device_type=self._device().type,
                                    dtype=self._torch.bfloat16)

    def embed_rounds(self, rounds: Sequence[Sequence[Any]]) -> tuple[np.ndarray, dict[str, float]]:
        """Views -> one mean embedding per round, with preprocess/backbone timings (ms, total).

        Raises:
            ImageError: a round with 0 or more than 4 views, or a bad view.
        """
        torch = self._torch
        if not isinstance(rounds, (list, tuple)) or len(rounds) == 0:
            raise ImageError("give at least one round of views")
        t0 = time.perf_counter()
        tensors, owner = [], []
        for r, views in enumerate(rounds):
            try:
                imgs = load_views(views, max_views=MAX_VIEWS, max_pixels=self.max_pixels)
            except ImageError as exc:
                raise (ImageError(f"round {r + 1}: {exc}") if len(rounds) > 1 else exc) from None
            for img in imgs:
                tensors.append(self.backbone.preprocess(img))
                owner.append(r)
        x = torch.stack(tensors).to(self._device())
        t1 = time.perf_counter()
        with torch.inference_mode(), self._precision():
            emb = self.backbone.embed(x).float()
        owner_t = torch.as_tensor(owner, device=emb.device)
        sums = torch.zeros(len(rounds), emb.shape[1], device=emb.device).index_add_(0, owner_t, emb)
        counts = torch.bincount(owner_t, minlength=len(rounds)).unsqueeze(1).float()
        out = (sums / counts).cpu().numpy().astype(np.float64)
        t2 = time.perf_counter()
        return out, {"preprocess": (t1 - t0) * 1e3, "backbone": (t2 - t1) * 1e3}

    def cell_probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """``(B, D)`` embeddings -> ``(B, C)`` geocell probabilities (heads + softmax).

        Raises:
            PredictorError: embeddings of the wrong size for this bundle.
        """
        torch = self._torch
        e = np.asarray(embeddings, dtype=np.float32)
        if e.ndim != 2 or e.shape[1] != self.embedding_dim:
            raise PredictorError(f"embeddings must be (B, {self.embedding_dim}) for this "
                                 f"bundle, got {e.shape}")
        with torch.inference_mode():
            logits = cell_logits(self.heads, torch.from_numpy(e).to(self._device()))
        logits = logits.double().cpu().numpy()
        return np.stack([_softmax(row) for row in logits])

    def distribution(self, embedding: np.ndarray, cell_probs: np.ndarray) -> Distribution:
        """Refine the top cells and build the full (uncalibrated) candidate distribution."""
        if self.index is None:
            k = min(self.top_k, self.num_cells)
            cells = np.argsort(-cell_probs, kind="stable")[:k]
            nan = np.full(k, np.nan)
            cands = RefinedCandidates(
                cells=cells, lat=self.centroids[cells, 0].copy(),
                lng=self.centroids[cells, 1].copy(), prob=cell_probs[cells].copy(),
                cell_prob=cell_probs[cells].copy(), distance=nan, refined=np.zeros(k, bool),
                prototype=np.full(k, -1), member=np.full(k, -1))
        else:
            cands = refine(cell_probs, embedding, self.index.table, self.centroids,
                           top_k=self.top_k, temperature=self.temperature,
                           max_move_km=self.max_move_km)
        lat, lng, prob, cell = candidate_distribution(cell_probs, cands, self.centroids)
        return Distribution(lat, lng, prob, cell, cands, cell_probs)

    def _country(self, lat: float, lng: float, top_cell: int) -> tuple[str | None, str | None]:
        geo = self._geo
        if geo == "auto":
            try:
                from backend.geo.admin import AdminAreas

                geo = AdminAreas.default()
            except Exception:  # noqa: BLE001 - assets not built or geo layer absent: use the cells
                geo = None
            self._geo = geo
        if geo is not None:
            code = str(geo.country_of(lat, lng, nearest_km=COUNTRY_NEAREST_KM))
            if code:
                name = str(geo.country_name_of(lat, lng, nearest_km=COUNTRY_NEAREST_KM))
                return code, name or None
        return self._cell_iso2[top_cell] or None, self._cell_country[top_cell] or None

    def guess_from_distribution(self, dist: Distribution,
                                timings: dict[str, float] | None = None) -> Guess:
        """Calibrate, find the pin, and package the answer."""
        t0 = time.perf_counter()
        probs = apply_temperature(log_probs_of(dist.prob), self.calibration_temperature)
        lat, lng, score = best_pin(dist.lat, dist.lng, probs)
        confidence = probability_within(lat, lng, dist.lat, dist.lng, probs,
                                        radius_km=self.confidence_radius_km)
        t1 = time.perf_counter()
        k = len(dist.refined.cells)
        top = [Candidate(lat=float(dist.lat[i]), lng=float(dist.lng[i]), prob=float(probs[i]),
                         cell=int(dist.cell[i]), country=self._cell_iso2[int(dist.cell[i])],
                         refined=bool(dist.refined.refined[i])) for i in range(k)]
        top.sort(key=lambda c: -c.prob)
        code, name = self._country(lat, lng, int(dist.refined.cells[0]))
        t = dict(timings or {})
        t["pin"] = (t1 - t0) * 1e3
        return Guess(lat=lat, lng=lng, projected_score=score, confidence=confidence,
                     country=code, country_name=name, top_k=top, timings=t,
                     confidence_radius_km=self.confidence_radius_km)

    def guess_from_embedding(self, embedding: np.ndarray,
                             timings: dict[str, float] | None = None,
                             cell_probs: np.ndarray | None = None) -> Guess:
        """Everything after the backbone for one round's (mean) embedding.

        ``cell_probs`` skips the heads when the caller already ran them (batched).
        """
        t0 = time.perf_counter()
        if cell_probs is None:
            cell_probs = self.cell_probabilities(np.asarray(embedding).reshape(1, -1))[0]
        t1 = time.perf_counter()
        dist = self.distribution(np.asarray(embedding, dtype=np.float64).ravel(), cell_probs)
        t2 = time.perf_counter()
        t = dict(timings or {})
        t["heads"] = t.get("heads", 0.0) + (t1 - t0) * 1e3
        t["refine"] = (t2 - t1) * 1e3
        return self.guess_from_distribution(dist, t)

    # -- public entry points -----------------------------------------------------------------
    def warm_up(self) -> float:
        """Run one round on a grey view so that lazy parts (geo polygons, transforms, kernels)
        load now rather than in the first real round; returns the seconds it took."""
        from PIL import Image

        t0 = time.perf_counter()
        self.predict([Image.new("RGB", (64, 64), (128, 128, 128))])
        return time.perf_counter() - t0

    def predict(self, views: Sequence[Any]) -> Guess:
        """One round: 1-4 views (PIL images, encoded bytes or file paths) -> Guess.

        Raises:
            ImageError: 0 or more than 4 views, or a view that is not a usable image.
        """
        return self.predict_batch([views])[0]

    def predict_batch(self, rounds: Sequence[Sequence[Any]]) -> list[Guess]:
        """Several rounds at once (one backbone call for all their views).

        Raises:
            ImageError: a bad round (the whole batch is refused; callers that must serve the
                others check rounds with ``load_views`` first).
        """
        emb, shared = self.embed_rounds(rounds)
        t0 = time.perf_counter()
        probs = self.cell_probabilities(emb)
        shared["heads"] = (time.perf_counter() - t0) * 1e3
        per_round = {k: v / len(rounds) for k, v in shared.items()}
        return [self.guess_from_embedding(e, per_round, p) for e, p in zip(emb, probs)]
