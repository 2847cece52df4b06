"""``pigeon arena``: serve the local GeoGuessr-like arena (offline) on a dataset.

Usage::

    pigeon arena --data bundles/demo/arena_places/test.csv --port 8080
    pigeon arena --data bundles/demo/arena_places/test.csv --model bundles/demo  # + pigeon serve
    PIGEON_TOKEN=TOKEN pigeon arena --data places.csv --bot-url ws://127.0.0.1:8765/
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from backend.cliutil import UserError, add_command
from backend.server.cli import TOKEN_ENV


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(subparsers, "arena", help="serve the local offline GeoGuessr-like arena",
                    example="pigeon arena --data bundles/demo/arena_places/test.csv "
                            "--model bundles/demo --port 8080")
    p.add_argument("--data", required=True, type=Path,
                   help="dataset CSV in the generic layout (id,lat,lng,image_1..image_4,...)")
    p.add_argument("--model", type=Path, default=None,
                   help="model bundle: start `pigeon serve` on it and offer the bot opponent")
    p.add_argument("--port", type=int, default=8080, help="HTTP port (default 8080)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default loopback only)")
    p.add_argument("--bot-url", default=None,
                   help="a running backend's websocket URL, e.g. ws://127.0.0.1:8765/")
    p.add_argument("--bot-token", default=None,
                   help="the pairing token `pigeon serve` printed (default: $PIGEON_TOKEN; "
                   "the environment keeps it out of `ps`)")
    p.add_argument("--db", type=Path, default=None,
                   help="with --model: the score log `pigeon serve` writes (default: its own, "
                   "$PIGEON_SCORES_DB or ~/.local/share/pigeon-bot/scores.sqlite)")
    p.add_argument("--log-dir", type=Path, default=Path("arena-logs"),
                   help="where each game's JSONL log goes (default ./arena-logs)")
    p.add_argument("--replay-log", type=Path, action="append", default=[],
                   help="arena log(s) to replay a recorded person from (repeatable)")
    p.add_argument("--experiment", type=Path, default=None,
                   help="run a blind experiment (a directory from `pigeon experiment create`)")
    p.add_argument("--multipliers", default=None,
                   help="duel damage multipliers of rounds 1, 2, ... (default 1,1,1,1.5,2,2.5,3; "
                   "+0.5 per round after the table)")
    p.add_argument("--start-hp", type=int, default=None, help="duel HP (default 6000)")
    p.add_argument("--countdown", type=float, default=None,
                   help="duel seconds left after the first guess (default 15)")
    p.add_argument("--round-time", type=float, default=None,
                   help="seconds per round, classic and duel (default 120; 0: no limit)")
    p.add_argument("--rounds", type=int, default=None, help="classic rounds (default 5)")
    p.add_argument("--baseline-delay", type=float, default=1.0,
                   help="seconds the constant-guess baseline waits before guessing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from aiohttp import web

    from bot.arena.app import ArenaConfig, make_app
    from bot.arena.dataset import DatasetError
    from bot.arena.rules import RulesError
    from bot.experiment.design import ExperimentError

    if not 0 < args.port < 65536:
        raise UserError(f"--port {args.port} is not a TCP port; use 1..65535")
    if args.bot_token is None and args.bot_url and os.environ.get(TOKEN_ENV):
        args.bot_token = os.environ[TOKEN_ENV]
    if args.db is not None and args.model is None:
        raise UserError("--db goes with --model (it names the score log of the backend the "
                        "arena starts); a backend of your own (--bot-url) has its own --db")
    if bool(args.bot_url) != bool(args.bot_token) and not args.model:
        raise UserError("--bot-url and --bot-token go together (the token `pigeon serve` printed)")
    for path in args.replay_log:
        if not path.is_file():
            raise UserError(f"--replay-log {path}: no such file")
    rules = _rule_flags(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    backend = None
    bot_url, bot_token = args.bot_url, args.bot_token
    if args.model is not None:
        from bot.arena.launch import start_backend

        if not args.model.exists():
            raise UserError(f"--model {args.model}: no such bundle directory")
        backend = start_backend(args.model, extra_args=[] if args.db is None
                                else ["--db", str(args.db)])
        bot_url, bot_token = backend.url, backend.token
    try:
        config = ArenaConfig(dataset=args.data, host=args.host, port=args.port, bot_url=bot_url,
                             bot_token=bot_token, log_dir=args.log_dir,
                             replay_logs=list(args.replay_log),
                             baseline_delay_s=args.baseline_delay, experiment=args.experiment,
                             rules=rules)
        try:
            app = make_app(config)
        except (DatasetError, ExperimentError, RulesError) as exc:
            raise UserError(str(exc)) from None
        print(f"pigeon arena: http://{args.host}:{args.port}/  (logs in {args.log_dir}/)"
              + (f"; bot at {bot_url}" if bot_url else "; no bot (give --model or --bot-url)"),
              flush=True)
        try:
            web.run_app(app, host=args.host, port=args.port, print=None, access_log=None)
        except OSError as exc:
            raise UserError(f"cannot listen on {args.host}:{args.port} ({exc.strerror}); "
                            "pick another --port") from None
    finally:
        if backend is not None:
            backend.stop()
    return 0


def _rule_flags(args: argparse.Namespace) -> dict[str, dict]:
    """Rule overrides per mode from the command line (validated by make_app)."""
    from bot.arena.rules import RulesError, parse_multipliers

    duel: dict = {}
    classic: dict = {}
    if args.multipliers is not None:
        try:
            duel["multipliers"] = list(parse_multipliers(args.multipliers))
        except RulesError as exc:
            raise UserError(f"--multipliers: {exc}") from None
    if args.start_hp is not None:
        duel["start_hp"] = args.start_hp
    if args.countdown is not None:
        duel["countdown_s"] = args.countdown
    if args.round_time is not None:
        duel["round_time_s"] = classic["round_time_s"] = args.round_time
    if args.rounds is not None:
        classic["rounds"] = args.rounds
    return {k: v for k, v in (("duel", duel), ("classic", classic)) if v}
