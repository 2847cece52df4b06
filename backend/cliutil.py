"""Small helpers shared by every ``pigeon`` subcommand: errors users can act on, progress bars.

A command raises :class:`UserError` for anything the user can fix (bad file, bad value,
missing asset); ``pigeon`` prints it as one line, with no traceback, and exits 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import Iterable, TypeVar

T = TypeVar("T")


class UserError(Exception):
    """An error caused by the user's input or setup; the message says what to do."""


def add_command(subparsers: argparse._SubParsersAction, name: str, *, help: str,
                example: str, description: str | None = None) -> argparse.ArgumentParser:
    """Add a subcommand whose ``--help`` ends with a worked example."""
    return subparsers.add_parser(
        name, help=help, description=description or help,
        epilog=f"example:\n  {example}", formatter_class=argparse.RawDescriptionHelpFormatter)


def progress(iterable: Iterable[T], *, total: int | None = None, desc: str = "",
             unit: str = "it") -> Iterable[T]:
    """A tqdm progress bar on stderr (quiet when stderr is not a terminal and PIGEON_QUIET=1)."""
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr,
                dynamic_ncols=True, mininterval=0.5)
