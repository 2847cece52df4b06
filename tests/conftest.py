"""Shared pytest fixtures, and a private home for the whole test session.

Tests never touch the user's files: before anything is imported or run, ``HOME`` and the XDG
folders point into a fresh temporary folder (removed when the session ends) and
``PIGEON_SCORES_DB`` is unset, so a default score log, a cache or a config written by any
test, or by any process a test starts, lands there. ``REAL_HOME`` keeps the real one for the
test that checks this.

Browser tests need Debian's Chromium. Without it they skip and say why; with
PIGEON_REQUIRE_BROWSER=1 (set by .ci/run) a missing browser fails the test instead.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
REAL_HOME = Path(os.environ.get("PIGEON_REAL_HOME") or Path.home())
TEST_HOME = Path(tempfile.mkdtemp(prefix="pigeon-test-home-"))
os.environ["PIGEON_REAL_HOME"] = str(REAL_HOME)
os.environ["HOME"] = str(TEST_HOME)
for _var, _sub in (("XDG_DATA_HOME", ".local/share"), ("XDG_CONFIG_HOME", ".config"),
                   ("XDG_CACHE_HOME", ".cache"), ("XDG_STATE_HOME", ".local/state")):
    os.environ[_var] = str(TEST_HOME / _sub)
os.environ.pop("PIGEON_SCORES_DB", None)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(TEST_HOME, ignore_errors=True)

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
