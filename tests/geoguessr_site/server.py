"""The mock's HTTPS server: one aiohttp app, one sub-app per host, run in its own thread.

Every request is logged (`own` = sent by the page's own client, which marks its requests with
the per-load marker the page was given). The API hosts want the `_ncfa` session cookie (the
legacy host "answers 401 (not 404) ... without cookies", rashinban2026-scripts
pinpointing-duels-userscripts.md) and answer the page's cross-origin calls with credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
import time

from aiohttp import web

from tests.geoguessr_site import (
    routes_game_server,
    routes_google,
    routes_gs2,
    routes_mock,
    routes_www,
)
from tests.geoguessr_site.duel_runtime import DuelRuntime
from tests.geoguessr_site.hosts import GAME_SERVER, GS2, MAPS, TILES, WWW
from tests.geoguessr_site.runtime import Runtime

CORS_HOSTS = (GS2, GAME_SERVER)
SITE_ORIGIN = f"https://{WWW}"


def _cors(request: web.Request, res: web.StreamResponse) -> None:
    origin = request.headers.get("Origin")
    if origin == SITE_ORIGIN:
        res.headers["Access-Control-Allow-Origin"] = origin
        res.headers["Access-Control-Allow-Credentials"] = "true"
        res.headers["Vary"] = "Origin"


def build_app(rt: Runtime) -> web.Application:
    @web.middleware
    async def gate(request: web.Request, handler):
        host = request.host.split(":")[0].lower()
        own = rt.is_own(request.headers.get("x-mock-own")) or rt.is_own(request.query.get("tabId"))
        entry = {"t": time.time(), "host": host, "method": request.method, "path": request.path,
                 "own": own, "status": None}
        rt.log_request(entry)
        if request.method == "OPTIONS" and host in CORS_HOSTS:
            res = web.Response(status=204, headers={
                "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                "Access-Control-Allow-Headers": request.headers.get(
                    "Access-Control-Request-Headers", "content-type"),
                "Access-Control-Max-Age": "600"})
            _cors(request, res)
            entry["status"] = 204
            return res
        needs_session = host in CORS_HOSTS or (host == WWW and request.path.startswith("/api/"))
        if needs_session and "_ncfa" not in request.cookies:
            res = web.json_response({"message": "Unauthorized"}, status=401)
        else:
            try:
                res = await handler(request)
            except web.HTTPException as e:
                res = e
        entry["status"] = res.status
        if host in CORS_HOSTS and not isinstance(res, web.WebSocketResponse):
            _cors(request, res)
        if isinstance(res, web.HTTPException):
            raise res
        return res

    root = web.Application(middlewares=[gate])
    www, gs2, game_server, maps, tiles = (web.Application() for _ in range(5))
    routes_www.register(www, rt)
    routes_mock.register(www, rt)
    routes_gs2.register(gs2, rt)
    routes_game_server.register(game_server, rt)
    routes_google.register_maps(maps, rt)
    routes_google.register_tiles(tiles, rt)
    for host, sub in ((WWW, www), (GS2, gs2), (GAME_SERVER, game_server), (MAPS, maps), (TILES, tiles)):
        root.add_domain(host, sub)
    return root


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerThread:
    """Runs the app on 127.0.0.1:``port`` (HTTPS) in a daemon thread with its own event loop."""

    def __init__(self, rt: Runtime, ssl_context: ssl.SSLContext, port: int | None = None) -> None:
        self.rt = rt
        self.port = port or free_port()
        self.loop = asyncio.new_event_loop()
        self._ssl = ssl_context
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._run, name="mock-geoguessr", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._start())
        except BaseException as e:  # noqa: BLE001 - reported to the starting thread
            self._error = e
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()
        for task in asyncio.all_tasks(self.loop):
            task.cancel()
        self.loop.run_until_complete(self._runner.cleanup())
        self.loop.close()

    async def _start(self) -> None:
        if self.rt.config.mode in ("duels", "team-duels", "party"):
            self.rt.duel = DuelRuntime(self.rt)
        self._runner = web.AppRunner(build_app(self.rt), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=self._ssl).start()

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise RuntimeError(f"the mock site did not start: {self._error}") from self._error

    def call(self, fn, *args, timeout_s: float = 10.0):
        """Run ``fn(*args)`` on the server loop and return its result (once the server has
        stopped, here: nothing changes the state any more)."""
        if not self._thread.is_alive():
            return fn(*args)

        async def run():
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout_s)

    def stop(self) -> None:
        if self.loop.is_running():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
