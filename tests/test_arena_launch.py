"""``pigeon arena --model BUNDLE`` as a user runs it: a subprocess that starts ``pigeon serve``
on the bundle and offers the bot as an opponent; one duel round against it over HTTP."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.arena.launch import free_port, wait_http
from bot.arena.sample_dataset import write_sample_dataset
from tests.predict_fixtures import box_geocells


def _json(url, body=None, token=None):
    req = urllib.request.Request(url, method="POST" if body is not None else "GET",
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json",
                                          **({"X-Player-Token": token} if token else {})})
    with urllib.request.urlopen(req, timeout=30) as res:
        return json.loads(res.read())


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


@pytest.mark.slow
def test_pigeon_arena_with_model_plays_the_bot(tmp_path):
    from backend.model.bundle import make_tiny_bundle
    from backend.scorelog import ScoreLog

    bundle = make_tiny_bundle(tmp_path / "bundle", box_geocells())
    data = write_sample_dataset(tmp_path / "data", n=4, size=64)
    port = free_port()
    db = tmp_path / "arena-scores.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "bot", "arena", "--data", str(data),
                             "--model", str(bundle), "--port", str(port), "--db", str(db),
                             "--log-dir", str(tmp_path / "logs")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/api/info", timeout_s=120, proc=proc)
        assert "bot" in _json(base + "/api/info")["opponents"]
        # the backend the arena started has the token in its environment, not its argv
        (serve_pid,) = [c for c in _children(proc.pid) if " serve " in _cmdline(c)]
        assert "--token" not in _cmdline(serve_pid)
        env = Path(f"/proc/{serve_pid}/environ").read_bytes().split(b"\0")
        token = next(e for e in env if e.startswith(b"PIGEON_TOKEN=")).split(b"=", 1)[1]
        assert len(token) >= 20 and token.decode() not in _cmdline(serve_pid)
        g = _json(base + "/api/games", {"mode": "duel", "opponent": "bot", "name": "person"})
        state_url = f"{base}/api/games/{g['game_id']}/state"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            st = _json(state_url, token=g["token"])
            if len(st["round"]["guessed"]) == 1:   # the bot has guessed round 1
                break
            time.sleep(0.2)
        assert st["round"]["guessed"] != [g["player_id"]] and len(st["round"]["guessed"]) == 1
        _json(f"{base}/api/games/{g['game_id']}/guess", {"lat": 1.0, "lng": 2.0, "round": 1},
              token=g["token"])
        res = _json(f"{base}/api/games/{g['game_id']}/rounds/1/result", token=g["token"])
        assert len(res["guesses"]) == 2 and not any(x["timed_out"] for x in res["guesses"])
        rows = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not rows:   # the bot reports the result
            if db.exists():
                with ScoreLog(db, readonly=True) as log:
                    rows = log.rounds(with_result=True)
            time.sleep(0.2)
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0]
    assert "pigeon arena: http://" in out
    # the bot's round went into the --db given, not into a score log under $HOME
    assert [r.round_id for r in rows] == [f"arena-{g['game_id']}:1"]


@pytest.mark.slow
def test_start_backend_takes_a_token_that_begins_with_a_dash(tmp_path):
    # CI once failed when a random token came out as "-...": `--token -x` reads as an option.
    from backend.client import BackendClient
    from backend.model.bundle import make_tiny_bundle
    from bot.arena.launch import start_backend

    bundle = make_tiny_bundle(tmp_path / "bundle", box_geocells())
    token = "-begins-with-a-dash-0123"
    async def pair(url):
        async with BackendClient(url, token) as client:
            return client.welcome

    with start_backend(bundle, token=token, extra_args=["--no-db"]) as backend:
        assert backend.token == token
        assert asyncio.run(pair(backend.url)) is not None
        assert token not in _cmdline(backend.proc.pid)   # PIGEON_TOKEN, not argv
