"""A Python client of the backend's websocket protocol v1 (``pigeon serve``).

Used by the screen bot, the arena's bot opponent and tests: one connection, opened lazily
with ``hello``, re-opened once if it dropped; ``guess`` sends a round and waits for its
guess (matched by ``round_id``); ``send_result`` completes the round in the score log.

Usage::

    async with BackendClient("ws://127.0.0.1:8765/", token, kind="screen") as client:
        guess = await client.guess(Round(round_id="r1", source="screen", mode="unknown",
                                         map="unknown", views=(View(jpeg=data),)))
        print(guess.lat, guess.lng, guess.projected_score)
"""

from __future__ import annotations

import asyncio
from typing import Any, Self

from backend import __version__
from backend.core.protocol import (
    Ack,
    ClientInfo,
    Error,
    GuessMessage,
    Hello,
    Ping,
    Pong,
    Result,
    Round,
    Welcome,
    parse_message,
)


class BackendError(ConnectionError):
    """The backend is unreachable, refused us, or answered a round with an error."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class BackendClient:
    """One websocket connection to the backend, safe to share between tasks."""

    def __init__(self, url: str, token: str, *, kind: str = "test", name: str | None = None,
                 timeout_s: float = 30.0, origin: str | None = None) -> None:
        self.url = url
        self.token = token
        self.kind = kind
        self.name = name
        self.timeout_s = timeout_s
        self.origin = origin
        self.welcome: Welcome | None = None
        self._ws: Any = None
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self) -> Welcome:
        """Open the connection and pair with ``hello``; returns the server's ``welcome``."""
        from websockets.asyncio.client import connect

        try:
            ws = await connect(self.url, max_size=32 * 2**20, open_timeout=self.timeout_s,
                               origin=self.origin)
        except Exception as exc:  # OSError, InvalidURI, InvalidStatus (403 for an Origin)...
            raise BackendError(f"cannot reach the backend at {self.url}: {exc}. Is "
                               "`pigeon serve` running, and are the URL and port right?") from exc
        await ws.send(Hello(token=self.token, client=ClientInfo(
            self.kind, __version__, self.name)).serialize())
        reply = parse_message(await asyncio.wait_for(ws.recv(), self.timeout_s))
        if not isinstance(reply, Welcome):
            await ws.close()
            code = getattr(reply, "code", None)
            hint = " (check the pairing token that `pigeon serve` printed)" \
                if code == "auth_failed" else ""
            raise BackendError(f"the backend at {self.url} refused us: "
                               f"{getattr(reply, 'message', reply)}{hint}", code=code)
        self._ws = ws
        self.welcome = reply
        return reply

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    async def _exchange(self, text: str, round_id: str) -> Any:
        async with self._lock:
            for attempt in (0, 1):
                try:
                    if self._ws is None:
                        await self.connect()
                    await self._ws.send(text)
                    while True:
                        msg = parse_message(await asyncio.wait_for(self._ws.recv(),
                                                                   self.timeout_s))
                        if type(msg) is Ping:  # (Pong subclasses Ping)
                            await self._ws.send(Pong(nonce=msg.nonce).serialize())
                            continue
                        if isinstance(msg, Error) or getattr(msg, "round_id", None) == round_id:
                            return msg
                except BackendError:
                    raise
                except Exception as exc:  # ConnectionClosed, OSError, timeouts
                    self._ws = None
                    if attempt:
                        raise BackendError(f"lost the backend at {self.url}: {exc!r}") from exc
        raise AssertionError("unreachable")

    async def guess(self, round_msg: Round) -> GuessMessage:
        """Send one round; return its guess, or raise :class:`BackendError` with the code."""
        reply = await self._exchange(round_msg.serialize(), round_msg.round_id)
        if isinstance(reply, Error):
            raise BackendError(f"the backend refused round {round_msg.round_id}: "
                               f"{reply.code}: {reply.message}", code=reply.code)
        assert isinstance(reply, GuessMessage), reply
        return reply

    async def send_result(self, result: Result) -> Ack:
        """Report a finished round (truth, scores) for the score log."""
        reply = await self._exchange(result.serialize(), result.round_id)
        if isinstance(reply, Error):
            raise BackendError(f"the backend refused the result of {result.round_id}: "
                               f"{reply.code}: {reply.message}", code=reply.code)
        return reply
