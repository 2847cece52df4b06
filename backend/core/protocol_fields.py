"""Protocol v1 building blocks: constants, :class:`ProtocolError`, and the field checks.

Every check takes a value and a field name, returns the value (converted where needed) and
raises :class:`ProtocolError` (``bad_message``) with a sentence naming the field. Used by
``protocol_values`` and ``protocol``; stdlib only, like the rest of the protocol.

Usage::

    from backend.core.protocol_fields import num, ProtocolError
    num(12.5, "lat", -90, 90)        # 12.5
    num("x", "lat")                  # ProtocolError: 'lat' must be a number, got str
"""

from __future__ import annotations

import math
import re
from typing import Any

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
    "duplicate_round",      # a round with this round_id is already in flight, or a second
                            # result for a round that differs from the one already stored
    "unknown_round",        # a result for a round the server never answered (or did not log)
    "storage_failed",       # the score log could not store the result now; send it again later
    "shutting_down",        # the server is stopping and takes no new rounds
    "internal",             # a bug on the server side; the message says what failed
)

DEFAULT_MAX_VIEWS = 4
JPEG_MAGIC = b"\xff\xd8\xff"
MAX_ID_CHARS = 128
MAX_TEXT_CHARS = 200
MAX_TOP_K = 32
ID_RE = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
"""Identifiers; always used with ``fullmatch`` (``$`` would accept a trailing newline)."""
UNSAFE_TEXT_RE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
"""Control characters and lone surrogates: no text field may hold them (a lone surrogate
cannot be stored as UTF-8, a control character in a name is never meant)."""


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

def bad(what: str) -> ProtocolError:
    return ProtocolError("bad_message", what)


def need(d: dict[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise bad(f"{where}: missing field '{key}'")
    return d[key]


def text(value: Any, name: str, *, max_chars: int = MAX_TEXT_CHARS, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise bad(f"'{name}' must be a string, got {type(value).__name__}")
    if not empty and not value:
        raise bad(f"'{name}' must not be empty")
    if len(value) > max_chars:
        raise bad(f"'{name}' is longer than {max_chars} characters")
    unsafe = UNSAFE_TEXT_RE.search(value)
    if unsafe is not None:
        what = "a lone surrogate" if "\ud800" <= unsafe.group() <= "\udfff" else \
            "a control character"
        raise bad(f"'{name}' holds {what} (U+{ord(unsafe.group()):04X} at position "
                  f"{unsafe.start()}); send plain UTF-8 text")
    return value


def opt_text(value: Any, name: str, *, max_chars: int = MAX_TEXT_CHARS) -> str | None:
    return None if value is None else text(value, name, max_chars=max_chars)


def ident(value: Any, name: str) -> str:
    if not isinstance(value, str) or not ID_RE.fullmatch(value):
        raise bad(f"'{name}' must be 1-{MAX_ID_CHARS} characters of A-Z a-z 0-9 . _ : -, "
                   f"got {value!r:.60}")
    return value


def num(value: Any, name: str, lo: float | None = None, hi: float | None = None) -> float:
    # bool is an int in Python but never a number on the wire
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad(f"'{name}' must be a number, got {type(value).__name__}")
    try:
        x = float(value)
    except OverflowError:
        raise bad(f"'{name}' is too large") from None
    if not math.isfinite(x):
        raise bad(f"'{name}' must be finite, got {value!r}")
    if (lo is not None and x < lo) or (hi is not None and x > hi):
        raise bad(f"'{name}' must lie in [{lo}, {hi}], got {value!r}")
    return x


def opt_num(value: Any, name: str, lo: float | None = None, hi: float | None = None
             ) -> float | None:
    return None if value is None else num(value, name, lo, hi)


def integer(value: Any, name: str, lo: int, hi: int) -> int:
    # JSON has one number type: 3.0 is the integer 3 (a JS client cannot tell them apart)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(f"'{name}' must be an integer, got {type(value).__name__}")
    if not lo <= value <= hi:
        raise bad(f"'{name}' must lie in [{lo}, {hi}], got {value}")
    return value


def choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise bad(f"'{name}' must be one of {', '.join(choices)}; got {value!r:.60}")
    return value


def obj(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad(f"'{name}' must be an object, got {type(value).__name__}")
    return value


def lat(value: Any, name: str) -> float:
    return num(value, name, -90.0, 90.0)


def lng(value: Any, name: str) -> float:
    return num(value, name, -180.0, 180.0)
