"""The server's own behaviour with a fake predictor: protocol flow, every bad input, auth,
limits, batching, responsiveness and graceful shutdown. Real sockets, real websocket client.
(The round trip with a real tiny model bundle is in test_server_roundtrip.py.)"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import struct
import urllib.request

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from backend.core import protocol as p
from backend.server import Limits, run_server_in_thread, serve
from backend.server.auth import OriginPolicy, check_token_text, new_token, token_matches
from tests.server_fixtures import (
    FakePredictor,
    b64,
    hello_frame,
    jpeg_bytes,
    open_client,
    raw_round,
    recv_msg,
    round_frame,
)


def run(coro, timeout: float = 60.0):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def http_get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def with_size(jpeg: bytes, width: int, height: int) -> bytes:
    """The same JPEG with its SOF header claiming another size (a decompression bomb)."""
    i = jpeg.index(b"\xff\xc0")
    return jpeg[:i + 5] + struct.pack(">HH", height, width) + jpeg[i + 9:]


# ------------------------------------------------------------------ flow

def test_round_trip_result_ping_health_metrics_and_log(tmp_path):
    async def main():
        db = tmp_path / "s.sqlite"
        server = await serve(FakePredictor(), port=0, db_path=db, token="secret-token-1")
        try:
            ws, welcome = await open_client(server.url, "secret-token-1")
            assert welcome.model.id == "fake-1" and welcome.limits.max_views == 4
            await ws.send(round_frame("g1:1", [jpeg_bytes(1), jpeg_bytes(2)], source="arena",
                                      mode="arena", game_id="g1"))
            guess = await recv_msg(ws)
            assert isinstance(guess, p.GuessMessage) and guess.round_id == "g1:1"
            assert guess.model_id == "fake-1" and guess.country == "XX"
            assert guess.latency_ms > 0 and {"decode_ms", "queue_ms", "batch_ms",
                                             "fake_ms"} <= set(guess.timings)
            await ws.send(p.Result(round_id="g1:1", truth=p.Place(10.0, 20.0), score=1234,
                                   opponent=p.Opponent(score=2000)).serialize())
            assert await recv_msg(ws) == p.Ack(round_id="g1:1")
            await ws.send(p.Ping(nonce="n1").serialize())
            assert await recv_msg(ws) == p.Pong(nonce="n1")
            status, health = await asyncio.to_thread(
                http_get, f"http://127.0.0.1:{server.port}/healthz")
            assert status == 200 and health["ok"] and health["model_id"] == "fake-1"
            status, metrics = await asyncio.to_thread(
                http_get, f"http://127.0.0.1:{server.port}/metrics")
            assert metrics["rounds_served"] == 1 and metrics["results_logged"] == 1
            assert metrics["clients"] == 1 and metrics["latency_ms"]["p50"] > 0
            assert metrics["queue_depth"] == 0
            await ws.close()
            return guess
        finally:
            await server.close()

    guess = run(main())
    conn = sqlite3.connect(tmp_path / "s.sqlite")
    row = conn.execute("SELECT round_id, source, mode, game_id, guess_lat, guess_lng, score, "
                       "opponent_score, distance_km, n_views, session_id FROM rounds").fetchone()
    assert row[:4] == ("g1:1", "arena", "arena", "g1")
    assert row[4:6] == pytest.approx((guess.lat, guess.lng))
    assert row[6:8] == (1234, 2000) and row[8] > 0 and row[9] == 2 and row[10] == 1
    assert conn.execute("SELECT client_kind FROM sessions").fetchone()[0] == "test"


# ------------------------------------------------------------------ bad input

def test_every_bad_input_gets_a_clear_error_and_the_connection_carries_on():
    good = jpeg_bytes(3)
    cases = [
        ("hello?", "bad_json"),
        ('{"v": 1, "type": "teleport"}', "unknown_type"),
        ('{"v": 2, "type": "ping"}', "unsupported_version"),
        ('{"v": 1, "type": "ping", "pad": "' + "x" * 300_000 + '"}', "message_too_large"),
        (raw_round("five", [b64(good)] * 5), "too_many_views"),
        (raw_round("corrupt", [b64(good[: len(good) // 2])]), "bad_image"),
        (raw_round("garbage", [b64(b"\xff\xd8\xff" + bytes(range(256)) * 4)]), "bad_image"),
        (raw_round("bomb", [b64(with_size(good, 60000, 60000))]), "image_too_large"),
        (raw_round("bomb2", [b64(with_size(good, 8000, 8000))]), "image_too_large"),
        (raw_round("thin", [b64(jpeg_bytes(4, size=(4000, 16)))]), "image_too_large"),
        (raw_round("tiny", [b64(jpeg_bytes(4, size=(8, 8)))]), "bad_image"),
        (raw_round("png", [b64(b"\x89PNG\r\n\x1a\n" + b"0" * 40)]), "bad_image"),
        (hello_frame("secret-token-1"), "bad_message"),
        (p.Ack(round_id="x").serialize(), "bad_message"),
        (p.Result(round_id="never", score=1).serialize(), "unknown_round"),
    ]

    async def main(tmp_db):
        limits = Limits(max_message_bytes=200_000)
        server = await serve(FakePredictor(), port=0, db_path=tmp_db, limits=limits,
                             token="secret-token-1")
        try:
            ws, _ = await open_client(server.url, "secret-token-1")
            other, _ = await open_client(server.url, "secret-token-1")
            for frame, code in cases:
                await ws.send(frame)
                err = await recv_msg(ws)
                assert isinstance(err, p.Error), (code, err)
                assert err.code == code, (code, err.message)
                assert not err.fatal and len(err.message) > 15
                # the other client is served meanwhile
                await other.send(round_frame(f"ok-{code}-{len(frame)}", [good]))
                assert isinstance(await recv_msg(other), p.GuessMessage)
            await ws.send(b"\x00\x01binary")
            err = await recv_msg(ws)
            assert err.code == "bad_json" and "binary" in err.message
            # a frame over twice the limit is cut by the websocket layer (1009)
            await ws.send("x" * 450_000)
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd.code == 1009
            # ... and the other client still carries on
            await other.send(round_frame("after", [good]))
            assert (await recv_msg(other)).round_id == "after"
            metrics = server.metrics_snapshot()
            assert metrics["errors"]["bad_image"] >= 4
        finally:
            await server.close()

    import tempfile
    with tempfile.TemporaryDirectory() as d:
        run(main(f"{d}/s.sqlite"))


def test_auth_and_origin():
    async def main():
        server = await serve(FakePredictor(), port=0, token="secret-token-1",
                             limits=Limits(hello_timeout_s=0.5),
                             allowed_origins=["chrome-extension://abc*", "none"])
        try:
            # no Origin (local client) and the extension's origin are fine
            ws, _ = await open_client(server.url, "secret-token-1")
            await ws.close()
            ws, _ = await open_client(server.url, "secret-token-1",
                                      origin="chrome-extension://abcdef")
            await ws.close()
            # a web page is refused at the handshake with a clear HTTP 403
            with pytest.raises(InvalidStatus) as info:
                await connect(server.url, origin="https://evil.example")
            assert info.value.response.status_code == 403
            assert b"--allow-origin" in info.value.response.body
            with pytest.raises(InvalidStatus):
                await connect(server.url, origin="chrome-extension://zzz")
            no_token = json.dumps({"v": 1, "type": "hello",
                                   "client": {"kind": "screen", "version": "1"}})
            for first, code in [(hello_frame("wrong-token"), "auth_failed"),
                                (no_token, "bad_message"),
                                (p.Ping().serialize(), "auth_required"),
                                ("junk", "bad_json"), (None, "auth_required")]:
                ws = await connect(server.url)
                if first is not None:
                    await ws.send(first)
                err = await recv_msg(ws)
                assert err.code == code and err.fatal
                with pytest.raises(ConnectionClosed) as closed:
                    await ws.recv()
                assert closed.value.rcvd.code == 1008
            assert server.metrics_snapshot()["errors"]["auth_failed"] == 1
        finally:
            await server.close()

    run(main())


def test_token_and_origin_helpers():
    assert token_matches("abc", "abc") and not token_matches("abc", "abd")
    assert not token_matches("abc", None) and not token_matches("abc", 123)
    with pytest.raises(ValueError):
        check_token_text("short")
    policy = OriginPolicy.parse(None)
    assert policy.allows(None) and policy.allows("chrome-extension://x")
    assert not policy.allows("http://127.0.0.1:8080")
    policy = OriginPolicy.parse(["http://127.0.0.1:8080/"])
    assert policy.allows("http://127.0.0.1:8080") and not policy.allows(None)
    with pytest.raises(ValueError, match="not an origin"):
        OriginPolicy.parse(["evil.example"])


def test_new_tokens_never_start_with_a_dash():
    # A token is pasted after --token on command lines; "-..." would read as an option.
    # Without the guard one token in 64 starts with "-": 2000 draws would all but surely show one.
    tokens = {new_token() for _ in range(2000)}
    assert len(tokens) == 2000
    assert not any(t.startswith("-") for t in tokens)
    assert all(len(t) == 22 for t in tokens)


def test_client_limit_in_flight_limit_and_duplicates():
    async def main():
        server = await serve(FakePredictor(delay_s=0.3), port=0, token="secret-token-1",
                             limits=Limits(max_clients=2, max_in_flight=2))
        try:
            a, _ = await open_client(server.url, "secret-token-1")
            b, _ = await open_client(server.url, "secret-token-1")
            c = await connect(server.url)
            await c.send(hello_frame("secret-token-1"))   # the paired-client budget is full
            err = await recv_msg(c)
            assert err.code == "server_full" and err.fatal
            frame = round_frame("r1", [jpeg_bytes(1)])
            await a.send(frame)
            await a.send(frame)                     # same id while in flight
            await a.send(round_frame("r2", [jpeg_bytes(2)]))
            await a.send(round_frame("r3", [jpeg_bytes(3)]))   # third in flight: busy
            got = [await recv_msg(a) for _ in range(4)]
            codes = sorted(m.code for m in got if isinstance(m, p.Error))
            assert codes == ["busy", "duplicate_round"]
            assert sorted(m.round_id for m in got if isinstance(m, p.GuessMessage)) == ["r1",
                                                                                       "r2"]
            await b.close()
        finally:
            await server.close()

    run(main())


# ------------------------------------------------------------------ batching, threads

def _burst(max_batch: int, clients: int = 6) -> list[int]:
    predictor = FakePredictor(delay_s=0.15)

    async def main():
        server = await serve(predictor, port=0, token="secret-token-1", max_batch=max_batch,
                             max_wait_ms=20)
        try:
            conns = [(await open_client(server.url, "secret-token-1"))[0]
                     for _ in range(clients)]
            for i, ws in enumerate(conns):
                await ws.send(round_frame(f"b{i}", [jpeg_bytes(i)]))
            for i, ws in enumerate(conns):
                assert (await recv_msg(ws)).round_id == f"b{i}"
        finally:
            await server.close()

    run(main())
    assert predictor.threads == {"pigeon-model_0"}   # one model worker thread
    return predictor.batch_sizes


def test_rounds_from_many_clients_share_batches():
    sizes = _burst(max_batch=8)
    assert sum(sizes) == 6 and max(sizes) > 1
    assert _burst(max_batch=1) == [1] * 6


def test_a_failing_round_does_not_fail_its_batch():
    from io import BytesIO

    import numpy as np
    from PIL import Image
    buf = BytesIO()   # dark (mean < 20, which this fake model fails on) but not blank
    noise = np.random.default_rng(0).integers(0, 36, (32, 32, 3), dtype=np.uint8)
    Image.fromarray(noise).save(buf, format="JPEG", quality=95)
    dark = buf.getvalue()

    async def main():
        server = await serve(FakePredictor(delay_s=0.1, fail_on_dark=True), port=0,
                             token="secret-token-1", max_wait_ms=50)
        try:
            a, _ = await open_client(server.url, "secret-token-1")
            b, _ = await open_client(server.url, "secret-token-1")
            await a.send(round_frame("dark", [dark]))
            await b.send(round_frame("fine", [jpeg_bytes(5)]))
            err, ok = await recv_msg(a), await recv_msg(b)
            assert err.code == "internal" and "dark views" in err.message
            assert isinstance(ok, p.GuessMessage)
            await a.send(round_frame("again", [jpeg_bytes(6)]))  # the client carries on
            assert isinstance(await recv_msg(a), p.GuessMessage)
        finally:
            await server.close()

    run(main())


def test_event_loop_answers_while_the_model_runs():
    async def main():
        server = await serve(FakePredictor(delay_s=1.5), port=0, token="secret-token-1")
        try:
            ws, _ = await open_client(server.url, "secret-token-1")
            await ws.send(round_frame("slow", [jpeg_bytes(1)]))
            await asyncio.sleep(0.2)
            await ws.send(p.Ping(nonce="x").serialize())
            # the pong overtakes the guess, and /metrics answers while the model works
            assert await recv_msg(ws) == p.Pong(nonce="x")
            status, metrics = await asyncio.to_thread(
                http_get, f"http://127.0.0.1:{server.port}/metrics")
            assert status == 200 and metrics["rounds_in_flight"] == 1
            assert metrics["rounds_served"] == 0
            assert (await recv_msg(ws)).round_id == "slow"
        finally:
            await server.close()

    run(main())


def test_graceful_close_finishes_rounds_in_flight():
    async def main():
        server = await serve(FakePredictor(delay_s=0.6), port=0, token="secret-token-1")
        ws, _ = await open_client(server.url, "secret-token-1")
        await ws.send(round_frame("last", [jpeg_bytes(1)]))
        for _ in range(200):   # until the server holds the round (not a fixed wait: CI is loaded)
            if server.metrics_snapshot()["rounds_in_flight"]:
                break
            await asyncio.sleep(0.01)
        assert server.metrics_snapshot()["rounds_in_flight"] == 1
        closing = asyncio.create_task(server.close())
        await asyncio.sleep(0.05)
        await ws.send(round_frame("too-late", [jpeg_bytes(2)]))
        got = {}
        for _ in range(2):
            m = await recv_msg(ws)
            got[m.round_id] = m
        assert isinstance(got["last"], p.GuessMessage)
        assert got["too-late"].code == "shutting_down"
        await closing
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
        assert info.value.rcvd.code == 1001

    run(main())


def test_run_server_in_thread_for_sync_callers(tmp_path):
    with run_server_in_thread(FakePredictor(), port=0, db_path=tmp_path / "t.sqlite") as h:
        assert h.url == f"ws://127.0.0.1:{h.port}/" and len(h.token) >= 20

        async def client():
            ws, _ = await open_client(h.url, h.token)
            await ws.send(round_frame("t1", [jpeg_bytes(1)]))
            return await recv_msg(ws)

        assert isinstance(run(client()), p.GuessMessage)
        assert h.metrics()["rounds_served"] == 1
    with run_server_in_thread(FakePredictor(), port=h.port) as h2, \
            pytest.raises(OSError, match="address already in use|in use"):
        run_server_in_thread(FakePredictor(), port=h2.port)


def test_a_client_that_leaves_mid_round_does_not_disturb_the_others(tmp_path):
    async def main():
        server = await serve(FakePredictor(delay_s=0.4), port=0, token="secret-token-1",
                             db_path=tmp_path / "d.sqlite")
        try:
            gone, _ = await open_client(server.url, "secret-token-1")
            stay, _ = await open_client(server.url, "secret-token-1")
            await gone.send(round_frame("orphan", [jpeg_bytes(1)]))
            await asyncio.sleep(0.1)
            await gone.close()
            await stay.send(round_frame("kept", [jpeg_bytes(2)]))
            assert (await recv_msg(stay)).round_id == "kept"
            await asyncio.sleep(0.5)
            m = server.metrics_snapshot()
            assert m["clients"] == 1 and m["rounds_in_flight"] == 0
            assert m["errors"] == {} and m["db_errors"] == 0
        finally:
            await server.close()

    run(main())
    conn = sqlite3.connect(tmp_path / "d.sqlite")
    # the orphan round was answered by the model and logged, though nobody read the guess
    assert {r[0] for r in conn.execute("SELECT round_id FROM rounds")} == {"orphan", "kept"}
    conn.close()
