"""Baselines a trained model must beat: the best constant guess and 1-NN on raw pixels.

* **Best constant guess** — the one pin that maximises the mean GeoGuessr score over the
  training locations (``backend.core.best_pin`` with the empirical distribution): what a bot
  that ignores the pixels can score at best.
* **1-NN on raw pixels** — each panorama becomes its views downsampled to 16×16 RGB,
  concatenated and standardised; a test panorama takes the location of its nearest training
  panorama (Euclidean). What memorising colours gets you.

Usage::

    lat, lng = best_constant_guess(train_lat, train_lng)
    knn = PixelNearestNeighbour.fit(train_views, train_lat, train_lng)   # views: list of lists
    pred_lat, pred_lng = knn.predict(test_views)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from backend.core.best_pin import best_pin
from backend.core.geodesy import validate_latlng

PIXEL_SIZE = 16
MAX_CONSTANT_POINTS = 5000
"""The constant guess is searched on at most this many training points (a fixed subsample)."""


def best_constant_guess(lat: Any, lng: Any, *, seed: int = 0) -> tuple[float, float]:
    """The pin with the highest mean GeoGuessr score over the given locations.

    Args:
        lat, lng: training locations in degrees (``(n,)``, n >= 1).
        seed: picks the subsample when there are more than ``MAX_CONSTANT_POINTS``.

    Returns:
        ``(lat, lng)`` of the best constant guess.

    Raises:
        CoordinateError: bad or empty coordinates.
    """
    la, lo = validate_latlng(np.atleast_1d(lat), np.atleast_1d(lng))
    if len(la) > MAX_CONSTANT_POINTS:
        keep = np.random.default_rng(seed).choice(len(la), MAX_CONSTANT_POINTS, replace=False)
        la, lo = la[keep], lo[keep]
    p_lat, p_lng, _ = best_pin(la, lo, np.full(len(la), 1.0 / len(la)))
    return p_lat, p_lng


def pixel_features(views: Sequence[Image.Image | np.ndarray | str | Path], *,
                   size: int = PIXEL_SIZE) -> np.ndarray:
    """One panorama's views → a flat float32 vector of ``size``×``size`` RGB pixels per view."""
    feats = []
    for v in views:
        if isinstance(v, (str, Path)):
            with Image.open(v) as im:
                img = im.convert("RGB").resize((size, size), Image.BILINEAR)
        elif isinstance(v, np.ndarray):
            img = Image.fromarray(v).convert("RGB").resize((size, size), Image.BILINEAR)
        else:
            img = v.convert("RGB").resize((size, size), Image.BILINEAR)
        feats.append(np.asarray(img, dtype=np.float32).ravel() / 255.0)
    return np.concatenate(feats)


@dataclass
class PixelNearestNeighbour:
    """1-nearest-neighbour regressor on standardised raw pixels."""

    features: np.ndarray
    lat: np.ndarray
    lng: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    size: int = PIXEL_SIZE

    @classmethod
    def fit(cls, panoramas: Sequence[Sequence[Any]], lat: Any, lng: Any, *,
            size: int = PIXEL_SIZE) -> PixelNearestNeighbour:
        """Remember the training panoramas (each a list of views: images, arrays or paths).

        Raises:
            ValueError: no panoramas, or counts that do not match the coordinates.
        """
        la, lo = validate_latlng(np.atleast_1d(lat), np.atleast_1d(lng))
        if len(panoramas) == 0 or len(panoramas) != len(la):
            raise ValueError(f"need one location per panorama: {len(panoramas)} panoramas, "
                             f"{len(la)} locations")
        x = np.stack([pixel_features(p, size=size) for p in panoramas])
        mean, std = x.mean(axis=0), x.std(axis=0) + 1e-3
        return cls((x - mean) / std, la, lo, mean, std, size)

    def predict(self, panoramas: Sequence[Sequence[Any]], *,
                chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """Locations of the nearest training panorama for each query panorama."""
        q = np.stack([pixel_features(p, size=self.size) for p in panoramas])
        if q.shape[1] != self.features.shape[1]:
            raise ValueError(f"query panoramas have {q.shape[1]} features, the training ones "
                             f"{self.features.shape[1]}: give the same number of views")
        q = (q - self.mean) / self.std
        sq_train = (self.features ** 2).sum(axis=1)
        best = np.empty(len(q), dtype=np.int64)
        for i in range(0, len(q), chunk):
            block = q[i:i + chunk]
            d = sq_train[None, :] - 2.0 * block @ self.features.T
            best[i:i + chunk] = np.argmin(d, axis=1)
        return self.lat[best], self.lng[best]
