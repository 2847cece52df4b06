"""Auxiliary targets per location (PIGEON's auxiliary heads and pretraining captions).

From ``backend.geo.lookup.GeoLookup`` (batch lookups, numpy in and out) for each location:
the 6 regression targets (:data:`backend.model.heads.REGRESSION_TARGETS`: elevation m,
log10(1 + population density per km²), temperature mean and range °C, precipitation mean
and range mm/month), the Köppen class index (0..30, -1 unknown) and the names the captions
use (country, region/admin-1, nearest town, Köppen code, driving side). Cached as
``aux_targets.npz`` (format ``pigeon-aux/1``, metadata inside) next to the embeddings, so the
lookups run once per dataset.

Population density is heavy-tailed (0 to 50 000 people/km²), so the head regresses its
``log10(1 + d)``; every target is then standardised by the training set's mean and std.

Usage::

    aux = cached_aux_targets(emb_dir, emb.ids, emb.latlng)       # computes once, then reads
    koppen, regression = aux.aligned(emb.ids)
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backend.cliutil import UserError
from backend.model.heads import NUM_KOPPEN, REGRESSION_TARGETS

AUX_FORMAT = "pigeon-aux/1"
AUX_FILE = "aux_targets.npz"
NAME_FIELDS = ("country", "region", "town", "koppen_name", "driving_side")


@dataclass
class AuxTargets:
    """Auxiliary targets of a list of locations (row ``i`` is ``ids[i]``)."""

    ids: list[str]
    koppen: np.ndarray        # [N] int64, 0..30, -1 unknown
    regression: np.ndarray    # [N, 6] float32, NaN unknown
    names: dict[str, np.ndarray] = field(default_factory=dict)   # NAME_FIELDS -> [N] str
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.ids)
        if self.koppen.shape != (n,) or self.regression.shape != (n, len(REGRESSION_TARGETS)):
            raise ValueError(f"aux targets for {n} ids need koppen [{n}] and regression "
                             f"[{n}, {len(REGRESSION_TARGETS)}]; got {self.koppen.shape}, "
                             f"{self.regression.shape}")
        bad = (self.koppen < -1) | (self.koppen >= NUM_KOPPEN)
        if bad.any():
            raise ValueError(f"koppen indices must be -1..{NUM_KOPPEN - 1}")

    def aligned(self, ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(koppen, regression)`` in the order of ``ids`` (unknown where an id is absent)."""
        pos = {k: i for i, k in enumerate(self.ids)}
        rows = np.array([pos.get(str(k), -1) for k in ids], dtype=np.int64)
        koppen = np.where(rows >= 0, self.koppen[np.maximum(rows, 0)], -1).astype(np.int64)
        reg = self.regression[np.maximum(rows, 0)].copy()
        reg[rows < 0] = np.nan
        return koppen, reg.astype(np.float32)

    def name_rows(self, ids: Sequence[str]) -> list[dict[str, str]]:
        """Caption fields per id (empty strings where unknown)."""
        pos = {k: i for i, k in enumerate(self.ids)}
        out = []
        for k in ids:
            i = pos.get(str(k))
            out.append({f: (str(self.names[f][i]) if i is not None and f in self.names else "")
                        for f in NAME_FIELDS})
        return out

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        tmp = p.with_name(p.stem + ".tmp.npz")
        np.savez(tmp, ids=np.asarray(self.ids, str), koppen=self.koppen,
                 regression=self.regression, meta=np.asarray(json.dumps(self.meta)),
                 **{f"name_{k}": np.asarray(v, str) for k, v in self.names.items()})
        os.replace(tmp, p)
        return p

    @classmethod
    def load(cls, path: str | Path) -> AuxTargets:
        p = Path(path)
        try:
            z = np.load(p)
            meta = json.loads(str(z["meta"]))
        except (OSError, KeyError, ValueError) as exc:
            raise UserError(f"{p} is not a readable aux targets file ({exc}); delete it to "
                            "recompute") from exc
        if meta.get("format") != AUX_FORMAT:
            raise UserError(f"{p} has format {meta.get('format')!r}, expected {AUX_FORMAT}")
        names = {k[5:]: z[k] for k in z.files if k.startswith("name_")}
        return cls([str(s) for s in z["ids"]], z["koppen"].astype(np.int64),
                   z["regression"].astype(np.float32), names, meta)


def compute_aux_targets(ids: Sequence[str], latlng: np.ndarray, lookup: Any = None
                        ) -> AuxTargets:
    """Look the auxiliary targets up for each location.

    Args:
        ids: location ids.
        latlng: ``[N, 2]`` degrees.
        lookup: a ``backend.geo.lookup.GeoLookup`` (default: ``GeoLookup.default()``).

    Returns:
        :class:`AuxTargets` with metadata naming the lookup's sources.

    Raises:
        UserError: the geographic assets are not built (run ``make setup``).
    """
    from backend.model.geo_features import lookup_features

    if lookup is None:
        try:
            from backend.geo.lookup import GeoLookup

            lookup = GeoLookup.default()
        except Exception as exc:
            raise UserError(f"cannot open the geographic data for auxiliary targets "
                            f"({type(exc).__name__}: {str(exc)[:120]}); run `make setup`, or "
                            "train without them (--aux none)") from exc
    latlng = np.asarray(latlng, dtype=np.float64).reshape(-1, 2)
    koppen, regression, names, sources = lookup_features(lookup, latlng[:, 0], latlng[:, 1])
    meta = {"format": AUX_FORMAT, "n": len(ids), "targets": list(REGRESSION_TARGETS),
            "population_density": "log10(1 + people per km2)", "sources": sources,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "made_by": "backend.model.aux_targets.compute_aux_targets"}
    return AuxTargets([str(i) for i in ids], koppen, regression, names, meta)


def cached_aux_targets(folder: str | Path, ids: Sequence[str], latlng: np.ndarray,
                       lookup: Any = None) -> AuxTargets:
    """Aux targets cached as ``folder/aux_targets.npz`` (computed when absent or stale)."""
    path = Path(folder) / AUX_FILE
    if path.is_file():
        aux = AuxTargets.load(path)
        if set(map(str, ids)) <= set(aux.ids):
            return aux
    aux = compute_aux_targets(ids, latlng, lookup)
    aux.save(path)
    return aux
