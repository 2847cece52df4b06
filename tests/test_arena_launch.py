"""``pigeon arena --model BUNDLE`` as a user runs it: a subprocess that starts ``pigeon serve``
on the bundle and offers the bot as an opponent; one duel round against it over HTTP."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request

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


@pytest.mark.slow
def test_pigeon_arena_with_model_plays_the_bot(tmp_path):
    from backend.model.bundle import make_tiny_bundle

    bundle = make_tiny_bundle(tmp_path / "bundle", box_geocells())
    data = write_sample_dataset(tmp_path / "data", n=4, size=64)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bot", "arena", "--data", str(data),
                             "--model", str(bundle), "--port", str(port),
                             "--log-dir", str(tmp_path / "logs")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(base + "/api/info", timeout_s=120, proc=proc)
        assert "bot" in _json(base + "/api/info")["opponents"]
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
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0]
    assert "pigeon arena: http://" in out


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
