"""The weights of PIGEON's multi-task loss, and the ``--loss-weights`` option that changes them
(no torch here: the CLIs check the option before anything loads).

Usage::

    parse_loss_weights("regression=1,koppen=1")
    # {"geocell": 1.0, "regression": 1.0, "koppen": 1.0, "month": 1.0}
    p.add_argument("--loss-weights", type=loss_weights_option)   # checked, kept as written
"""

from __future__ import annotations

import argparse
import math

DEFAULT_LOSS_WEIGHTS = {"geocell": 1.0, "regression": 8.0, "koppen": 2.0, "month": 1.0}
"""PIGEON's: geocell 1, the six regressions 8, Köppen 2, month 1."""


def parse_loss_weights(text: str) -> dict[str, float]:
    """``"regression=1,koppen=1"`` -> PIGEON's weights with those replaced.

    Raises:
        ValueError: an unknown head, a value that is not a number >= 0, or a geocell weight
            of 0 (the location must train); the message says which.
    """
    weights = dict(DEFAULT_LOSS_WEIGHTS)
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, eq, value = part.partition("=")
        name = name.strip()
        if not eq or name not in weights:
            raise ValueError(f"bad loss weight {part!r}: write name=value with a name from "
                             f"{', '.join(DEFAULT_LOSS_WEIGHTS)}, e.g. regression=1,koppen=1")
        try:
            w = float(value)
        except ValueError:
            w = math.nan
        if not (math.isfinite(w) and w >= 0):
            raise ValueError(f"loss weight {name} must be a number >= 0, got {value.strip()!r}")
        weights[name] = w
    if weights["geocell"] <= 0:
        raise ValueError("the geocell loss weight must be > 0 (the location must train)")
    return weights


def loss_weights_option(text: str) -> str:
    """argparse ``type`` of ``--loss-weights``: checks the text and keeps it as written (it
    goes into the run's records as given)."""
    try:
        parse_loss_weights(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text
