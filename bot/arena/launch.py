"""Start the arena (and, for the bot, the backend) from Python: for tests, benchmarks, the demo.

:func:`start_arena` runs the arena in this process (its own event loop in a thread) or as a
``pigeon arena`` subprocess; :func:`start_backend` runs ``pigeon serve`` on a model bundle as
a subprocess and reads its URL and pairing token. Both return handles with ``stop()`` and are
context managers.

Usage::

    with start_backend("bundles/tiny") as backend, \\
         start_arena("synth/test.csv", bot_url=backend.url, bot_token=backend.token) as arena:
        print(arena.url)           # http://127.0.0.1:PORT/
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from backend.server.auth import new_token
from backend.server.cli import TOKEN_ENV
from bot.arena.dataset import ArenaDataset


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, *, timeout_s: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    """Wait until ``url`` answers HTTP (any status). Raises RuntimeError on timeout/exit."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the process serving {url} exited with code {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1.0).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s")


@dataclass
class RunningArena:
    """A started arena: ``url`` (with trailing slash), ``hub`` (in-process only), ``stop()``."""

    url: str
    port: int
    hub: Any = None
    proc: subprocess.Popen | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: Any = None
    requests: list[dict[str, Any]] = field(default_factory=list)

    def call(self, coro_fn: Any, *args: Any) -> Any:
        """Run ``coro_fn(*args)`` (or a plain function) on the arena's loop and return its result."""
        assert self._loop is not None, "only an in-process arena runs code on its loop"

        async def run() -> Any:
            out = coro_fn(*args)
            return await out if asyncio.iscoroutine(out) else out

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(30)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self._loop is not None and self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(15)
            self._loop.call_soon_threadsafe(self._loop.stop)
            assert self._thread is not None
            self._thread.join(10)
            self._loop = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_arena(dataset: str | Path | ArenaDataset, *, port: int = 0, bot_url: str | None = None,
                bot_token: str | None = None, log_dir: Path | None = None,
                in_process: bool = True, record_requests: bool = False,
                result_timeout_s: float = 60.0, baseline_delay_s: float = 1.0,
                experiment: Path | None = None) -> RunningArena:
    """Start the arena on ``dataset`` and wait until it answers.

    Args:
        dataset: generic-layout CSV (or a loaded dataset, in-process only).
        port: TCP port on 127.0.0.1; 0 picks a free one.
        bot_url, bot_token: the backend for the "bot" opponent (see :func:`start_backend`).
        log_dir: game logs (None: a fresh temporary directory).
        in_process: True: a thread of this process (``.hub`` gives the live games);
            False: a ``pigeon arena`` subprocess.
        record_requests: keep every HTTP request's method, path, origin and referer in
            ``.requests`` (in-process only; the "pixels only" test reads it).
        experiment: an experiment directory: the arena runs that blind study.

    Raises:
        bot.arena.dataset.DatasetError: unusable dataset (in-process); RuntimeError: the
            subprocess did not come up.
    """
    import tempfile

    port = port or free_port()
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="pigeon-arena-logs-"))
    url = f"http://127.0.0.1:{port}/"
    if not in_process:
        cmd = [sys.executable, "-m", "bot", "arena", "--data", str(dataset), "--port", str(port),
               "--log-dir", str(log_dir), "--baseline-delay", str(baseline_delay_s)]
        if experiment is not None:
            cmd += ["--experiment", str(experiment)]
        env = {**os.environ, "PIGEON_QUIET": "1"}
        if bot_url:
            cmd += ["--bot-url", bot_url]
            env[TOKEN_ENV] = bot_token or ""     # never on the command line (see start_backend)
        proc = subprocess.Popen(cmd, env=env)
        try:
            wait_http(url + "api/info", proc=proc)
        except RuntimeError:
            proc.kill()
            raise
        return RunningArena(url, port, proc=proc)

    from aiohttp import web

    from bot.arena.api import HUB
    from bot.arena.app import ArenaConfig, make_app

    app = make_app(ArenaConfig(dataset=dataset, port=port, bot_url=bot_url, bot_token=bot_token,
                               log_dir=log_dir, result_timeout_s=result_timeout_s,
                               baseline_delay_s=baseline_delay_s, experiment=experiment))
    arena = RunningArena(url, port, hub=app[HUB])
    if record_requests:
        @web.middleware
        async def record(request: web.Request, handler: Any) -> web.StreamResponse:
            arena.requests.append({"t": time.monotonic(), "method": request.method,
                                   "path": request.path,
                                   "origin": request.headers.get("Origin", ""),
                                   "referer": request.headers.get("Referer", ""),
                                   "client": request.headers.get("X-Pigeon-Client", ""),
                                   "fetch_site": request.headers.get("Sec-Fetch-Site", "")})
            return await handler(request)
        app.middlewares.insert(0, record)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failure: list[BaseException] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        try:
            runner = web.AppRunner(app, handle_signals=False, access_log=None)
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
            arena._runner = runner
        except BaseException as exc:  # noqa: BLE001 - hand any failure to the caller's thread
            failure.append(exc)
            ready.set()
            return
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name=f"arena:{port}", daemon=True)
    thread.start()
    ready.wait(30)
    if failure:
        raise RuntimeError(f"the arena could not start on port {port}: {failure[0]}")
    arena._loop, arena._thread = loop, thread
    return arena


@dataclass
class RunningBackend:
    """A ``pigeon serve`` subprocess: ``url`` (ws://), ``token``, ``stop()``."""

    url: str
    token: str
    port: int
    proc: subprocess.Popen

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_backend(bundle: str | Path, *, port: int = 0, token: str | None = None,
                  extra_args: list[str] | None = None, timeout_s: float = 120.0
                  ) -> RunningBackend:
    """Run ``pigeon serve`` on a model bundle and wait until its ``/healthz`` answers.

    Raises:
        RuntimeError: the server exited or did not come up in time.
    """
    port = port or free_port()
    token = token or new_token()
    # the token goes through the environment: a command line is world-readable in /proc
    env = {**os.environ, TOKEN_ENV: token, "PIGEON_QUIET": "1"}
    cmd = [sys.executable, "-m", "bot", "serve", "--model", str(bundle), "--port", str(port),
           *(extra_args or [])]
    proc = subprocess.Popen(cmd, env=env)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout_s=timeout_s, proc=proc)
    except RuntimeError:
        proc.kill()
        raise
    return RunningBackend(f"ws://127.0.0.1:{port}/", token, port, proc)
