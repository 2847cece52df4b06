"""The cases of the reliability suite, each a function that attacks or breaks a real
``pigeon serve`` process and checks its promises, returning the figures it measured.

The promises, checked by every case where they apply:

- every result the server acknowledged is stored (an ack means "in the score log");
- every guessed round is in the log, or its guess said ``logged: false``;
- a paired client is served during any flood (its pings and rounds are answered);
- memory stays under a stated bound and comes back down.

``tests/test_reliability.py`` runs them at a small scale inside ``make test``;
``benchmarks/bench_reliability.py`` runs them larger and prints the table that
``docs/RELIABILITY.md`` holds. Everything is on 127.0.0.1 and bounded in time.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from backend.core import protocol as p
from tests.reliability_harness import (
    Player,
    RawSocket,
    ServeProcess,
    check_log,
    result_for,
    round_msg,
    rows,
    view_jpeg,
)

HUGE_SIDE = 4096


def _figures(name: str, players: list[Player], db: Path | None, **more: Any) -> dict[str, Any]:
    """What a case did and what the log holds of it (its own rounds only)."""
    guesses = {rid: lg for pl in players for rid, lg in pl.guessed.items()}
    acked = {rid for pl in players for rid in pl.acked}
    every = rows(db) if db is not None and db.exists() else {}
    found = {rid: r for rid, r in every.items() if rid in guesses}
    return {"case": name, "guesses": len(guesses),
            "logged_true": sum(1 for v in guesses.values() if v),
            "logged_false": sum(1 for v in guesses.values() if v is False),
            "results_acked": len(acked), "rows_found": len(found),
            "results_found": sum(1 for r in found.values() if r["result_at"] is not None),
            **more}


async def _play_until(player: Player, stop: asyncio.Event, prefix: str,
                      view: bytes) -> None:
    """Rounds back to back until ``stop`` (or the connection dies)."""
    i = 0
    try:
        while not stop.is_set():
            await player.play(1, prefix=f"{prefix}{i}-", views=[view], timeout_s=30)
            i += 1
    except Exception:  # noqa: BLE001 - the server was killed under us: that is the test
        return


# ---------------------------------------------------------------- auth and corruption

BAD_HELLOS = [
    ("wrong token", lambda tok: json.dumps({"v": 1, "type": "hello", "token": "wrong-token-x",
                                            "client": {"kind": "test", "version": "1"}}),
     "auth_failed"),
    ("lone surrogate in the token", lambda tok: json.dumps(
        {"v": 1, "type": "hello", "token": tok + "\ud800",
         "client": {"kind": "test", "version": "1"}}), "bad_message"),
    ("control character in the name", lambda tok: json.dumps(
        {"v": 1, "type": "hello", "token": tok,
         "client": {"kind": "test", "version": "1", "name": "a\u0000b"}}), "bad_message"),
    ("a round before hello", lambda tok: round_msg("r", [view_jpeg(1)]).serialize(),
     "auth_required"),
    ("not JSON", lambda tok: "hello?", "bad_json"),
]

BAD_FRAMES = [
    ("not JSON", "{{{", "bad_json"),
    ("a JSON array", "[1, 2]", "bad_json"),
    ("deep nesting", "[" * 100_000 + "]" * 100_000, "bad_json"),
    ("NaN", '{"v": 1, "type": "ping", "nonce": NaN}', "bad_json"),
    ("unknown type", '{"v": 1, "type": "teleport"}', "unknown_type"),
    ("round id with a newline", None, "bad_message"),
    ("lone surrogate in map", None, "bad_message"),
    ("control character in map", None, "bad_message"),
    ("huge number", '{"v": 1, "type": "result", "round_id": "x", "score": 1e999}', "bad_message"),
    ("result of a round never played", result_for("never-played").serialize(),
     "unknown_round"),
    ("a view that is a text file", None, "bad_image"),
    ("a black view", None, "bad_image"),
]


def _bad_round(kind: str) -> str:
    good = json.loads(round_msg("r-ok", [view_jpeg(2)]).serialize())
    if kind == "round id with a newline":
        good["round_id"] = "r1\n"
    elif kind == "lone surrogate in map":
        good["map"] = "world\udc80"
    elif kind == "control character in map":
        good["map"] = "world\u001b[31m"
    elif kind == "a view that is a text file":
        import base64
        good["views"][0]["jpeg"] = base64.b64encode(b"\xff\xd8\xff" + b"text " * 40).decode()
    elif kind == "a black view":
        import base64
        import io

        from PIL import Image
        buf = io.BytesIO()
        Image.new("RGB", (320, 180)).save(buf, "JPEG")
        good["views"][0]["jpeg"] = base64.b64encode(buf.getvalue()).decode()
    return json.dumps(good)


def case_auth_and_corruption(server: ServeProcess, scale: int = 1) -> dict[str, Any]:
    async def main() -> tuple[Player, list[str]]:
        from websockets.asyncio.client import connect

        player = Player(server.url, server.token)
        await player.connect()
        seen = []
        for name, frame, code in BAD_HELLOS:
            ws = await connect(server.url, open_timeout=20)
            await ws.send(frame(server.token))
            err = p.parse_message(await asyncio.wait_for(ws.recv(), 20))
            assert isinstance(err, p.Error) and err.fatal and err.code == code, (name, err)
            seen.append(f"hello: {name} -> {code}")
            await ws.close()
        # raw invalid UTF-8 (a surrogate encoded as bytes): the websocket layer refuses it
        raw = RawSocket(server.port)
        raw.send_text("\ud800")
        assert raw.closed_by_server(10), "invalid UTF-8 did not close the socket"
        raw.close()
        seen.append("hello: invalid UTF-8 bytes -> closed (1007)")
        for _ in range(scale):
            for name, frame, code in BAD_FRAMES:
                await player.ws.send(frame if frame is not None else _bad_round(name))
                err = await player.recv(30)
                assert isinstance(err, p.Error) and err.code == code and not err.fatal, \
                    (name, err)
                seen.append(f"paired: {name} -> {code}")
                assert await player.play(1, prefix=f"after-{len(seen)}-") == 1
        await player.close()
        return player, seen

    player, seen = asyncio.run(asyncio.wait_for(main(), 300))
    metrics = server.metrics()
    db = server.db
    problems = check_log(db, player)
    assert not problems, problems
    assert "internal" not in metrics["errors"], metrics["errors"]
    return _figures("auth and protocol corruption", [player], db, refusals=len(seen))


# ---------------------------------------------------------------- floods

async def _pair_like_the_extension(server: ServeProcess, tries: int = 6) -> Player:
    """Connect and say hello at once; if the socket is dropped first (the oldest silent
    socket makes room for new ones), try again after a short wait, as the extension's
    reconnect backoff does."""
    for attempt in range(tries):
        player = Player(server.url, server.token)
        try:
            await player.connect(timeout_s=30)
            player.attempts = attempt + 1
            return player
        except Exception:  # noqa: BLE001 - dropped before the hello got through
            await asyncio.sleep(0.5 * 2 ** attempt)
    raise AssertionError(f"a new client could not pair in {tries} tries during the flood")


def case_floods(server: ServeProcess, scale: int = 1) -> dict[str, Any]:
    """Silent sockets, wrong-token hellos and a client that never reads, all at once, while a
    paired player plays and pings (the server should run with a short ``--send-timeout``)."""
    db = server.db
    before = server.metrics()
    flood_s = 4.0 * scale
    stop, dropped = threading.Event(), threading.Event()
    opened = {"silent": 0, "hellos": 0}

    def silent_sockets() -> None:       # open and hold, as fast as they go
        held: list[RawSocket] = []
        while not stop.is_set():
            try:
                held.append(RawSocket(server.port, timeout_s=5))
                opened["silent"] += 1
            except OSError:
                time.sleep(0.01)
            if len(held) > 64:
                held.pop(0).close()
        for s in held:
            s.close()

    def wrong_hellos() -> None:
        bad = json.dumps({"v": 1, "type": "hello", "token": "not-the-token",
                          "client": {"kind": "test", "version": "1"}})
        while not stop.is_set():
            try:
                s = RawSocket(server.port, timeout_s=5)
                s.send_text(bad)
                s.close()
                opened["hellos"] += 1
            except OSError:
                time.sleep(0.01)

    def never_reads() -> None:
        s = RawSocket(server.port, rcvbuf=4096, timeout_s=5)
        s.send_text(json.dumps({"v": 1, "type": "hello", "token": server.token,
                                "client": {"kind": "test", "version": "1"}}))
        ping = p.Ping(nonce="x" * 60).serialize()
        try:
            while not stop.is_set() or not dropped.is_set():
                s.send_text(ping, repeat=200)
        except OSError:
            dropped.set()   # the server dropped us: what should happen
        s.close()

    async def main() -> tuple[Player, list[float], Player]:
        player = Player(server.url, server.token)
        await player.connect()
        threads = [threading.Thread(target=f, daemon=True)
                   for f in (silent_sockets, wrong_hellos, never_reads)]
        for t in threads:
            t.start()
        rtts = []
        t_end = time.monotonic() + flood_s
        i = 0
        while time.monotonic() < t_end:
            rtts.append(await player.ping_rtt(timeout_s=30))
            assert await player.play(1, prefix=f"f{i}-") == 1
            i += 1
        late = await _pair_like_the_extension(server)   # a client arriving mid-flood
        assert await late.play(2, prefix="late-") == 2
        stop.set()
        while not dropped.is_set():             # the never-reading client is dropped
            rtts.append(await player.ping_rtt(timeout_s=30))     # and we are served
            await asyncio.sleep(0.2)
        for t in threads:
            t.join(15)
        await player.close()
        await late.close()
        return player, rtts, late

    player, rtts, late = asyncio.run(asyncio.wait_for(main(), 240))
    metrics = server.metrics()
    problems = check_log(db, player, late)
    assert not problems, problems
    dropped = metrics["clients_dropped"] - before["clients_dropped"]
    evicted = metrics["unpaired_dropped"] - before["unpaired_dropped"]
    assert dropped >= 1, "the client that never reads was not dropped"
    return _figures("floods (silent sockets, wrong hellos, a never-reading client)",
                    [player, late], db, silent_sockets=opened["silent"],
                    wrong_hellos=opened["hellos"], ping_rtt_max_s=round(max(rtts), 3),
                    ping_rtt_median_s=round(sorted(rtts)[len(rtts) // 2], 3),
                    clients_dropped=dropped, unpaired_dropped=evicted,
                    late_client_tries=late.attempts)


# ---------------------------------------------------------------- huge views

def case_huge_views(server: ServeProcess, scale: int = 1, *, clients: int = 8,
                    peak_bound_mb: float = 700.0, settle_bound_mb: float = 200.0
                    ) -> dict[str, Any]:
    """``clients`` clients send a round of 4 views of 4096 x 4096 each, at once, ``scale``
    times. Peak RSS above the warm process stays under ``peak_bound_mb`` and, a few seconds
    after the burst, RSS is back within ``settle_bound_mb`` of the warm process."""
    db = server.db
    views = [view_jpeg(i, size=(HUGE_SIDE, HUGE_SIDE), quality=85) for i in range(4)]
    async def main() -> tuple[list[Player], float, float]:
        players = [Player(server.url, server.token) for _ in range(clients)]
        for pl in players:
            await pl.connect()
        await players[0].play(1, prefix="warm-", views=views)   # first big round: warm
        await asyncio.sleep(1.0)
        warm = server.rss_mb()
        hwm_before = server.peak_rss_mb()
        for burst in range(scale):
            frames = [round_msg(f"h{burst}-{k}", views).serialize() for k in range(clients)]
            await asyncio.gather(*(pl.ws.send(f) for pl, f in zip(players, frames)))
            for pl in players:
                pl.note(await pl.recv(300))
                rid = next(reversed(pl.guessed))
                await pl.ws.send(result_for(rid).serialize())
                pl.note(await pl.recv(60))
        for pl in players:
            await pl.close()
        return players, warm, hwm_before

    players, warm, hwm_before = asyncio.run(asyncio.wait_for(main(), 600))
    peak = server.peak_rss_mb()
    time.sleep(3.0)
    settled = server.rss_mb()
    metrics = server.metrics()
    problems = check_log(db, *players)
    assert not problems, problems
    assert not any(pl.refused for pl in players), [pl.refused for pl in players]
    assert sum(len(pl.guessed) for pl in players) == 1 + clients * scale
    assert peak <= max(hwm_before, warm + peak_bound_mb), f"peak RSS {peak:.0f} MB, warm {warm:.0f} MB"
    assert settled - warm <= settle_bound_mb, f"RSS {settled:.0f} MB after, warm {warm:.0f} MB"
    return _figures(f"huge views ({clients} clients x 4 views of {HUGE_SIDE}x{HUGE_SIDE}, "
                    f"x{scale})", players, db, warm_rss_mb=round(warm),
                    peak_rss_mb=round(peak), settled_rss_mb=round(settled),
                    bytes_in_flight_peak_mb=round(metrics["bytes_in_flight_peak"] / 2**20))


# ---------------------------------------------------------------- kills

def case_kill_mid_burst(server: ServeProcess, sig: int = signal.SIGKILL,
                        scale: int = 1) -> dict[str, Any]:
    """Four players play back to back; the server gets ``sig`` in the middle. SIGTERM must
    answer the rounds in flight and exit 0; after either, nothing acked or logged is lost
    and the file is sound (the next server on it opens it and plays on)."""
    db = server.db

    async def main() -> tuple[list[Player], int]:
        players = [Player(server.url, server.token) for _ in range(4)]
        for pl in players:
            await pl.connect()
        stop = asyncio.Event()
        tasks = [asyncio.create_task(_play_until(pl, stop, f"k{sig}-{k}-", view_jpeg(k)))
                 for k, pl in enumerate(players)]
        await asyncio.sleep(2.0 * scale)
        rc = await asyncio.to_thread(server.kill, sig)
        stop.set()
        await asyncio.wait(tasks, timeout=60)
        return players, rc

    players, rc = asyncio.run(asyncio.wait_for(main(), 300))
    if sig == signal.SIGTERM:
        assert rc == 0, f"pigeon serve exited with {rc} on SIGTERM"
    problems = check_log(db, *players)
    assert not problems, problems
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    name = "SIGKILL mid-burst" if sig == signal.SIGKILL else "SIGTERM mid-burst"
    return _figures(name, players, db, exit_code=rc)


# ---------------------------------------------------------------- a locked and a full disk

def case_locked_log(server: ServeProcess, scale: int = 1) -> dict[str, Any]:
    """Another process holds the score log's write lock beyond the busy timeout: guesses
    go on (``logged: false``), results are refused (``storage_failed``) and kept; once the
    lock is gone the kept results are sent again and stored."""
    db = server.db
    async def main() -> Player:
        player = Player(server.url, server.token)
        await player.connect()
        await player.play(2 * scale, prefix="before-")
        kept = []
        for i in range(2 * scale):              # guesses whose results come later
            await player.ws.send(round_msg(f"open-{i}", [view_jpeg(i)]).serialize())
            player.note(await player.recv())
            kept.append(f"open-{i}")
        lock = sqlite3.connect(db, timeout=0, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        await player.play(1 * scale, prefix="locked-")
        for rid in kept:
            await player.ws.send(result_for(rid).serialize())
            player.note(await player.recv())
        assert all(player.refused.get(rid) == "storage_failed" for rid in kept)
        lock.close()
        for rid in kept:                       # what the extension's outbox does
            await player.ws.send(result_for(rid).serialize())
            player.note(await player.recv())
        assert set(kept) <= player.acked
        await player.play(1 * scale, prefix="after-")
        await player.close()
        return player

    player = asyncio.run(asyncio.wait_for(main(), 300))
    problems = check_log(db, player)
    assert not problems, problems
    figures = _figures("score log locked by another process", [player], db)
    assert figures["logged_false"] >= scale
    return figures


def mount_tmpfs(folder: Path, size_kb: int) -> bool:
    """Mount a small tmpfs at ``folder`` (root only); False when this machine does not allow it."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs",
                           str(folder)], check=False, capture_output=True).returncode == 0


