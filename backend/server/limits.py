"""The server's limits, and the image checks that enforce them on a round's views.

Every view goes through :func:`decode_views`: its dimensions are read from the JPEG header
(no pixel decoded yet) and refused when absurd (a side above ``max_side`` or below
``min_side``, an aspect ratio above ``max_aspect``); then
``backend.predict.images.load_view`` refuses decompression bombs (``max_pixels``), damaged
or truncated files, and decodes to RGB at most ``decode_max_side`` pixels on the longer
side (a big JPEG is decoded at 1/2, 1/4 or 1/8 scale directly); a view with no content (a
blank or one-colour screen, ``backend.predict.images.content_problem``) is refused.

Usage::

    limits = Limits(max_views=4)
    images = decode_views(round_msg, limits)   # list[PIL.Image] or ProtocolError
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from backend.core.protocol import DEFAULT_MAX_VIEWS, ProtocolError, Round, ServerLimits
from backend.predict.images import ImageError, content_problem, load_view


@dataclass(frozen=True)
class Limits:
    """Every bound the server enforces (keyword defaults are the documented ones)."""

    max_message_bytes: int = 16 * 1024 * 1024
    max_views: int = DEFAULT_MAX_VIEWS
    max_pixels: int = 16_777_216          # per view; a 4K screenshot is 8.3 M
    max_side: int = 8192
    min_side: int = 16
    max_aspect: float = 8.0
    max_clients: int = 16                 # paired clients (they said hello with the token)
    max_unpaired: int = 16                # sockets still waiting to say hello; beyond it the
                                          # oldest is dropped, so a paired client always gets in
    max_in_flight: int = 4                # rounds waiting for their guess, per client
    max_results_in_flight: int = 8        # results being stored, per client; beyond it the
                                          # server stops reading that client until one is done
    max_queue: int = 64                   # rounds waiting for the model, all clients
    hello_timeout_s: float = 3.0          # a socket must say hello this soon after opening
    send_timeout_s: float = 10.0          # a client that takes no data this long is dropped
    decode_max_side: int = 1280           # views are decoded at most this large (the model
                                          # sees 336 px or less), as early as the JPEG allows
    max_bytes_in_flight: int = 256 * 2**20  # JPEG bytes + decoded pixels of the rounds in
                                          # flight, all clients; a client whose round does
                                          # not fit is not read from until it does

    def __post_init__(self) -> None:
        for name in ("max_message_bytes", "max_pixels", "max_side", "min_side", "max_clients",
                     "max_unpaired", "max_in_flight", "max_results_in_flight", "max_queue",
                     "decode_max_side", "max_bytes_in_flight"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1")
        if not 1 <= self.max_views <= DEFAULT_MAX_VIEWS:
            raise ValueError(f"max_views must lie in 1..{DEFAULT_MAX_VIEWS}")
        if self.max_aspect < 1 or self.hello_timeout_s <= 0 or self.send_timeout_s <= 0:
            raise ValueError("max_aspect must be >= 1, hello_timeout_s and send_timeout_s > 0")

    def announced(self) -> ServerLimits:
        """The part of the limits a client needs, for the ``welcome`` message."""
        return ServerLimits(max_message_bytes=self.max_message_bytes,
                            max_views=self.max_views, max_pixels=self.max_pixels,
                            max_in_flight=self.max_in_flight)


def _header_size(data: bytes, name: str) -> tuple[int, int]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:   # reads the header only
                if img.format != "JPEG":
                    raise ProtocolError("bad_image", f"{name} is a {img.format}, not a JPEG; "
                                        "capture the view as image/jpeg")
                return img.size
    except Image.DecompressionBombError as exc:
        raise ProtocolError("image_too_large", f"{name} claims too many pixels to decode "
                            f"safely ({str(exc)[:80]}); send the captured view as it is"
                            ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ProtocolError("bad_image", f"{name} is not a decodable JPEG "
                            f"({type(exc).__name__}: {str(exc)[:100]}); capture the view "
                            "as image/jpeg and send all of it") from None


def decode_view(data: bytes, limits: Limits, name: str = "view 1") -> Image.Image:
    """Check one view's JPEG bytes and decode them.

    Args:
        data: the JPEG bytes from the ``round`` message.
        limits: the bounds to enforce.
        name: how the error messages call this view.

    Returns:
        The decoded RGB image.

    Raises:
        ProtocolError: ``bad_image`` (not a JPEG, damaged, truncated) or
            ``image_too_large`` (too many pixels, a side out of range, absurd aspect).
    """
    w, h = _header_size(data, name)
    if min(w, h) < limits.min_side:
        raise ProtocolError("bad_image", f"{name} is only {w}x{h} pixels; each side needs "
                            f"at least {limits.min_side} pixels")
    if max(w, h) > limits.max_side:
        raise ProtocolError("image_too_large", f"{name} is {w}x{h} pixels; each side must "
                            f"be at most {limits.max_side} pixels")
    if max(w, h) / min(w, h) > limits.max_aspect:
        raise ProtocolError("image_too_large", f"{name} is {w}x{h} pixels, an aspect ratio "
                            f"above {limits.max_aspect:g}; send the captured view as it is")
    if w * h > limits.max_pixels:
        raise ProtocolError("image_too_large", f"{name} is {w}x{h} = {w * h:,} pixels, more "
                            f"than the limit of {limits.max_pixels:,}; send a smaller capture")
    try:
        img = load_view(data, max_pixels=limits.max_pixels, min_side=limits.min_side,
                        max_bytes=limits.max_message_bytes, name=name,
                        reduce_to=limits.decode_max_side)
    except ImageError as exc:
        code = "image_too_large" if "pixels" in str(exc) and "limit" in str(exc) else "bad_image"
        raise ProtocolError(code, str(exc)[:900]) from None
    blank = content_problem(img, name)
    if blank is not None:
        raise ProtocolError("bad_image", blank)
    return img


def decoded_pixels(w: int, h: int, limits: Limits) -> int:
    """How many pixels a ``w`` x ``h`` view holds once decoded under ``limits``."""
    scale = min(1.0, limits.decode_max_side / max(w, h, 1))
    return max(1, round(w * scale)) * max(1, round(h * scale))


def round_memory(msg: Round, limits: Limits) -> int:
    """The bytes a round holds while in flight: its JPEGs plus their decoded RGB pixels
    (sizes from the headers; an unreadable view counts its bytes only, it is refused)."""
    total = 0
    for view in msg.views:
        total += len(view.jpeg)
        try:
            total += 3 * decoded_pixels(*_header_size(view.jpeg, "view"), limits)
        except ProtocolError:
            pass
    return total


def decode_views(msg: Round, limits: Limits) -> list[Image.Image]:
    """Check and decode every view of a round (see :func:`decode_view`).

    Raises:
        ProtocolError: for the first bad view, with the round's id attached.
    """
    if len(msg.views) > limits.max_views:
        raise ProtocolError("too_many_views", f"a round has at most {limits.max_views} views, "
                            f"got {len(msg.views)}", round_id=msg.round_id)
    images = []
    for i, view in enumerate(msg.views, start=1):
        try:
            images.append(decode_view(view.jpeg, limits, f"view {i}"))
        except ProtocolError as exc:
            raise ProtocolError(exc.code, exc.message, round_id=msg.round_id) from None
    return images
