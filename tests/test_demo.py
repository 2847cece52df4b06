"""`pigeon demo` end to end on a tiny bundle: backend, arena, Chromium with the extension.

The printed rounds must match the score log (the demo checks and exits 1 otherwise), the
report files and screenshot are written, and the "recorded person" is never the bot itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bot.arena.sample_dataset import write_sample_dataset
from tests.predict_fixtures import box_geocells

pytestmark = pytest.mark.browser


def test_demo_plays_a_duel_and_its_figures_match_the_score_log(chromium_path, tmp_path):
    from backend.model.bundle import make_tiny_bundle

    bundle = make_tiny_bundle(tmp_path / "bundle", box_geocells(), seed=0)
    places = write_sample_dataset(tmp_path / "places", n=6, size=192)
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    cmd = [sys.executable, "-m", "bot", "demo", "--bundle", str(bundle), "--places", str(places),
           "--out", str(out), "--timeout", "400"]
    for run in (1, 2):  # the second run finds the first run's logs: still no "recorded person"
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env,
                              timeout=480)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert "against the baseline opponent" in proc.stdout
        assert "logged rounds match" in proc.stdout and "MISMATCH" not in proc.stdout
        assert "final: pigeon-bot" in proc.stdout
        # the first-run note only on the first run
        assert ("first run:" in proc.stdout.splitlines()[0]) == (run == 1)
    rounds = [line for line in proc.stdout.splitlines() if line.startswith("round ")]
    duel = json.loads((out / "duel.json").read_text())
    assert len(rounds) == len(duel["rounds"]) >= 1
    kinds = {p["name"]: p["kind"] for p in duel["players"]}
    assert kinds["pigeon-bot"] == "bot" and kinds["baseline"] == "scripted"
    for name in ("arena.png", "scores_report.json", "scores_report.png", "scores.sqlite"):
        assert (out / name).exists(), name


def test_demo_without_arena_places_says_what_to_do(tmp_path):
    from backend.model.bundle import make_tiny_bundle

    bundle = make_tiny_bundle(tmp_path / "bundle", box_geocells(), seed=0)
    proc = subprocess.run([sys.executable, "-m", "bot", "demo", "--bundle", str(bundle)],
                          check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "arena_places" in proc.stderr and "Traceback" not in proc.stderr


def test_ctrl_c_stops_everything_cleanly(chromium_path, tmp_path):
    import signal
    import time

    from backend.model.bundle import make_tiny_bundle

    bundle = make_tiny_bundle(tmp_path / "bundle", box_geocells(), seed=0)
    places = write_sample_dataset(tmp_path / "places", n=4, size=128)
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    proc = subprocess.Popen([sys.executable, "-m", "bot", "demo", "--bundle", str(bundle),
                             "--places", str(places), "--out", str(tmp_path / "out")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    seen = []
    deadline = time.monotonic() + 240
    for line in proc.stdout:  # wait until the duel is under way
        seen.append(line)
        if line.startswith("round 1 ") or time.monotonic() > deadline:
            break
    assert any(x.startswith("round 1 ") for x in seen), "".join(seen)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert "demo interrupted" in err and "Traceback" not in err, err[-2000:]
    leftover = subprocess.run(["pgrep", "-g", str(proc.pid)], check=False, capture_output=True,
                              text=True)
    assert leftover.stdout.strip() == "", "processes left running after Ctrl-C"
