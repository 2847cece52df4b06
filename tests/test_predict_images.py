"""Decoding and checking views (backend.predict.images)."""

import io
import struct
import zlib

import pytest
from PIL import Image

from backend.predict.images import ImageError, load_view, load_views


def encode(img, fmt="JPEG"):
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def test_jpeg_bytes_png_path_and_pil(tmp_path):
    img = Image.new("RGB", (64, 48), (10, 200, 30))
    out = load_view(encode(img))
    assert out.size == (64, 48) and out.mode == "RGB"
    p = tmp_path / "v.png"
    Image.new("RGBA", (32, 32), (0, 0, 0, 0)).save(p)
    out = load_view(p)
    assert out.mode == "RGB" and out.getpixel((0, 0)) == (255, 255, 255)
    assert load_view(Image.new("L", (20, 20))).mode == "RGB"


def test_not_an_image():
    with pytest.raises(ImageError, match="not an image"):
        load_view(b"hello, this is text and not a JPEG")
    with pytest.raises(ImageError, match="empty"):
        load_view(b"")
    with pytest.raises(ImageError, match="must be image bytes"):
        load_view(12345)


def test_one_pixel_image():
    with pytest.raises(ImageError, match="1x1"):
        load_view(encode(Image.new("RGB", (1, 1)), "PNG"))
    with pytest.raises(ImageError, match="1x1"):
        load_view(Image.new("RGB", (1, 1)))


def test_truncated_jpeg():
    data = encode(Image.effect_noise((128, 128), 50).convert("RGB"))
    with pytest.raises(ImageError, match="damaged or truncated"):
        load_view(data[: len(data) // 2])


def _png_header_only(width, height):
    """A tiny PNG whose header claims a huge image (a decompression bomb's header)."""
    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 10)) + chunk(b"IEND", b""))


def test_decompression_bomb_rejected_before_decoding():
    with pytest.raises(ImageError, match="pixels"):
        load_view(_png_header_only(30000, 30000))
    with pytest.raises(ImageError, match="limit of 10,000"):
        load_view(encode(Image.new("RGB", (200, 100))), max_pixels=10_000)


def test_byte_limit_and_missing_file(tmp_path):
    with pytest.raises(ImageError, match="bytes"):
        load_view(encode(Image.new("RGB", (64, 64))), max_bytes=100)
    with pytest.raises(ImageError, match="no such image file"):
        load_view(tmp_path / "missing.jpg")


def test_load_views_counts():
    v = encode(Image.new("RGB", (32, 32)))
    assert len(load_views([v] * 4)) == 4
    with pytest.raises(ImageError, match="1 to 4 views, got 0"):
        load_views([])
    with pytest.raises(ImageError, match="got 5"):
        load_views([v] * 5)
    with pytest.raises(ImageError, match="view 2"):
        load_views([v, b"junk"])
