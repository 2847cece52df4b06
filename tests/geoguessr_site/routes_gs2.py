"""gs2.geoguessr.com: the live duel node (`/<node>/<game>`), as rashinban2026-scripts
documents it: an HTTP snapshot (`GET /<node>/<game>`, `/reconnect`), pins and guesses POSTed to
`/pin` and `/guess` (a public local game-server emulator serves exactly these two; a 2026
userscript notes team duels guess at `gs2.geoguessr.com/<node>/<game>/guess`), and the game
socket `/<node>/<game>/ws` (`SubscribeToLobby`, then whole-state `Duel*` messages; a
`DuelStarted` snapshot to every client that (re)connects). Anything but the page's own client
that receives the state is a trap read: it holds the round's answer.
"""

from __future__ import annotations

import json
import time

from aiohttp import WSMsgType, web

from tests.geoguessr_site.duel_runtime import DuelRuntime
from tests.geoguessr_site.runtime import Runtime, read_latlng


def register(app: web.Application, rt: Runtime) -> None:
    cfg = rt.config

    def duel(request: web.Request) -> DuelRuntime:
        m = request.match_info
        if cfg.mode not in ("duels", "team-duels", "party") or m["node"] != cfg.node_id \
                or m["game"] != cfg.game_id:
            raise web.HTTPNotFound(text=json.dumps({"message": "No such game on this node"}),
                                   content_type="application/json")
        return rt.duel

    async def state(request: web.Request) -> web.StreamResponse:
        d = duel(request)
        d.ensure_started()
        if not rt.own(request):
            rt.server_trap(request, "gs2.state", d.rounds_held())
        return web.json_response(d.game.state())

    async def pin(request: web.Request) -> web.StreamResponse:
        d = duel(request)
        lat, lng = await read_latlng(request)
        try:
            d.pin(lat, lng)
        except ValueError as e:
            return web.json_response({"message": str(e)}, status=409)
        return web.Response(status=204)

    async def guess(request: web.Request) -> web.StreamResponse:
        d = duel(request)
        lat, lng = await read_latlng(request)
        try:
            d.guess(lat, lng, "page" if rt.own(request) else "external")
        except ValueError as e:
            return web.json_response({"message": str(e)}, status=409)
        return web.json_response(d.game.state() if rt.own(request) else {"ok": True})

    async def socket(request: web.Request) -> web.StreamResponse:
        d = duel(request)
        is_own = rt.is_own(request.query.get("tabId"))
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                data = json.loads(msg.data)
            except ValueError:
                continue
            if data.get("code") == "SubscribeToLobby":
                d.ensure_started()
                d.sockets.append((ws, is_own))
                if not is_own:
                    rt.traps.server_read("gs2.ws", d.rounds_held(), time.time(), "WS DuelStarted")
                await ws.send_str(json.dumps(d.message("DuelStarted")))
        return ws

    app.router.add_get("/{node}/{game}", state)
    app.router.add_get("/{node}/{game}/reconnect", state)
    app.router.add_post("/{node}/{game}/pin", pin)
    app.router.add_post("/{node}/{game}/guess", guess)
    app.router.add_get("/{node}/{game}/ws", socket)
