"""Websocket protocol v1 between the clients (extension, arena, screen bot) and the backend.

Sans-I/O: this module only turns JSON text into checked dataclasses and back. It never
touches a socket or a clock, and imports nothing but the standard library. The wire format is
documented in ``docs/protocol.md``; golden messages live in ``tests/fixtures/protocol/``.

Every message is one JSON object in one websocket *text* frame, with ``v`` (the protocol
version, 1) and ``type``. Images travel as base64 JPEG inside the ``round`` message.

Usage::

    >>> from backend.core.protocol import parse_message, Ping
    >>> msg = parse_message('{"v": 1, "type": "ping", "nonce": "a1"}')
    >>> msg
    Ping(nonce='a1')
    >>> msg.serialize()
    '{"v":1,"type":"ping","nonce":"a1"}'
"""


from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

from backend.core import protocol_fields as f
from backend.core.protocol_fields import (
    CLIENT_KINDS,
    DEFAULT_MAX_VIEWS,
    ERROR_CODES,
    GAME_MODES,
    JPEG_MAGIC,
    MAX_ID_CHARS,
    MAX_TEXT_CHARS,
    MAX_TOP_K,
    PROTOCOL_VERSION,
    SOURCES,
    ProtocolError,
)
from backend.core.protocol_values import ClientInfo, ModelInfo, Opponent, Place, ServerLimits, View

__all__ = ["CLIENT_KINDS", "CLIENT_TYPES", "DEFAULT_MAX_VIEWS", "ERROR_CODES", "GAME_MODES",
           "JPEG_MAGIC", "MAX_ID_CHARS", "MAX_TEXT_CHARS", "MAX_TOP_K", "MESSAGE_TYPES",
           "PROTOCOL_VERSION", "SERVER_TYPES", "SOURCES", "Ack", "ClientInfo", "Error",
           "GuessMessage", "Hello", "Message", "ModelInfo", "Opponent", "Ping", "Place", "Pong",
           "ProtocolError", "Result", "Round", "ServerLimits", "View", "Welcome",
           "parse_message"]

# ---------------------------------------------------------------- messages

@dataclass(frozen=True)
class _Message:
    TYPE: ClassVar[str] = ""

    def check(self) -> None:  # pragma: no cover - every message overrides it
        raise NotImplementedError

    def body(self) -> dict[str, Any]:  # pragma: no cover
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """The message as a JSON-ready dict, ``v`` and ``type`` first."""
        return {"v": PROTOCOL_VERSION, "type": self.TYPE, **self.body()}

    def serialize(self) -> str:
        """Check the message and return its compact JSON text.

        Raises:
            ProtocolError: when the message breaks protocol v1 (a bug in the sender).
        """
        self.check()
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False)


