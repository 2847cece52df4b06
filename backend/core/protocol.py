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

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

PROTOCOL_VERSION = 1
"""The protocol version this module speaks (the ``v`` field of every message)."""

CLIENT_KINDS = ("extension", "arena", "screen", "test")
SOURCES = ("geoguessr", "arena", "screen", "test")
GAME_MODES = ("classic", "duels", "battle-royale", "challenge", "streak", "arena", "unknown")

ERROR_CODES = (
    "bad_json",             # the frame is not a JSON object (or is a binary frame)
    "bad_message",          # JSON, but a field is missing, has the wrong type or is out of range
    "unknown_type",         # ``type`` is not a v1 message type
    "unsupported_version",  # ``v`` is not 1
    "auth_required",        # a message other than hello before a successful hello
    "auth_failed",          # wrong token
    "message_too_large",    # the frame is larger than the server's max_message_bytes
    "too_many_views",       # more than max_views views in a round
    "bad_image",            # a view is not a decodable JPEG
    "image_too_large",      # a view has too many pixels or absurd dimensions
    "busy",                 # too many rounds in flight for this client, or the queue is full
    "server_full",          # too many clients connected
    "duplicate_round",      # a round with this round_id is already in flight
    "unknown_round",        # a result for a round the server never answered
    "shutting_down",        # the server is stopping and takes no new rounds
    "internal",             # a bug on the server side; the message says what failed
)

DEFAULT_MAX_VIEWS = 4
JPEG_MAGIC = b"\xff\xd8\xff"
MAX_ID_CHARS = 128
MAX_TEXT_CHARS = 200
MAX_TOP_K = 32
_ID_RE = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class ProtocolError(Exception):
    """A message that breaks protocol v1.

    Attributes:
        code: one of :data:`ERROR_CODES`; goes into the ``error`` message's ``code``.
        message: a human sentence saying what was wrong and what to do.
        round_id: the round the bad message was about, when it could be read.
    """

    def __init__(self, code: str, message: str, *, round_id: str | None = None) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown protocol error code {code!r}")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.round_id = round_id


# ---------------------------------------------------------------- field checks

def _bad(what: str) -> ProtocolError:
    return ProtocolError("bad_message", what)


