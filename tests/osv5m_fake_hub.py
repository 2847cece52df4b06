"""A local stand-in for the Hugging Face hub serving a tiny OSV-5M repository (tests only).

It answers the requests ``huggingface_hub`` makes, the way huggingface.co does:

- ``HEAD|GET /datasets/osv5m/osv5m/resolve/<revision>/<path>``: for the large files (CSVs and
  zips, LFS on the real hub) a 302 to a CDN URL on another host name (``localhost`` instead
  of ``127.0.0.1``, so the client does not follow it during the HEAD) with ``X-Repo-Commit``,
  ``X-Linked-Etag`` (the sha256) and ``X-Linked-Size``; small files are served directly with an
  ``ETag``. Unknown files: 404 with ``X-Error-Code: EntryNotFound``; unknown revisions: 404
  with ``X-Error-Code: RevisionNotFound``.
- ``HEAD|GET /cdn/<sha256>``: the bytes, honouring ``Range: bytes=N-`` with a 206.

The repository mirrors the real one (``train.csv``, ``test.csv`` with the real 32-column
header, ``images/<split>/NN.zip`` holding ``<id>.jpg`` members, ``README.md``), with a few
images per shard. ``stall_after[path] = n`` makes the CDN send only the first n bytes of that
file and then hang (to kill a client mid-download); ``log`` lists every request.

Usage::

    repo = make_osv5m_repo(tmp_path, shards={"test": [3, 3]})
    with FakeHub(repo.files) as hub:
        download_osv5m(out, split="test", endpoint=hub.url)
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import threading
import time
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from PIL import Image

COMMIT = "5b1f2c0d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c"
HEADER = [
    "id", "latitude", "longitude", "thumb_original_url", "country", "sequence", "captured_at",
    "lon_bin", "lat_bin", "cell", "region", "sub-region", "city", "land_cover", "road_index",
    "drive_side", "climate", "soil", "dist_sea", "quadtree_10_5000", "quadtree_10_25000",
    "quadtree_10_1000", "quadtree_10_50000", "quadtree_10_12500", "quadtree_10_500",
    "quadtree_10_2500", "unique_region", "unique_sub-region", "unique_city", "unique_country",
    "creator_username", "creator_id"]
"""The hub CSVs' header (from the repository's loading script)."""
PLACES = [  # lat, lng, country, region, sub-region, city (reverse_geocoder-style names)
    (48.8566, 2.3522, "FR", "Ile-de-France", "Paris", "Paris"),
    (40.4168, -3.7038, "ES", "Madrid", "Provincia de Madrid", "Madrid"),
    (-33.8688, 151.2093, "AU", "New South Wales", "Sydney", "Sydney"),
    (35.6762, 139.6503, "JP", "Tokyo", "", "Tokyo"),
    (-23.5505, -46.6333, "BR", "Sao Paulo", "Sao Paulo", "Sao Paulo"),
    (52.52, 13.405, "DE", "Berlin", "", "Berlin"),
]


def jpeg_bytes(seed: int, size: tuple[int, int] = (48, 32)) -> bytes:
    """A view of the place ``PLACES[seed % 6]``: each city has its own colours (so a model
    trained on the fake split can learn where a view is, and its calibration has something
    to fit), with a little variation between views; the top half is sky-like."""
    rng = np.random.default_rng(seed)
    base = np.array(PLACE_COLOURS[seed % len(PLACES)], dtype=np.int16)
    pixels = np.empty((size[1], size[0], 3), dtype=np.int16)
    pixels[: size[1] // 2] = (150, 180, 220)
    pixels[size[1] // 2:] = base
    pixels += rng.integers(-12, 13, pixels.shape, dtype=np.int16)
    buf = io.BytesIO()
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(buf, format="JPEG", quality=80)
    return buf.getvalue()


PLACE_COLOURS = [(200, 60, 40), (230, 200, 60), (60, 160, 70), (90, 90, 200),
                 (40, 200, 200), (160, 60, 170)]
"""Ground colour of each of :data:`PLACES`."""


@dataclass
class FakeRepo:
    files: dict[str, bytes]
    rows: dict[str, list[dict[str, str]]]           # split -> CSV rows
    shard_ids: dict[str, list[list[str]]]           # split -> ids per shard


def make_osv5m_repo(*, shards: dict[str, list[int]], extra_rows: int = 1,
                    stray_member: bool = True, bad_jpeg: bool = True,
                    pad_bytes: int = 0) -> FakeRepo:
    """A tiny repository. ``shards[split]`` = images per shard. Each split's CSV also has
    ``extra_rows`` rows whose image is in no shard; shard 00 holds a member with no CSV row
    (``stray_member``), a member that is not a JPEG (``bad_jpeg``, its row is in the CSV) and
    ``pad_bytes`` of random bytes in a ``.bin`` member first (to make it large); shard 01
    nests its members in a folder (``01/<id>.jpg``)."""
    files: dict[str, bytes] = {"README.md": b"# OpenStreetView-5M (test fake)\n"}
    rows: dict[str, list[dict[str, str]]] = {}
    shard_ids: dict[str, list[list[str]]] = {}
    serial = 0
    for split, sizes in shards.items():
        rows[split], shard_ids[split] = [], []
        for k, n in enumerate(sizes):
            buf = io.BytesIO()
            ids = []
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
                if k == 0 and pad_bytes:
                    zf.writestr("padding.bin", os.urandom(pad_bytes))
                for _ in range(n):
                    serial += 1
                    ident = str(1_000_000_000_000 + serial)
                    ids.append(ident)
                    rows[split].append(_row(ident, serial))
                    zf.writestr(f"{k:02d}/{ident}.jpg" if k == 1 else f"{ident}.jpg",
                                jpeg_bytes(serial))
                if k == 0 and stray_member:
                    zf.writestr("999999999999999.jpg", jpeg_bytes(0))
                if k == 0 and bad_jpeg:
                    serial += 1
                    ident = str(1_000_000_000_000 + serial)
                    rows[split].append(_row(ident, serial))
                    zf.writestr(f"{ident}.jpg", b"not a jpeg at all")
            shard_ids[split].append(ids)
            files[f"images/{split}/{k:02d}.zip"] = buf.getvalue()
        for _ in range(extra_rows):
            serial += 1
            rows[split].append(_row(str(1_000_000_000_000 + serial), serial))
        out = io.StringIO()
        w = csv.DictWriter(out, fieldnames=HEADER, lineterminator="\n")
        w.writeheader()
        w.writerows(rows[split])
        files[f"{split}.csv"] = out.getvalue().encode()
    return FakeRepo(files, rows, shard_ids)


def _row(ident: str, serial: int) -> dict[str, str]:
    lat, lng, cc, region, sub, city = PLACES[serial % len(PLACES)]
    lat += (serial % 7) * 0.01
    row = {h: "0" for h in HEADER}
    row.update({"id": ident, "latitude": repr(lat), "longitude": repr(lng),
                "thumb_original_url": "", "country": cc, "sequence": f"seq{serial}",
                "captured_at": str(1_600_000_000_000 + serial * 2_600_000_000),
                "region": region, "sub-region": sub, "city": city,
                "unique_region": f"{region}_{cc}",
                "unique_sub-region": f"{sub}_{region}_{cc}" if sub else "",
                "unique_city": f"{city}_{sub or 'NaN'}_{region}_{cc}", "unique_country": cc,
                "creator_username": "someone", "creator_id": "1.0"})
    return row


@dataclass
class FakeHub:
    """The HTTP server (a context manager); ``url`` is its endpoint."""

    files: dict[str, bytes]
    repo: str = "osv5m/osv5m"
    stall_after: dict[str, int] = field(default_factory=dict)
    log: list[tuple[str, str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sha = {p: hashlib.sha256(b).hexdigest() for p, b in self.files.items()}
        self.by_sha = {self.sha[p]: p for p in self.files}
        self.release = threading.Event()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_HEAD(self):
                hub._answer(self, body=False)

            def do_GET(self):
                hub._answer(self, body=True)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FakeHub:  # noqa: PYI034 - a dataclass, never subclassed
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def fetched(self, path: str) -> list[str]:
        """Range headers of every GET of ``path``'s bytes ('' = from the start)."""
        return [rng for m, p, rng in self.log if m == "GET" and p == path]

    def _answer(self, h: BaseHTTPRequestHandler, *, body: bool) -> None:
        prefix = f"/datasets/{self.repo}/resolve/"
        rng = h.headers.get("Range", "")
        if h.path.startswith("/cdn/"):
            path = self.by_sha.get(h.path[5:])
            self.log.append((h.command, path or h.path, rng))
            if path is None:
                return self._status(h, 404, {})
            return self._send(h, path, rng, body)
        if not h.path.startswith(prefix):
            return self._status(h, 404, {"X-Error-Code": "RepoNotFound"})
        rev, _, path = h.path[len(prefix):].partition("/")
        self.log.append((h.command + "-resolve", path, rng))
        if rev not in ("main", COMMIT):
            return self._status(h, 404, {"X-Error-Code": "RevisionNotFound"})
        if path not in self.files:
            return self._status(h, 404, {"X-Error-Code": "EntryNotFound",
                                         "X-Repo-Commit": COMMIT})
        if path.endswith((".zip", ".csv")):  # LFS on the real hub: redirect to the CDN
            return self._status(h, 302, {
                "Location": f"http://localhost:{self.port}/cdn/{self.sha[path]}",
                "X-Repo-Commit": COMMIT, "X-Linked-Etag": f'"{self.sha[path]}"',
                "X-Linked-Size": str(len(self.files[path])), "ETag": '"gitblob"'})
        return self._send(h, path, rng, body, extra={"X-Repo-Commit": COMMIT})

    @staticmethod
    def _status(h: BaseHTTPRequestHandler, code: int, headers: dict[str, str]) -> None:
        h.send_response(code)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", "0")
        h.end_headers()

    def _send(self, h: BaseHTTPRequestHandler, path: str, rng: str, body: bool,
              extra: dict[str, str] | None = None) -> None:
        data = self.files[path]
        start = int(rng.split("=")[1].split("-")[0]) if rng.startswith("bytes=") else 0
        chunk = data[start:]
        h.send_response(206 if start else 200)
        h.send_header("Content-Length", str(len(chunk)))
        h.send_header("ETag", f'"{self.sha[path]}"')
        if start:
            h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        for k, v in (extra or {}).items():
            h.send_header(k, v)
        h.end_headers()
        if not body:
            return
        stall = self.stall_after.get(path)
        if stall is not None and start < stall:
            h.wfile.write(chunk[:stall - start])
            h.wfile.flush()
            deadline = time.monotonic() + 60
            while not self.release.is_set() and time.monotonic() < deadline:
                time.sleep(0.05)
            return
        h.wfile.write(chunk)
