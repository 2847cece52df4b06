"""maps.googleapis.com (the fake Maps JS) and the Street View tile host (PNG tiles, CORS open
like the real ones, so the WebGL upload does not taint the canvas)."""

from __future__ import annotations

from aiohttp import web

from tests.geoguessr_site import pages
from tests.geoguessr_site.runtime import Runtime
from tests.geoguessr_site.tiles import tile_png


def register_maps(app: web.Application, rt: Runtime) -> None:
    async def maps_js(request: web.Request) -> web.StreamResponse:
        text = pages.maps_script(rt.config.timing.tile_stream_s, request.query.get("callback", ""))
        return web.Response(text=text, content_type="text/javascript",
                            headers={"Access-Control-Allow-Origin": "*"})

    app.router.add_get("/maps/api/js", maps_js)


def register_tiles(app: web.Application, rt: Runtime) -> None:
    async def tile(request: web.Request) -> web.StreamResponse:
        q = request.query
        try:
            png = tile_png(q["panoid"], int(q["zoom"]), int(q["x"]), int(q["y"]))
        except (KeyError, ValueError):
            raise web.HTTPNotFound() from None
        return web.Response(body=png, content_type="image/png",
                            headers={"Access-Control-Allow-Origin": "*",
                                     "Cache-Control": "public, max-age=86400"})

    app.router.add_get("/v1/tile", tile)
