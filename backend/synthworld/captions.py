"""PIGEON-style captions for contrastive pretraining, built from a place's auxiliary data.

"A Street View photo close to the town of X in the region of Y in COUNTRY." plus optional
clauses (climate zone, driving side, compass direction, month), each kept with probability
``CLAUSE_P`` so that the text tower cannot lean on one fixed template.

Usage::

    facts = place_facts(lat, lng)                       # one geo-layer batch call
    text = caption(facts[i], heading_deg=90, month=6, rng=rng)
    texts = view_captions(facts, months, n_views=4, rng=rng)   # every view of every place
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backend.model.captions import KOPPEN_WORDS, MONTHS, compass_word

CLAUSE_P = 0.6


def place_facts(lat: Any, lng: Any, lookup: Any = None) -> list[dict[str, Any]]:
    """Town, region, country, climate and driving side of each place (geo layer, batched)."""
    if lookup is None:
        from backend.geo.lookup import GeoLookup

        lookup = GeoLookup.default()
    return lookup.lookup_records(np.asarray(lat, np.float64), np.asarray(lng, np.float64))


def caption(facts: dict[str, Any], *, heading_deg: float | None, month: int | None,
            rng: np.random.Generator) -> str:
    """One caption for one view of a place.

    Args:
        facts: a record of :func:`place_facts` (keys ``town``, ``place``, ``admin1``,
            ``country_name``, ``koppen``, ``driving_side``).
        heading_deg: the view's heading (for the compass clause), None if unknown.
        month: 1-12 or None.
        rng: decides which optional clauses appear.
    """
    town = facts.get("town") or facts.get("place") or ""
    region = facts.get("admin1") or ""
    country = facts.get("country_name") or ""
    parts = ["A Street View photo"]
    if town:
        parts.append(f"close to the town of {town}")
    if region:
        parts.append(f"in the region of {region}")
    parts.append(f"in {country}." if country else "somewhere at sea.")
    text = " ".join(parts)
    clauses = []
    kop = str(facts.get("koppen") or "")
    if kop in KOPPEN_WORDS and rng.random() < CLAUSE_P:
        clauses.append(f"This place has a {KOPPEN_WORDS[kop]} climate.")
    side = facts.get("driving_side")
    if side in ("left", "right") and rng.random() < CLAUSE_P:
        clauses.append(f"Cars drive on the {side}.")
    if heading_deg is not None and rng.random() < CLAUSE_P:
        clauses.append(f"The photo faces {compass_word(heading_deg)}.")
    if month is not None and 1 <= month <= 12 and rng.random() < CLAUSE_P:
        clauses.append(f"It was taken in {MONTHS[month - 1]}.")
    order = rng.permutation(len(clauses))
    return " ".join([text, *[clauses[i] for i in order]])


def view_captions(facts: list[dict[str, Any]], months: Any, *, n_views: int,
                  rng: np.random.Generator) -> list[str]:
    """One caption per view, place-major: view ``k`` of a place faces ``90 * k`` degrees.

    ``months[i]`` is place ``i``'s month (1-12, or None / anything outside 1-12 if unknown).
    The same facts, months and ``rng`` state give the same captions (the demo recipe and
    ``scripts/probe_caption_clip.py`` rely on that).
    """
    if len(months) != len(facts):
        raise ValueError(f"{len(facts)} places but {len(months)} months")
    out = []
    for i, f in enumerate(facts):
        m = months[i]
        month = int(m) if m is not None and 1 <= int(m) <= 12 else None
        out.extend(caption(f, heading_deg=90.0 * k, month=month, rng=rng) for k in range(n_views))
    return out
