"""What each rung of the ablation ladder gives: its paired score difference to the rung before.

Every rung is evaluated on the same test places, so the difference of two consecutive rungs
is best read paired, place by place (``backend.eval.paired``): the interval of the mean
difference is much narrower than the two rungs' own intervals. Rows follow the ladder's
order; a rung is compared with the last rung before it that ran (Table 2's first rung with
Table 1's last).

Usage::

    rows = consecutive_differences(results, n_boot=1000, seed=0)
    print(format_differences(rows))
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any


def consecutive_differences(results: Sequence[Any], *, n_boot: int = 1000,
                            seed: int = 0) -> list[dict[str, Any]]:
    """``[{"rung", "previous", "n", "diff", "low", "high", "mean_a", "mean_b"}]`` for each
    rung that ran after another one, from the rungs' per-place ``scores`` (id -> score)."""
    from backend.eval.paired import paired_difference

    ran = [r for r in results if getattr(r, "scores", None)]
    rows = []
    for prev, cur in itertools.pairwise(ran):
        try:
            d = paired_difference(cur.scores, prev.scores, n_boot=n_boot, seed=seed)
        except ValueError as exc:  # e.g. an unreadable image skipped in one rung only
            rows.append({"rung": cur.label, "previous": prev.label, "error": str(exc)})
            continue
        rows.append({"rung": cur.label, "previous": prev.label, **d})
    return rows


def format_differences(rows: Sequence[dict[str, Any]]) -> str:
    """One line a rung: its mean score, the previous rung's, and the paired difference."""
    if not rows:
        return ""
    width = max(len(r["rung"]) for r in rows)
    lines = [("Paired score difference of each rung to the rung before it "
              "(same test places; 95 % bootstrap interval over places)")]
    for r in rows:
        if "error" in r:
            lines.append(f"  {r['rung']:<{width}}  not comparable: {r['error']}")
            continue
        lines.append(f"  {r['rung']:<{width}}  {r['mean_a']:6.0f} vs {r['mean_b']:6.0f}  "
                     f"{r['diff']:+6.0f} [{r['low']:+.0f}, {r['high']:+.0f}]")
    return "\n".join(lines)
