"""``pigeon serve``: the websocket inference server (protocol v1), micro-batching, metrics.

Usage::

    from backend.server import serve, run_server_in_thread, Limits
    handle = run_server_in_thread(predictor, port=0, db_path="scores.sqlite")
    ...
    handle.stop()

See ``docs/SERVER.md`` and ``docs/protocol.md``.
"""

from backend.server.app import SERVER_VERSION, PigeonServer, PredictorLike, serve
from backend.server.limits import Limits
from backend.server.threaded import ThreadedServer, run_server_in_thread

__all__ = [
           "SERVER_VERSION",
           "Limits",
           "PigeonServer",
           "PredictorLike",
           "ThreadedServer",
           "run_server_in_thread",
           "serve",
]
