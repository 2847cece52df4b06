"""``pigeon scores report``: the score log as a report — figures, bootstrap intervals, a plot.

Figures come from ``backend.scorelog.summarize`` (the same as ``pigeon scores summary``);
this adds 95 % bootstrap intervals of the mean score and mean distance, the projected-score
calibration by bins of projected score (mean actual score per bin), the win rate against
opponents with a Wilson interval, and a PNG: score histogram, projected vs actual, and the
cumulative share of guesses within each distance. Written as ``scores_report.json`` (with
its own metadata), ``scores_report.md`` and ``scores_report.png``.

Usage::

    from backend.scorelog import ScoreLog
    rep = build_scores_report(ScoreLog("scores.sqlite").rounds(source="arena"))
    write_scores_report(rep, "reports/")
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bot.experiment.stats import bootstrap_ci, wilson_interval

REPORT_FORMAT = "pigeon-scores-report/1"
CALIBRATION_BINS = (0, 1000, 2000, 3000, 4000, 5001)


def build_scores_report(records: Sequence[Any], *, source: str | None = None,
                        db: str | None = None) -> dict[str, Any]:
    """The report dict over score-log rounds (``RoundRecord`` objects)."""
    from backend.scorelog import summarize

    records = list(records)
    done = [r for r in records if r.result_at is not None]
    scores = [r.score for r in done if r.score is not None]
    dists = [r.distance_km for r in done if r.distance_km is not None]
    rep: dict[str, Any] = {"format": REPORT_FORMAT, "made_by": "pigeon scores report",
                           "created": time.time(), "db": db, "source": source,
                           "summary": summarize(records)}
    if scores:
        est, lo, hi = bootstrap_ci(scores)
        rep["mean_score_ci95"] = {"estimate": est, "ci95": [lo, hi]}
    if dists:
        est, lo, hi = bootstrap_ci(dists)
        rep["mean_distance_km_ci95"] = {"estimate": est, "ci95": [lo, hi]}
    pairs = [(r.projected_score, r.score) for r in done
             if r.projected_score is not None and r.score is not None]
    cal = []
    for lo_b, hi_b in itertools.pairwise(CALIBRATION_BINS):
        inside = [s for p, s in pairs if lo_b <= p < hi_b]
        if inside:
            cal.append({"projected": [lo_b, min(hi_b, 5000)], "rounds": len(inside),
                        "mean_actual": float(np.mean(inside))})
    rep["calibration"] = cal
    duels = [(r.score, r.opponent_score) for r in done
             if r.score is not None and r.opponent_score is not None]
    decided = [(a, b) for a, b in duels if a != b]
    if decided:
        wins = sum(a > b for a, b in decided)
        rep["win_rate"] = {"wins": wins, "decided": len(decided),
                           "rate": wins / len(decided),
                           "ci95": list(wilson_interval(wins, len(decided)))}
    rep["_plot"] = {"scores": scores, "distances": dists, "pairs": pairs}
    return rep


def write_scores_report(rep: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """Write the JSON, Markdown and PNG files; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    plot = rep.get("_plot", {"scores": [], "distances": [], "pairs": []})
    data = {k: v for k, v in rep.items() if k != "_plot"}
    paths = [out / "scores_report.json", out / "scores_report.md", out / "scores_report.png"]
    paths[0].write_text(json.dumps(data, indent=2))
    s = data["summary"]
    md = [f"# Score report ({s['rounds']} rounds, {s['with_result']} with a result)", ""]
    if "mean_score_ci95" in data:
        m = data["mean_score_ci95"]
        md.append(f"- mean score {m['estimate']:.0f} (95 % CI {m['ci95'][0]:.0f}-{m['ci95'][1]:.0f})")
    if "mean_distance_km_ci95" in data:
        m = data["mean_distance_km_ci95"]
        md.append(f"- mean distance {m['estimate']:.0f} km (95 % CI {m['ci95'][0]:.0f}-"
                  f"{m['ci95'][1]:.0f}); median {s['distance_km']['median']:.0f} km")
    if s.get("within_km"):
        md.append("- within " + ", ".join(f"{k} km: {v:.0%}" for k, v in s["within_km"].items()))
    if data.get("win_rate"):
        w = data["win_rate"]
        md.append(f"- won {w['wins']}/{w['decided']} decided rounds against the opponent "
                  f"({w['rate']:.0%}, 95 % CI {w['ci95'][0]:.0%}-{w['ci95'][1]:.0%})")
    for c in data["calibration"]:
        md.append(f"- projected {c['projected'][0]}-{c['projected'][1]}: actual "
                  f"{c['mean_actual']:.0f} over {c['rounds']} rounds")
    paths[1].write_text("\n".join(md) + "\n")
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    axes[0].hist(plot["scores"], bins=20, range=(0, 5000), color="#4c72b0")
    axes[0].set_xlabel("score")
    axes[0].set_ylabel("rounds")
    if plot["pairs"]:
        p, a = np.asarray(plot["pairs"]).T
        axes[1].scatter(p, a, s=8, alpha=0.6)
    axes[1].plot([0, 5000], [0, 5000], "k--", lw=1)
    axes[1].set_xlabel("projected score")
    axes[1].set_ylabel("actual score")
    if plot["distances"]:
        d = np.sort(plot["distances"])
        axes[2].plot(d, np.arange(1, len(d) + 1) / len(d))
        axes[2].set_xscale("log")
    axes[2].set_xlabel("distance km (log)")
    axes[2].set_ylabel("share within")
    fig.tight_layout()
    fig.savefig(paths[2], dpi=110)
    plt.close(fig)
    return paths
