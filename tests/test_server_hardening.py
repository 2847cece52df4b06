"""The server's promises under attack and failure (issue 18), in process with a fake model:
an ack means the row is stored, a guess says whether it was logged, silent sockets cannot
lock a paired client out, a client that never reads is dropped, big views are decoded small
and blank ones refused, text the score log cannot store is refused at the door.
(The same promises end to end, with a real ``pigeon serve`` process: test_reliability.py.)"""

from __future__ import annotations

import asyncio
import io
import json
import sqlite3
import time

import pytest
from PIL import Image
from websockets.asyncio.client import connect

from backend.core import protocol as p
from backend.server import Limits, serve
from backend.server.connections import HELLO_MAX_BYTES
from backend.server.limits import decode_view
from tests.reliability_harness import RawSocket, result_for, view_jpeg
from tests.server_fixtures import FakePredictor, hello_frame, open_client, recv_msg, round_frame

TOKEN = "secret-token-1"


def run(coro, timeout: float = 90.0):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def _locked(db):
    """Another process's write lock on the score log (held until closed)."""
    con = sqlite3.connect(db, timeout=0, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    return con


# ------------------------------------------------------------------ items 1 and 2: storage

def test_an_ack_means_stored_and_a_guess_says_whether_it_was_logged(tmp_path):
    db = tmp_path / "s.sqlite"

    async def main():
        server = await serve(FakePredictor(), port=0, db_path=db, token=TOKEN)
        try:
            ws, _ = await open_client(server.url, TOKEN)
            await ws.send(round_frame("ok:1", [view_jpeg(1)]))
            assert (await recv_msg(ws)).logged is True
            lock = _locked(db)              # the score log is locked beyond the busy timeout
            await ws.send(round_frame("locked:1", [view_jpeg(2)]))
            guess = await recv_msg(ws)
            assert isinstance(guess, p.GuessMessage) and guess.logged is False
            await ws.send(result_for("ok:1").serialize())
            err = await recv_msg(ws)
            assert err.code == "storage_failed" and err.round_id == "ok:1", err
            lock.close()
            # the client kept the result and sends it again: now it is stored and acked
            await ws.send(result_for("ok:1").serialize())
            assert await recv_msg(ws) == p.Ack(round_id="ok:1")
            # the round that could not be logged: its result is refused, not acked
            await ws.send(result_for("locked:1").serialize())
            assert (await recv_msg(ws)).code == "unknown_round"
            # the same result again is harmless; a different one never overwrites it
            await ws.send(result_for("ok:1").serialize())
            assert await recv_msg(ws) == p.Ack(round_id="ok:1")
            await ws.send(result_for("ok:1", score=10.0).serialize())
            err = await recv_msg(ws)
            assert err.code == "duplicate_round" and "score" in err.message
            assert server.metrics_snapshot()["db_errors"] == 2
        finally:
            await server.close()

    run(main())
    con = sqlite3.connect(db)
    assert con.execute("SELECT round_id, score FROM rounds").fetchall() == [("ok:1", 1234.0)]
    con.close()


def test_text_sqlite_cannot_store_is_refused_before_the_guess(tmp_path):
    async def main():
        server = await serve(FakePredictor(), port=0, db_path=tmp_path / "s.sqlite",
                             token=TOKEN)
        try:
            ws, _ = await open_client(server.url, TOKEN)
            frame = json.loads(round_frame("r1", [view_jpeg(1)]))
            for bad in ("world\ud800", "world\x00", "world\n"):
                frame["map"] = bad
                await ws.send(json.dumps(frame))
                err = await recv_msg(ws)
                assert err.code == "bad_message" and "map" in err.message and not err.fatal
            frame["map"], frame["round_id"] = "world", "r1\n"   # $ would let it through
            await ws.send(json.dumps(frame))
            assert (await recv_msg(ws)).code == "bad_message"
            await ws.send(round_frame("r2", [view_jpeg(2)]))
            assert (await recv_msg(ws)).logged is True
        finally:
            await server.close()

    run(main())


@pytest.mark.parametrize("hello", [
    {"token": "secret-\ud800"},
    {"client": {"kind": "test", "version": "1\udfff"}},
    {"client": {"kind": "test", "version": "1", "name": "a\x07b"}},
])
def test_a_hello_with_a_lone_surrogate_or_control_character_is_a_clear_refusal(hello):
    async def main():
        server = await serve(FakePredictor(), port=0, token=TOKEN)
        try:
            ws = await connect(server.url)
            await ws.send(json.dumps({"v": 1, "type": "hello", "token": TOKEN,
                                      "client": {"kind": "test", "version": "1"}, **hello}))
            err = await recv_msg(ws)
            assert err.code == "bad_message" and err.fatal
            with pytest.raises(Exception) as closed:
                await ws.recv()
            assert closed.value.rcvd.code == 1008   # a refusal, not 1011 (internal error)
            assert "internal" not in server.metrics_snapshot()["errors"]
        finally:
            await server.close()

    run(main())


# ------------------------------------------------------------------ items 4 and 5: lock-outs

def test_a_socket_before_hello_cannot_send_a_big_frame():
    """Before a good hello a frame is refused by its header (1009), before its payload is
    read; after it, frames up to the message limit are read as usual."""
    async def main():
        server = await serve(FakePredictor(), port=0, token=TOKEN,
                             limits=Limits(hello_timeout_s=30))
        try:
            raw = await asyncio.to_thread(RawSocket, server.port)
            frame = RawSocket.frame("x" * (HELLO_MAX_BYTES + 1))
            raw.sock.sendall(frame[:1000])        # the header says 64 KiB + 1; 1000 bytes come

            def close_code() -> int:
                raw.sock.settimeout(5)            # the hello deadline is 30 s: not that
                head = raw.sock.recv(4)
                assert head[0] == 0x88, head      # a close frame
                return int.from_bytes(head[2:4], "big")

            assert await asyncio.to_thread(close_code) == 1009
            raw.close()
            ws, _ = await open_client(server.url, TOKEN)
            big = view_jpeg(7, size=(1600, 1200))
            assert len(big) > HELLO_MAX_BYTES
            await ws.send(round_frame("big", [big]))
            assert (await recv_msg(ws)).round_id == "big"
        finally:
            await server.close()

    run(main())


def test_silent_sockets_cannot_lock_a_paired_client_out():
    async def main():
        server = await serve(FakePredictor(), port=0, token=TOKEN,
                             limits=Limits(max_clients=4, max_unpaired=3, hello_timeout_s=30))
        silent = []
        try:
            for _ in range(20):   # more silent sockets than all the slots together
                silent.append(await asyncio.to_thread(RawSocket, server.port))
            ws, _ = await open_client(server.url, TOKEN)   # still gets in
            await ws.send(round_frame("r1", [view_jpeg(1)]))
            assert isinstance(await recv_msg(ws), p.GuessMessage)
            m = server.metrics_snapshot()
            assert m["clients"] == 1 and m["clients_unpaired"] <= 3
            assert m["unpaired_dropped"] >= 17
            dropped = await asyncio.gather(*(asyncio.to_thread(s.closed_by_server, 5)
                                             for s in silent[:17]))
            assert all(dropped)
        finally:
            for s in silent:
                s.close()
            await server.close()

    run(main())


def test_a_socket_that_never_says_hello_is_closed_soon():
    async def main():
        server = await serve(FakePredictor(), port=0, token=TOKEN,
                             limits=Limits(hello_timeout_s=0.5))
        try:
            raw = await asyncio.to_thread(RawSocket, server.port)
            assert await asyncio.to_thread(raw.closed_by_server, 10)
            raw.close()
        finally:
            await server.close()

    run(main())


def test_a_client_that_never_reads_is_dropped_and_the_others_are_served():
    async def main():
        server = await serve(FakePredictor(), port=0, token=TOKEN,
                             limits=Limits(send_timeout_s=1.0, max_results_in_flight=4))
        try:
            other, _ = await open_client(server.url, TOKEN)
            raw = await asyncio.to_thread(RawSocket, server.port, rcvbuf=4096)
            raw.send_text(hello_frame(TOKEN))
            unknown = result_for("never-played").serialize()

            def flood() -> tuple[int, str]:
                """Results (each answered) and pings, never reading, until the server drops
                us. No fixed count: how much the kernel buffers before the server's writes
                block depends on the machine (tcp_wmem), so we flood until the socket fails."""
                ping = p.Ping(nonce="x" * 60).serialize()
                sent, deadline = 0, time.monotonic() + 120
                try:
                    while time.monotonic() < deadline:
                        raw.send_text(unknown if sent % 2 else ping)
                        sent += 1
                except TimeoutError:   # our write waited 10 s: the server stopped reading
                    return sent, "timeout"          # but did not drop us
                except OSError as exc:   # the server aborted the connection
                    return sent, type(exc).__name__
                return sent, "never dropped"

            flooding = asyncio.ensure_future(asyncio.to_thread(flood))
            worst = 0.0
            while not flooding.done():
                m = server.metrics_snapshot()
                worst = max(worst, m["rounds_in_flight"])
                await other.send(p.Ping(nonce="alive").serialize())
                assert await recv_msg(other, timeout=10) == p.Pong(nonce="alive")
                await asyncio.sleep(0.05)
            sent, how = await flooding
            assert how in ("ConnectionResetError", "BrokenPipeError"), (sent, how)
            for _ in range(400):    # the dropped client's handler finishes (a loaded CI box)
                if server.metrics_snapshot()["clients_dropped"]:
                    break
                await asyncio.sleep(0.05)
            assert server.metrics_snapshot()["clients_dropped"] == 1, (sent, how)
            assert worst <= 4 + 1          # results in flight stay bounded per client
            await other.send(round_frame("after", [view_jpeg(3)]))
            assert (await recv_msg(other)).round_id == "after"
            raw.close()
        finally:
            await server.close()

    run(main())


# ------------------------------------------------------------------ items 6 and 10: views

def _jpeg(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85)
    return buf.getvalue()


def test_big_views_are_decoded_small():
    limits = Limits(max_pixels=20_000_000, decode_max_side=1280)
    img = decode_view(view_jpeg(4, size=(4096, 3072)), limits)
    assert max(img.size) == 1280 and img.size[0] / img.size[1] == pytest.approx(4 / 3, 0.01)
    assert decode_view(view_jpeg(5, size=(800, 450)), limits).size == (800, 450)


@pytest.mark.parametrize("fill", [(0, 0, 0), (255, 255, 255), (40, 90, 160)])
def test_blank_views_are_refused(fill):
    limits = Limits()
    blank = Image.new("RGB", (640, 360), fill)
    blank.paste(Image.new("RGB", (12, 12), (200, 200, 200)), (300, 170))   # a spinner
    with pytest.raises(p.ProtocolError) as info:
        decode_view(_jpeg(blank), limits, "view 3")
    assert info.value.code == "bad_image" and "no content" in info.value.message
    assert "view 3" in info.value.message


def test_the_memory_budget_makes_rounds_wait_their_turn():
    from backend.server.memory_budget import MemoryBudget

    async def main():
        budget = MemoryBudget(100)
        await budget.acquire(60)
        second = asyncio.ensure_future(budget.acquire(60))
        await asyncio.sleep(0.05)
        assert not second.done() and budget.waiting == 1
        budget.release(60)
        await asyncio.wait_for(second, 1)
        assert budget.used == 60 and budget.peak == 60
        big = asyncio.ensure_future(budget.acquire(500))   # larger than the budget: alone
        budget.release(60)
        await asyncio.wait_for(big, 1)
        assert budget.used == 500
        budget.release(500)

    run(main())


def test_a_round_of_blank_views_gets_an_error_not_a_guess():
    black = _jpeg(Image.new("RGB", (640, 360), (0, 0, 0)))

    async def main():
        server = await serve(FakePredictor(), port=0, token=TOKEN)
        try:
            ws, _ = await open_client(server.url, TOKEN)
            await ws.send(round_frame("black", [view_jpeg(1), black]))
            err = await recv_msg(ws)
            assert err.code == "bad_image" and "view 2 shows no content" in err.message
        finally:
            await server.close()

    run(main())


def test_guess_and_ack_without_a_score_log():
    async def main():
        server = await serve(FakePredictor(), port=0, token=TOKEN)   # no db
        try:
            ws, _ = await open_client(server.url, TOKEN)
            await ws.send(round_frame("r", [view_jpeg(1)]))
            assert (await recv_msg(ws)).logged is None
            await ws.send(result_for("r").serialize())
            assert await recv_msg(ws) == p.Ack(round_id="r")
        finally:
            await server.close()

    run(main())


def test_big_frames_wait_for_the_memory_budget():
    from backend.server.limits import round_memory

    big = [view_jpeg(i, size=(1280, 720)) for i in range(4)]

    async def main():
        server = await serve(FakePredictor(delay_s=0.2), port=0, token=TOKEN,
                             limits=Limits(max_bytes_in_flight=1))   # one round at a time
        try:
            clients = [(await open_client(server.url, TOKEN))[0] for _ in range(3)]
            for i, ws in enumerate(clients):
                await ws.send(round_frame(f"b{i}", big))
            for i, ws in enumerate(clients):
                assert (await recv_msg(ws)).round_id == f"b{i}"
            one = round_memory(p.parse_message(round_frame("x", big)), server.limits)
            m = server.metrics_snapshot()
            assert m["bytes_in_flight"] == 0 and m["bytes_in_flight_peak"] == one
        finally:
            await server.close()

    run(main())


def test_the_arena_bot_sends_a_result_again_until_it_is_stored(tmp_path):
    from bot.arena.opponents import BotPlayer, RoundContext

    db = tmp_path / "s.sqlite"

    async def main():
        server = await serve(FakePredictor(), port=0, db_path=db, token=TOKEN)
        bot = BotPlayer(server.url, TOKEN)
        try:
            ctx = RoundContext("g1", 1, "duel", [view_jpeg(1)])
            await bot.play_round(ctx)
            lock = _locked(db)
            asyncio.get_running_loop().call_later(3.0, lock.close)   # freed after a while
            ended = {"truth": {"lat": 1.0, "lng": 2.0},
                     "guesses": [{"player_id": "p2", "timed_out": False, "score": 4000,
                                  "distance_km": 12.5}]}
            await bot.round_ended(ctx, ended, "p2")
            assert server.metrics_snapshot()["db_errors"] >= 1   # refused once, then stored
        finally:
            await bot.close()
            await server.close()

    run(main())
    con = sqlite3.connect(db)
    assert con.execute("SELECT round_id, score FROM rounds").fetchall() == [("arena-g1:1", 4000.0)]
    con.close()
