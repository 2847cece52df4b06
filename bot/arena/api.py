"""The arena's JSON game API (aiohttp handlers); the page and the extension's adapter use it.

Every call about a game carries the player's secret token, in the ``X-Player-Token`` header
or a ``t`` query parameter (``<img>`` tags and ``sendBeacon`` cannot set headers).

==========================================  ====================================================
``GET  /api/info``                          dataset size, modes, opponents, default rules
``POST /api/games``                         ``{mode, opponent, name?, rules?}`` → ids, token
``POST /api/games/{gid}/join``              ``{name}`` → a second person's id and token
``GET  /api/games/{gid}/state``             phase, round, time left, HP — never the truth
                                            (``?hello=1``: a (re)loaded page, rejoins)
``GET  /api/games/{gid}/rounds/{n}/views/{k}``  the k-th view (0-based) of the open round
``POST /api/games/{gid}/guess``             ``{lat, lng, round}``
``POST /api/games/{gid}/next``              seen the result, ready for the next round
``POST /api/games/{gid}/leave``             the page is closing (the open round times out)
``GET  /api/games/{gid}/rounds/{n}/result`` the ROUND TRUTH: only once round n has ended
``GET  /api/map/{admin0|admin1}.geojson``   simplified polygons for the guess map
==========================================  ====================================================

Errors are JSON ``{"error": "what was wrong; what to do"}`` with 400 (bad request), 403
(token, or a request from another site: ``bot.arena.guard``), 404 (no such game or view),
409 (not allowed now, e.g. a second guess), 415 (a body that is not JSON).

Rules a client asks for are bounded (:data:`CLIENT_RULE_BOUNDS`); a client cannot choose the
seed of the location draw (whoever replays a seed knows every place in advance).
"""

from __future__ import annotations

import json
import logging
import math
import mimetypes
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.arena.game import GameError
from bot.arena.hub import ArenaHub, LiveGame, UnknownGame
from bot.arena.mapdata import map_layer_bytes
from bot.arena.opponents import ConstantGuessPlayer, Opponent
from bot.arena.rules import RulesError, rules_from_dict

log = logging.getLogger("pigeon.arena")

CLIENT_RULE_BOUNDS: dict[str, tuple[float, float]] = {
    "rounds": (1, 20), "round_time_s": (0, 3600), "countdown_s": (0, 600),
    "start_hp": (1, 100_000), "multiplier_step": (0, 10), "max_rounds": (1, 100),
}
"""What a client may ask for in ``rules`` (the arena's own flags are not bounded here)."""
MAX_MULTIPLIERS, MAX_MULTIPLIER = 50, 100.0
MODES = ("classic", "duel")

HUB = web.AppKey("hub", ArenaHub)
OPPONENT_FACTORY = web.AppKey("opponent_factory", dict)
DEFAULT_RULES = web.AppKey("default_rules", dict)   # mode -> rule overrides (pigeon arena flags)
EXPERIMENT_INFO = web.AppKey("experiment_info", object)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn the engine's refusals into JSON answers a page can show."""
    try:
        return await handler(request)
    except UnknownGame as exc:
        return error(404, str(exc))
    except (GameError, RulesError) as exc:
        return error(409 if isinstance(exc, GameError) else 400, str(exc))
    except PermissionError as exc:
        return error(403, f"{exc}; open the game from the link the arena gave you")
    except web.HTTPException:
        raise
    except Exception as exc:   # a bug must answer JSON, never a traceback page
        log.exception("arena API %s %s failed", request.method, request.path)
        return error(500, f"the arena failed on this request ({type(exc).__name__}); "
                     "see the arena's log")


