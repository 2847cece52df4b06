"""``pigeon serve``: load a model bundle and serve guesses over websocket protocol v1.

Usage::

    pigeon serve --model bundles/demo
    PIGEON_TOKEN=... pigeon serve --model bundle/ --port 8765 --device cuda \\
        --db scores.sqlite --allow-origin chrome-extension://<your extension id>

It prints the URL and the pairing token (paste both into the extension's popup), logs one
JSON line per event on stderr, and stops gracefully on Ctrl-C / SIGTERM (rounds in flight
are answered first). The token is new at each start unless ``--token`` or the environment
variable ``PIGEON_TOKEN`` gives one (the environment keeps it out of ``ps`` and
``/proc/*/cmdline``, which any local user can read).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from backend.cliutil import UserError, add_command, check_device
from backend.server.auth import DEFAULT_ALLOWED_ORIGINS, OriginPolicy, check_token_text
from backend.server.events import setup_json_logging
from backend.server.limits import Limits

TOKEN_ENV = "PIGEON_TOKEN"
"""The pairing token from the environment (``--token`` wins when both are given)."""


def resolve_device(choice: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``.

    Raises:
        UserError: ``cuda`` asked for but not available.
    """
    return check_device(choice)


def _load_predictor(model: str, device: str):
    path = Path(model).expanduser()
    if not (path / "bundle.json").is_file():
        raise UserError(f"{path} is not a model bundle (no bundle.json there); pass the "
                        "folder that `pigeon train` or `pigeon demo` wrote")
    from backend.predict.predictor import Predictor

    return Predictor.from_bundle(path, device=device)


def _limits(args: argparse.Namespace) -> Limits:
    try:
        return Limits(max_message_bytes=int(args.max_message_mb * 1024 * 1024),
                      max_pixels=int(args.max_megapixels * 1_000_000),
                      max_clients=args.max_clients, max_in_flight=args.max_in_flight,
                      send_timeout_s=args.send_timeout)
    except ValueError as exc:
        raise UserError(f"bad limit: {exc}") from None


async def _serve_until_signal(predictor, args: argparse.Namespace, limits: Limits) -> None:
    from backend.server.app import serve

    db = None if args.no_db else (args.db or None)
    if db is None and not args.no_db:
        from backend.scorelog.db import default_db_path
        db = default_db_path()
    from backend.scorelog.schema import SchemaError

    try:
        server = await serve(predictor, host=args.host, port=args.port, token=args.token,
                             allowed_origins=args.allow_origin, db_path=db, limits=limits,
                             max_batch=args.max_batch, max_wait_ms=args.max_wait_ms)
    except SchemaError as exc:
        raise UserError(f"--db {db}: {exc}; pass another file with --db (or --no-db)"
                        ) from None
    except OSError as exc:
        if db is not None and exc.filename is not None:
            raise UserError(f"cannot open the score log {db} ({exc.strerror or exc}); pass "
                            "a writable file with --db (or --no-db)") from None
        raise UserError(f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc}); "
                        "pick another --port or stop the other server") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    m = server.model
    print(f"pigeon serve: model {m.id} ({m.backbone or '?'}, {m.geocells} geocells) on "
          f"{m.device}\n  url:    {server.url}\n  token:  {server.token}\n"
          f"  health: http://{args.host}:{server.port}/healthz   metrics: /metrics\n"
          f"  origins: {', '.join(server.origins.patterns)}\n"
          f"  score log: {db or 'off'}\n"
          "paste the url and token into the extension popup; Ctrl-C stops", flush=True)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {args.host}, not only this machine; anyone who can "
              "reach it and knows the token can use the model", file=sys.stderr, flush=True)
    await stop.wait()
    print("stopping: answering the rounds in flight...", file=sys.stderr, flush=True)
    await server.close()


def _cmd_serve(args: argparse.Namespace) -> int:
    if args.token is None and os.environ.get(TOKEN_ENV):
        args.token = os.environ[TOKEN_ENV]
        where = f"${TOKEN_ENV}"
    else:
        where = "--token"
    if args.token is not None:
        try:
            check_token_text(args.token)
        except ValueError as exc:
            raise UserError(f"{where}: {exc}") from None
    try:
        OriginPolicy.parse(args.allow_origin)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if not 0 <= args.port <= 65535:
        raise UserError(f"--port {args.port} is not a port number (0-65535; 0 picks a free one)")
    if args.max_batch < 1 or args.max_wait_ms < 0:
        raise UserError("--max-batch must be >= 1 and --max-wait-ms >= 0")
    limits = _limits(args)
    setup_json_logging(getattr(logging, args.log_level.upper()))
    device = resolve_device(args.device)
    predictor = _load_predictor(args.model, device)
    asyncio.run(_serve_until_signal(predictor, args, limits))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``pigeon serve``."""
    p = add_command(sub, "serve", help="serve guesses to the extension over a local websocket",
                    example="pigeon serve --model bundles/demo --port 8765")
    p.add_argument("--model", required=True, help="model bundle folder (has bundle.json)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                   "127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any free)")
    p.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto",
                   help="where the model runs (default auto: the GPU if there is one)")
    p.add_argument("--allow-origin", action="append", metavar="ORIGIN",
                   help="allowed websocket Origin, repeatable, * wildcards; 'none' allows "
                   "clients without an Origin (screen bot). Default: "
                   + " and ".join(DEFAULT_ALLOWED_ORIGINS))
    p.add_argument("--token", help=f"pairing token (default: ${TOKEN_ENV} if set, else a new "
                   "random one at each start; the environment keeps it out of `ps`)")
    p.add_argument("--db", help="score log file (default $PIGEON_SCORES_DB or "
                   "~/.local/share/pigeon-bot/scores.sqlite)")
    p.add_argument("--no-db", action="store_true", help="do not write a score log")
    p.add_argument("--max-batch", type=int, default=8,
                   help="most rounds per model call (1 turns micro-batching off; default 8)")
    p.add_argument("--max-wait-ms", type=float, default=5.0,
                   help="how long a round waits for others to batch with (default 5)")
    p.add_argument("--max-clients", type=int, default=16, help="default 16")
    p.add_argument("--max-in-flight", type=int, default=4,
                   help="rounds a client may have waiting for guesses (default 4)")
    p.add_argument("--max-message-mb", type=float, default=16.0,
                   help="largest message in MiB (default 16)")
    p.add_argument("--max-megapixels", type=float, default=16.777216,
                   help="most pixels per view, in millions (default 16.8; a 4K capture is 8.3)")
    p.add_argument("--send-timeout", type=float, default=10.0, metavar="S",
                   help="drop a client that takes no data for this long (default 10 s)")
    p.add_argument("--log-level", choices=("debug", "info", "warning"), default="info")
    p.set_defaults(func=_cmd_serve)
