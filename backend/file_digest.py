"""Content digests of files, for the provenance every artifact carries in its metadata.

Usage::

    from backend.file_digest import sha256_file
    meta["input_sha256"] = sha256_file(path)
"""

from __future__ import annotations

import hashlib
import os


def sha256_file(path: str | os.PathLike[str], *, block_bytes: int = 1 << 22) -> str:
    """Hex sha256 of a file's bytes, read in blocks (constant memory)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(block_bytes), b""):
            h.update(chunk)
    return h.hexdigest()
