"""The arena's side of blind experiments: participant codes, consent, blinded games, the question.

With ``pigeon arena --experiment DIR`` the lobby asks for a participant code and consent, then
``POST /api/experiment/start`` creates the participant's next game with the opponent the
design assigns — shown only as "opponent" (name and kind hidden by the state endpoint). After
the game the page asks the design's question; ``POST /api/games/{gid}/answer`` writes it to
the game log, where ``pigeon experiment report`` finds it.

==========================================  ==============================================
``POST /api/experiment/start``              ``{code, consent: true}`` → the next game's ids
``POST /api/games/{gid}/answer``            ``{answer: yes|no|unsure}`` once, after the game
==========================================  ==============================================
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot.arena.api import HUB, OPPONENT_FACTORY, _auth, _body, error
from bot.arena.game import GameError
from bot.arena.rules import rules_from_dict
from bot.experiment.design import ANSWERS, Experiment, ExperimentError

EXPERIMENT = web.AppKey("experiment", Experiment)


def played_games(hub: Any, exp: Experiment, code: str) -> int:
    """How many games this participant has started (live games and the logs on disk)."""
    seen: set[str] = set()
    for gid, live in hub.games.items():
        if live.extra.get("experiment") == exp.id and live.extra.get("participant") == code:
            seen.add(gid)
    if hub.log_dir is not None:
        for path in hub.log_dir.glob("*.jsonl"):
            try:
                first = json.loads(path.open(encoding="utf-8").readline() or "{}")
            except ValueError:
                continue
            if first.get("experiment") == exp.id and first.get("participant") == code:
                seen.add(first.get("game", path.stem))
    return len(seen)


def blind_state(state: dict[str, Any], live: Any, pid: str) -> dict[str, Any]:
    """Hide who the opponent is; add the question once the game is over and unanswered."""
    for p in state["players"]:
        if p["id"] != pid:
            p["name"], p["kind"] = "opponent", "player"
    state["experiment"] = {"id": live.extra["experiment"],
                           "question": live.extra.get("question")
                           if state["phase"] == "finished" and not live.extra.get("answered")
                           else None,
                           "answers": list(ANSWERS)}
    return state


async def start(request: web.Request) -> web.Response:
    exp = request.app[EXPERIMENT]
    hub = request.app[HUB]
    body = await _body(request)
    code = str(body.get("code") or "").strip().upper()
    if body.get("consent") is not True:
        return error(400, "please read the consent text and tick 'I agree' to take part")
    try:
        order = exp.assignment(code)
    except ExperimentError as exc:
        return error(403, str(exc))
    index = played_games(hub, exp, code)
    if index >= len(order):
        return error(409, f"you have played all {len(order)} games of this study; thank you!")
    arm = order[index]
    factories = request.app[OPPONENT_FACTORY]
    if arm not in factories:
        return error(409, f"this arena cannot provide the study's opponent {arm!r}; "
                          "tell the experimenter (start the arena with --model for the bot)")
    rules = rules_from_dict({**exp.rules, "mode": exp.mode})
    opponent = factories[arm]()
    opponent.name = "opponent"
    live, player, token = hub.create_game(
        rules, name=code, opponent=opponent,
        extra={"experiment": exp.id, "participant": code, "game_index": index, "arm": arm,
               "blind": True, "question": exp.question, "opponent_kind": arm})
    return web.json_response({"game_id": live.game.id, "player_id": player.id, "token": token,
                              "play_url": f"/play/{live.game.id}?t={token}",
                              "game": index + 1, "of": len(order)}, status=201)


async def answer(request: web.Request) -> web.Response:
    hub, live, pid = _auth(request)
    if not live.extra.get("blind"):
        return error(409, "this game is not part of an experiment")
    if live.game.phase != "finished":
        raise GameError("the question comes after the game")
    if live.extra.get("answered"):
        raise GameError("this game's question is already answered")
    body = await _body(request)
    ans = body.get("answer")
    if ans not in ANSWERS:
        return error(400, f"answer must be one of {list(ANSWERS)}")
    live.extra["answered"] = ans
    hub._write(live, {"event": "answer", "game": live.game.id, "player": pid,
                      "question": live.extra.get("question"), "answer": ans,
                      "t": hub.clock()})
    return web.json_response({"ok": True})


def add_experiment_routes(app: web.Application, exp: Experiment) -> None:
    app[EXPERIMENT] = exp
    app.router.add_post("/api/experiment/start", start)
    app.router.add_post("/api/games/{gid}/answer", answer)
