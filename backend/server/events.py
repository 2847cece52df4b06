"""Structured server logs: one JSON object a line on the ``pigeon.server`` logger.

Usage::

    from backend.server.events import log_event, setup_json_logging
    setup_json_logging()                       # once, in ``pigeon serve``
    log_event("round", round_id="r1", latency_ms=12.5)
    # {"ts": "2026-11-23T04:00:00.123Z", "level": "info", "event": "round", "round_id": ...}
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any

LOGGER = logging.getLogger("pigeon.server")


def log_event(event: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event with its fields (values must be JSON-serialisable or are str()-ed)."""
    if LOGGER.isEnabledFor(level):
        LOGGER.log(level, "%s", json.dumps({"event": event, **fields}, default=str))


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = dt.datetime.fromtimestamp(record.created, dt.UTC)
        head = {"ts": ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z",
                "level": record.levelname.lower()}
        msg = record.getMessage()
        try:
            body = json.loads(msg) if msg.startswith("{") else {"message": msg}
        except ValueError:
            body = {"message": msg}
        if record.name != LOGGER.name:
            body["logger"] = record.name
        return json.dumps({**head, **body}, default=str)


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def setup_json_logging(level: int = logging.INFO, stream: Any = None) -> None:
    """Send ``pigeon.server`` and ``websockets`` logs to stderr (or ``stream``) as JSON lines."""
    handler = logging.StreamHandler(stream) if stream is not None else _CurrentStderr()
    handler.setFormatter(_JsonLines())
    for name in (LOGGER.name, "websockets"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level if name == LOGGER.name else logging.WARNING)
        logger.propagate = False
