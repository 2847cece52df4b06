"""``pigeon arena``: serve the local GeoGuessr-like arena (offline) on a dataset.

Usage::

    pigeon arena --data synth/test.csv --port 8080
    pigeon arena --data synth/test.csv --bot-url ws://127.0.0.1:8765/ --bot-token TOKEN
    pigeon arena --data synth/test.csv --model bundles/tiny   # starts `pigeon serve` too
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from backend.cliutil import UserError, add_command


def register(subparsers: argparse._SubParsersAction) -> None:
    p = add_command(subparsers, "arena", help="serve the local offline GeoGuessr-like arena",
                    example="pigeon arena --data synth/test.csv --port 8080 --model bundles/tiny")
    p.add_argument("--data", required=True, type=Path,
                   help="dataset CSV in the generic layout (id,lat,lng,image_1..image_4,...)")
    p.add_argument("--model", type=Path, default=None,
                   help="model bundle: start `pigeon serve` on it and offer the bot opponent")
    p.add_argument("--port", type=int, default=8080, help="HTTP port (default 8080)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default loopback only)")
    p.add_argument("--bot-url", default=None,
                   help="a running backend's websocket URL, e.g. ws://127.0.0.1:8765/")
    p.add_argument("--bot-token", default=None, help="the pairing token `pigeon serve` printed")
    p.add_argument("--log-dir", type=Path, default=Path("arena-logs"),
                   help="where each game's JSONL log goes (default ./arena-logs)")
    p.add_argument("--replay-log", type=Path, action="append", default=[],
                   help="arena log(s) to replay a recorded person from (repeatable)")
    p.add_argument("--experiment", type=Path, default=None,
                   help="run a blind experiment (a directory from `pigeon experiment create`)")
    p.add_argument("--baseline-delay", type=float, default=1.0,
                   help="seconds the constant-guess baseline waits before guessing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from aiohttp import web

    from bot.arena.app import ArenaConfig, make_app
    from bot.arena.dataset import DatasetError
    from bot.experiment.design import ExperimentError

    if not 0 < args.port < 65536:
        raise UserError(f"--port {args.port} is not a TCP port; use 1..65535")
    if bool(args.bot_url) != bool(args.bot_token) and not args.model:
        raise UserError("--bot-url and --bot-token go together (the token `pigeon serve` printed)")
    for path in args.replay_log:
        if not path.is_file():
            raise UserError(f"--replay-log {path}: no such file")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    backend = None
    bot_url, bot_token = args.bot_url, args.bot_token
    if args.model is not None:
        from bot.arena.launch import start_backend

        if not args.model.exists():
            raise UserError(f"--model {args.model}: no such bundle directory")
        backend = start_backend(args.model)
        bot_url, bot_token = backend.url, backend.token
    try:
        config = ArenaConfig(dataset=args.data, host=args.host, port=args.port, bot_url=bot_url,
                             bot_token=bot_token, log_dir=args.log_dir,
                             replay_logs=list(args.replay_log),
                             baseline_delay_s=args.baseline_delay, experiment=args.experiment)
        try:
            app = make_app(config)
        except (DatasetError, ExperimentError) as exc:
            raise UserError(str(exc)) from None
        print(f"pigeon arena: http://{args.host}:{args.port}/  (logs in {args.log_dir}/)"
              + (f"; bot at {bot_url}" if bot_url else "; no bot (give --model or --bot-url)"),
              flush=True)
        try:
            web.run_app(app, host=args.host, port=args.port, print=None)
        except OSError as exc:
            raise UserError(f"cannot listen on {args.host}:{args.port} ({exc.strerror}); "
                            "pick another --port") from None
    finally:
        if backend is not None:
            backend.stop()
    return 0
