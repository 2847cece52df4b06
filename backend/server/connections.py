"""The server's connections: one :class:`ClientConn` per websocket, and the door that lets
them in.

Two budgets keep sockets from crowding out the extension:

- sockets that have not said hello yet (unpaired) are few (``max_unpaired``) and short-lived
  (``hello_timeout_s``); when one more opens, the OLDEST unpaired socket is dropped, so a
  flood of silent sockets never stops a client that says hello at once;
- paired clients (a good hello) have their own budget (``max_clients``);
- an unpaired socket may send frames of at most ``HELLO_MAX_BYTES`` (a hello is a few hundred
  bytes): a bigger frame is refused by its header (close 1009) before its payload is read, so
  a page that never pairs cannot make the server buffer ``max_message_bytes`` per socket.
  The full limit applies from the good hello on (:func:`cap_incoming_frames`).

Every write to a client has a deadline (``send_timeout_s``): a client that stops reading
fills its socket's buffer, and when a write cannot finish in time the connection is
aborted, so nothing waits on it forever.

Usage::

    door = Door(limits)
    conn = ClientConn(ws, remote="127.0.0.1:5000", send_timeout_s=10)
    dropped = door.arrive(conn)        # an older unpaired conn to close, or None
    ...
    door.paired(conn) / door.left(conn)
    await conn.send(msg)               # False when the client was dropped
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from backend.core import protocol as p
from backend.server.events import log_event
from backend.server.limits import Limits

HELLO_MAX_BYTES = 64 * 1024


def cap_incoming_frames(ws: ServerConnection, max_bytes: int) -> None:
    """Set the largest message this connection accepts from now on (websockets checks a
    frame's declared length against it before reading the payload)."""
    proto = ws.protocol
    if hasattr(proto, "max_message_size"):   # websockets >= 15: (message, fragment) limits
        proto.max_message_size = max_bytes
    else:                                    # websockets 13-14
        proto.max_size = max_bytes


@dataclass(eq=False)      # identity equality: connections live in sets
class ClientConn:
    """One websocket and what the server knows about it."""

    ws: ServerConnection
    remote: str
    send_timeout_s: float = 10.0
    kind: str = "?"
    session: int | None = None
    in_flight: set[str] = field(default_factory=set)
    results: asyncio.Semaphore | None = None
    dropped: bool = False

    async def send(self, msg: p.Message) -> bool:
        """Send one message; False if the client is gone or was dropped for not reading."""
        if self.dropped:
            return False
        try:
            async with asyncio.timeout(self.send_timeout_s):
                await self.ws.send(msg.serialize())
            return True
        except ConnectionClosed:
            return False
        except TimeoutError:
            self.drop(f"it took no data for {self.send_timeout_s:g} s")
            return False

    def drop(self, why: str) -> None:
        """Abort the connection at once (no closing handshake: the client is not reading)."""
        if self.dropped:
            return
        self.dropped = True
        log_event("client_dropped", reason=why, session=self.session, remote=self.remote)
        transport = getattr(self.ws, "transport", None)
        if transport is not None:
            transport.abort()


class Door:
    """Admission: the unpaired and the paired budgets (see the module docstring)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.unpaired: OrderedDict[ClientConn, None] = OrderedDict()   # oldest first
        self.clients: set[ClientConn] = set()

    def arrive(self, conn: ClientConn) -> ClientConn | None:
        """Register a new socket; returns the oldest unpaired one to drop, if over budget."""
        evicted = None
        if len(self.unpaired) >= self.limits.max_unpaired:
            evicted, _ = self.unpaired.popitem(last=False)
        self.unpaired[conn] = None
        return evicted

    def has_room(self) -> bool:
        """Whether one more client may pair."""
        return len(self.clients) < self.limits.max_clients

    def paired(self, conn: ClientConn) -> None:
        self.unpaired.pop(conn, None)
        self.clients.add(conn)

    def left(self, conn: ClientConn) -> None:
        self.unpaired.pop(conn, None)
        self.clients.discard(conn)


def remote_of(conn: ServerConnection) -> str:
    """``host:port`` of the peer, for logs (``?`` when the socket is already gone)."""
    try:
        host, port = conn.remote_address[:2]
        return f"{host}:{port}"
    except Exception:  # noqa: BLE001 - only for logs
        return "?"
