"""``pigeon play --screen``: the screen-capture client (for setups where the extension can't run).

Usage::

    pigeon play --screen --region 0,80,1280,640 --token TOKEN
"""

from __future__ import annotations

import asyncio
import os

from backend.cliutil import UserError, add_command


def _cmd_play(args) -> int:
    from backend.client import BackendError
    from bot.screenbot.capture import ScreenError
    from bot.screenbot.guess_window import GuessWindowError
    from bot.screenbot.player import PlayOptions, play
    from bot.screenbot.region import RegionError
    from bot.screenbot.turning import TurnError

    if not args.screen:
        raise UserError("only --screen play is available from the command line; on "
                        "geoguessr.com use the browser extension (see README)")
    token = args.token or os.environ.get("PIGEON_TOKEN")
    if not token:
        raise UserError("no pairing token: pass --token (printed by `pigeon serve`) or set "
                        "PIGEON_TOKEN")
    opts = PlayOptions(backend_url=args.backend, token=token, region=args.region,
                       views=args.views, rounds=args.rounds, map_name=args.map,
                       turn_key=args.turn_key, turn_presses=args.turn_presses,
                       window=args.window)
    try:
        played = asyncio.run(play(opts))
    except (ScreenError, RegionError, BackendError, TurnError, GuessWindowError) as exc:
        raise UserError(str(exc)) from exc
    print(f"played {played} round(s); they are in the score log (`pigeon scores list`)")
    return 0


def register(sub) -> None:
    p = add_command(sub, "play", help="play from the screen: capture, guess, show, log",
                    example="pigeon play --screen --region 0,80,1280,640 --token TOKEN")
    p.add_argument("--screen", action="store_true", help="capture the screen with mss")
    p.add_argument("--region", help="X,Y,W,H of the panorama (default: the whole screen)")
    p.add_argument("--backend", default="ws://127.0.0.1:8765/", help="backend websocket URL")
    p.add_argument("--token", help="pairing token (default: $PIGEON_TOKEN)")
    p.add_argument("--views", type=int, choices=(1, 2, 3, 4), default=4,
                   help="views per round; >1 turns the view with --turn-key (xdotool)")
    p.add_argument("--rounds", type=int, default=0, help="stop after N rounds (0: never)")
    p.add_argument("--map", default="unknown", help="map name for the score log")
    p.add_argument("--turn-key", default="Right", help="key that turns the view (xdotool name)")
    p.add_argument("--turn-presses", type=int, default=1, help="presses per 90 degrees")
    p.add_argument("--window", action="store_true",
                   help="also show each guess in a small always-on-top window")
    p.set_defaults(func=_cmd_play)
