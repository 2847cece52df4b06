"""The reliability suite (issue 18): a real ``pigeon serve`` process on a tiny real bundle,
attacked and broken on 127.0.0.1 — bad hellos and corrupt frames (lone surrogates, control
characters, deep nesting), floods of silent sockets and wrong tokens with a client that
never reads, huge views, a locked score log, SIGTERM and SIGKILL in the middle of a burst,
a full disk — and after each: every acked result is stored, every guessed round is in the
log or its guess said it was not, paired clients were served throughout, memory stayed
under its bound and came back down.

The cases live in ``tests/reliability_cases.py``; ``benchmarks/bench_reliability.py`` runs
them larger and prints the figures of docs/RELIABILITY.md. To keep ``make test`` short, the
cases share servers (starting one costs the torch import): one server takes the attacks,
then SIGTERM; a second opens the same score log and takes SIGKILL; the full disk has its
own. The tests run in file order (pytest's default) and each says which phase failed.
"""

from __future__ import annotations

import signal

import pytest

from tests import reliability_cases as cases
from tests.predict_fixtures import box_geocells
from tests.reliability_harness import ServeProcess

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    from backend.model.bundle import make_tiny_bundle

    return make_tiny_bundle(tmp_path_factory.mktemp("reliability") / "bundle", box_geocells(),
                            seed=0)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return tmp_path_factory.mktemp("reliability-log") / "scores.sqlite"


@pytest.fixture(scope="module")
def server(bundle, db):
    with ServeProcess(bundle, db, extra=["--send-timeout", "2", "--max-message-mb", "24"]) as s:
        yield s


def _report(figures: dict) -> None:
    print("\n  " + ", ".join(f"{k}={v}" for k, v in figures.items()))


def test_auth_and_protocol_corruption(server):
    _report(cases.case_auth_and_corruption(server))


def test_floods_do_not_lock_a_paired_client_out(server):
    _report(cases.case_floods(server))


def test_a_locked_score_log_loses_nothing_acked(server):
    _report(cases.case_locked_log(server))


def test_huge_views_stay_under_the_memory_bound(server):
    _report(cases.case_huge_views(server))


def test_sigterm_mid_burst(server):
    _report(cases.case_kill_mid_burst(server, signal.SIGTERM))


def test_sigkill_mid_burst(bundle, db):
    from backend.scorelog import ScoreLog

    with ServeProcess(bundle, db) as again:    # the log SIGTERM left behind opens again
        _report(cases.case_kill_mid_burst(again, signal.SIGKILL))
    with ScoreLog(db) as log:                  # and the one SIGKILL left takes rounds again
        log.log_guess(round_id="after-sigkill", source="test", lat=1, lng=2)
        assert log.integrity_check() == "ok"



def test_a_full_disk_loses_nothing_acked(bundle, tmp_path):
    """A 384 KiB tmpfs where root may mount one, else a 256 KiB file-size limit (the
    benchmark runs both)."""
    _report(cases.case_full_disk(bundle, tmp_path))
