"""The `pigeon` command: every subcommand has --help ending in an example; errors are one line."""

import argparse
import subprocess
import sys

import pytest

from bot.cli import build_parser, main


def _walk(parser: argparse.ArgumentParser, path=()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, path + (name,))


def test_every_command_has_help_with_example():
    missing = [" ".join(p) for p, parser in _walk(build_parser())
               if p and "example" not in (parser.epilog or "")]
    assert not missing, f"commands without an example in --help: {missing}"


def test_doctor_runs_and_reports(capsys):
    rc = main(["doctor"])
    out = capsys.readouterr().out
    assert "torch" in out and "chromium" in out
    assert rc in (0, 1)


def test_console_entry_point_help():
    proc = subprocess.run([sys.executable, "-m", "bot", "--help"], check=False,
                          capture_output=True, text=True)
    assert proc.returncode == 0
    assert "doctor" in proc.stdout


def test_unknown_command_is_a_clear_error():
    proc = subprocess.run([sys.executable, "-m", "bot", "frobnicate"], check=False,
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "invalid choice" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_number_checkers_accept_and_refuse():
    from backend.cliutil import fraction, nonneg_float, positive_float, positive_int

    assert positive_int("3") == 3 and positive_float("0.5") == 0.5
    assert nonneg_float("0") == 0.0 and fraction("0.1") == 0.1
    for fn, bad in [(positive_int, "0"), (positive_int, "1.5"), (positive_float, "-1"),
                    (positive_float, "inf"), (nonneg_float, "nan"), (fraction, "1"),
                    (fraction, "x")]:
        with pytest.raises(argparse.ArgumentTypeError):
            fn(bad)
