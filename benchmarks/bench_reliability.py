"""The reliability suite, larger: the cases of ``tests/reliability_cases.py`` against a real
``pigeon serve`` (tiny real bundle, CPU, 127.0.0.1) at ``--scale`` times the test's size, and
the table of docs/RELIABILITY.md: per case, rounds guessed (logged / said unlogged), results
acked, rows and results found in the score log, and the memory figures.

A case whose promise breaks prints FAILED and the reason, and the script exits 1.

Usage::

    python benchmarks/bench_reliability.py [--scale 3] [--clients 16]
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

from machine_info import machine

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _row(fig: dict, seconds: float) -> str:
    extra = {k: v for k, v in fig.items() if k not in {
        "case", "guesses", "logged_true", "logged_false", "results_acked", "rows_found",
        "results_found"}}
    return (f"| {fig['case']} | {fig['guesses']} ({fig['logged_true']} / {fig['logged_false']})"
            f" | {fig['results_acked']} | {fig['rows_found']} / {fig['results_found']} | "
            + ", ".join(f"{k} {v}" for k, v in extra.items()) + f" | {seconds:.0f} s |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=3, help="times the test suite's size")
    ap.add_argument("--clients", type=int, default=16, help="clients of the huge-views burst")
    args = ap.parse_args(argv)

    from backend.model.bundle import make_tiny_bundle
    from tests import reliability_cases as cases
    from tests.predict_fixtures import box_geocells
    from tests.reliability_harness import ServeProcess

    work = Path(tempfile.mkdtemp(prefix="bench-reliability-"))
    bundle = make_tiny_bundle(work / "bundle", box_geocells(), seed=0)
    db = work / "scores.sqlite"
    rows: list[str] = []
    failed = 0

    def run(name: str, fn) -> None:
        nonlocal failed
        t0 = time.monotonic()
        try:
            fig = fn()
            rows.append(_row(fig, time.monotonic() - t0))
            print(f"ok      {name}: {fig}", flush=True)
        except Exception as exc:  # noqa: BLE001 - report every broken promise, then go on
            failed += 1
            rows.append(f"| {name} | FAILED: {type(exc).__name__}: {str(exc)[:200]} | | | | |")
            print(f"FAILED  {name}", flush=True)
            traceback.print_exc()

    s = args.scale
    with ServeProcess(bundle, db, extra=["--send-timeout", "2", "--max-message-mb", "24"]) as a:
        run("auth and corruption", lambda: cases.case_auth_and_corruption(a, scale=s))
        run("floods", lambda: cases.case_floods(a, scale=s))
        run("locked score log", lambda: cases.case_locked_log(a, scale=s))
        run("huge views", lambda: cases.case_huge_views(
            a, scale=s, clients=args.clients, peak_bound_mb=1500.0))
        run("SIGTERM mid-burst", lambda: cases.case_kill_mid_burst(a, signal.SIGTERM, scale=s))
    with ServeProcess(bundle, db) as b:
        run("SIGKILL mid-burst", lambda: cases.case_kill_mid_burst(b, signal.SIGKILL, scale=s))
    run("full disk (tmpfs)", lambda: cases.case_full_disk(bundle, work / "t", scale=s))
    run("full disk (RLIMIT_FSIZE)", lambda: cases.case_full_disk(bundle, work / "r", scale=s,
                                                                 allow_tmpfs=False))
    print(f"\nreliability at scale {s} ({args.clients} clients in the huge-views burst); "
          f"machine: {machine()}\n")
    print("| case | rounds guessed (logged / said unlogged) | results acked | rows / results "
          "found | figures | time |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(r)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
