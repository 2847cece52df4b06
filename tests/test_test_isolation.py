"""The test suite never touches the user's files: it runs with a private HOME (conftest), and
a process a test starts that writes the default score log writes it there, not into the
user's ``~/.local/share/pigeon-bot``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REAL_HOME, REPO, TEST_HOME


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    if not folder.is_dir():
        return {}
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")
            if p.is_file()}


def test_the_suite_runs_with_a_private_home():
    from backend.scorelog.db import default_db_path

    assert Path.home() == TEST_HOME != REAL_HOME
    assert os.environ["XDG_DATA_HOME"].startswith(str(TEST_HOME))
    assert "PIGEON_SCORES_DB" not in os.environ
    assert default_db_path().is_relative_to(TEST_HOME)


def test_a_child_process_writes_the_default_score_log_under_the_private_home():
    real_data = REAL_HOME / ".local" / "share" / "pigeon-bot"
    before = _snapshot(real_data)
    code = ("from backend.scorelog.db import ScoreLog, default_db_path\n"
            "log = ScoreLog(default_db_path())\n"
            "log.log_guess(round_id='isolation:1', source='test', lat=1, lng=2)\n"
            "print(log.path)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "PYTHONPATH": str(REPO)},
                         timeout=120).stdout.strip()
    assert Path(out).is_relative_to(TEST_HOME) and Path(out).is_file()
    assert _snapshot(real_data) == before
