"""Decode and check one panorama view: bytes, a file or a PIL image in, a safe RGB image out.

Every image that reaches the backbone passes here, whoever sent it (the websocket server,
``pigeon predict``, the eval loop). Checks, in order, before any pixel is decoded:

- size of the encoded data (``max_bytes``, default 20 MB);
- it is an image Pillow can identify (JPEG, PNG, WebP, ...);
- its pixel count from the header (``max_pixels``, default 25 megapixels: a 4K screenshot is
  8.3) — a guard against decompression bombs (a few KB of PNG that inflate to gigabytes);
- its smallest side (``min_side``, default 16 px): a 1-pixel "image" is an error, not a view.

Then it is fully decoded (a truncated file is an error here, not later inside the model)
and converted to RGB (alpha dropped, palette and grey expanded).

Usage::

    from backend.predict.images import load_view, ImageError
    try:
        img = load_view(jpeg_bytes)             # or a path, or a PIL.Image
    except ImageError as exc:
        reply_error(str(exc))                   # one line, says what was wrong
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 25_000_000
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MIN_SIDE = 16

ViewSource = bytes | bytearray | memoryview | Image.Image | str | os.PathLike


class ImageError(ValueError):
    """A view that is not a usable image; the message says what was wrong and what to send."""


def _check_dims(width: int, height: int, what: str, max_pixels: int, min_side: int) -> None:
    if width * height > max_pixels:
        raise ImageError(f"{what} is {width}x{height} = {width * height:,} pixels, more than "
                         f"the limit of {max_pixels:,}; send a smaller image (e.g. a "
                         "1920x1080 screenshot)")
    if min(width, height) < min_side:
        raise ImageError(f"{what} is only {width}x{height} pixels; a view needs at least "
                         f"{min_side} pixels on each side")


def _open_bytes(data: bytes, what: str, max_pixels: int, min_side: int,
                reduce_to: int | None = None) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            _check_dims(img.width, img.height, what, max_pixels, min_side)
            if reduce_to is not None and max(img.size) > reduce_to:
                # JPEG: decode at 1/2, 1/4 or 1/8 scale, so the full size never exists
                scale = reduce_to / max(img.size)
                img.draft("RGB", (max(1, round(img.width * scale)),
                                  max(1, round(img.height * scale))))
            img.load()
            if reduce_to is not None and max(img.size) > reduce_to:
                img.thumbnail((reduce_to, reduce_to), Image.Resampling.BILINEAR,
                              reducing_gap=None)
    except ImageError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:
        if isinstance(exc, UnidentifiedImageError):
            raise ImageError(f"{what} is not an image Pillow can read ({len(data)} bytes "
                             f"starting {bytes(data[:8])!r}); send a JPEG or PNG") from exc
        raise ImageError(f"{what} is too large to decode safely ({exc})") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageError(f"{what} is damaged or truncated ({type(exc).__name__}: "
                         f"{str(exc)[:100]}); send the whole file again") from exc
    return img


def load_view(data: ViewSource, *, max_pixels: int = DEFAULT_MAX_PIXELS,
              max_bytes: int = DEFAULT_MAX_BYTES, min_side: int = DEFAULT_MIN_SIDE,
              name: str | None = None, reduce_to: int | None = None) -> Image.Image:
    """Decode and check one view.

    Args:
        data: encoded image bytes, a file path, or an already decoded ``PIL.Image``.
        max_pixels: largest width*height accepted (checked before decoding).
        max_bytes: largest encoded size accepted (bytes and files).
        min_side: smallest width or height accepted.
        name: how to call the image in error messages (default: "the image" / the path).
        reduce_to: decode bytes and files at most this many pixels on the longer side
            (JPEGs are decoded at a reduced scale directly; None: full size).

    Returns:
        A fully decoded RGB ``PIL.Image``.

    Raises:
        ImageError: not an image, damaged, too many pixels, too small, too many bytes,
            a missing file, or an unsupported ``data`` type.
    """
    if isinstance(data, Image.Image):
        what = name or "the image"
        _check_dims(data.width, data.height, what, max_pixels, min_side)
        img = data
    elif isinstance(data, (bytes, bytearray, memoryview)):
        what = name or "the image"
        raw = bytes(data)
        if len(raw) == 0:
            raise ImageError(f"{what} is empty (0 bytes); send a JPEG or PNG")
        if len(raw) > max_bytes:
            raise ImageError(f"{what} is {len(raw):,} bytes, more than the limit of "
                             f"{max_bytes:,}; send a smaller JPEG")
        img = _open_bytes(raw, what, max_pixels, min_side, reduce_to)
    elif isinstance(data, (str, os.PathLike)):
        path = Path(data)
        what = name or str(path)
        if not path.is_file():
            raise ImageError(f"{what}: no such image file; check the path")
        size = path.stat().st_size
        if size > max_bytes:
            raise ImageError(f"{what} is {size:,} bytes, more than the limit of {max_bytes:,}")
        img = _open_bytes(path.read_bytes(), what, max_pixels, min_side, reduce_to)
    else:
        raise ImageError(f"a view must be image bytes, a file path or a PIL image, not "
                         f"{type(data).__name__}")
    if img.mode != "RGB":
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            # composite on white so transparent areas do not turn black
            rgba = img.convert("RGBA")
            background = Image.new("RGB", rgba.size, (255, 255, 255))
            background.paste(rgba, mask=rgba.split()[-1])
            img = background
        else:
            img = img.convert("RGB")
    return img


def load_views(views: list[ViewSource], *, max_views: int = 4,
               **limits: int) -> list[Image.Image]:
    """Check a round's views: 1 to ``max_views`` of them, each through :func:`load_view`.

    Raises:
        ImageError: no views, too many, or a bad view (the message names which, from 1).
    """
    if not isinstance(views, (list, tuple)):
        raise ImageError(f"views must be a list of images, got {type(views).__name__}")
    if not 1 <= len(views) <= max_views:
        raise ImageError(f"a round needs 1 to {max_views} views, got {len(views)}")
    out = []
    for i, v in enumerate(views, start=1):
        default = f"view {i}" if not isinstance(v, (str, os.PathLike)) else None
        out.append(load_view(v, name=default, **limits))
    return out


# ---------------------------------------------------------------- what a bad image is

BLANK_TOLERANCE = 10
"""Grey levels (of 255) around the median that count as "the same" for :func:`content_problem`."""
BLANK_SHARE = 0.98
"""A view with at least this share of its pixels that close to the median shows nothing."""


def content_problem(img: Image.Image, what: str = "the view") -> str | None:
    """Why a decoded view shows nothing to place (a black, white or one-colour screen), or None.

    Near-uniform means: on a 64x64 grey thumbnail, at least :data:`BLANK_SHARE` of the
    pixels lie within :data:`BLANK_TOLERANCE` grey levels of the median (JPEG noise and a
    small spinner or logo on a black screen do not make content).
    """
    import numpy as np

    grey = np.asarray(img.convert("L").resize((64, 64), Image.Resampling.BOX), dtype=np.int16)
    median = int(np.median(grey))
    share = float(np.mean(np.abs(grey - median) <= BLANK_TOLERANCE))
    if share >= BLANK_SHARE:
        return (f"{what} shows no content ({100 * share:.1f} % of its pixels are grey level "
                f"{median} +-{BLANK_TOLERANCE}: a blank, black or one-colour screen); capture "
                "the view once the panorama has loaded")
    return None


def image_problem(source: ViewSource, *, name: str | None = None,
                  **limits: int) -> str | None:
    """THE definition of a bad image, shared by ``pigeon data check``, the arena's dataset
    and the server: why ``source`` cannot serve as a view, or None when it can.

    Bad: not an image, damaged or truncated, too small, too many pixels or bytes, a missing
    file (all from :func:`load_view`), or no content (:func:`content_problem`).
    """
    what = name or (str(source) if isinstance(source, (str, os.PathLike)) else "the image")
    try:
        img = load_view(source, name=what, reduce_to=256, **limits)
    except ImageError as exc:
        return str(exc)
    return content_problem(img, what)
