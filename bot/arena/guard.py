"""Who may call the arena's JSON API: a Host allow list, the Origin, the Content-Type.

Any web page the player opens can send requests to ``http://127.0.0.1:PORT``. Three checks
keep such a page from playing, creating or flooding games:

- **Host.** The ``Host`` header must name this machine (``127.0.0.1``, ``localhost``,
  ``[::1]``, or the address the arena was started on). A page on ``evil.example`` whose DNS
  answer turns into 127.0.0.1 (DNS rebinding) sends ``Host: evil.example`` and is refused.
- **Origin.** A request with an ``Origin`` must come from the arena itself (same scheme,
  host and port) or from a browser extension (``chrome-extension://``: the bot's extension
  places its guess from its service worker). Browsers always send ``Origin`` on
  cross-origin POSTs, including the "simple" ones that need no preflight.
- **Content-Type.** A POST's body must be ``application/json`` — except ``/leave``, which
  the page sends with ``navigator.sendBeacon`` as ``text/plain`` (same origin only).

Usage::

    app = web.Application(middlewares=[api_guard(host="127.0.0.1")])
"""

from __future__ import annotations

import fnmatch
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
ANY_ADDRESS = ("0.0.0.0", "::", "")
EXTENSION_ORIGINS = ("chrome-extension://*",)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def host_name(host_header: str) -> str:
    """``127.0.0.1:8080`` -> ``127.0.0.1``; ``[::1]:8080`` -> ``::1`` (lower case)."""
    h = host_header.strip().lower()
    if h.startswith("["):
        return h[1:h.index("]")] if "]" in h else h[1:]
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


def _refuse(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def api_guard(*, host: str = "127.0.0.1",
              extension_origins: Sequence[str] = EXTENSION_ORIGINS) -> Callable:
    """The aiohttp middleware that applies the checks above to ``/api/`` paths.

    Args:
        host: the address the arena listens on (``0.0.0.0``: every Host is accepted, the
            arena is reachable from other machines by choice).
        extension_origins: Origin patterns of extensions allowed to call the API.
    """
    allowed_hosts = None if host in ANY_ADDRESS else {*LOCAL_HOSTS, host_name(host)}

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/api/"):
            return await handler(request)
        name = host_name(request.host or "")
        if allowed_hosts is not None and name not in allowed_hosts:
            return _refuse(403, f"Host {request.host!r} is not this arena; open it as "
                           f"http://127.0.0.1:{request.url.port or ''}/")
        origin = request.headers.get("Origin")
        if origin is not None and origin != "null":
            own = f"{request.scheme}://{request.host}"
            if origin != own and not any(fnmatch.fnmatchcase(origin, p)
                                         for p in extension_origins):
                return _refuse(403, f"requests from {origin} are not allowed; play from the "
                               f"arena's own page ({own}/)")
        elif origin == "null":
            return _refuse(403, "requests from an opaque origin are not allowed")
        if request.method == "POST" and request.can_read_body and \
                not request.path.endswith("/leave") and \
                request.content_type != "application/json":
            return _refuse(415, f"the body must be application/json, got "
                           f"{request.content_type or 'none'}")
        return await handler(request)

    return guard
