"""Between the predictor and the wire: the model's description, and Guess -> guess message.

Usage::

    info = describe_model(predictor)        # ModelInfo for the welcome message
    msg = guess_message("r1", guess, latency_ms=12.0, model_id=info.id, timings={...})
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from backend.core import protocol as p


def describe_model(predictor: Any) -> p.ModelInfo:
    """What ``welcome`` announces about the predictor's model.

    A predictor may carry a ready ``model_info`` (:class:`ModelInfo`); otherwise the id is
    ``<bundle folder>-<first 8 hex of heads.pt's sha256>`` from the bundle's ``bundle.json``
    (so two different trainings never share an id), the backbone its open_clip config name.
    """
    info = getattr(predictor, "model_info", None)
    if isinstance(info, p.ModelInfo):
        return info
    bundle = getattr(predictor, "bundle", None)
    meta = getattr(bundle, "meta", None) or {}
    path = getattr(bundle, "path", None)
    name = Path(path).name if path else type(predictor).__name__
    sha = str(meta.get("files", {}).get("heads", {}).get("sha256", ""))
    model_id = f"{name}-{sha[:8]}" if sha else name
    backbone = str(meta.get("backbone", {}).get("config_name", ""))
    cells = int(meta.get("geocell_count") or getattr(predictor, "num_cells", 0) or 0)
    try:
        device = str(predictor._device())
    except Exception:  # noqa: BLE001 - a predictor without parameters: say cpu
        device = "cpu"
    return p.ModelInfo(id=model_id[:200] or "model", backbone=backbone[:200], geocells=cells,
                       device=device[:32])


def _clip(x: float, lo: float, hi: float) -> float:
    return min(max(float(x), lo), hi)


def guess_message(round_id: str, guess: Any, *, latency_ms: float, model_id: str,
                  timings: dict[str, float]) -> p.GuessMessage:
    """Build the ``guess`` message from a ``backend.core.guess.Guess``.

    The predictor's stage timings are added as ``<stage>_ms``; probabilities and scores are
    clipped into their ranges (float rounding can put them 1e-9 outside).

    Raises:
        ProtocolError: the guess cannot be expressed in protocol v1 (a predictor bug).
    """
    top_k = tuple(
        p.Place(lat=float(c.lat), lng=float(c.lng), prob=_clip(c.prob, 0.0, 1.0),
                country=getattr(c, "country", None))
        for c in list(getattr(guess, "top_k", []) or [])[:p.MAX_TOP_K])
    all_timings = {k: max(0.0, float(v)) for k, v in timings.items()}
    for stage, ms in (getattr(guess, "timings", {}) or {}).items():
        if isinstance(ms, (int, float)) and math.isfinite(ms):
            all_timings[f"{stage}_ms"] = max(0.0, float(ms))
    msg = p.GuessMessage(
        round_id=round_id, lat=float(guess.lat), lng=float(guess.lng),
        projected_score=_clip(guess.projected_score, 0.0, 5000.0),
        confidence=_clip(guess.confidence, 0.0, 1.0), country=guess.country,
        top_k=top_k, latency_ms=max(0.0, float(latency_ms)), model_id=model_id,
        timings=all_timings)
    try:
        msg.check()
    except p.ProtocolError as exc:
        raise p.ProtocolError("internal", f"the predictor's guess is malformed: {exc.message}",
                              round_id=round_id) from None
    return msg
