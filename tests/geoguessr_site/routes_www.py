"""www.geoguessr.com: the game pages and the site API the pages use.

`/api/v3/games/<token>` holds the current round's answer before the guess: answered to the
page's own client silently, to anyone else as a trap read. A classic guess POSTed by anyone
but the page is recorded and applied, and the page is never told (its UI stays on the round).
"""

from __future__ import annotations

import json
import time

from aiohttp import web

from tests.geoguessr_site import pages
from tests.geoguessr_site.runtime import Runtime, read_latlng

SESSION_COOKIE = "_ncfa"


def _tag(request: web.Request) -> str:
    return f"{request.method} {request.host.split(':')[0]}{request.path_qs}"


def register(app: web.Application, rt: Runtime) -> None:
    cfg = rt.config

    async def page(request: web.Request) -> web.StreamResponse:
        locale = request.match_info.get("locale")
        if locale not in (None, "de", "ja", "pt-BR", "en"):
            raise web.HTTPNotFound()
        lang = locale or "en"
        boot = {"mode": cfg.mode, "gameId": cfg.game_id, "challengeToken": cfg.challenge_token,
                "partyCode": cfg.party_code, "nonce": rt.new_nonce(), "lang": lang,
                "texts": pages.TEXTS.get(lang, pages.TEXTS["en"]),
                "userId": None if cfg.guest else cfg.user_id,
                "scoreCountMs": round(cfg.timing.score_count_s * 1000)}
        account = {} if cfg.guest else {"account": {"user": {"userId": cfg.user_id, "nick": "pigeon-test"}}}
        next_data = {"props": {"pageProps": {}, "accountProps": account}, "page": request.path,
                     "query": {}, "buildId": "mock-build", "locale": lang}
        body = pages.page_html(title=cfg.mode.replace("-", " ").title(), lang=lang, boot=boot,
                               next_data=next_data)
        res = web.Response(text=body, content_type="text/html")
        if SESSION_COOKIE not in request.cookies:
            res.set_cookie(SESSION_COOKIE, "mock-session", domain=".geoguessr.com", path="/",
                           secure=True, httponly=True, samesite="Lax")
        return res

    for pattern in ("/game/{id}", "/challenge/{id}", "/duels/{id}", "/team-duels/{id}",
                    "/party/lobby/{id}", "/battle-royale/{id}"):
        app.router.add_get(pattern, page)
        app.router.add_get("/{locale}" + pattern, page)

    async def react(request: web.Request) -> web.StreamResponse:
        path = pages.REACT_FILES[request.match_info["name"]]
        return web.Response(body=path.read_bytes(), content_type="application/javascript")

    app.router.add_get("/_next/static/chunks/{name:react(?:-dom)?\\.js}", react)

    # --- classic and challenge ---------------------------------------------------------------
    def game_or_404(token: str):
        if rt.classic is None or token != rt.classic.token:
            raise web.HTTPNotFound(text=json.dumps({"message": "Game not found"}),
                                   content_type="application/json")
        return rt.classic

    def answer_read(request: web.Request, trap: str) -> None:
        """A foreign client got the game JSON: a read of every round whose answer it held."""
        rt.server_trap(request, trap, list(range(1, len(rt.classic.rounds) + 1)))

    async def game_get(request: web.Request) -> web.StreamResponse:
        g = game_or_404(request.match_info["token"])
        if rt.own(request):
            g.next_round(time.time())
        else:
            answer_read(request, "api.v3.games")
        return web.json_response(g.state())

    async def game_guess(request: web.Request) -> web.StreamResponse:
        g = game_or_404(request.match_info["token"])
        lat, lng = await read_latlng(request)
        via = "page" if rt.own(request) else "external"
        error = rt.classic_guess(lat, lng, via)
        if error:
            return web.json_response({"message": error}, status=400)
        if via == "external":   # the response carries the game (and the next round's answer)
            rt.traps.exposure("api.v3.games-guess-response", time.time(), _tag(request))
        return web.json_response(g.state())

    app.router.add_get("/api/v3/games/{token}", game_get)
    app.router.add_post("/api/v3/games/{token}", game_guess)

    async def challenge_info(request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != cfg.challenge_token or cfg.mode != "challenge":
            raise web.HTTPNotFound()
        return web.json_response({"token": cfg.challenge_token, "name": "Mock challenge",
                                  "map": "mock-world", "mapName": "A Mock World",
                                  "mode": "standard", "timeLimit": 0, "forbidMoving": cfg.nmpz,
                                  "forbidZooming": cfg.nmpz, "forbidRotating": cfg.nmpz,
                                  "rounds": cfg.rounds,
                                  "creator": {"id": "5f98ae9e94816c000199aee4", "nick": "Creator"}})

    async def challenge_game(request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != cfg.challenge_token or cfg.mode != "challenge":
            raise web.HTTPNotFound()
        if not rt.own(request):
            answer_read(request, "api.v3.challenges.game")
        return web.json_response(rt.classic.state())

    app.router.add_get("/api/v3/challenges/{token}", challenge_info)
    app.router.add_post("/api/v3/challenges/{token}", challenge_game)
    app.router.add_get("/api/v3/challenges/{token}/game", challenge_game)

    # --- identity, party, phonebook ------------------------------------------------------------
    async def profile(request: web.Request) -> web.StreamResponse:
        if cfg.guest:
            return web.json_response({"message": "Unauthorized"}, status=401)
        return web.json_response({"user": {"id": cfg.user_id, "nick": "pigeon-test"}})

    async def guest_id(request: web.Request) -> web.StreamResponse:
        if not cfg.guest:
            return web.json_response({"message": "Not a guest"}, status=404)
        return web.json_response({"id": cfg.guest_id})

    async def party_active(request: web.Request) -> web.StreamResponse:
        if cfg.mode != "party":
            return web.Response(status=204)
        now = time.time()
        if rt.party_polled_at is None:
            rt.party_polled_at = now
        ongoing = now - rt.party_polled_at >= cfg.timing.party_wait_s
        return web.json_response({"partyId": cfg.party_id, "lobbyId": cfg.game_id if ongoing else None,
                                  "gameState": "Ongoing" if ongoing else "NoGame",
                                  "gameType": "Duels", "owner": {"userId": cfg.user_id},
                                  "gameSettings": {"forbidMoving": cfg.nmpz, "forbidZooming": cfg.nmpz,
                                                   "forbidRotating": cfg.nmpz, "timeAfterGuess": 15,
                                                   "initialHealth": 6000, "roundCount": cfg.rounds}})

    async def phonebook(request: web.Request) -> web.StreamResponse:
        gid = request.match_info["game"]
        if cfg.mode not in ("duels", "team-duels", "party") or gid != cfg.game_id:
            raise web.HTTPNotFound()
        finished = rt.duel.game is not None and rt.duel.game.status == "Finished"
        return web.json_response({"gameId": gid, "gameServerNodeId": None if finished else cfg.node_id,
                                  "status": "Finished" if finished else "Active"})

    app.router.add_get("/api/v3/profiles", profile)
    app.router.add_get("/api/v4/guest-users/id", guest_id)
    app.router.add_get("/api/v4/parties/v2/active", party_active)
    app.router.add_get("/api/v4/game-server/phonebook/{game}", phonebook)