@dataclass(frozen=True)
class Hello(_Message):
    """client -> server, first message: the pairing token and who is connecting."""

    TYPE: ClassVar[str] = "hello"
    token: str
    client: ClientInfo

    def check(self) -> None:
        f.text(self.token, "token", max_chars=256)
        self.client.check()

    def body(self) -> dict[str, Any]:
        return {"token": self.token, "client": self.client.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Hello:
        return cls(token=f.need(d, "token", "hello"),
                   client=ClientInfo.from_dict(f.need(d, "client", "hello")))


@dataclass(frozen=True)
class Welcome(_Message):
    """server -> client, after a good hello: session id, model and limits."""

    TYPE: ClassVar[str] = "welcome"
    session_id: str
    server_version: str
    model: ModelInfo
    limits: ServerLimits

    def check(self) -> None:
        f.ident(self.session_id, "session_id")
        f.text(self.server_version, "server_version", max_chars=64)
        self.model.check()
        self.limits.check()

    def body(self) -> dict[str, Any]:
        return {"session_id": self.session_id, "server_version": self.server_version,
                "model": self.model.to_dict(), "limits": self.limits.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Welcome:
        return cls(session_id=f.need(d, "session_id", "welcome"),
                   server_version=f.need(d, "server_version", "welcome"),
                   model=ModelInfo.from_dict(f.need(d, "model", "welcome")),
                   limits=ServerLimits.from_dict(f.need(d, "limits", "welcome")))


@dataclass(frozen=True)
class Round(_Message):
    """client -> server: the views of one round; the server answers with ``guess``."""

    TYPE: ClassVar[str] = "round"
    round_id: str
    source: str
    mode: str
    map: str
    views: tuple[View, ...]
    game_id: str | None = None
    round_number: int | None = None
    max_views: ClassVar[int] = DEFAULT_MAX_VIEWS

    def check(self, *, max_views: int | None = None) -> None:
        f.ident(self.round_id, "round_id")
        try:
            f.choice(self.source, "source", SOURCES)
            f.choice(self.mode, "mode", GAME_MODES)
            f.text(self.map, "map")
            if self.game_id is not None:
                f.ident(self.game_id, "game_id")
            if self.round_number is not None:
                f.integer(self.round_number, "round_number", 1, 10_000)
            limit = max_views or self.max_views
            if not isinstance(self.views, tuple) or not self.views:
                raise f.bad("'views' must hold 1 to 4 views")
            if len(self.views) > limit:
                raise ProtocolError("too_many_views",
                                    f"a round has at most {limit} views, got {len(self.views)}")
            for i, view in enumerate(self.views):
                view.check(i)
        except ProtocolError as exc:
            raise ProtocolError(exc.code, exc.message, round_id=self.round_id) from None

    def body(self) -> dict[str, Any]:
        return {"round_id": self.round_id, "game_id": self.game_id,
                "round_number": self.round_number, "source": self.source, "mode": self.mode,
                "map": self.map, "views": [v.to_dict() for v in self.views]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Round:
        round_id = f.ident(f.need(d, "round_id", "round"), "round_id")
        try:
            views = f.need(d, "views", "round")
            if not isinstance(views, list):
                raise f.bad("'views' must be a list of {heading, jpeg} objects")
            return cls(round_id=round_id, source=f.need(d, "source", "round"),
                       mode=f.need(d, "mode", "round"), map=f.need(d, "map", "round"),
                       views=tuple(View.from_dict(v, i) for i, v in enumerate(views)),
                       game_id=d.get("game_id"), round_number=d.get("round_number"))
        except ProtocolError as exc:
            raise ProtocolError(exc.code, exc.message, round_id=round_id) from None


@dataclass(frozen=True)
class GuessMessage(_Message):
    """server -> client: the pin for a round, its projected score and the model's view."""

    TYPE: ClassVar[str] = "guess"
    round_id: str
    lat: float
    lng: float
    projected_score: float
    confidence: float
    country: str | None
    top_k: tuple[Place, ...]
    latency_ms: float
    model_id: str
    timings: dict[str, float] = field(default_factory=dict)
    logged: bool | None = None
    """True: the round is in the score log; False: it could not be stored (a result sent
    for it will be refused as ``unknown_round``); None: the server keeps no score log."""

    def check(self) -> None:
        f.ident(self.round_id, "round_id")
        f.lat(self.lat, "lat")
        f.lng(self.lng, "lng")
        f.num(self.projected_score, "projected_score", 0.0, 5000.0)
        f.num(self.confidence, "confidence", 0.0, 1.0)
        f.opt_text(self.country, "country", max_chars=64)
        if not isinstance(self.top_k, tuple) or len(self.top_k) > MAX_TOP_K:
            raise f.bad(f"'top_k' must be a list of at most {MAX_TOP_K} places")
        for i, place in enumerate(self.top_k):
            place.check(f"top_k[{i}]")
        f.num(self.latency_ms, "latency_ms", 0.0)
        f.text(self.model_id, "model_id")
        if not isinstance(self.timings, dict):
            raise f.bad("'timings' must be an object of name -> milliseconds")
        for key, value in self.timings.items():
            f.text(key, "timings key", max_chars=64)
            f.num(value, f"timings.{key}", 0.0)
        if self.logged is not None and not isinstance(self.logged, bool):
            raise f.bad("'logged' must be true, false or null")

    def body(self) -> dict[str, Any]:
        return {"round_id": self.round_id, "lat": self.lat, "lng": self.lng,
                "projected_score": self.projected_score, "confidence": self.confidence,
                "country": self.country, "top_k": [p.to_dict() for p in self.top_k],
                "latency_ms": self.latency_ms, "timings": dict(self.timings),
                "model_id": self.model_id, "logged": self.logged}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GuessMessage:
        top_k = f.need(d, "top_k", "guess")
        if not isinstance(top_k, list):
            raise f.bad("'top_k' must be a list")
        timings = d.get("timings", {})
        return cls(round_id=f.need(d, "round_id", "guess"), lat=f.need(d, "lat", "guess"),
                   lng=f.need(d, "lng", "guess"),
                   projected_score=f.need(d, "projected_score", "guess"),
                   confidence=f.need(d, "confidence", "guess"), country=d.get("country"),
                   top_k=tuple(Place.from_dict(p, f"top_k[{i}]") for i, p in enumerate(top_k)),
                   latency_ms=f.need(d, "latency_ms", "guess"),
                   model_id=f.need(d, "model_id", "guess"), timings=timings,
                   logged=d.get("logged"))


@dataclass(frozen=True)
class Result(_Message):
    """client -> server, after a round: what really happened (any field may be unknown)."""

    TYPE: ClassVar[str] = "result"
    round_id: str
    truth: Place | None = None
    score: float | None = None
    distance_km: float | None = None
    opponent: Opponent | None = None

    def check(self) -> None:
        f.ident(self.round_id, "round_id")
        try:
            if self.truth is not None:
                self.truth.check("truth")
            f.opt_num(self.score, "score", 0.0, 5000.0)
            f.opt_num(self.distance_km, "distance_km", 0.0, 20_100.0)
            if self.opponent is not None:
                self.opponent.check()
        except ProtocolError as exc:
            raise ProtocolError(exc.code, exc.message, round_id=self.round_id) from None

    def body(self) -> dict[str, Any]:
        truth = None if self.truth is None else {"lat": self.truth.lat, "lng": self.truth.lng}
        return {"round_id": self.round_id, "truth": truth, "score": self.score,
                "distance_km": self.distance_km,
                "opponent": None if self.opponent is None else self.opponent.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Result:
        truth, opp = d.get("truth"), d.get("opponent")
        return cls(round_id=f.need(d, "round_id", "result"),
                   truth=None if truth is None else Place.from_dict(truth, "truth"),
                   score=d.get("score"), distance_km=d.get("distance_km"),
                   opponent=None if opp is None else Opponent.from_dict(opp))


@dataclass(frozen=True)
class Ack(_Message):
    """server -> client: a ``result`` was stored (``of`` names the acknowledged type)."""

    TYPE: ClassVar[str] = "ack"
    round_id: str
    of: str = "result"

    def check(self) -> None:
        f.ident(self.round_id, "round_id")
        f.choice(self.of, "of", ("result",))

    def body(self) -> dict[str, Any]:
        return {"round_id": self.round_id, "of": self.of}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Ack:
        return cls(round_id=f.need(d, "round_id", "ack"), of=d.get("of", "result"))


@dataclass(frozen=True)
class Error(_Message):
    """server -> client: something was wrong. ``fatal`` means the server closes the socket."""

    TYPE: ClassVar[str] = "error"
    code: str
    message: str
    round_id: str | None = None
    fatal: bool = False

    def check(self) -> None:
        f.choice(self.code, "code", ERROR_CODES)
        f.text(self.message, "message", max_chars=1000)
        if self.round_id is not None:
            f.ident(self.round_id, "round_id")
        if not isinstance(self.fatal, bool):
            raise f.bad("'fatal' must be true or false")

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "round_id": self.round_id,
                "fatal": self.fatal}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Error:
        return cls(code=f.need(d, "code", "error"), message=f.need(d, "message", "error"),
                   round_id=d.get("round_id"), fatal=d.get("fatal", False))

    @classmethod
    def from_exception(cls, exc: ProtocolError, *, fatal: bool = False) -> Error:
        """The ``error`` message that answers a :class:`ProtocolError`."""
        message = f.UNSAFE_TEXT_RE.sub(" ", exc.message)[:1000] or exc.code
        return cls(code=exc.code, message=message, round_id=exc.round_id, fatal=fatal)


@dataclass(frozen=True)
class Ping(_Message):
    """Either side: keepalive (the extension pings every 20 s); answered by ``pong``."""

    TYPE: ClassVar[str] = "ping"
    nonce: str | None = None

    def check(self) -> None:
        f.opt_text(self.nonce, "nonce", max_chars=64)

    def body(self) -> dict[str, Any]:
        return {"nonce": self.nonce} if self.nonce is not None else {}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Ping:
        return cls(nonce=d.get("nonce"))


@dataclass(frozen=True)
class Pong(Ping):
    """The answer to ``ping``, echoing its ``nonce``."""

    TYPE: ClassVar[str] = "pong"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Pong:
        return cls(nonce=d.get("nonce"))


Message = Hello | Welcome | Round | GuessMessage | Result | Ack | Error | Ping | Pong

MESSAGE_TYPES: dict[str, type] = {cls.TYPE: cls for cls in
                                  (Hello, Welcome, Round, GuessMessage, Result, Ack, Error,
                                   Ping, Pong)}
CLIENT_TYPES = ("hello", "round", "result", "ping", "pong")
SERVER_TYPES = ("welcome", "guess", "ack", "error", "ping", "pong")


def parse_message(data: str | bytes, *, max_views: int = DEFAULT_MAX_VIEWS) -> Message:
    """Parse one websocket text frame into a checked message.

    Args:
        data: the frame's text (bytes are decoded as UTF-8).
        max_views: the most views a ``round`` may carry.

    Returns:
        The message dataclass (``Hello``, ``Round``, ...), already checked.

    Raises:
        ProtocolError: ``bad_json`` (not a JSON object), ``unsupported_version``,
            ``unknown_type``, ``bad_message``, ``too_many_views``; the message says what to fix.
    """
    if isinstance(data, (bytes, bytearray)):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("bad_json", "the frame is not UTF-8 text; send JSON text "
                                "frames (binary frames are not used in protocol v1)") from None
    try:
        obj = json.loads(data, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError("bad_json", f"the frame is not valid JSON ({str(exc)[:120]}); "
                            "send one JSON object per text frame") from None
    if not isinstance(obj, dict):
        raise ProtocolError("bad_json", f"a message must be a JSON object, got "
                            f"{type(obj).__name__}")
    if "v" not in obj:
        raise f.bad("missing field 'v' (the protocol version, 1)")
    version = obj["v"]
    if version != PROTOCOL_VERSION or isinstance(version, bool):
        raise ProtocolError("unsupported_version", f"this server speaks protocol v"
                            f"{PROTOCOL_VERSION}, the message has v={version!r:.20}; "
                            "update the client or the server")
    kind = obj.get("type")
    cls = MESSAGE_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ProtocolError("unknown_type", f"unknown message type {kind!r:.40}; v1 types are "
                            f"{', '.join(MESSAGE_TYPES)}")
    if cls is Round:
        return _parse_round(obj, max_views)
    try:
        msg = cls.from_dict(obj)
    except (TypeError, AttributeError) as exc:  # a nested field of the wrong shape
        raise f.bad(f"{kind}: {exc}") from None
    msg.check()
    return msg


def _parse_round(obj: dict[str, Any], max_views: int) -> Round:
    views = obj.get("views")
    if isinstance(views, list) and len(views) > max_views:
        rid = obj.get("round_id")
        raise ProtocolError("too_many_views", f"a round has at most {max_views} views, got "
                            f"{len(views)}",
                            round_id=rid if isinstance(rid, str) and f.ID_RE.fullmatch(rid) else None)
    msg = Round.from_dict(obj)
    msg.check(max_views=max_views)
    return msg


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in protocol JSON")