def _need(d: dict[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise _bad(f"{where}: missing field '{key}'")
    return d[key]


def _str(value: Any, name: str, *, max_chars: int = MAX_TEXT_CHARS, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise _bad(f"'{name}' must be a string, got {type(value).__name__}")
    if not empty and not value:
        raise _bad(f"'{name}' must not be empty")
    if len(value) > max_chars:
        raise _bad(f"'{name}' is longer than {max_chars} characters")
    return value


def _opt_str(value: Any, name: str, *, max_chars: int = MAX_TEXT_CHARS) -> str | None:
    return None if value is None else _str(value, name, max_chars=max_chars)


def _ident(value: Any, name: str) -> str:
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise _bad(f"'{name}' must be 1-{MAX_ID_CHARS} characters of A-Z a-z 0-9 . _ : -, "
                   f"got {value!r:.60}")
    return value


def _num(value: Any, name: str, lo: float | None = None, hi: float | None = None) -> float:
    # bool is an int in Python but never a number on the wire
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(f"'{name}' must be a number, got {type(value).__name__}")
    try:
        x = float(value)
    except OverflowError:
        raise _bad(f"'{name}' is too large") from None
    if not math.isfinite(x):
        raise _bad(f"'{name}' must be finite, got {value!r}")
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        raise _bad(f"'{name}' must lie in [{lo}, {hi}], got {value!r}")
    return x


def _opt_num(value: Any, name: str, lo: float | None = None, hi: float | None = None
             ) -> float | None:
    return None if value is None else _num(value, name, lo, hi)


def _int(value: Any, name: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"'{name}' must be an integer, got {type(value).__name__}")
    if not lo <= value <= hi:
        raise _bad(f"'{name}' must lie in [{lo}, {hi}], got {value}")
    return value


def _choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise _bad(f"'{name}' must be one of {', '.join(choices)}; got {value!r:.60}")
    return value


def _obj(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _bad(f"'{name}' must be an object, got {type(value).__name__}")
    return value


def _lat(value: Any, name: str) -> float:
    return _num(value, name, -90.0, 90.0)


def _lng(value: Any, name: str) -> float:
    return _num(value, name, -180.0, 180.0)


# ---------------------------------------------------------------- small value objects

@dataclass(frozen=True)
class ClientInfo:
    """Who is connecting: ``kind`` (extension/arena/screen/test), ``version``, free ``name``."""

    kind: str
    version: str
    name: str | None = None

    def check(self) -> None:
        _choice(self.kind, "client.kind", CLIENT_KINDS)
        _str(self.version, "client.version", max_chars=64)
        _opt_str(self.name, "client.name")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "version": self.version, "name": self.name}

    @classmethod
    def from_dict(cls, d: Any) -> ClientInfo:
        d = _obj(d, "client")
        return cls(kind=_need(d, "kind", "client"), version=_need(d, "version", "client"),
                   name=d.get("name"))


@dataclass(frozen=True)
class ModelInfo:
    """The model the server runs: ``id`` (bundle id), ``backbone``, ``geocells``, ``device``."""

    id: str
    backbone: str
    geocells: int
    device: str

    def check(self) -> None:
        _str(self.id, "model.id")
        _str(self.backbone, "model.backbone", empty=True)
        _int(self.geocells, "model.geocells", 0, 10_000_000)
        _str(self.device, "model.device", max_chars=32)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "backbone": self.backbone, "geocells": self.geocells,
                "device": self.device}

    @classmethod
    def from_dict(cls, d: Any) -> ModelInfo:
        d = _obj(d, "model")
        return cls(**{k: _need(d, k, "model") for k in ("id", "backbone", "geocells", "device")})


@dataclass(frozen=True)
class ServerLimits:
    """Limits the server announces in ``welcome`` so clients can size what they send."""

    max_message_bytes: int
    max_views: int
    max_pixels: int
    max_in_flight: int

    def check(self) -> None:
        _int(self.max_message_bytes, "limits.max_message_bytes", 1, 2**31)
        _int(self.max_views, "limits.max_views", 1, 64)
        _int(self.max_pixels, "limits.max_pixels", 1, 2**31)
        _int(self.max_in_flight, "limits.max_in_flight", 1, 4096)

    def to_dict(self) -> dict[str, Any]:
        return {"max_message_bytes": self.max_message_bytes, "max_views": self.max_views,
                "max_pixels": self.max_pixels, "max_in_flight": self.max_in_flight}

    @classmethod
    def from_dict(cls, d: Any) -> ServerLimits:
        d = _obj(d, "limits")
        return cls(**{k: _need(d, k, "limits") for k in
                      ("max_message_bytes", "max_views", "max_pixels", "max_in_flight")})


@dataclass(frozen=True)
class View:
    """One captured view: JPEG bytes and the compass heading (degrees, 0 = north) if known."""

    jpeg: bytes
    heading: float | None = None

    def check(self, i: int = 0) -> None:
        if not isinstance(self.jpeg, bytes) or not self.jpeg:
            raise _bad(f"views[{i}].jpeg must hold the JPEG bytes (base64 on the wire)")
        if not self.jpeg.startswith(JPEG_MAGIC):
            raise ProtocolError("bad_image", f"views[{i}] is not a JPEG (it starts with "
                                f"{self.jpeg[:4].hex()}, a JPEG starts with ffd8ff); "
                                "capture the view as image/jpeg")
        _opt_num(self.heading, f"views[{i}].heading", 0.0, 360.0)

    def to_dict(self) -> dict[str, Any]:
        return {"heading": self.heading, "jpeg": base64.b64encode(self.jpeg).decode("ascii")}

    @classmethod
    def from_dict(cls, d: Any, i: int = 0) -> View:
        d = _obj(d, f"views[{i}]")
        raw = _need(d, "jpeg", f"views[{i}]")
        if not isinstance(raw, str):
            raise _bad(f"views[{i}].jpeg must be a base64 string")
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _bad(f"views[{i}].jpeg is not valid base64 ({exc}); send the JPEG bytes "
                       "base64-encoded without a data: URL prefix") from None
        return cls(jpeg=data, heading=d.get("heading"))


@dataclass(frozen=True)
class Place:
    """A point with an optional probability and country: one entry of a guess's ``top_k``."""

    lat: float
    lng: float
    prob: float | None = None
    country: str | None = None

    def check(self, name: str = "place") -> None:
        _lat(self.lat, f"{name}.lat")
        _lng(self.lng, f"{name}.lng")
        _opt_num(self.prob, f"{name}.prob", 0.0, 1.0)
        _opt_str(self.country, f"{name}.country", max_chars=64)

    def to_dict(self) -> dict[str, Any]:
        return {"lat": self.lat, "lng": self.lng, "prob": self.prob, "country": self.country}

    @classmethod
    def from_dict(cls, d: Any, name: str = "place") -> Place:
        d = _obj(d, name)
        return cls(lat=_need(d, "lat", name), lng=_need(d, "lng", name), prob=d.get("prob"),
                   country=d.get("country"))


@dataclass(frozen=True)
class Opponent:
    """The opponent's guess and score after a round, when the game shows them."""

    lat: float | None = None
    lng: float | None = None
    score: float | None = None

    def check(self) -> None:
        if (self.lat is None) != (self.lng is None):
            raise _bad("'opponent.lat' and 'opponent.lng' go together (both or neither)")
        _opt_num(self.lat, "opponent.lat", -90.0, 90.0)
        _opt_num(self.lng, "opponent.lng", -180.0, 180.0)
        _opt_num(self.score, "opponent.score", 0.0, 5000.0)

    def to_dict(self) -> dict[str, Any]:
        return {"lat": self.lat, "lng": self.lng, "score": self.score}

    @classmethod
    def from_dict(cls, d: Any) -> Opponent:
        d = _obj(d, "opponent")
        return cls(lat=d.get("lat"), lng=d.get("lng"), score=d.get("score"))


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
        _str(self.token, "token", max_chars=256)
        self.client.check()

    def body(self) -> dict[str, Any]:
        return {"token": self.token, "client": self.client.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Hello:
        return cls(token=_need(d, "token", "hello"),
                   client=ClientInfo.from_dict(_need(d, "client", "hello")))


@dataclass(frozen=True)
class Welcome(_Message):
    """server -> client, after a good hello: session id, model and limits."""

    TYPE: ClassVar[str] = "welcome"
    session_id: str
    server_version: str
    model: ModelInfo
    limits: ServerLimits

    def check(self) -> None:
        _ident(self.session_id, "session_id")
        _str(self.server_version, "server_version", max_chars=64)
        self.model.check()
        self.limits.check()

    def body(self) -> dict[str, Any]:
        return {"session_id": self.session_id, "server_version": self.server_version,
                "model": self.model.to_dict(), "limits": self.limits.to_dict()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Welcome:
        return cls(session_id=_need(d, "session_id", "welcome"),
                   server_version=_need(d, "server_version", "welcome"),
                   model=ModelInfo.from_dict(_need(d, "model", "welcome")),
                   limits=ServerLimits.from_dict(_need(d, "limits", "welcome")))


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
        _ident(self.round_id, "round_id")
        try:
            _choice(self.source, "source", SOURCES)
            _choice(self.mode, "mode", GAME_MODES)
            _str(self.map, "map")
            if self.game_id is not None:
                _ident(self.game_id, "game_id")
            if self.round_number is not None:
                _int(self.round_number, "round_number", 1, 10_000)
            limit = max_views or self.max_views
            if not isinstance(self.views, tuple) or not self.views:
                raise _bad("'views' must hold 1 to 4 views")
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
        round_id = _ident(_need(d, "round_id", "round"), "round_id")
        try:
            views = _need(d, "views", "round")
            if not isinstance(views, list):
                raise _bad("'views' must be a list of {heading, jpeg} objects")
            return cls(round_id=round_id, source=_need(d, "source", "round"),
                       mode=_need(d, "mode", "round"), map=_need(d, "map", "round"),
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

    def check(self) -> None:
        _ident(self.round_id, "round_id")
        _lat(self.lat, "lat")
        _lng(self.lng, "lng")
        _num(self.projected_score, "projected_score", 0.0, 5000.0)
        _num(self.confidence, "confidence", 0.0, 1.0)
        _opt_str(self.country, "country", max_chars=64)
        if not isinstance(self.top_k, tuple) or len(self.top_k) > MAX_TOP_K:
            raise _bad(f"'top_k' must be a list of at most {MAX_TOP_K} places")
        for i, place in enumerate(self.top_k):
            place.check(f"top_k[{i}]")
        _num(self.latency_ms, "latency_ms", 0.0)
        _str(self.model_id, "model_id")
        if not isinstance(self.timings, dict):
            raise _bad("'timings' must be an object of name -> milliseconds")
        for key, value in self.timings.items():
            _str(key, "timings key", max_chars=64)
            _num(value, f"timings.{key}", 0.0)

    def body(self) -> dict[str, Any]:
        return {"round_id": self.round_id, "lat": self.lat, "lng": self.lng,
                "projected_score": self.projected_score, "confidence": self.confidence,
                "country": self.country, "top_k": [p.to_dict() for p in self.top_k],
                "latency_ms": self.latency_ms, "timings": dict(self.timings),
                "model_id": self.model_id}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GuessMessage:
        top_k = _need(d, "top_k", "guess")
        if not isinstance(top_k, list):
            raise _bad("'top_k' must be a list")
        timings = d.get("timings", {})
        return cls(round_id=_need(d, "round_id", "guess"), lat=_need(d, "lat", "guess"),
                   lng=_need(d, "lng", "guess"),
                   projected_score=_need(d, "projected_score", "guess"),
                   confidence=_need(d, "confidence", "guess"), country=d.get("country"),
                   top_k=tuple(Place.from_dict(p, f"top_k[{i}]") for i, p in enumerate(top_k)),
                   latency_ms=_need(d, "latency_ms", "guess"),
                   model_id=_need(d, "model_id", "guess"), timings=timings)


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
        _ident(self.round_id, "round_id")
        try:
            if self.truth is not None:
                self.truth.check("truth")
            _opt_num(self.score, "score", 0.0, 5000.0)
            _opt_num(self.distance_km, "distance_km", 0.0, 20_100.0)
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
        return cls(round_id=_need(d, "round_id", "result"),
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
        _ident(self.round_id, "round_id")
        _choice(self.of, "of", ("result",))

    def body(self) -> dict[str, Any]:
        return {"round_id": self.round_id, "of": self.of}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Ack:
        return cls(round_id=_need(d, "round_id", "ack"), of=d.get("of", "result"))


@dataclass(frozen=True)
class Error(_Message):
    """server -> client: something was wrong. ``fatal`` means the server closes the socket."""

    TYPE: ClassVar[str] = "error"
    code: str
    message: str
    round_id: str | None = None
    fatal: bool = False

    def check(self) -> None:
        _choice(self.code, "code", ERROR_CODES)
        _str(self.message, "message", max_chars=1000)
        if self.round_id is not None:
            _ident(self.round_id, "round_id")
        if not isinstance(self.fatal, bool):
            raise _bad("'fatal' must be true or false")

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "round_id": self.round_id,
                "fatal": self.fatal}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Error:
        return cls(code=_need(d, "code", "error"), message=_need(d, "message", "error"),
                   round_id=d.get("round_id"), fatal=d.get("fatal", False))

    @classmethod
    def from_exception(cls, exc: ProtocolError, *, fatal: bool = False) -> Error:
        """The ``error`` message that answers a :class:`ProtocolError`."""
        return cls(code=exc.code, message=exc.message[:1000], round_id=exc.round_id,
                   fatal=fatal)


@dataclass(frozen=True)
class Ping(_Message):
    """Either side: keepalive (the extension pings every 20 s); answered by ``pong``."""

    TYPE: ClassVar[str] = "ping"
    nonce: str | None = None

    def check(self) -> None:
        _opt_str(self.nonce, "nonce", max_chars=64)

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
        raise _bad("missing field 'v' (the protocol version, 1)")
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
        raise _bad(f"{kind}: {exc}") from None
    msg.check()
    return msg


def _parse_round(obj: dict[str, Any], max_views: int) -> Round:
    views = obj.get("views")
    if isinstance(views, list) and len(views) > max_views:
        rid = obj.get("round_id")
        raise ProtocolError("too_many_views", f"a round has at most {max_views} views, got "
                            f"{len(views)}",
                            round_id=rid if isinstance(rid, str) and _ID_RE.match(rid) else None)
    msg = Round.from_dict(obj)
    msg.check(max_views=max_views)
    return msg


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in protocol JSON")
