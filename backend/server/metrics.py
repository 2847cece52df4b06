"""Server counters for ``/metrics`` and ``/healthz``: rounds, latency percentiles, batches.

In-memory only; one instance per server, touched from the event loop thread alone.

Usage::

    m = Metrics()
    m.round_served(latency_ms=12.0)
    m.snapshot(queue_depth=0, clients=1, in_flight=0)   # JSON-ready dict
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import numpy as np

LATENCY_WINDOW = 2048
"""Percentiles are over the most recent rounds (this many)."""


class Metrics:
    """Counters and a rolling window of round latencies."""

    def __init__(self) -> None:
        self.started = time.time()
        self.rounds_served = 0
        self.results_logged = 0
        self.errors: dict[str, int] = {}
        self.connections_total = 0
        self.connections_refused = 0
        self.batches = 0
        self.batched_rounds = 0
        self.max_batch_seen = 0
        self.db_errors = 0
        self.unpaired_dropped = 0      # silent sockets dropped to make room for new ones
        self.clients_dropped = 0       # clients aborted because they stopped reading
        self._latency: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._served_at: deque[float] = deque(maxlen=LATENCY_WINDOW)

    def round_served(self, latency_ms: float) -> None:
        self.rounds_served += 1
        self._latency.append(latency_ms)
        self._served_at.append(time.monotonic())

    def error(self, code: str) -> None:
        self.errors[code] = self.errors.get(code, 0) + 1

    def batch(self, size: int) -> None:
        self.batches += 1
        self.batched_rounds += size
        self.max_batch_seen = max(self.max_batch_seen, size)

    def latency_percentiles(self) -> dict[str, float] | None:
        """p50 / p95 / p99 / max of the recent round latencies in ms (None before any)."""
        if not self._latency:
            return None
        a = np.fromiter(self._latency, dtype=np.float64)
        p50, p95, p99 = np.percentile(a, [50, 95, 99])
        return {"p50": float(p50), "p95": float(p95), "p99": float(p99),
                "max": float(a.max()), "n": int(a.size)}

    def rounds_per_s(self, window_s: float = 60.0) -> float:
        """Rounds served per second over the last ``window_s`` seconds."""
        now = time.monotonic()
        recent = sum(1 for t in self._served_at if now - t <= window_s)
        span = min(window_s, max(now - (self._served_at[0] if self._served_at else now), 1e-9))
        return recent / span if recent else 0.0

    def snapshot(self, **gauges: Any) -> dict[str, Any]:
        """Everything as a JSON-ready dict; ``gauges`` (queue depth, clients, ...) added."""
        return {
            "uptime_s": round(time.time() - self.started, 3),
            "rounds_served": self.rounds_served,
            "results_logged": self.results_logged,
            "rounds_per_s_60s": round(self.rounds_per_s(), 3),
            "latency_ms": self.latency_percentiles(),
            "batches": self.batches,
            "mean_batch_size": (self.batched_rounds / self.batches) if self.batches else None,
            "max_batch_size": self.max_batch_seen,
            "errors": dict(self.errors),
            "connections_total": self.connections_total,
            "connections_refused": self.connections_refused,
            "db_errors": self.db_errors,
            "unpaired_dropped": self.unpaired_dropped,
            "clients_dropped": self.clients_dropped,
            **gauges,
        }
