"""Paired comparison of two evaluations of the same test set: mean difference and its interval.

Reads two ``predictions.csv`` files written by ``pigeon eval --out DIR`` (one row per test
item, keyed by ``id``), takes ``A - B`` of a column per item, and gives the mean difference
with a 95 % percentile-bootstrap interval over items (``backend.eval.paired``). Pairing
removes the spread between test places, so small differences between two models show.

Usage::

    .venv/bin/python scripts/compare_predictions.py reports/a/predictions.csv \\
        reports/b/predictions.csv --column score --n-boot 10000
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.eval.paired import read_column

__all__ = ["compare", "main", "read_column"]


def compare(a: dict[str, float], b: dict[str, float], *, n_boot: int = 10_000,
            seed: int = 0) -> dict[str, float]:
    """Mean of ``a - b`` over the shared ids, with its 95 % bootstrap interval
    (``backend.eval.paired.paired_difference``)."""
    from backend.eval.paired import paired_difference

    return paired_difference(a, b, n_boot=n_boot, seed=seed)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a", help="predictions.csv of model A")
    ap.add_argument("b", help="predictions.csv of model B")
    ap.add_argument("--column", default="score", help="per-item column (default score)")
    ap.add_argument("--n-boot", type=int, default=10_000, help="bootstrap resamples")
    ap.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    args = ap.parse_args(argv)
    try:
        r = compare(read_column(args.a, args.column), read_column(args.b, args.column),
                    n_boot=args.n_boot, seed=args.seed)
    except (OSError, ValueError) as exc:
        print(f"compare_predictions: {exc}", file=sys.stderr)
        return 2
    print(f"{r['n']} items, {args.column}: A {r['mean_a']:.1f}, B {r['mean_b']:.1f}; "
          f"A - B = {r['diff']:+.1f} [{r['low']:+.1f}, {r['high']:+.1f}] (95 % paired bootstrap)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
