"""game-server.geoguessr.com: the legacy duels archive. It stays stale (status Created,
version 0) during a live game and is complete once the game is finished; a legacy POST
answers 200 and changes nothing on the live node (rashinban2026-scripts
docs/geoguessr/samples/player-tie-range/README.md). Reads by anyone are answer reads.
"""

from __future__ import annotations

import time

from aiohttp import web

from tests.geoguessr_site.runtime import Runtime


def register(app: web.Application, rt: Runtime) -> None:
    cfg = rt.config

    async def archive(request: web.Request) -> web.StreamResponse:
        if cfg.mode not in ("duels", "team-duels", "party") or request.match_info["game"] != cfg.game_id:
            raise web.HTTPNotFound()
        state = rt.duel.archive()
        rt.server_trap(request, "archive.duels", [r["roundNumber"] for r in state["rounds"]])
        return web.json_response(state)

    async def legacy_post(request: web.Request) -> web.StreamResponse:
        rt.traps.exposure("legacy-duels-post", time.time(), f"POST game-server{request.path}")
        return web.json_response({})

    app.router.add_get("/api/duels/{game}", archive)
    app.router.add_post("/api/duels/{game}/{action}", legacy_post)
