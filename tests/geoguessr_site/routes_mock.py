"""Mock-only endpoints on www.geoguessr.com (`/__mock/...`): where the page's trap getters and
view telemetry report, where it asks for planted reads, and "play again" (the real request
behind that button is not documented; only its outcome, round 1 on the same URL, is modelled).
"""

from __future__ import annotations

import json
import time

from aiohttp import web

from tests.geoguessr_site.runtime import Runtime


async def _json(request: web.Request) -> dict:
    try:
        data = json.loads(await request.text())
    except ValueError:
        raise web.HTTPBadRequest(text="not JSON") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="not a JSON object")
    return data


def register(app: web.Application, rt: Runtime) -> None:
    async def trap(request: web.Request) -> web.StreamResponse:
        d = await _json(request)
        rt.traps.page_read(str(d.get("trap")), int(d.get("round") or 0),
                           float(d.get("t") or time.time()), str(d.get("tag", ""))[:400],
                           bool(d.get("planted")))
        return web.Response(status=204)

    async def exposure(request: web.Request) -> web.StreamResponse:
        d = await _json(request)
        rt.traps.exposure(str(d.get("what")), float(d.get("t") or time.time()), str(d.get("detail", "")))
        return web.Response(status=204)

    async def pov(request: web.Request) -> web.StreamResponse:
        d = await _json(request)
        with rt.lock:
            rt.pov_log.append({k: d.get(k) for k in ("round", "heading", "pitch", "zoom", "t", "by")})
        return web.Response(status=204)

    async def plant(request: web.Request) -> web.StreamResponse:
        if not rt.is_own(request.headers.get("x-mock-own")):
            raise web.HTTPForbidden()
        names, rt.plant_queue = list(rt.plant_queue), []
        if rt.config.plant_reads and not names and request.query.get("round") not in (None, "1"):
            names = list(rt.config.plant_reads)        # plant_reads=...: at every round start
        return web.json_response({"plant": names})

    async def play_again(request: web.Request) -> web.StreamResponse:
        if not rt.is_own(request.headers.get("x-mock-own")) or rt.classic is None:
            raise web.HTTPForbidden()
        if not rt.classic.finished:
            return web.json_response({"message": "the game is not finished"}, status=400)
        rt.classic.play_again(time.time())
        return web.json_response({"token": rt.classic.token})

    app.router.add_post("/__mock/trap", trap)
    app.router.add_post("/__mock/exposure", exposure)
    app.router.add_post("/__mock/pov", pov)
    app.router.add_get("/__mock/plant", plant)
    app.router.add_post("/__mock/play-again", play_again)