def case_full_disk(bundle: Path, work: Path, scale: int = 1, *,
                   allow_tmpfs: bool = True) -> dict[str, Any]:
    """The score log's disk fills up mid-game: a small tmpfs when root may mount one, else a
    file-size limit (RLIMIT_FSIZE) on the server. Guesses go on; no acked result is lost.
    (It starts its own server: the disk is chosen before the server opens the log.)"""
    disk = work / "small-disk"
    tmpfs = allow_tmpfs and mount_tmpfs(disk, 384)
    if not tmpfs:
        disk.mkdir(parents=True, exist_ok=True)
    db = disk / "full.sqlite"
    try:
        with ServeProcess(bundle, db, fsize_limit=None if tmpfs else 256 * 1024) as server:
            async def main() -> Player:
                player = Player(server.url, server.token)
                await player.connect()
                n = 0
                while n < 3000 * scale and False not in player.guessed.values() and \
                        "storage_failed" not in player.refused.values():
                    await player.play(1, prefix=f"d{n}-")
                    n += 1
                await player.play(5 * scale, prefix="full-")   # the game goes on, unlogged
                await player.close()
                return player

            player = asyncio.run(asyncio.wait_for(main(), 600))
            metrics = server.metrics()
        problems = check_log(db, player)
        assert not problems, problems
        assert False in player.guessed.values() or \
            "storage_failed" in player.refused.values(), "the disk never filled"
        assert all(f"full-{i}" in player.guessed for i in range(5 * scale))
        return _figures(f"full disk ({'384 KiB tmpfs' if tmpfs else '256 KiB RLIMIT_FSIZE'})",
                        [player], db, db_errors=metrics["db_errors"])
    finally:
        if tmpfs:
            subprocess.run(["umount", "-l", str(disk)], check=False, capture_output=True)
