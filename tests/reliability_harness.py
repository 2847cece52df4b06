"""What the reliability suite (``tests/test_reliability.py``) and its heavier benchmark
(``benchmarks/bench_reliability.py``) drive: a real ``pigeon serve`` subprocess on a tiny
real bundle, real websocket clients, a raw socket that breaks the rules, a real SQLite score
log, and the checks that nothing acked or guessed went missing.

Everything binds to 127.0.0.1 and every wait has a deadline.

Usage::

    with ServeProcess(bundle, tmp_path / "scores.sqlite") as server:
        player = Player(server.url, server.token)
        await player.connect()
        rounds = await player.play(10)          # guesses, results, acks recorded
        server.kill(signal.SIGKILL)
    missing = check_log(tmp_path / "scores.sqlite", player)   # [] when nothing was lost
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import resource
import secrets
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import numpy as np
from PIL import Image

from backend.core import protocol as p

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def view_jpeg(seed: int, size: tuple[int, int] = (256, 144), quality: int = 80) -> bytes:
    """A JPEG with content (smooth colour fields and noise), ``size`` = (width, height)."""
    rng = np.random.default_rng(seed)
    w, h = size
    small = rng.integers(0, 256, (max(2, h // 64), max(2, w // 64), 3), dtype=np.uint8)
    img = Image.fromarray(small).resize((w, h), Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.int16)
    arr = arr + rng.integers(-12, 13, (1, w, 3), dtype=np.int16)    # cheap texture
    buf = io.BytesIO()
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def round_msg(round_id: str, views: list[bytes], *, game_id: str | None = None,
              map_name: str = "world") -> p.Round:
    return p.Round(round_id=round_id, source="test", mode="unknown", map=map_name,
                   views=tuple(p.View(v, heading=90.0 * i) for i, v in enumerate(views)),
                   game_id=game_id)


# ---------------------------------------------------------------- the server process

class ServeProcess:
    """``pigeon serve`` as a subprocess (token through ``PIGEON_TOKEN``, never argv).

    Args:
        bundle: a model bundle directory.
        db: the score log file (None: ``--no-db``).
        extra: more ``pigeon serve`` arguments.
        fsize_limit: RLIMIT_FSIZE in bytes for the server (a size-capped disk).
    """

    def __init__(self, bundle: Path, db: Path | None, *, extra: list[str] | None = None,
                 fsize_limit: int | None = None, start_timeout_s: float = 120.0) -> None:
        self.port = free_port()
        self.token = secrets.token_urlsafe(16).replace("-", "x")
        self.db = db
        self.url = f"ws://127.0.0.1:{self.port}/"
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"pigeon-serve-{self.port}.log"
        cmd = [sys.executable, "-m", "bot", "serve", "--model", str(bundle), "--port",
               str(self.port), "--device", "cpu", "--log-level", "warning",
               *(["--db", str(db)] if db is not None else ["--no-db"]), *(extra or [])]
        env = {**os.environ, "PIGEON_TOKEN": self.token, "PIGEON_QUIET": "1",
               "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}

        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        if fsize_limit is not None:   # set while the child still imports torch (seconds)
            resource.prlimit(self.proc.pid, resource.RLIMIT_FSIZE, (fsize_limit, fsize_limit))
        deadline = time.monotonic() + start_timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pigeon serve exited with {self.proc.returncode}: "
                                   f"{self.output()[-2000:]}")
            try:
                self.metrics()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("pigeon serve did not answer /healthz in time") from None
                time.sleep(0.1)

    def metrics(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
            return json.loads(r.read())

    def rss_mb(self) -> float:
        """Resident memory now (MiB)."""
        return self._status("VmRSS")

    def peak_rss_mb(self) -> float:
        """Highest resident memory so far (MiB)."""
        return self._status("VmHWM")

    def _status(self, key: str) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
        raise KeyError(key)

    def kill(self, sig: int = signal.SIGKILL, timeout_s: float = 60.0) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout_s)

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()
        self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------- a well-behaved client

@dataclass
class Player:
    """A client that plays rounds and remembers what the server promised.

    ``guessed``: round id -> the guess's ``logged`` flag; ``acked``: result round ids the
    server acknowledged; ``refused``: round id -> error code (rounds and results).
    """

    url: str
    token: str
    origin: str | None = None
    guessed: dict[str, bool | None] = field(default_factory=dict)
    acked: set[str] = field(default_factory=set)
    refused: dict[str, str] = field(default_factory=dict)
    ws: Any = None
    attempts: int = 1

    async def connect(self, timeout_s: float = 20.0) -> p.Welcome:
        from websockets.asyncio.client import connect

        self.ws = await connect(self.url, origin=self.origin, max_size=None,
                                open_timeout=timeout_s, ping_interval=None)
        await self.ws.send(p.Hello(token=self.token,
                                   client=p.ClientInfo("test", "1.0")).serialize())
        welcome = p.parse_message(await asyncio.wait_for(self.ws.recv(), timeout_s))
        assert isinstance(welcome, p.Welcome), welcome
        return welcome

    async def recv(self, timeout_s: float = 60.0) -> p.Message:
        return p.parse_message(await asyncio.wait_for(self.ws.recv(), timeout_s))

    def note(self, msg: p.Message) -> None:
        if isinstance(msg, p.GuessMessage):
            self.guessed[msg.round_id] = msg.logged
        elif isinstance(msg, p.Ack):
            self.acked.add(msg.round_id)
        elif isinstance(msg, p.Error) and msg.round_id:
            self.refused[msg.round_id] = msg.code

    async def play(self, n: int, *, prefix: str = "r", views: list[bytes] | None = None,
                   timeout_s: float = 60.0) -> int:
        """Play ``n`` rounds back to back (round, guess, result, ack); returns rounds done."""
        views = views or [view_jpeg(1)]
        done = 0
        for i in range(n):
            rid = f"{prefix}{i}"
            await self.ws.send(round_msg(rid, views).serialize())
            msg = await self.recv(timeout_s)
            self.note(msg)
            if not isinstance(msg, p.GuessMessage):
                continue
            await self.ws.send(result_for(rid).serialize())
            self.note(await self.recv(timeout_s))
            done += 1
        return done

    async def ping_rtt(self, timeout_s: float = 30.0) -> float:
        """Seconds from a ping to its pong (other messages in between are noted)."""
        nonce = secrets.token_hex(4)
        t0 = time.perf_counter()
        await self.ws.send(p.Ping(nonce=nonce).serialize())
        while True:
            msg = await self.recv(timeout_s)
            if isinstance(msg, p.Pong) and msg.nonce == nonce:
                return time.perf_counter() - t0
            self.note(msg)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


def result_for(round_id: str, score: float = 1234.0) -> p.Result:
    return p.Result(round_id=round_id, truth=p.Place(10.0, 20.0), score=score,
                    opponent=p.Opponent(score=2000.0))


# ---------------------------------------------------------------- a client that breaks rules

class RawSocket:
    """A websocket spoken by hand over a plain socket: it can stay silent, never read, or
    send frames no library would (blocking; use from a thread or with short timeouts)."""

    def __init__(self, port: int, *, rcvbuf: int | None = None, timeout_s: float = 10.0,
                 origin: str | None = None) -> None:
        self.sock = socket.socket()
        if rcvbuf is not None:   # a small window: the server's writes back up sooner
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout_s)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        head = (f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n"
                + (f"Origin: {origin}\r\n" if origin else "") + "\r\n")
        self.sock.sendall(head.encode())
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError(f"handshake refused: {reply[:200]!r}")
            reply += chunk
        self.status = int(reply.split(b" ", 2)[1])

    def send_text(self, text: str | bytes, opcode: int = 0x1, repeat: int = 1) -> None:
        """Send one frame (``repeat`` times in one write: a fast flood)."""
        self.sock.sendall(self.frame(text, opcode) * repeat)

    @staticmethod
    def frame(text: str | bytes, opcode: int = 0x1) -> bytes:
        """A masked client frame; a lone surrogate is encoded as is (invalid UTF-8)."""
        data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        mask = os.urandom(4)
        n = len(data)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        masked = (np.frombuffer(data, np.uint8) ^ np.resize(np.frombuffer(mask, np.uint8),
                                                             n)).tobytes()
        return head + mask + masked

    def closed_by_server(self, timeout_s: float = 10.0) -> bool:
        """Read (and discard) until the server closes or resets the connection."""
        self.sock.settimeout(timeout_s)
        try:
            while self.sock.recv(65536):
                pass
        except (ConnectionResetError, BrokenPipeError):
            pass
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        self.sock.close()


# ---------------------------------------------------------------- what the log must hold

def rows(db: Path) -> dict[str, dict[str, Any]]:
    """The score log's rounds by round id (read-only; a killed server's WAL included)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    con.row_factory = sqlite3.Row
    try:
        return {r["round_id"]: dict(r) for r in con.execute("SELECT * FROM rounds")}
    finally:
        con.close()


