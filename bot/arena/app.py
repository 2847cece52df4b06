"""The arena web app: pages, static files and the JSON game API on one aiohttp server.

Fully offline: Leaflet is vendored under ``static/vendor/leaflet``; the guess map draws the
shipped country / admin-1 polygons (no tile server).

Usage::

    config = ArenaConfig(dataset="synth/test.csv", port=8080,
                         bot_url="ws://127.0.0.1:8765/", bot_token="...")
    web.run_app(make_app(config), host=config.host, port=config.port)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from bot.arena.api import (
    DEFAULT_RULES,
    EXPERIMENT_INFO,
    HUB,
    OPPONENT_FACTORY,
    add_routes,
    baseline_factory,
    errors_as_json,
)
from bot.arena.dataset import ArenaDataset, load_arena_dataset
from bot.arena.guard import api_guard
from bot.arena.hub import ArenaHub
from bot.arena.opponents import BotPlayer, Opponent, ReplayPlayer
from bot.arena.rules import rules_from_dict

STATIC = Path(__file__).resolve().parent / "static"
log = logging.getLogger("pigeon.arena")


@dataclass
class ArenaConfig:
    """Everything ``pigeon arena`` takes.

    Attributes:
        dataset: a generic-layout CSV (or its directory), or an already loaded dataset.
        host, port: where to listen (loopback by default).
        bot_url, bot_token: the backend (``pigeon serve``) for the "bot" opponent.
        log_dir: where game logs go (``<id>.jsonl``).
        replay_logs: arena logs to replay a recorded person from (default: log_dir's).
        baseline_delay_s: how long the baseline waits before its constant guess.
        result_timeout_s: the result screen moves on by itself after this long.
        experiment: an experiment directory (``pigeon experiment create``): the lobby asks
            for a participant code and consent and runs blinded games.
        rules: default rule overrides per mode, e.g. ``{"duel": {"multipliers": [1, 2]}}``
            (checked here; a game's own ``rules`` still override them).
    """

    dataset: str | Path | ArenaDataset
    host: str = "127.0.0.1"
    port: int = 8080
    bot_url: str | None = None
    bot_token: str | None = None
    log_dir: Path | None = Path("arena-logs")
    replay_logs: list[Path] = field(default_factory=list)
    baseline_delay_s: float = 1.0
    result_timeout_s: float = 60.0
    experiment: Path | None = None
    rules: dict[str, dict] = field(default_factory=dict)


def _opponent_factories(config: ArenaConfig, hub: ArenaHub) -> dict[str, Callable[[], Opponent]]:
    out: dict[str, Callable[[], Opponent]] = {
        "baseline": baseline_factory(hub, config.baseline_delay_s)}
    if config.bot_url:
        url, token = config.bot_url, config.bot_token or ""
        out["bot"] = lambda: BotPlayer(url, token)

    def replay() -> Opponent:
        logs = list(config.replay_logs)
        if not logs and config.log_dir is not None and config.log_dir.is_dir():
            logs = sorted(config.log_dir.glob("*.jsonl"))
        try:
            return ReplayPlayer.from_logs(logs)
        except ValueError as exc:
            from bot.arena.game import GameError

            raise GameError(str(exc)) from None
    out["replay"] = replay
    return out


async def _page(request: web.Request) -> web.FileResponse:
    name = "play.html" if request.path.startswith("/play/") else (
        "join.html" if request.path.startswith("/join/") else "index.html")
    return web.FileResponse(STATIC / name, headers={"Cache-Control": "no-store"})


def make_app(config: ArenaConfig, *, hub: ArenaHub | None = None) -> web.Application:
    """Build the aiohttp application (the dataset is loaded here: errors surface early).

    Raises:
        bot.arena.dataset.DatasetError: the dataset cannot be used.
    """
    ds = config.dataset if isinstance(config.dataset, ArenaDataset) else \
        load_arena_dataset(config.dataset)
    if ds.problems:
        log.warning("%s", ds.summary())
    hub = hub or ArenaHub(ds, log_dir=config.log_dir, result_timeout_s=config.result_timeout_s)
    app = web.Application(middlewares=[api_guard(host=config.host), errors_as_json],
                          client_max_size=64 * 1024)
    app[HUB] = hub
    app[OPPONENT_FACTORY] = _opponent_factories(config, hub)
    for mode, overrides in config.rules.items():
        rules_from_dict({**overrides, "mode": mode})   # RulesError now, not at the first game
    app[DEFAULT_RULES] = dict(config.rules)
    add_routes(app)
    app[EXPERIMENT_INFO] = None
    if config.experiment is not None:
        from bot.arena.experiment_api import add_experiment_routes
        from bot.experiment.design import Experiment

        exp = Experiment.load(config.experiment)
        add_experiment_routes(app, exp)
        app[EXPERIMENT_INFO] = {"id": exp.id, "name": exp.name, "consent": exp.consent,
                                    "question": exp.question}
    app.router.add_get("/", _page)
    app.router.add_get("/play/{gid}", _page)
    app.router.add_get("/join/{gid}", _page)
    app.router.add_static("/static/", STATIC)

    async def start(_: web.Application) -> None:
        await hub.start()
        # build the country layer while nobody waits for it (about 2 s on one core)
        import asyncio

        from bot.arena.mapdata import map_layer_bytes

        asyncio.get_running_loop().run_in_executor(None, map_layer_bytes, "admin0")

    async def stop(_: web.Application) -> None:
        await hub.stop()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    return app
