"""Shared pytest fixtures.

Browser tests need Debian's Chromium. Without it they skip and say why; with
PIGEON_REQUIRE_BROWSER=1 (set by .ci/run) a missing browser fails the test instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")


def find_chromium() -> str | None:
    for path in CHROMIUM_CANDIDATES:
        if os.path.exists(path):
            return path
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = find_chromium()
    if path is None:
        reason = ("Debian's chromium is not installed (run `make test` as root, or "
                  "`sudo apt-get install chromium`)")
        if os.environ.get("PIGEON_REQUIRE_BROWSER") == "1":
            pytest.fail(f"PIGEON_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO
