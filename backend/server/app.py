"""The inference server: websocket protocol v1 on ``websockets`` (asyncio), one model worker.

The server only pumps: frames are parsed and checked by ``backend.core.protocol``, views are
checked and decoded in a thread pool (``backend.server.limits``), rounds from every client
meet in one :class:`~backend.server.batcher.MicroBatcher` whose model thread runs the
predictor, guesses are written to the score log (its own thread) and then sent. Plain HTTP
``GET /healthz`` and ``GET /metrics`` answer JSON on the same port. ``close()`` finishes the
rounds in flight before it closes the connections.

Usage::

    server = await serve(predictor, port=0, db_path="scores.sqlite")
    print(server.url, server.token)
    ...
    await server.close()

    # from synchronous code (the arena, the demo, tests):
    with run_server_in_thread(predictor, port=0) as handle:
        print(handle.url, handle.token)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import itertools
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from websockets.asyncio.server import Server, ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from backend.core import protocol as p
from backend.core.protocol import ProtocolError
from backend.server.auth import OriginPolicy, new_token, token_matches
from backend.server.batcher import BatcherClosed, MicroBatcher, QueueFull
from backend.server.connections import (
    HELLO_MAX_BYTES,
    ClientConn,
    Door,
    cap_incoming_frames,
    remote_of,
)
from backend.server.events import log_event
from backend.server.http_routes import answer_http
from backend.server.limits import Limits, decode_views, round_memory
from backend.server.memory_budget import MemoryBudget
from backend.server.metrics import Metrics
from backend.server.model_info import describe_model, guess_message
from backend.server.score_writer import ScoreWriter

SERVER_VERSION = "0.1.0"
PARSE_IN_THREAD_BYTES = 64 * 1024
"""Frames larger than this are parsed in the decode pool so the event loop stays free."""


class PredictorLike(Protocol):
    """What the server needs from a predictor (``backend.predict.predictor.Predictor``)."""

    def predict_batch(self, batch: list[list[Any]]) -> Sequence[Any]: ...


class PigeonServer:
    """A running server; made by :func:`serve`. Attributes ``host``, ``port``, ``token``,
    ``url``, ``metrics``, ``model``; methods :meth:`close`, :meth:`metrics_snapshot`."""

    def __init__(self, predictor: PredictorLike, *, host: str, port: int, token: str | None,
                 allowed_origins: Sequence[str] | None, db_path: str | Path | None,
                 limits: Limits, max_batch: int, max_wait_ms: float,
                 model_info: p.ModelInfo | None, drain_timeout_s: float) -> None:
        self.host, self.port = host, port
        self.token = token or new_token()
        self.origins = OriginPolicy.parse(list(allowed_origins or []))
        self.limits = limits
        # frames up to twice the message limit are read, so that a too-big message gets a
        # clear message_too_large error rather than a bare close 1009
        self._max_frame_bytes = 2 * limits.max_message_bytes
        self.model = model_info or describe_model(predictor)
        self.metrics = Metrics()
        self.drain_timeout_s = drain_timeout_s
        self._batcher = MicroBatcher(predictor.predict_batch, max_batch=max_batch,
                                     max_wait_ms=max_wait_ms, max_queue=limits.max_queue,
                                     on_batch=self.metrics.batch)
        self._decode_pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=2, thread_name_prefix="pigeon-decode")
        self._db_path = db_path
        self._db: ScoreWriter | None = None
        self._door = Door(limits)
        self._memory = MemoryBudget(limits.max_bytes_in_flight)
        self._tasks: set[asyncio.Task] = set()
        self._session_ids = itertools.count(1)
        self._server: Server | None = None
        self._closing = False
        self._closed = asyncio.Event()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host   # IPv6 literal
        return f"ws://{host}:{self.port}/"

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        if self._db_path is not None:
            self._db = await ScoreWriter.open(self._db_path, self.metrics)
        self._batcher.start()
        try:
            # max_queue: frames buffered per connection before reading pauses (memory bound)
            self._server = await ws_serve(
                self._handler, self.host, self.port, process_request=self._http,
                max_size=self._max_frame_bytes, max_queue=2,
                close_timeout=3, compression=None, server_header=f"pigeon-bot/{SERVER_VERSION}")
        except BaseException:
            await self._batcher.close()
            if self._db is not None:
                await self._db.close()
            self._decode_pool.shutdown(wait=False)
            raise
        self.port = self._server.sockets[0].getsockname()[1]
        log_event("server_started", url=self.url, model=self.model.id,
                  device=self.model.device, origins=list(self.origins.patterns),
                  db=str(self._db_path) if self._db_path else None)

    async def close(self) -> None:
        """Refuse new rounds, finish those in flight, close every connection (1001), stop."""
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        log_event("server_stopping", rounds_in_flight=len(self._tasks))
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self.drain_timeout_s)
        await self._batcher.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._db is not None:
            await self._db.close()
        self._decode_pool.shutdown(wait=False, cancel_futures=True)
        log_event("server_stopped", rounds_served=self.metrics.rounds_served)
        self._closed.set()

    async def wait_closed(self) -> None:
        await self._closed.wait()

    def metrics_snapshot(self) -> dict[str, Any]:
        """What ``GET /metrics`` answers."""
        return self.metrics.snapshot(
            queue_depth=self._batcher.depth, rounds_pending=self._batcher.pending,
            rounds_in_flight=len(self._tasks), clients=len(self._door.clients),
            clients_unpaired=len(self._door.unpaired),
            bytes_in_flight=self._memory.used, bytes_in_flight_peak=self._memory.peak,
            rounds_waiting_for_memory=self._memory.waiting,
            db_backlog=self._db.backlog if self._db is not None else 0,
            model=self.model.to_dict(), batching={"max_batch": self._batcher.max_batch,
                                                  "max_wait_ms": self._batcher.max_wait_s * 1e3},
            shutting_down=self._closing)

    # ------------------------------------------------------------------ HTTP

    @property
    def closing(self) -> bool:
        """Whether :meth:`close` has begun (``/healthz`` answers 503 then)."""
        return self._closing

    @property
    def paired_clients(self) -> int:
        return len(self._door.clients)

    def _http(self, conn: ServerConnection, request: Request) -> Response | None:
        return answer_http(self, conn, request)

    # ------------------------------------------------------------------ websocket

    async def _handler(self, ws: ServerConnection) -> None:
        client = ClientConn(ws=ws, remote=remote_of(ws), send_timeout_s=self.limits.send_timeout_s,
                            results=asyncio.Semaphore(self.limits.max_results_in_flight))
        cap_incoming_frames(ws, HELLO_MAX_BYTES)    # until a good hello: hello-sized frames
        self.metrics.connections_total += 1
        if self._closing:
            await self._fatal(client, ProtocolError("shutting_down", "the server is stopping"),
                              close_code=1001)
            return
        evicted = self._door.arrive(client)
        if evicted is not None:     # the oldest silent socket makes room for this one
            self.metrics.unpaired_dropped += 1
            evicted.drop(f"{self.limits.max_unpaired} sockets were waiting to say hello "
                         "and this one was the oldest")
        try:
            if await self._hello(client):
                async for frame in ws:
                    await self._on_frame(client, frame, time.perf_counter())
        except ConnectionClosed:
            pass
        finally:
            if client.dropped and client in self._door.clients:   # a paired client
                self.metrics.clients_dropped += 1
            self._door.left(client)
            log_event("client_left", session=client.session, kind=client.kind,
                      remote=client.remote)

    async def _error(self, client: ClientConn, exc: ProtocolError) -> None:
        self.metrics.error(exc.code)
        log_event("client_error", code=exc.code, message=exc.message[:200],
                  round_id=exc.round_id, session=client.session, remote=client.remote)
        await client.send(p.Error.from_exception(exc))

    async def _fatal(self, client: ClientConn, exc: ProtocolError,
                     close_code: int = 1008) -> None:
        self.metrics.error(exc.code)
        log_event("client_refused", code=exc.code, message=exc.message[:200],
                  remote=client.remote)
        if await client.send(p.Error.from_exception(exc, fatal=True)):
            await client.ws.close(close_code, exc.code)

    async def _hello(self, client: ClientConn) -> bool:
        try:
            frame = await asyncio.wait_for(client.ws.recv(), self.limits.hello_timeout_s)
        except TimeoutError:
            await self._fatal(client, ProtocolError(
                "auth_required", f"no hello within {self.limits.hello_timeout_s:g} s; send "
                "hello with the token first"))
            return False
        try:
            msg = self._parse(frame)
            if not isinstance(msg, p.Hello):
                raise ProtocolError("auth_required", f"the first message must be hello (with "
                                    f"the token), got {msg.TYPE}")
        except ProtocolError as exc:
            await self._fatal(client, exc)
            return False
        if not token_matches(self.token, msg.token):
            await self._fatal(client, ProtocolError(
                "auth_failed", "wrong token; copy the token that `pigeon serve` printed into "
                "the client (the extension's popup, --token for the screen bot)"))
            return False
        if not self._door.has_room():
            self.metrics.connections_refused += 1
            await self._fatal(client, ProtocolError(
                "server_full", f"{self.limits.max_clients} clients are connected already; "
                "close another client or start the server with a higher --max-clients"),
                close_code=1013)
            return False
        self._door.paired(client)
        cap_incoming_frames(client.ws, self._max_frame_bytes)
        client.kind = msg.client.kind
        if self._db is not None:
            client.session = await self._db.start_session(msg, self.model.id)
        if client.session is None:
            client.session = next(self._session_ids)
        await client.send(p.Welcome(session_id=f"s-{client.session:06d}",
                                    server_version=SERVER_VERSION, model=self.model,
                                    limits=self.limits.announced()))
        log_event("client_joined", session=client.session, kind=client.kind,
                  version=msg.client.version, remote=client.remote)
        return True

    def _parse(self, frame: str | bytes) -> p.Message:
        if isinstance(frame, bytes):
            raise ProtocolError("bad_json", "binary frames are not used in protocol v1; send "
                                "each message as a JSON text frame")
        size = len(frame) if frame.isascii() else len(frame.encode("utf-8"))
        if size > self.limits.max_message_bytes:
            raise ProtocolError("message_too_large", f"the message is {size:,} bytes, more "
                                f"than the limit of {self.limits.max_message_bytes:,}; send "
                                "smaller JPEGs (lower quality or resolution)")
        return p.parse_message(frame, max_views=self.limits.max_views)

    async def _on_frame(self, client: ClientConn, frame: str | bytes, received: float) -> None:
        try:
            if len(frame) > PARSE_IN_THREAD_BYTES:   # JSON + base64 of big rounds: off the loop
                msg = await asyncio.get_running_loop().run_in_executor(
                    self._decode_pool, self._parse, frame)
            else:
                msg = self._parse(frame)
        except ProtocolError as exc:
            await self._error(client, exc)
            return
        if isinstance(msg, p.Round):
            await self._start_round(client, msg, received)
        elif isinstance(msg, p.Result):
            assert client.results is not None
            await client.results.acquire()  # at the per-client bound: stop reading this client
            self._spawn(self._serve_result(client, msg))
        elif isinstance(msg, p.Pong):
            pass
        elif isinstance(msg, p.Ping):
            await client.send(p.Pong(nonce=msg.nonce))
        elif isinstance(msg, p.Error):
            log_event("client_reported_error", code=msg.code, message=msg.message[:200],
                      session=client.session)
        else:
            what = ("hello was already accepted on this connection" if isinstance(msg, p.Hello)
                    else f"{msg.TYPE} is a server-to-client message")
            await self._error(client, ProtocolError("bad_message", what))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _start_round(self, client: ClientConn, msg: p.Round, received: float) -> None:
        rid = msg.round_id
        problem = None
        if self._closing:
            problem = ProtocolError("shutting_down", "the server is stopping and takes no new "
                                    "rounds; reconnect when it is back", round_id=rid)
        elif rid in client.in_flight:
            problem = ProtocolError("duplicate_round", f"round {rid} is already being answered",
                                    round_id=rid)
        elif len(client.in_flight) >= self.limits.max_in_flight:
            problem = ProtocolError("busy", f"{len(client.in_flight)} of your rounds are "
                                    "waiting for guesses already; wait for one", round_id=rid)
        if problem is not None:
            await self._error(client, problem)
            return
        client.in_flight.add(rid)
        share = round_memory(msg, self.limits)
        try:   # over the budget: this client is not read from until its round fits
            await self._memory.acquire(share)
        except BaseException:
            client.in_flight.discard(rid)
            raise
        self._spawn(self._serve_round(client, msg, received, share))

    async def _serve_round(self, client: ClientConn, msg: p.Round, received: float,
                           share: int) -> None:
        try:
            reply, out = await self._answer(msg, received)
            logged = None
            if self._db is not None:
                logged = await self._db.log_guess(msg, reply, client.session)
                reply = dataclasses.replace(reply, logged=logged)
            self.metrics.round_served(reply.latency_ms)
            await client.send(reply)
            log_event("round", round_id=msg.round_id, session=client.session,
                      views=len(msg.views), latency_ms=round(reply.latency_ms, 2),
                      batch=out.batch_size, lat=round(reply.lat, 4), lng=round(reply.lng, 4),
                      logged=logged)
        except ProtocolError as exc:
            await self._error(client, exc)
        finally:
            client.in_flight.discard(msg.round_id)
            self._memory.release(share)

    async def _answer(self, msg: p.Round, received: float) -> tuple[p.GuessMessage, Any]:
        """Decode the views and run the model on them (the decoded pixels die here)."""
        loop = asyncio.get_running_loop()
        t0 = time.perf_counter()
        images = await loop.run_in_executor(self._decode_pool, decode_views, msg, self.limits)
        decode_ms = (time.perf_counter() - t0) * 1000.0
        try:
            out = await self._batcher.submit(images)
        except QueueFull as exc:
            raise ProtocolError("busy", f"{exc}; try again in a moment",
                                round_id=msg.round_id) from None
        except BatcherClosed:
            raise ProtocolError("shutting_down", "the server is stopping",
                                round_id=msg.round_id) from None
        except Exception as exc:  # noqa: BLE001 - the predictor failed on this round
            log_event("predict_failed", round_id=msg.round_id,
                      error=f"{type(exc).__name__}: {exc}"[:300])
            raise ProtocolError("internal", f"the model failed on this round "
                                f"({type(exc).__name__}: {str(exc)[:200]})",
                                round_id=msg.round_id) from None
        finally:
            del images
        latency_ms = (time.perf_counter() - received) * 1000.0
        reply = guess_message(msg.round_id, out.guess, latency_ms=latency_ms,
                              model_id=self.model.id,
                              timings={"decode_ms": decode_ms, "queue_ms": out.queue_ms,
                                       "batch_ms": out.model_ms})
        return reply, out

    async def _serve_result(self, client: ClientConn, msg: p.Result) -> None:
        """Store a result, then acknowledge it: an ack means the row is stored. Without a
        score log the result is acknowledged and dropped (the guess said ``logged: null``)."""
        try:
            if self._db is not None:
                await self._db.log_result(msg)
                self.metrics.results_logged += 1
            log_event("result", round_id=msg.round_id, session=client.session,
                      score=msg.score, distance_km=msg.distance_km)
            await client.send(p.Ack(round_id=msg.round_id))
        except ProtocolError as exc:
            await self._error(client, exc)
        finally:
            assert client.results is not None
            client.results.release()


async def serve(predictor: PredictorLike, *, host: str = "127.0.0.1", port: int = 8765,
                token: str | None = None, allowed_origins: Sequence[str] | None = None,
                db_path: str | Path | None = None, limits: Limits | None = None,
                max_batch: int = 8, max_wait_ms: float = 5.0,
                model_info: p.ModelInfo | None = None,
                drain_timeout_s: float = 30.0) -> PigeonServer:
    """Start a server on the running event loop.

    Args:
        predictor: has ``predict_batch(list[list[PIL.Image]]) -> list[Guess]``.
        host, port: where to listen (``port=0``: a free port; read ``.port`` after).
        token: the pairing token (default: a fresh random one; read ``.token``).
        allowed_origins: Origin patterns (default ``chrome-extension://*`` and ``none``).
        db_path: the score log file; None logs nothing.
        limits: size and count bounds (:class:`~backend.server.limits.Limits`).
        max_batch, max_wait_ms: micro-batching (``max_batch=1``: off).
        model_info: what ``welcome`` announces (default: read from the predictor).
        drain_timeout_s: how long :meth:`PigeonServer.close` waits for rounds in flight.

    Returns:
        The started :class:`PigeonServer`.

    Raises:
        OSError: the port is taken; ValueError: a bad origin pattern.
    """
    server = PigeonServer(predictor, host=host, port=port, token=token,
                          allowed_origins=allowed_origins, db_path=db_path,
                          limits=limits or Limits(), max_batch=max_batch,
                          max_wait_ms=max_wait_ms, model_info=model_info,
                          drain_timeout_s=drain_timeout_s)
    await server.start()
    return server
