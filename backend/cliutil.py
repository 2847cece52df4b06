"""Small helpers shared by every ``pigeon`` subcommand: errors users can act on, progress bars.

A command raises :class:`UserError` for anything the user can fix (bad file, bad value,
missing asset); ``pigeon`` prints it as one line, with no traceback, and exits 2.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class UserError(Exception):
    """An error caused by the user's input or setup; the message says what to do."""


def add_command(subparsers: argparse._SubParsersAction, name: str, *, help: str,
                example: str, description: str | None = None) -> argparse.ArgumentParser:
    """Add a subcommand whose ``--help`` ends with a worked example.

    ``help`` goes through argparse's %-formatting (write ``%%`` for a percent sign); the
    description is printed as it is, so its ``%%`` becomes ``%`` here.
    """
    return subparsers.add_parser(
        name, help=help, description=description or help.replace("%%", "%"),
        epilog=f"example:\n  {example}", formatter_class=argparse.RawDescriptionHelpFormatter)


def output_file(path: str | Path, flag: str = "--out") -> Path:
    """Check a file a command is about to write: its folder exists, it is not a folder.

    Raises:
        UserError: the folder is missing (nothing is created outside what the user asked
            for) or the path is a folder.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        raise UserError(f"{flag} {p} is a folder; give a file name such as {p / 'out.csv'}")
    if not p.parent.is_dir():
        raise UserError(f"{flag} {p}: the folder {p.parent} does not exist; create it first "
                        "or pick another path")
    return p


def output_dir(path: str | Path, flag: str = "--out") -> Path:
    """Check a folder a command is about to write into (created if missing).

    Raises:
        UserError: the path is an existing file.
    """
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise UserError(f"{flag} {p} is a file, not a folder; give a folder (its files are "
                        "written inside it)")
    return p


def check_device(choice: str) -> str:
    """A torch device name a user gave: ``auto`` becomes ``cuda`` when a GPU is visible,
    else ``cpu``.

    Raises:
        UserError: ``cuda`` (or ``cuda:N``) without a visible GPU, ``mps`` where there is
            none, or a name torch does not know.
    """
    import torch

    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(choice)
    except (RuntimeError, ValueError):
        raise UserError(f"--device {choice!r} is not a torch device; use cpu, cuda or auto"
                        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {choice} but torch sees no CUDA GPU (torch {torch.__version__}"
                        "); install the CUDA build of torch or use --device cpu")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise UserError(f"--device {choice}: torch sees {torch.cuda.device_count()} GPU(s)")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise UserError(f"--device {choice} but this machine has no MPS; use --device cpu")
    return choice


def add_group(subparsers: argparse._SubParsersAction, name: str, *, help: str,
              example: str) -> argparse._SubParsersAction:
    """Add a command group (``pigeon NAME SUBCOMMAND``); returns where its subcommands go.

    Given without a subcommand, ``pigeon NAME`` prints the group's help (``bot.cli.main``
    reads ``group_parser``).
    """
    group = add_command(subparsers, name, help=help, example=example)
    group.set_defaults(group_parser=group)
    return group.add_subparsers(dest=f"{name}_command", metavar="SUBCOMMAND")


def progress(iterable: Iterable[T], *, total: int | None = None, desc: str = "",
             unit: str = "it") -> Iterable[T]:
    """A tqdm progress bar on stderr (quiet when stderr is not a terminal and PIGEON_QUIET=1)."""
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr,
                dynamic_ncols=True, mininterval=0.5)


# argparse ``type=`` checkers: a bad value becomes argparse's one-line usage error.

def _number(text: str, kind: type) -> float:
    try:
        value = kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def positive_int(text: str) -> int:
    """A whole number >= 1."""
    v = int(_number(text, int))
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


def positive_float(text: str) -> float:
    """A finite number > 0."""
    v = _number(text, float)
    if not v > 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {v}")
    return v


def nonneg_float(text: str) -> float:
    """A finite number >= 0."""
    v = _number(text, float)
    if not v >= 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative number, got {v}")
    return v


def fraction(text: str) -> float:
    """A number strictly between 0 and 1."""
    v = _number(text, float)
    if not 0.0 < v < 1.0:
        raise argparse.ArgumentTypeError(f"must lie strictly between 0 and 1, got {v}")
    return v
