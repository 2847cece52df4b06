"""Run the server on its own event loop in a background thread, for synchronous callers.

The arena, the demo and tests that are not async use this; ``stop()`` shuts it down as
gracefully as SIGTERM does (rounds in flight are finished first).

Usage::

    from backend.server import run_server_in_thread
    with run_server_in_thread(predictor, port=0, db_path="scores.sqlite") as handle:
        print(handle.url, handle.token, handle.port)
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Self

from backend.server.app import PigeonServer, PredictorLike, serve


class ThreadedServer:
    """A server running in a daemon thread. Attributes ``server``, ``url``, ``port``,
    ``token``; :meth:`stop` (idempotent) and the context-manager protocol."""

    def __init__(self, predictor: PredictorLike, kwargs: dict[str, Any]) -> None:
        self._predictor, self._kwargs = predictor, kwargs
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.server: PigeonServer | None = None
        self._thread = threading.Thread(target=self._main, name="pigeon-server", daemon=True)

    @property
    def url(self) -> str:
        return self._server().url

    @property
    def port(self) -> int:
        return self._server().port

    @property
    def token(self) -> str:
        return self._server().token

    def _server(self) -> PigeonServer:
        if self.server is None:
            raise RuntimeError("the server is not running")
        return self.server

    def _main(self) -> None:
        asyncio.run(self._amain())

    async def _amain(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            self.server = await serve(self._predictor, **self._kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        await self._stop.wait()
        await self.server.close()

    def start(self, timeout_s: float = 30.0) -> ThreadedServer:
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise TimeoutError(f"the server did not start within {timeout_s:g} s")
        if self._error is not None:
            raise self._error
        return self

    def metrics(self) -> dict[str, Any]:
        """A ``/metrics`` snapshot, taken on the server's loop."""
        assert self._loop is not None
        fut = asyncio.run_coroutine_threadsafe(self._snapshot(), self._loop)
        return fut.result(10)

    async def _snapshot(self) -> dict[str, Any]:
        return self._server().metrics_snapshot()

    def stop(self, timeout_s: float = 60.0) -> None:
        """Shut down gracefully and join the thread."""
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_server_in_thread(predictor: PredictorLike, **kwargs: Any) -> ThreadedServer:
    """Start :func:`backend.server.app.serve` in a background thread and wait until it listens.

    Args:
        predictor: as for :func:`serve`.
        **kwargs: every keyword of :func:`serve` (``host``, ``port``, ``token``,
            ``allowed_origins``, ``db_path``, ``limits``, ``max_batch``, ``max_wait_ms``, ...).

    Returns:
        The running :class:`ThreadedServer` (use it as a context manager or call ``stop()``).

    Raises:
        OSError: the port is taken (any error of ``serve`` is raised here).
    """
    return ThreadedServer(predictor, kwargs).start()