def check_client_rules(rules: Any) -> dict[str, Any]:
    """The ``rules`` object of ``POST /api/games``, type- and range-checked.

    Raises:
        RulesError: not an object, an unknown type of value, or a value out of bounds.
    """
    if not isinstance(rules, dict):
        raise RulesError("rules must be an object such as {\"rounds\": 5}")
    for key, value in rules.items():
        if key == "multipliers":
            if not isinstance(value, list) or not 1 <= len(value) <= MAX_MULTIPLIERS:
                raise RulesError(f"multipliers must be a list of 1 to {MAX_MULTIPLIERS} "
                                 "numbers, e.g. [1, 1, 1.5, 2]")
            for m in value:
                if isinstance(m, bool) or not isinstance(m, (int, float)) or \
                        not math.isfinite(m) or not 0 <= m <= MAX_MULTIPLIER:
                    raise RulesError(f"each multiplier must be a number in 0..{MAX_MULTIPLIER:g}"
                                     f", got {m!r:.40}")
        elif key in CLIENT_RULE_BOUNDS:
            lo, hi = CLIENT_RULE_BOUNDS[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    not math.isfinite(value) or not lo <= value <= hi:
                raise RulesError(f"{key} must be a number in {lo:g}..{hi:g}, got {value!r:.40}")
    return rules


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        text = await request.text()
        data = json.loads(text) if text.strip() else {}
    except (ValueError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text=json.dumps({"error": "the body is not JSON"}),
                                 content_type="application/json") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text=json.dumps({"error": "the body must be a JSON object"}),
                                 content_type="application/json")
    return data


def _auth(request: web.Request) -> tuple[ArenaHub, LiveGame, str]:
    hub = request.app[HUB]
    live = hub.live(request.match_info["gid"])
    token = request.headers.get("X-Player-Token") or request.query.get("t")
    pid = hub.player_of(live, token)
    live.last_active = hub.clock()     # a game its players still call is never evicted
    return hub, live, pid


