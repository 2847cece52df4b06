"""The one ``pigeon`` command: composes the subcommands that each package defines.

Every module in ``COMMAND_MODULES`` has ``register(subparsers)``, which adds its subcommands
and sets ``func(args) -> int`` on each. Add a module here to add commands.

Usage::

    pigeon --help
    pigeon doctor
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from backend.cliutil import UserError

COMMAND_MODULES: tuple[str, ...] = (
    "backend.synthworld.cli",
    "backend.eval.cli",
    "backend.predict.cli",
    "backend.doctor",
    "backend.geocells.cli",
    "backend.geo.cli",
    "backend.model.cli",
    "backend.scorelog.cli",
    "backend.server.cli",
    "bot.arena.cli",
    "bot.experiment.cli",
    "bot.reports.cli",
    "bot.screenbot.cli",
    "bot.demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pigeon",
        description="pigeon-bot: a GeoGuessr bot on the PIGEON pipeline.",
        epilog="example:\n  pigeon doctor\n  pigeon geo lookup 48.8566 2.3522",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version="pigeon-bot 0.1.0")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        # a command group given without its subcommand: show that group's help
        (getattr(args, "group_parser", None) or parser).print_help()
        return 2
    try:
        return int(func(args) or 0)
    except UserError as exc:
        print(f"pigeon {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
