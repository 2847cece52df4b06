"""Protocol v1 value objects: the small records inside messages (client, model, limits,
view, place, opponent), each with ``check()``, ``to_dict()`` and ``from_dict()``.

Usage::

    from backend.core.protocol_values import Place
    Place.from_dict({"lat": 48.85, "lng": 2.35}).check("truth")
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from backend.core import protocol_fields as f


@dataclass(frozen=True)
class ClientInfo:
    """Who is connecting: ``kind`` (extension/arena/screen/test), ``version``, free ``name``."""

    kind: str
    version: str
    name: str | None = None

    def check(self) -> None:
        f.choice(self.kind, "client.kind", f.CLIENT_KINDS)
        f.text(self.version, "client.version", max_chars=64)
        f.opt_text(self.name, "client.name")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "version": self.version, "name": self.name}

    @classmethod
    def from_dict(cls, d: Any) -> ClientInfo:
        d = f.obj(d, "client")
        return cls(kind=f.need(d, "kind", "client"), version=f.need(d, "version", "client"),
                   name=d.get("name"))


@dataclass(frozen=True)
class ModelInfo:
    """The model the server runs: ``id`` (bundle id), ``backbone``, ``geocells``, ``device``."""

    id: str
    backbone: str
    geocells: int
    device: str

    def check(self) -> None:
        f.text(self.id, "model.id")
        f.text(self.backbone, "model.backbone", empty=True)
        f.integer(self.geocells, "model.geocells", 0, 10_000_000)
        f.text(self.device, "model.device", max_chars=32)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "backbone": self.backbone, "geocells": self.geocells,
                "device": self.device}

    @classmethod
    def from_dict(cls, d: Any) -> ModelInfo:
        d = f.obj(d, "model")
        return cls(**{k: f.need(d, k, "model") for k in ("id", "backbone", "geocells", "device")})


@dataclass(frozen=True)
class ServerLimits:
    """Limits the server announces in ``welcome`` so clients can size what they send."""

    max_message_bytes: int
    max_views: int
    max_pixels: int
    max_in_flight: int

    def check(self) -> None:
        f.integer(self.max_message_bytes, "limits.max_message_bytes", 1, 2**31)
        f.integer(self.max_views, "limits.max_views", 1, 64)
        f.integer(self.max_pixels, "limits.max_pixels", 1, 2**31)
        f.integer(self.max_in_flight, "limits.max_in_flight", 1, 4096)

    def to_dict(self) -> dict[str, Any]:
        return {"max_message_bytes": self.max_message_bytes, "max_views": self.max_views,
                "max_pixels": self.max_pixels, "max_in_flight": self.max_in_flight}

    @classmethod
    def from_dict(cls, d: Any) -> ServerLimits:
        d = f.obj(d, "limits")
        return cls(**{k: f.need(d, k, "limits") for k in
                      ("max_message_bytes", "max_views", "max_pixels", "max_in_flight")})


@dataclass(frozen=True)
class View:
    """One captured view: JPEG bytes and the compass heading (degrees, 0 = north) if known."""

    jpeg: bytes
    heading: float | None = None

    def check(self, i: int = 0) -> None:
        if not isinstance(self.jpeg, bytes) or not self.jpeg:
            raise f.bad(f"views[{i}].jpeg must hold the JPEG bytes (base64 on the wire)")
        if not self.jpeg.startswith(f.JPEG_MAGIC):
            raise f.ProtocolError("bad_image", f"views[{i}] is not a JPEG (it starts with "
                                f"{self.jpeg[:4].hex()}, a JPEG starts with ffd8ff); "
                                "capture the view as image/jpeg")
        f.opt_num(self.heading, f"views[{i}].heading", 0.0, 360.0)

    def to_dict(self) -> dict[str, Any]:
        return {"heading": self.heading, "jpeg": base64.b64encode(self.jpeg).decode("ascii")}

    @classmethod
    def from_dict(cls, d: Any, i: int = 0) -> View:
        d = f.obj(d, f"views[{i}]")
        raw = f.need(d, "jpeg", f"views[{i}]")
        if not isinstance(raw, str):
            raise f.bad(f"views[{i}].jpeg must be a base64 string")
        try:
            # strict: only the base64 alphabet with correct padding (faster than validate=True)
            data = binascii.a2b_base64(raw, strict_mode=True)
        except (binascii.Error, ValueError) as exc:
            raise f.bad(f"views[{i}].jpeg is not valid base64 ({exc}); send the JPEG bytes "
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
        f.lat(self.lat, f"{name}.lat")
        f.lng(self.lng, f"{name}.lng")
        f.opt_num(self.prob, f"{name}.prob", 0.0, 1.0)
        f.opt_text(self.country, f"{name}.country", max_chars=64)

    def to_dict(self) -> dict[str, Any]:
        return {"lat": self.lat, "lng": self.lng, "prob": self.prob, "country": self.country}

    @classmethod
    def from_dict(cls, d: Any, name: str = "place") -> Place:
        d = f.obj(d, name)
        return cls(lat=f.need(d, "lat", name), lng=f.need(d, "lng", name), prob=d.get("prob"),
                   country=d.get("country"))


@dataclass(frozen=True)
class Opponent:
    """The opponent's guess and score after a round, when the game shows them."""

    lat: float | None = None
    lng: float | None = None
    score: float | None = None

    def check(self) -> None:
        if (self.lat is None) != (self.lng is None):
            raise f.bad("'opponent.lat' and 'opponent.lng' go together (both or neither)")
        f.opt_num(self.lat, "opponent.lat", -90.0, 90.0)
        f.opt_num(self.lng, "opponent.lng", -180.0, 180.0)
        f.opt_num(self.score, "opponent.score", 0.0, 5000.0)

    def to_dict(self) -> dict[str, Any]:
        return {"lat": self.lat, "lng": self.lng, "score": self.score}

    @classmethod
    def from_dict(cls, d: Any) -> Opponent:
        d = f.obj(d, "opponent")
        return cls(lat=d.get("lat"), lng=d.get("lng"), score=d.get("score"))