async def info(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    exp = request.app.get(EXPERIMENT_INFO)
    return web.json_response({
        "experiment": exp,
        "locations": len(hub.dataset), "dataset": hub.dataset.path.name,
        "skipped_rows": len(hub.dataset.problems), "modes": ["classic", "duel"],
        "opponents": sorted(["none", "human", *request.app[OPPONENT_FACTORY]]),
        "rules": {m: rules_from_dict({**request.app.get(DEFAULT_RULES, {}).get(m, {}),
                                      "mode": m}).to_dict() for m in ("classic", "duel")}})


async def create_game(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    body = await _body(request)
    mode = body.get("mode", "classic")
    if not isinstance(mode, str) or mode not in MODES:
        return error(400, f"unknown game mode {mode!r:.40}; use 'classic' or 'duel'")
    overrides = check_client_rules({} if body.get("rules") is None else body["rules"])
    if "seed" in body:
        return error(400, "seed is not accepted: whoever replays a seed knows every place; "
                          "the arena draws the places itself")
    defaults = request.app.get(DEFAULT_RULES, {}).get(mode, {})
    rules = rules_from_dict({**defaults, **overrides, "mode": mode})
    kind = body.get("opponent", "none" if mode == "classic" else "baseline")
    factories = request.app[OPPONENT_FACTORY]
    if not isinstance(kind, str):
        return error(400, f"opponent must be a name such as \"baseline\", got {kind!r:.40}")
    opponent: Opponent | None = None
    seats = None
    if kind == "human":
        seats = 2
    elif kind == "none":
        if mode == "duel":
            return error(400, "a duel needs an opponent: baseline, bot, replay or human")
    elif kind in factories:
        opponent = factories[kind]()
    else:
        return error(400, f"unknown opponent {kind!r}; this arena offers "
                          f"{sorted(['none', 'human', *factories])}")
    live, player, token = hub.create_game(rules, name=str(body.get("name") or "player"),
                                          opponent=opponent, seats=seats,
                                          extra={"opponent_kind": kind})
    gid = live.game.id
    return web.json_response({
        "game_id": gid, "player_id": player.id, "token": token,
        "play_url": f"/play/{gid}?t={token}",
        "join_url": f"/join/{gid}" if kind == "human" else None}, status=201)


async def join_game(request: web.Request) -> web.Response:
    hub = request.app[HUB]
    body = await _body(request)
    gid = request.match_info["gid"]
    player, token = hub.join(gid, str(body.get("name") or "player 2"), kind="human")
    return web.json_response({"game_id": gid, "player_id": player.id, "token": token,
                              "play_url": f"/play/{gid}?t={token}"}, status=201)


async def state(request: web.Request) -> web.Response:
    hub, live, pid = _auth(request)
    now = hub.clock()
    live.game.tick(now)
    hub.flush(live)
    if request.query.get("hello") == "1" and not live.game.player(pid).connected:
        live.game.rejoin(pid)   # the page was reloaded: wait for this player again
    out = live.game.state_for(pid, now=now)
    if live.extra.get("blind"):
        from bot.arena.experiment_api import blind_state

        out = blind_state(out, live, pid)
    return web.json_response(out)


async def view(request: web.Request) -> web.StreamResponse:
    _hub, live, _ = _auth(request)
    try:
        n, k = int(request.match_info["n"]), int(request.match_info["k"])
    except ValueError:
        return error(400, "round and view must be whole numbers")
    game = live.game
    if not 1 <= n <= len(game.rounds):
        return error(404, f"round {n} has not started")
    images = game.rounds[n - 1].location.images
    if not 0 <= k < len(images):
        return error(404, f"round {n} has {len(images)} views (0..{len(images) - 1})")
    path = images[k]
    if not path.is_file():
        return error(404, f"view {k + 1} of round {n} is missing on the arena's disk; "
                          "play on with the other views")
    ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    # opaque URL, no file name: the path may say where the place is
    return web.Response(body=path.read_bytes(), content_type=ctype,
                        headers={"Cache-Control": "no-store"})


async def guess(request: web.Request) -> web.Response:
    hub, live, pid = _auth(request)
    body = await _body(request)
    rnd = body.get("round")
    if rnd is not None and (not isinstance(rnd, int) or isinstance(rnd, bool)):
        return error(400, "round must be the round number (a whole number)")
    for key in ("lat", "lng"):
        if isinstance(body.get(key), bool) or not isinstance(body.get(key), (int, float)):
            return error(400, f"{key} must be a number of decimal degrees")
    live.game.guess(pid, body["lat"], body["lng"], now=hub.clock(), round_number=rnd)
    hub.flush(live)
    return web.json_response({"ok": True, **live.game.state_for(pid, now=hub.clock())})


async def next_round(request: web.Request) -> web.Response:
    hub, live, pid = _auth(request)
    live.game.ready(pid, now=hub.clock())
    hub.flush(live)
    return web.json_response({"ok": True, **live.game.state_for(pid, now=hub.clock())})


async def leave(request: web.Request) -> web.Response:
    hub, live, pid = _auth(request)
    live.game.leave(pid, now=hub.clock())
    hub.flush(live)
    return web.json_response({"ok": True})


async def round_result(request: web.Request) -> web.Response:
    hub, live, pid = _auth(request)
    try:
        n = int(request.match_info["n"])
    except ValueError:
        return error(400, "round must be a whole number")
    live.game.tick(hub.clock())
    hub.flush(live)
    return web.json_response(live.game.result_for(pid, n))


async def map_geojson(request: web.Request) -> web.Response:
    level = request.match_info["level"]
    if level not in ("admin0", "admin1"):
        return error(404, "map layers are admin0 and admin1")
    import asyncio

    body = await asyncio.get_running_loop().run_in_executor(None, map_layer_bytes, level)
    res = web.Response(body=body, content_type="application/geo+json",
                       headers={"Cache-Control": "max-age=3600"})
    res.enable_compression()   # about 1 MB (countries) and 3.5 MB (admin-1) before gzip
    return res


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/info", info)
    r.add_post("/api/games", create_game)
    r.add_post("/api/games/{gid}/join", join_game)
    r.add_get("/api/games/{gid}/state", state)
    r.add_get("/api/games/{gid}/rounds/{n}/views/{k}", view)
    r.add_post("/api/games/{gid}/guess", guess)
    r.add_post("/api/games/{gid}/next", next_round)
    r.add_post("/api/games/{gid}/leave", leave)
    r.add_get("/api/games/{gid}/rounds/{n}/result", round_result)
    r.add_get("/api/map/{level}.geojson", map_geojson)


def baseline_factory(hub: ArenaHub, delay_s: float = 1.0) -> Callable[[], Opponent]:
    lats = [loc.lat for loc in hub.dataset.locations]
    lngs = [loc.lng for loc in hub.dataset.locations]
    return lambda: ConstantGuessPlayer.dataset_mean(lats, lngs, delay_s=delay_s)
