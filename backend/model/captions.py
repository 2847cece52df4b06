"""Captions for contrastive pretraining, built from a location's auxiliary data (PIGEON).

The base sentence names what is known, most precise first::

    A Street View photo close to the town of Annecy in the region of Auvergne-Rhône-Alpes
    in France.

then optional clauses (climate zone, driving side, compass direction, month), each kept with
probability ``keep_prob`` and shuffled, so the text tower cannot rely on any single clause.
Everything random comes from ``random.Random`` seeded by ``(seed, epoch, index)``: the same
inputs always give the same caption.

Usage::

    from backend.model.captions import make_caption
    make_caption({"country": "France", "region": "Brittany", "town": "Rennes",
                  "koppen_name": "Cfb", "driving_side": "right"},
                 heading=90.0, month=6, seed=0, index=12)
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping

KOPPEN_WORDS = {
    "Af": "tropical rainforest", "Am": "tropical monsoon", "As": "tropical savanna with dry "
    "summers", "Aw": "tropical savanna", "BWh": "hot desert", "BWk": "cold desert",
    "BSh": "hot semi-arid", "BSk": "cold semi-arid", "Csa": "hot-summer Mediterranean",
    "Csb": "warm-summer Mediterranean", "Csc": "cold-summer Mediterranean",
    "Cwa": "monsoon-influenced humid subtropical", "Cwb": "subtropical highland",
    "Cwc": "cold subtropical highland", "Cfa": "humid subtropical", "Cfb": "temperate oceanic",
    "Cfc": "subpolar oceanic", "Dsa": "hot, dry-summer continental",
    "Dsb": "warm, dry-summer continental", "Dsc": "dry-summer subarctic",
    "Dsd": "very cold, dry-summer subarctic", "Dwa": "monsoon-influenced hot-summer continental",
    "Dwb": "monsoon-influenced warm-summer continental", "Dwc": "monsoon-influenced subarctic",
    "Dwd": "monsoon-influenced very cold subarctic", "Dfa": "hot-summer humid continental",
    "Dfb": "warm-summer humid continental", "Dfc": "subarctic", "Dfd": "very cold subarctic",
    "ET": "tundra", "EF": "ice cap",
}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
COMPASS = ("north", "north-east", "east", "south-east", "south", "south-west", "west",
           "north-west")


def compass_word(heading_deg: float) -> str:
    """Heading in degrees (0 = north, clockwise) -> one of 8 compass words."""
    return COMPASS[int(((heading_deg % 360.0) + 22.5) // 45.0) % 8]


def base_sentence(fields: Mapping[str, str]) -> str:
    """The location sentence from whatever of town/region/country is known."""
    town, region, country = (str(fields.get(k) or "").strip() for k in
                             ("town", "region", "country"))
    parts = []
    if town:
        parts.append(f"close to the town of {town}")
    if region and region != town:
        parts.append(f"in the region of {region}")
    if country:
        parts.append(f"in {country}")
    return "A Street View photo" + ("" if not parts else " " + " ".join(parts)) + "."


def optional_clauses(fields: Mapping[str, str], heading: float | None,
                     month: int | None) -> list[str]:
    """Every optional clause the data supports (before random dropping)."""
    out = []
    climate = KOPPEN_WORDS.get(str(fields.get("koppen_name") or ""))
    if climate:
        out.append(f"This place has a {climate} climate.")
    side = str(fields.get("driving_side") or "")
    if side in ("left", "right"):
        out.append(f"Cars drive on the {side} side of the road.")
    if heading is not None and math.isfinite(heading):
        out.append(f"The camera faces {compass_word(heading)}.")
    if month is not None and 1 <= int(month) <= 12:
        out.append(f"The photo was taken in {MONTHS[int(month) - 1]}.")
    return out


def make_caption(fields: Mapping[str, str], *, heading: float | None = None,
                 month: int | None = None, seed: int = 0, epoch: int = 0, index: int = 0,
                 keep_prob: float = 0.5) -> str:
    """One caption; deterministic for ``(fields, heading, month, seed, epoch, index)``.

    Args:
        fields: ``country``, ``region``, ``town``, ``koppen_name``, ``driving_side`` (any may
            be missing or empty).
        heading: the view's compass heading in degrees, if known.
        month: 1-12, if known.
        seed, epoch, index: choose which clauses are kept and their order.
        keep_prob: probability of keeping each optional clause.

    Raises:
        ValueError: ``keep_prob`` outside [0, 1].
    """
    if not 0.0 <= keep_prob <= 1.0:
        raise ValueError(f"keep_prob must be in [0, 1], got {keep_prob}")
    rng = random.Random(f"{seed}/{epoch}/{index}")
    kept = [c for c in optional_clauses(fields, heading, month) if rng.random() < keep_prob]
    rng.shuffle(kept)
    return " ".join([base_sentence(fields), *kept])
