"""The screen bot on a real virtual screen: Xvfb + Chromium showing the local arena.

`pigeon play --screen` captures the arena's panorama with mss, turns it with xdotool, gets a
guess from a real backend (`pigeon serve` on a tiny bundle) and the round lands in the score
log with source `screen`. Also: no display, a region outside the screen, and an unreachable
backend each give a one-line error.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time

import pytest

from bot.arena.launch import free_port, start_arena, start_backend
from bot.arena.sample_dataset import write_sample_dataset
from tests.predict_fixtures import box_geocells

pytestmark = pytest.mark.browser
WIDTH, HEIGHT = 1280, 800


@pytest.fixture(scope="module")
def xvfb_display():
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        reason = "Xvfb is not installed (make test installs it as root: apt-get install xvfb)"
        if os.environ.get("PIGEON_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    for num in range(90, 140):
        if not os.path.exists(f"/tmp/.X11-unix/X{num}") and not os.path.exists(f"/tmp/.X{num}-lock"):
            break
    proc = subprocess.Popen([xvfb, f":{num}", "-screen", "0", f"{WIDTH}x{HEIGHT}x24", "-nolisten",
                             "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not os.path.exists(f"/tmp/.X11-unix/X{num}"):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"Xvfb :{num} did not start")
        time.sleep(0.1)
    yield f":{num}"
    proc.terminate()
    proc.wait(10)


def _pigeon(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], check=False, capture_output=True,
                          text=True, env=env, timeout=timeout)


def test_screen_bot_plays_a_round_of_the_arena_on_a_virtual_screen(
        xvfb_display, chromium_path, tmp_path):
    if shutil.which("xdotool") is None:
        pytest.fail("xdotool is missing (make test installs it as root: apt-get install xdotool)")
    from backend.model.bundle import make_tiny_bundle
    from bot.browser import create_arena_game

    bundle = make_tiny_bundle(tmp_path / "bundle", box_geocells(), seed=0)
    db = tmp_path / "scores.sqlite"
    data = write_sample_dataset(tmp_path / "data", n=3, size=256)
    env = {**os.environ, "DISPLAY": xvfb_display}
    with start_backend(bundle, extra_args=["--db", str(db)]) as backend, \
            start_arena(data, log_dir=tmp_path / "logs") as arena:
        game = create_arena_game(arena.url, mode="classic", opponent="none")
        chrome = subprocess.Popen(
            [chromium_path, "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--window-position=0,0",
             f"--window-size={WIDTH},{HEIGHT}", "--kiosk",
             arena.url.rstrip("/") + game["play_url"]],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(4)  # the page loads; the screen bot then waits for a settled frame
            # focus the page so that the turn key reaches the viewer
            subprocess.run(["xdotool", "mousemove", "300", "300", "click", "1"], check=False,
                           env=env, timeout=10)
            proc = _pigeon("play", "--screen", "--rounds", "1", "--region",
                           f"0,0,{WIDTH // 2},{HEIGHT // 2}", "--window", "--backend", backend.url,
                           f"--token={backend.token}", "--map", "arena-test", env=env)
        finally:
            chrome.terminate()
            chrome.wait(10)
    assert proc.returncode == 0, proc.stderr
    assert "round 1: guess" in proc.stdout and "4 view(s)" in proc.stdout, proc.stdout
    assert "did not change" not in proc.stdout, "the turn key did not turn the arena's view"
    with sqlite3.connect(db) as con:
        rows = con.execute("SELECT source, map FROM rounds").fetchall()
    assert rows == [("screen", "arena-test")]


def test_guess_window_stays_on_top_and_shows_the_guess(xvfb_display, monkeypatch):
    monkeypatch.setenv("DISPLAY", xvfb_display)
    from bot.screenbot.guess_window import GuessWindow

    win = GuessWindow()
    try:
        assert int(win.root.attributes("-topmost")) == 1
        win.show("round 1: guess 48.8566, 2.3522 FR")
        assert win.text == "round 1: guess 48.8566, 2.3522 FR"
        assert win.root.winfo_ismapped()
    finally:
        win.close()
    win.show("after close")  # closing hides the display only; nothing raises


def test_no_display_is_a_clear_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = _pigeon("play", "--screen", "--token", "t", env=env)
    assert proc.returncode == 2
    assert "no display" in proc.stderr and "Traceback" not in proc.stderr


def test_region_outside_the_screen_is_a_clear_error(xvfb_display):
    env = {**os.environ, "DISPLAY": xvfb_display}
    proc = _pigeon("play", "--screen", "--token", "t", "--region", "1200,0,400,300", env=env)
    assert proc.returncode == 2
    assert "outside the screen" in proc.stderr and "Traceback" not in proc.stderr


def test_unreachable_backend_is_a_clear_error(xvfb_display):
    env = {**os.environ, "DISPLAY": xvfb_display}
    port = free_port()
    proc = _pigeon("play", "--screen", "--token", "t", "--backend", f"ws://127.0.0.1:{port}/",
                   env=env)
    assert proc.returncode == 2
    assert "cannot reach the backend" in proc.stderr and "Traceback" not in proc.stderr
