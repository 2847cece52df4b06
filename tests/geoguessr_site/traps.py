"""The trap-read log: every read of an answer field, with its round and whether our guess of
that round had been registered when it happened.

Two sources feed it. The page's getters (web/traps.js) report each read of
`currentRound.panorama`, `gameState.rounds[*]`, the Street View position getters, tile URLs...
with the page's round and a short stack tag (`source="page"`). The server records every
answer-bearing request that did not come from the page's own client (`source="server"`),
with the rounds whose answers the response held. A read is a violation when it touched a round
whose guess (ours) had not been registered yet.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class TrapRead:
    trap: str
    round: int
    t: float                  # epoch seconds
    before_guess: bool
    source: str               # "page" | "server"
    tag: str                  # a few stack frames (page) or "METHOD host/path" (server)
    planted: bool = False


@dataclass(frozen=True)
class Exposure:
    what: str
    t: float
    detail: str


class TrapLog:
    """Thread-safe: the server thread writes, the test thread reads."""

    def __init__(self, guessed_at: Callable[[int], float | None]) -> None:
        self._guessed_at = guessed_at
        self._reads: list[TrapRead] = []
        self._exposures: list[Exposure] = []
        self._lock = threading.Lock()

    def _before(self, number: int, t: float) -> bool:
        g = self._guessed_at(number)
        return g is None or t < g

    def page_read(self, trap: str, number: int, t: float, tag: str, planted: bool) -> TrapRead:
        read = TrapRead(trap, int(number), t, self._before(int(number), t), "page", tag, planted)
        with self._lock:
            self._reads.append(read)
        return read

    def server_read(self, trap: str, rounds: list[int], t: float, tag: str,
                    planted: bool = False) -> list[TrapRead]:
        """An answer-bearing response left the server for a foreign client: one read per round
        whose answer it held."""
        out = [TrapRead(trap, n, t, self._before(n, t), "server", tag, planted) for n in rounds]
        with self._lock:
            self._reads.extend(out)
        return out

    def exposure(self, what: str, t: float, detail: str) -> None:
        with self._lock:
            self._exposures.append(Exposure(what, t, detail))

    def reads(self) -> list[TrapRead]:
        with self._lock:
            return list(self._reads)

    def violations(self) -> list[TrapRead]:
        return [r for r in self.reads() if r.before_guess]

    def exposures(self) -> list[Exposure]:
        with self._lock:
            return list(self._exposures)
