"""PNG plots of an evaluation: error CDF, projected-vs-actual score calibration, world map of
errors (country outlines from ``backend.geo.admin`` when its assets are built).

Matplotlib runs headless (Agg). Every function writes one file and returns its path.

Usage::

    from backend.eval.plots import plot_error_cdf, plot_calibration, plot_error_map
    plot_error_cdf(dist_km, "out/error_cdf.png")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from backend.core.metrics import DISTANCE_THRESHOLDS_KM, calibration_bins

MAX_MAP_LINES = 400
"""Guess-to-truth lines drawn on the map (the worst ones), to keep it readable."""


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_error_cdf(distance_km: Any, path: str | Path, *, title: str = "") -> Path:
    """Share of guesses within d km, log-scaled d, with the paper's five thresholds marked."""
    plt = _pyplot()
    d = np.sort(np.asarray(distance_km, dtype=np.float64))
    share = np.arange(1, len(d) + 1) / len(d) * 100.0
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    ax.step(np.maximum(d, 0.01), share, where="post", color="tab:blue", lw=1.8)
    for name, km in DISTANCE_THRESHOLDS_KM.items():
        hit = float((d <= km).mean() * 100.0)
        ax.axvline(km, color="grey", lw=0.8, ls="--")
        ax.annotate(f"{name}\n{hit:.1f}%", (km, min(hit + 3, 97)), fontsize=7, ha="left")
    ax.set_xscale("log")
    ax.set_xlim(0.1, 20040)
    ax.set_ylim(0, 100)
    ax.set_xlabel("error (km, log scale)")
    ax.set_ylabel("guesses within (%)")
    ax.set_title(title or f"Error CDF ({len(d)} locations)")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_calibration(projected: Any, actual: Any, path: str | Path, *, n_bins: int = 10,
                     title: str = "") -> Path:
    """Mean actual score per bin of projected score, against the diagonal (perfect)."""
    plt = _pyplot()
    p = np.asarray(projected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    b = calibration_bins(p, a, n_bins=n_bins)
    fig, ax = plt.subplots(figsize=(5.5, 5.5), dpi=110)
    ax.scatter(p, a, s=6, alpha=0.25, color="tab:grey", label="locations")
    ok = b["count"] > 0
    ax.plot(b["mean_projected"][ok], b["mean_actual"][ok], "o-", color="tab:red",
            label="bin means")
    ax.plot([0, 5000], [0, 5000], color="black", lw=0.8, ls="--", label="perfect")
    ax.set_xlim(0, 5000)
    ax.set_ylim(0, 5000)
    ax.set_xlabel("projected score")
    ax.set_ylabel("actual score")
    ax.set_title(title or "Projected vs actual GeoGuessr score")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def _country_outlines() -> list[np.ndarray]:
    """Exterior rings (lng, lat) of the admin-0 polygons, or [] without the geo assets."""
    from backend.cliutil import UserError

    try:
        from backend.geo.admin import AdminAreas

        areas = AdminAreas.default("admin0")
    except (ImportError, OSError, ValueError, UserError):  # no geo assets: no outlines
        return []
    rings: list[np.ndarray] = []
    for geom in areas.geometries:
        for poly in getattr(geom, "geoms", [geom]):
            ext = getattr(poly, "exterior", None)
            if ext is not None:
                rings.append(np.asarray(ext.coords))
    return rings


def plot_error_map(true_lat: Any, true_lng: Any, pred_lat: Any, pred_lng: Any,
                   distance_km: Any, path: str | Path, *, outlines: bool = True,
                   title: str = "") -> Path:
    """Equirectangular world map: true locations coloured by log error, lines to the worst
    guesses, country outlines when available."""
    plt = _pyplot()
    from matplotlib.colors import LogNorm

    tl, tg = np.asarray(true_lat, float), np.asarray(true_lng, float)
    pl, pg = np.asarray(pred_lat, float), np.asarray(pred_lng, float)
    d = np.maximum(np.asarray(distance_km, float), 0.1)
    fig, ax = plt.subplots(figsize=(11, 5.8), dpi=110)
    from matplotlib.collections import LineCollection

    rings = _country_outlines() if outlines else []
    if rings:  # one collection: thousands of separate lines would take seconds
        ax.add_collection(LineCollection(rings, colors="0.6", linewidths=0.3))
    worst = np.argsort(-d)[:MAX_MAP_LINES]
    worst_lines = [np.array([[tg[i], tl[i]], [pg[i], pl[i]]]) for i in worst
                   if abs(pg[i] - tg[i]) <= 180]  # skip lines that would wrap across the map
    ax.add_collection(LineCollection(worst_lines, colors="tab:red", linewidths=0.4, alpha=0.4))
    ax.scatter(pg[worst], pl[worst], marker="x", s=10, color="tab:red", lw=0.6, zorder=2,
               label="guess")
    sc = ax.scatter(tg, tl, c=d, s=10, cmap="viridis_r",
                    norm=LogNorm(vmin=max(d.min(), 0.1), vmax=max(d.max(), 1.0)), zorder=3)
    fig.colorbar(sc, ax=ax, label="error (km)", shrink=0.8)
    ax.set_xlim(-180, 180)
    ax.set_ylim(-90, 90)
    ax.set_aspect("equal")
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    note = "" if rings or not outlines else " (no country outlines: geo assets not built)"
    ax.set_title((title or f"Errors of {len(d)} guesses; red: worst {len(worst)}") + note)
    return _save(fig, path)


def _save(fig: Any, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(p)
    plt.close(fig)
    return p
