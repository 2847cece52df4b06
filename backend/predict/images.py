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


def _open_bytes(data: bytes, what: str, max_pixels: int, min_side: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            _check_dims(img.width, img.height, what, max_pixels, min_side)
            img.load()
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
              name: str | None = None) -> Image.Image:
    """Decode and check one view.

    Args:
        data: encoded image bytes, a file path, or an already decoded ``PIL.Image``.
        max_pixels: largest width*height accepted (checked before decoding).
        max_bytes: largest encoded size accepted (bytes and files).
        min_side: smallest width or height accepted.
        name: how to call the image in error messages (default: "the image" / the path).

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
        img = _open_bytes(raw, what, max_pixels, min_side)
    elif isinstance(data, (str, os.PathLike)):
        path = Path(data)
        what = name or str(path)
        if not path.is_file():
            raise ImageError(f"{what}: no such image file; check the path")
        size = path.stat().st_size
        if size > max_bytes:
            raise ImageError(f"{what} is {size:,} bytes, more than the limit of {max_bytes:,}")
        img = _open_bytes(path.read_bytes(), what, max_pixels, min_side)
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
