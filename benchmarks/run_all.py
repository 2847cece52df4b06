"""Run every ``benchmarks/bench_*.py`` and collect their printed figures.

Each benchmark prints its own figures and the machine it ran on; this runner adds a
header, runs them one after another (never in parallel: they would share the cores) and
writes everything to ``docs/PERFORMANCE.md`` (or ``--out``), ready to read or paste.

Usage::

    make bench
    python benchmarks/run_all.py --only geo,predict --out /tmp/perf.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

from machine_info import machine

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="comma-separated names (bench_NAME.py)")
    ap.add_argument("--out", default=str(REPO / "docs" / "PERFORMANCE.md"))
    args = ap.parse_args(argv)
    wanted = {w.strip() for w in args.only.split(",") if w.strip()}
    scripts = sorted(p for p in HERE.glob("bench_*.py")
                     if not wanted or p.stem.removeprefix("bench_") in wanted)
    lines = ["# Performance", "",
             f"Measured by `make bench` on {dt.date.today()} — {machine()}.",
             "Absolute times drift on shared machines; compare ratios taken in one run.", ""]
    failed = 0
    for script in scripts:
        print(f"==> {script.name}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, str(script)], check=False, capture_output=True,
                              text=True, cwd=REPO)
        took = time.perf_counter() - t0
        sys.stdout.write(proc.stdout)
        if proc.returncode != 0:
            failed += 1
            sys.stderr.write(proc.stderr[-4000:])
        lines += [f"## {script.stem}", "", f"(ran {took:.1f} s, exit {proc.returncode})", "",
                  "```", proc.stdout.rstrip(), "```", ""]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}; {len(scripts)} benchmarks, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
