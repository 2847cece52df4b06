"""Haversine label smoothing in torch, computed per batch on the centroids' device.

For each true location ``x`` in the batch and every geocell centroid ``g_i``::

    y_i = exp(-(hav(g_i, x) - min_j hav(g_j, x)) / tau),   normalised so that sum_i y_i = 1

which is exactly ``softmax(-hav(g, x) / tau)`` (subtracting the minimum is the usual
max-shift of a softmax), so that is how it is computed: stable, and one ``(B, C)`` matrix
per batch, never an N-by-cells matrix for the whole dataset. ``backend.core.label_smoothing``
is the numpy reference this is tested against.

Usage::

    centroids = torch.as_tensor(geocells.centroids, device="cuda")        # (C, 2) lat/lng
    for images, latlng in loader:                                          # latlng: (B, 2)
        targets = smoothed_targets(latlng.to(centroids.device), centroids, tau_km=75.0)
        loss = smoothed_cross_entropy(model(images), targets)
"""

from __future__ import annotations

import math

import torch

from backend.core.geodesy import EARTH_RADIUS_KM
from backend.core.label_smoothing import DEFAULT_TAU_KM


def haversine_km_torch(lat1: torch.Tensor, lng1: torch.Tensor, lat2: torch.Tensor,
                       lng2: torch.Tensor, *, radius_km: float = EARTH_RADIUS_KM) -> torch.Tensor:
    """Great-circle distance in km between broadcastable tensors of degrees."""
    p1, p2 = torch.deg2rad(lat1), torch.deg2rad(lat2)
    dphi = p2 - p1
    dlmb = torch.deg2rad(lng2 - lng1)
    a = torch.sin(dphi / 2) ** 2 + torch.cos(p1) * torch.cos(p2) * torch.sin(dlmb / 2) ** 2
    return 2.0 * radius_km * torch.asin(torch.sqrt(a.clamp(0.0, 1.0)))


def _check_latlng(t: torch.Tensor, name: str) -> None:
    if t.ndim != 2 or t.shape[1] != 2 or t.shape[0] == 0:
        raise ValueError(f"{name} must have shape (N, 2) as (lat, lng) degrees with N >= 1, "
                         f"got {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or infinite coordinates")
    if (t[:, 0].abs() > 90).any():
        raise ValueError(f"{name} has a latitude outside [-90, 90]; columns are (lat, lng)")


def smoothed_targets(true_latlng: torch.Tensor, centroids: torch.Tensor,
                     tau_km: float = DEFAULT_TAU_KM, *, radius_km: float = EARTH_RADIUS_KM,
                     validate: bool = True) -> torch.Tensor:
    """Soft geocell targets ``(B, C)`` for one batch, on the centroids' device.

    Args:
        true_latlng: ``(B, 2)`` true locations (lat, lng) in degrees; moved to the
            centroids' device if it is elsewhere.
        centroids: ``(C, 2)`` cell centroids (lat, lng) in degrees.
        tau_km: temperature in km (> 0), default 75 (PIGEON street view).
        radius_km: sphere radius for the haversine distance.
        validate: check shapes and coordinate ranges (a device sync; turn off in a hot loop
            once the data is known to be clean).

    Returns:
        float32 tensor ``(B, C)`` (float64 when the centroids are float64); each row sums to 1
        and peaks at the centroid nearest to the true location.

    Raises:
        ValueError: bad shapes, NaN / out-of-range coordinates, or a non-positive ``tau_km``.
    """
    tau = float(tau_km)
    if not math.isfinite(tau) or tau <= 0:
        raise ValueError(f"tau_km must be a positive number of km, got {tau_km!r}")
    if validate:
        _check_latlng(true_latlng, "true_latlng")
        _check_latlng(centroids, "centroids")
    # distances in at least float32; float64 centroids keep float64 (used by the tests)
    dtype = torch.float64 if centroids.dtype == torch.float64 else torch.float32
    cents = centroids.to(dtype=dtype)
    x = true_latlng.to(device=cents.device, dtype=dtype)
    dist = haversine_km_torch(x[:, 0:1], x[:, 1:2], cents[None, :, 0], cents[None, :, 1],
                              radius_km=radius_km)
    return torch.softmax(-dist / tau, dim=1)


def smoothed_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, *,
                           reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy of geocell logits against soft targets: ``-sum_i y_i log softmax(z)_i``.

    Args:
        logits: ``(B, C)`` raw classifier outputs.
        targets: ``(B, C)`` soft targets whose rows sum to 1 (from :func:`smoothed_targets`).
        reduction: ``"mean"`` (default), ``"sum"`` or ``"none"`` (per-sample ``(B,)``).

    Returns:
        The loss tensor.

    Raises:
        ValueError: shape mismatch or an unknown reduction.
    """
    if logits.shape != targets.shape or logits.ndim != 2:
        raise ValueError(f"logits and targets must both be (B, C); got {tuple(logits.shape)} "
                         f"and {tuple(targets.shape)}")
    per_sample = -(targets.to(logits.dtype) * torch.log_softmax(logits, dim=1)).sum(dim=1)
    if reduction == "mean":
        return per_sample.mean()
    if reduction == "sum":
        return per_sample.sum()
    if reduction == "none":
        return per_sample
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
