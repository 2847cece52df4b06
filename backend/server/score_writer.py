"""The server's bridge to the score log: every SQLite call in one dedicated thread.

The event loop never waits on the disk: each call is handed to a single-thread executor
(SQLite connections like one thread, and one writer keeps the per-round transactions in
order). A failing disk does not stop the game: the error is logged and counted, and the
guess is still sent.

Usage::

    writer = await ScoreWriter.open("scores.sqlite", metrics)
    session = await writer.start_session(hello, model_id)
    await writer.log_guess(round_msg, guess_msg, session)
    await writer.log_result(result_msg)        # ProtocolError unknown_round / bad_message
    await writer.close()
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from pathlib import Path
from typing import Any

from backend.core import protocol as p
from backend.core.protocol import ProtocolError
from backend.server.events import log_event
from backend.server.metrics import Metrics


class ScoreWriter:
    """Async, single-threaded access to a :class:`backend.scorelog.ScoreLog`."""

    def __init__(self, log: Any, executor: concurrent.futures.ThreadPoolExecutor,
                 metrics: Metrics) -> None:
        self._log, self._executor, self._metrics = log, executor, metrics

    @classmethod
    async def open(cls, path: str | Path, metrics: Metrics) -> ScoreWriter:
        """Open (create or migrate) the score log in the writer thread.

        Raises:
            SchemaError: the file is not a score log this version can write.
        """
        from backend.scorelog.db import ScoreLog

        executor = concurrent.futures.ThreadPoolExecutor(max_workers=1,
                                                         thread_name_prefix="pigeon-db")
        loop = asyncio.get_running_loop()
        try:
            log = await loop.run_in_executor(executor, ScoreLog, path)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(log, executor, metrics)

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))
        except (ValueError, LookupError):
            raise
        except Exception as exc:  # noqa: BLE001 - a full disk must not stop the game
            self._metrics.db_errors += 1
            log_event("db_error", error=f"{type(exc).__name__}: {exc}"[:300])
            return None

    async def start_session(self, hello: p.Hello, model_id: str) -> int | None:
        """Record a connection; its id, or None if the write failed."""
        return await self._call(self._log.start_session, client_kind=hello.client.kind,
                                client_version=hello.client.version, model_id=model_id,
                                note=hello.client.name)

    async def log_guess(self, msg: p.Round, g: p.GuessMessage, session: int | None) -> None:
        """Write the round and its guess (one transaction); failures are logged, not raised."""
        try:
            await self._call(
                self._log.log_guess, round_id=msg.round_id, source=msg.source, lat=g.lat,
                lng=g.lng, session_id=session, mode=msg.mode, map=msg.map,
                game_id=msg.game_id, round_number=msg.round_number,
                projected_score=g.projected_score, confidence=g.confidence,
                country=g.country, latency_ms=g.latency_ms, model_id=g.model_id,
                n_views=len(msg.views))
        except ValueError as exc:
            self._metrics.db_errors += 1
            log_event("db_error", error=str(exc)[:300], round_id=msg.round_id)

    async def log_result(self, msg: p.Result) -> bool:
        """Complete the round's row with its result.

        Returns:
            True when the row was written, False when the write failed (logged and counted).

        Raises:
            ProtocolError: ``unknown_round`` (no guess was logged for this id) or
                ``bad_message`` (a value the score log refuses).
        """
        truth = msg.truth
        opp = msg.opponent or p.Opponent()
        try:
            row = await self._call(
                self._log.log_result, msg.round_id,
                truth_lat=None if truth is None else truth.lat,
                truth_lng=None if truth is None else truth.lng, score=msg.score,
                distance_km=msg.distance_km, opponent_lat=opp.lat, opponent_lng=opp.lng,
                opponent_score=opp.score)
        except LookupError:
            raise ProtocolError("unknown_round", f"no guess was logged for round "
                                f"{msg.round_id}; send results only for rounds this server "
                                "answered", round_id=msg.round_id) from None
        except ValueError as exc:
            raise ProtocolError("bad_message", str(exc)[:300], round_id=msg.round_id) from None
        return row is not None

    async def close(self) -> None:
        """Close the database (after the writes queued before) and stop the thread."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._log.close)
        self._executor.shutdown(wait=True)
