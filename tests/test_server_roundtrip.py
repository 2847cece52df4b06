"""The real thing: a server on a random port with a real tiny model bundle (open_clip ViT, real
Predictor), real websocket clients, a real SQLite score log; 8 clients x 25 rounds; and
``pigeon serve`` in a subprocess, stopped by SIGTERM (graceful) and killed by SIGKILL in a burst
of logging (the score log must open and hold every round whose guess was sent)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from backend.core import protocol as p
from backend.scorelog import ScoreLog
from backend.server import serve
from tests.predict_fixtures import box_geocells
from tests.server_fixtures import jpeg_bytes, open_client, recv_msg, round_frame

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bundle_path(tmp_path_factory):
    from backend.model.bundle import make_tiny_bundle

    return make_tiny_bundle(tmp_path_factory.mktemp("srv") / "bundle", box_geocells(), seed=0)


@pytest.fixture(scope="module")
def predictor(bundle_path):
    from backend.model.bundle import load_bundle
    from backend.predict.predictor import Predictor

    return Predictor(load_bundle(bundle_path), geo=None)


def run(coro, timeout: float = 120.0):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def test_full_round_trip_with_a_tiny_bundle(predictor, tmp_path):
    views = [jpeg_bytes(i, size=(96, 64)) for i in range(4)]

    async def main():
        server = await serve(predictor, port=0, db_path=tmp_path / "s.sqlite")
        try:
            ws, welcome = await open_client(server.url, server.token, kind="extension")
            assert welcome.model.geocells == 6 and welcome.model.device == "cpu"
            assert welcome.model.id.startswith("bundle-")
            await ws.send(round_frame("duel-1:1", views, source="geoguessr", mode="duels",
                                      game_id="duel-1"))
            guess = await recv_msg(ws)
            await ws.send(p.Result(round_id="duel-1:1", truth=p.Place(48.0, 2.0), score=4000,
                                   distance_km=123.0,
                                   opponent=p.Opponent(47.0, 1.0, 3500)).serialize())
            ack = await recv_msg(ws)
            await ws.close()
            return welcome, guess, ack
        finally:
            await server.close()

    welcome, guess, ack = run(main())
    assert isinstance(guess, p.GuessMessage) and ack == p.Ack(round_id="duel-1:1")
    # the server's answer is the predictor's answer on the same pixels
    direct = predictor.predict([Image.open(io.BytesIO(v)).convert("RGB") for v in views])
    assert (guess.lat, guess.lng) == pytest.approx((direct.lat, direct.lng), abs=1e-6)
    assert guess.projected_score == pytest.approx(direct.projected_score, rel=1e-6)
    assert guess.country == direct.country and len(guess.top_k) == len(direct.top_k)
    assert guess.model_id == welcome.model.id
    assert {"backbone_ms", "heads_ms", "decode_ms", "queue_ms"} <= set(guess.timings)
    with ScoreLog(tmp_path / "s.sqlite") as log:
        (row,) = log.rounds()
    assert (row.round_id, row.source, row.mode, row.n_views) == ("duel-1:1", "geoguessr",
                                                                 "duels", 4)
    assert (row.guess_lat, row.guess_lng) == pytest.approx((guess.lat, guess.lng))
    assert (row.score, row.distance_km, row.opponent_score) == (4000, 123.0, 3500)
    assert row.model_id == welcome.model.id


def test_eight_clients_times_25_rounds_all_answered_and_logged(predictor, tmp_path):
    n_clients, n_rounds = 8, 25
    db = tmp_path / "load.sqlite"
    pool = [jpeg_bytes(i, size=(64, 64)) for i in range(8)]

    async def client(url, token, c):
        ws, _ = await open_client(url, token)
        answers = {}
        for r in range(n_rounds):
            rid = f"c{c}-r{r}"
            await ws.send(round_frame(rid, [pool[(c + r) % 8], pool[(c * r) % 8]]))
            msg = await recv_msg(ws, timeout=60)
            assert isinstance(msg, p.GuessMessage) and msg.round_id == rid, msg
            answers[rid] = (msg.lat, msg.lng)
            if r % 5 == 0:
                await ws.send(p.Result(round_id=rid, score=100.0 * c).serialize())
                assert await recv_msg(ws) == p.Ack(round_id=rid)
        await ws.close()
        return answers

    async def main():
        server = await serve(predictor, port=0, db_path=db, max_batch=8, max_wait_ms=5)
        try:
            results = await asyncio.gather(*(client(server.url, server.token, c)
                                             for c in range(n_clients)))
            return results, server.metrics_snapshot()
        finally:
            await server.close()

    results, metrics = run(main(), timeout=240)
    answers = {k: v for r in results for k, v in r.items()}
    assert len(answers) == n_clients * n_rounds
    assert metrics["rounds_served"] == 200 and metrics["errors"] == {}
    assert metrics["mean_batch_size"] > 1.0  # rounds of different clients shared batches
    with ScoreLog(db) as log:
        rows = log.rounds()
        assert len({r.session_id for r in rows}) == n_clients
    assert len(rows) == 200
    for r in rows:
        assert (r.guess_lat, r.guess_lng) == pytest.approx(answers[r.round_id])
    assert sum(r.score is not None for r in rows) == n_clients * 5


# ------------------------------------------------------------------ pigeon serve subprocess

def _start_cli(bundle_path: Path, db: Path) -> tuple[subprocess.Popen, str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PIGEON_QUIET": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--model", str(bundle_path), "--port", "0",
         "--device", "cpu", "--db", str(db), "--log-level", "info"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines, deadline = [], time.time() + 120
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Ctrl-C" in line:
            break
    text = "".join(lines)
    url = re.search(r"url:\s+(ws://\S+)", text)
    token = re.search(r"token:\s+(\S+)", text)
    if not (url and token):
        proc.kill()
        pytest.fail(f"pigeon serve did not start: {text}\n{proc.stderr.read()[-3000:]}")
    return proc, url.group(1), token.group(1)


@pytest.mark.slow
def test_pigeon_serve_stops_gracefully_on_sigterm(bundle_path, tmp_path):
    proc, url, token = _start_cli(bundle_path, tmp_path / "g.sqlite")
    try:
        async def main():
            ws, _ = await open_client(url, token)
            await ws.send(round_frame("g1", [jpeg_bytes(1)]))
            assert isinstance(await recv_msg(ws), p.GuessMessage)
            proc.send_signal(signal.SIGTERM)
            try:
                while True:
                    await recv_msg(ws, timeout=30)
            except Exception as exc:  # noqa: BLE001 - the server closes the socket
                return exc
        closed = run(main())
        assert getattr(getattr(closed, "rcvd", None), "code", None) == 1001
        assert proc.wait(30) == 0
        events = [json.loads(x) for x in proc.stderr.read().splitlines() if x.startswith("{")]
        names = [e["event"] for e in events]
        assert "server_started" in names and names[-1] == "server_stopped"
        assert any(e["event"] == "round" and e["round_id"] == "g1" for e in events)
    finally:
        if proc.poll() is None:
            proc.kill()
    with ScoreLog(tmp_path / "g.sqlite") as log:
        assert [r.round_id for r in log.rounds()] == ["g1"]


@pytest.mark.slow
def test_sigkill_in_a_burst_loses_no_committed_round(bundle_path, tmp_path):
    db = tmp_path / "kill.sqlite"
    proc, url, token = _start_cli(bundle_path, db)
    received: dict[str, tuple[float, float]] = {}
    acked: dict[str, float] = {}

    async def burst(c: int) -> None:
        ws, _ = await open_client(url, token)
        try:
            for r in range(10_000):
                rid = f"k{c}-{r}"
                await ws.send(round_frame(rid, [jpeg_bytes(r % 5)]))
                msg = await recv_msg(ws, timeout=30)
                received[rid] = (msg.lat, msg.lng)
                if r % 2:
                    await ws.send(p.Result(round_id=rid, score=float(r)).serialize())
                    assert await recv_msg(ws, timeout=30) == p.Ack(round_id=rid)
                    acked[rid] = float(r)
        except Exception:  # noqa: BLE001 - the server dies under us: that is the test
            return

    async def main() -> None:
        tasks = [asyncio.create_task(burst(c)) for c in range(4)]
        while len(received) < 60:
            await asyncio.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        await asyncio.gather(*tasks)

    try:
        run(main())
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    assert len(received) >= 60
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = {rid: (lat, lng) for rid, lat, lng in
            conn.execute("SELECT round_id, guess_lat, guess_lng FROM rounds")}
    scores = dict(conn.execute("SELECT round_id, score FROM rounds WHERE score IS NOT NULL"))
    conn.close()
    # every acknowledged result too
    assert len(acked) >= 20 and all(scores.get(rid) == s for rid, s in acked.items())
    # every guess a client received was committed before it was sent
    missing = set(received) - set(rows)
    assert not missing, f"{len(missing)} answered rounds lost: {sorted(missing)[:5]}"
    for rid, latlng in received.items():
        assert rows[rid] == pytest.approx(latlng)
    with ScoreLog(db) as log:   # the log opens and takes new rounds after the crash
        log.log_guess(round_id="after-crash", source="test", lat=0, lng=0)
        assert log.count() == len(rows) + 1
