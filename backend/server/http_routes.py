"""Plain HTTP on the server's port, answered before any websocket exists: ``GET /healthz``
and ``GET /metrics`` (JSON, no token needed, no images or tokens shown, no CORS header so
web pages cannot read them), and the ``Origin`` check of every websocket handshake (HTTP 403
with a one-line reason for a page that is not allowed).

Usage (the server's ``process_request`` hook)::

    response = answer_http(server, conn, request)   # None: go on with the handshake
"""

from __future__ import annotations

import json
import time
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from backend.server.connections import remote_of
from backend.server.events import log_event


def answer_http(server: Any, conn: ServerConnection, request: Request) -> Response | None:
    """The health and metrics answers, or a 403 for a refused Origin, or None."""
    path = request.path.split("?", 1)[0]
    if path in ("/healthz", "/metrics"):
        if path == "/healthz":
            body = {"ok": not server.closing, "model_id": server.model.id,
                    "uptime_s": round(time.time() - server.metrics.started, 3),
                    "clients": server.paired_clients}
        else:
            body = server.metrics_snapshot()
        response = conn.respond(200 if path == "/metrics" or not server.closing else 503,
                                json.dumps(body) + "\n")
        del response.headers["Content-Type"]
        response.headers["Content-Type"] = "application/json"
        response.headers["Cache-Control"] = "no-store"
        return response
    origin = request.headers.get("Origin")
    if not server.origins.allows(origin):
        server.metrics.connections_refused += 1
        log_event("origin_refused", origin=origin, remote=remote_of(conn))
        return conn.respond(403, f"Origin {origin or '(none)'} is not allowed; start "
                            f"`pigeon serve` with --allow-origin {origin or 'none'} "
                            "if this client is yours\n")
    return None