async def wait_until(pred: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``pred`` every 0.2 s until it holds; AssertionError naming ``what`` after
    ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what}")


def results_stored(db: Path) -> int:
    """How many rounds of the score log hold their result (0 while it cannot be read)."""
    try:
        return sum(1 for r in rows(db).values() if r["result_at"] is not None)
    except sqlite3.Error:   # not created yet, or busy: none seen this time
        return 0


async def wait_for_results(db: Path, n: int, timeout_s: float = 60.0) -> None:
    """Wait until ``n`` rounds of the score log hold their result: a client sends a round's
    result after the round ended, so a test that stops the client at the game's end must
    wait for it first."""
    await wait_until(lambda: results_stored(db) >= n, timeout_s, f"{n} results in {db}")


def check_log(db: Path, *players: Player) -> list[str]:
    """Every acked result is stored and every guess that said ``logged: true`` is in the log
    (a guess that said ``logged: false`` may be missing); returns what is not, one line each."""
    found = rows(db)
    problems = []
    for pl in players:
        for rid, logged in pl.guessed.items():
            if logged and rid not in found:
                problems.append(f"round {rid}: the guess said logged but no row exists")
            if logged is None:
                problems.append(f"round {rid}: the guess did not say whether it was logged")
        for rid in pl.acked:
            row = found.get(rid)
            if row is None or row["result_at"] is None or row["score"] is None:
                problems.append(f"round {rid}: the result was acked but is not stored")
    return problems
