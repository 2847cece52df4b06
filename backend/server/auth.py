"""Who may talk to the server: the Origin allow list and the pairing token.

Any web page can open ``ws://127.0.0.1:PORT``, so the server checks two things:

- the handshake's ``Origin`` header against an allow list of patterns (``fnmatch`` style:
  ``chrome-extension://*``, ``http://127.0.0.1:8080``; the word ``none`` allows requests
  without an Origin header, i.e. local non-browser clients such as the screen bot);
- the token in the ``hello`` message, compared in constant time.

Usage::

    policy = OriginPolicy.parse(["chrome-extension://*", "none"])
    policy.allows("https://evil.example")   # False
    token = new_token()
    token_matches(token, "guess")           # False
"""

from __future__ import annotations

import fnmatch
import hmac
import secrets
from dataclasses import dataclass

DEFAULT_ALLOWED_ORIGINS: tuple[str, ...] = ("chrome-extension://*", "none")
"""Any extension (pin yours with --allow-origin chrome-extension://ID) and local clients."""

NO_ORIGIN = "none"


def new_token() -> str:
    """A fresh pairing token: 22 URL-safe characters (128 random bits).

    Never starts with ``-``: users paste it after ``--token`` on a command line, where a
    leading dash would be read as an option (one token in 64 would break).
    """
    while True:
        token = secrets.token_urlsafe(16)
        if not token.startswith("-"):
            return token


def token_matches(expected: str, given: object) -> bool:
    """Constant-time token comparison; anything that is not a string never matches."""
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def check_token_text(token: str) -> str:
    """Validate a user-chosen token (``--token``).

    Raises:
        ValueError: shorter than 8 characters, longer than 256, or with whitespace.
    """
    if not 8 <= len(token) <= 256 or any(c.isspace() for c in token):
        raise ValueError("a token must be 8-256 characters without spaces")
    return token


@dataclass(frozen=True)
class OriginPolicy:
    """An allow list of Origin patterns (see the module docstring)."""

    patterns: tuple[str, ...] = DEFAULT_ALLOWED_ORIGINS

    @classmethod
    def parse(cls, patterns: list[str] | tuple[str, ...] | None) -> OriginPolicy:
        """Build a policy from ``--allow-origin`` values (None or empty: the default).

        Raises:
            ValueError: a pattern that is neither ``none`` nor ``scheme://...``.
        """
        if not patterns:
            return cls()
        cleaned = []
        for p in patterns:
            p = p.strip()
            if p.lower() == NO_ORIGIN:
                cleaned.append(NO_ORIGIN)
            elif "://" in p and p == p.strip() and " " not in p:
                cleaned.append(p.rstrip("/"))
            else:
                raise ValueError(f"--allow-origin {p!r} is not an origin; use e.g. "
                                 "chrome-extension://abcdef..., http://127.0.0.1:8080 or none")
        return cls(tuple(cleaned))

    def allows(self, origin: str | None) -> bool:
        """Whether a handshake with this Origin header (None: no header) may connect."""
        if origin is None or origin == "":
            return NO_ORIGIN in self.patterns
        origin = origin.rstrip("/")
        return any(p != NO_ORIGIN and fnmatch.fnmatchcase(origin, p) for p in self.patterns)
