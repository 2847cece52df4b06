"""The server's bridge to the score log: every SQLite call in one dedicated thread.

The event loop never waits on the disk: each call is handed to a single-thread executor
(SQLite connections like one thread, and one writer keeps the per-round transactions in
order). What a failure means, call by call:

- a guess that cannot be stored (disk full, the file locked beyond the busy timeout) does
  not stop the game: :meth:`ScoreWriter.log_guess` returns False and the guess goes out
  with ``logged: false``;
- a result is acknowledged only once it is stored: :meth:`ScoreWriter.log_result` raises
  ``storage_failed`` otherwise, and the client keeps the result and sends it again later.

The writer never queues without bound: with ``max_backlog`` calls already waiting for the
disk, new calls fail at once instead of waiting their turn behind a stuck file.

Usage::

    writer = await ScoreWriter.open("scores.sqlite", metrics)
    session = await writer.start_session(hello, model_id)
    stored = await writer.log_guess(round_msg, guess_msg, session)   # True / False
    await writer.log_result(result_msg)   # ProtocolError: unknown_round, duplicate_round,
    await writer.close()                  #   bad_message, storage_failed
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sqlite3
from pathlib import Path
from typing import Any

from backend.core import protocol as p
from backend.core.protocol import ProtocolError
from backend.server.events import log_event
from backend.server.metrics import Metrics

SERVER_BUSY_TIMEOUT_S = 2.5
"""How long a server write waits for another process's lock (the guess waits on it)."""
MAX_BACKLOG = 16
"""Calls waiting for the writer thread beyond which new calls fail at once."""


class StorageError(Exception):
    """The score log could not store a row now (disk full, locked, read-only, backlog)."""


class ScoreWriter:
    """Async, single-threaded access to a :class:`backend.scorelog.ScoreLog`."""

    def __init__(self, log: Any, executor: concurrent.futures.ThreadPoolExecutor,
                 metrics: Metrics, *, max_backlog: int = MAX_BACKLOG) -> None:
        self._log, self._executor, self._metrics = log, executor, metrics
        self.max_backlog = max_backlog
        self.backlog = 0

    @classmethod
    async def open(cls, path: str | Path, metrics: Metrics, *,
                   busy_timeout_s: float = SERVER_BUSY_TIMEOUT_S) -> ScoreWriter:
        """Open (create or migrate) the score log in the writer thread.

        Raises:
            SchemaError: the file is not a score log this version can write.
        """
        from backend.scorelog.db import ScoreLog

        executor = concurrent.futures.ThreadPoolExecutor(max_workers=1,
                                                         thread_name_prefix="pigeon-db")
        loop = asyncio.get_running_loop()
        try:
            log = await loop.run_in_executor(
                executor, lambda: ScoreLog(path, busy_timeout_s=busy_timeout_s))
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(log, executor, metrics)

    async def _call(self, what: str, fn: Any, **kwargs: Any) -> Any:
        """Run ``fn(**kwargs)`` in the writer thread.

        Raises:
            StorageError: the write failed for a reason of the file or the disk (counted
                in ``db_errors`` and logged); the score log's own refusals
                (ValueError, LookupError, ResultConflictError) pass through unchanged.
        """
        if self.backlog >= self.max_backlog:
            self._failed(what, f"{self.backlog} writes are already waiting for the disk")
        loop = asyncio.get_running_loop()
        self.backlog += 1
        try:
            return await loop.run_in_executor(self._executor, lambda: fn(**kwargs))
        except (sqlite3.Error, OSError, UnicodeError, MemoryError) as exc:
            self._failed(what, f"{type(exc).__name__}: {exc}")
        finally:
            self.backlog -= 1

    def _failed(self, what: str, why: str) -> None:
        self._metrics.db_errors += 1
        log_event("db_error", call=what, error=why[:300])
        raise StorageError(why)

    async def start_session(self, hello: p.Hello, model_id: str) -> int | None:
        """Record a connection; its id, or None if the write failed (the game goes on)."""
        try:
            return await self._call("start_session", self._log.start_session,
                                    client_kind=hello.client.kind,
                                    client_version=hello.client.version, model_id=model_id,
                                    note=hello.client.name)
        except (StorageError, ValueError):
            return None

    async def log_guess(self, msg: p.Round, g: p.GuessMessage, session: int | None) -> bool:
        """Write the round and its guess (one transaction).

        Returns:
            True when the row is stored; False when it could not be (logged and counted):
            the guess then tells the client ``logged: false``.
        """
        try:
            await self._call(
                "log_guess", self._log.log_guess, round_id=msg.round_id, source=msg.source,
                lat=g.lat, lng=g.lng, session_id=session, mode=msg.mode, map=msg.map,
                game_id=msg.game_id, round_number=msg.round_number,
                projected_score=g.projected_score, confidence=g.confidence,
                country=g.country, latency_ms=g.latency_ms, model_id=g.model_id,
                n_views=len(msg.views))
        except StorageError:
            return False
        except ValueError as exc:   # a value the score log refuses: a server-side bug
            self._metrics.db_errors += 1
            log_event("db_error", call="log_guess", error=str(exc)[:300],
                      round_id=msg.round_id)
            return False
        return True

    async def log_result(self, msg: p.Result) -> None:
        """Complete the round's row with its result; returns only once it is stored.

        Raises:
            ProtocolError: ``unknown_round`` (no guess was logged for this id),
                ``duplicate_round`` (the round already holds other values for some fields:
                they keep them, the rest of this result is stored),
                ``bad_message`` (a value the score log refuses) or ``storage_failed``
                (not stored now; the client should send it again later).
        """
        from backend.scorelog.db import ResultConflictError

        truth = msg.truth
        opp = msg.opponent or p.Opponent()
        try:
            await self._call(
                "log_result", self._log.log_result, round_id=msg.round_id,
                truth_lat=None if truth is None else truth.lat,
                truth_lng=None if truth is None else truth.lng, score=msg.score,
                distance_km=msg.distance_km, opponent_lat=opp.lat, opponent_lng=opp.lng,
                opponent_score=opp.score)
        except LookupError:
            raise ProtocolError("unknown_round", f"no guess was logged for round "
                                f"{msg.round_id} (its guess said logged: false, or this "
                                "server never answered it); the result cannot be stored",
                                round_id=msg.round_id) from None
        except ResultConflictError as exc:
            raise ProtocolError("duplicate_round", f"{exc}; send one result per round",
                                round_id=msg.round_id) from None
        except ValueError as exc:
            raise ProtocolError("bad_message", str(exc)[:300], round_id=msg.round_id) from None
        except StorageError as exc:
            raise ProtocolError("storage_failed", f"the score log could not store the "
                                f"result of {msg.round_id} ({str(exc)[:200]}); it was not "
                                "stored: keep it and send it again later",
                                round_id=msg.round_id) from None

    async def close(self) -> None:
        """Close the database (after the writes queued before) and stop the thread."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._log.close)
        except sqlite3.Error as exc:    # a full disk may refuse the last checkpoint
            log_event("db_error", call="close", error=str(exc)[:300])
        self._executor.shutdown(wait=True)
