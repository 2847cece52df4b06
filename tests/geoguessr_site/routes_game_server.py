"""game-server.geoguessr.com: the legacy duels archive, and battle royale.

Battle royale: only the routes are evidenced (Orlando-PB/OGGS core/game.js maps
`/battle-royale/<id>` to `game-server.geoguessr.com/api/battle-royale/<id>`; an older public
script POSTs `{lat, lng, roundNumber}` to `.../guess`). The JSON below is this mock's own
minimal shape (round answers inside, like every game API), not a capture. A round ends
`timing.result_s` after our guess, then the next one opens.

The legacy duels archive: It stays stale (status Created,
version 0) during a live game and is complete once the game is finished; a legacy POST
answers 200 and changes nothing on the live node (rashinban2026-scripts
docs/geoguessr/samples/player-tie-range/README.md). Reads by anyone are answer reads.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from tests.geoguessr_site.runtime import Runtime, read_latlng


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

    def br_state() -> dict:
        g = rt.classic
        return {"gameId": g.token, "status": "Finished" if g.finished else "Ongoing",
                "isCountries": cfg.br_variant == "countries", "currentRoundNumber": g.round,
                "rounds": [{"roundNumber": i + 1, "panorama": {"panoId": r["panoId"], "lat": r["lat"],
                                                                "lng": r["lng"], "heading": r["heading"]}}
                           for i, r in enumerate(g.rounds)],
                "guesses": [{"roundNumber": x.round, "lat": x.lat, "lng": x.lng,
                             "distance": x.distance, "score": x.score} for x in g.guesses]}

    def br_game(request: web.Request):
        if cfg.mode != "battle-royale" or request.match_info["game"] != cfg.game_id:
            raise web.HTTPNotFound()
        return rt.classic

    async def br_get(request: web.Request) -> web.StreamResponse:
        g = br_game(request)
        if not rt.own(request):
            rt.server_trap(request, "api.battle-royale", list(range(1, len(g.rounds) + 1)))
        return web.json_response(br_state())

    async def br_guess(request: web.Request) -> web.StreamResponse:
        g = br_game(request)
        lat, lng = await read_latlng(request)
        error = rt.classic_guess(lat, lng, "page" if rt.own(request) else "external")
        if error:
            return web.json_response({"message": error}, status=400)
        asyncio.get_running_loop().call_later(cfg.timing.result_s, lambda: g.next_round(time.time()))
        return web.json_response({"ok": True})

    app.router.add_get("/api/battle-royale/{game}", br_get)
    app.router.add_post("/api/battle-royale/{game}/guess", br_guess)
    app.router.add_get("/api/duels/{game}", archive)
    app.router.add_post("/api/duels/{game}/{action}", legacy_post)
