"""``pigeon experiment report``: what a blind experiment found, from the arena's game logs.

Per opponent (arm): games, the participants' win rate (Wilson 95 % interval), mean score per
round of the person and of the opponent with a bootstrap interval of the difference, a paired
Wilcoxon signed-rank test of person vs opponent scores on the same rounds; how often people
answered "yes, a bot" (Wilson interval) — for the bot arm that is the detection rate, for the
others the false-alarm rate; Elo ratings of participants and opponents from the game outcomes.
Written as ``report.json`` (with its own metadata), ``report.md`` and ``report.png``.

Usage::

    report = build_report(Experiment.load("runs/exp1"), ["arena-logs"])
    write_report(report, "runs/exp1/report")
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.experiment.design import Experiment
from bot.experiment.stats import bootstrap_ci, elo_ratings, paired_wilcoxon, wilson_interval

REPORT_FORMAT = "pigeon-experiment-report/1"


@dataclass
class GameRecord:
    """One experiment game read back from its log."""

    game: str
    participant: str
    arm: str
    wall_time: float
    person_scores: list[float] = field(default_factory=list)
    opponent_scores: list[float] = field(default_factory=list)
    winner: str | None = None        # "person", "opponent", "draw", or None (unfinished)
    answer: str | None = None


def read_games(exp: Experiment, log_paths: Sequence[str | Path]) -> list[GameRecord]:
    """Every game of ``exp`` found in the logs (files or directories of ``*.jsonl``)."""
    files: list[Path] = []
    for p in map(Path, log_paths):
        files += sorted(p.glob("*.jsonl")) if p.is_dir() else [p]
    games = []
    for path in files:
        rec: GameRecord | None = None
        person = None
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            kind = ev.get("event")
            if kind == "game_created":
                if ev.get("experiment") != exp.id:
                    break
                rec = GameRecord(ev["game"], ev["participant"], ev["arm"], ev.get("wall_time", 0))
            elif rec is None:
                continue
            elif kind == "player_joined" and ev.get("kind") == "human":
                person = ev["id"]
            elif kind == "round_ended":
                for g in ev["guesses"]:
                    (rec.person_scores if g["player_id"] == person else
                     rec.opponent_scores).append(float(g["score"]))
            elif kind == "game_ended":
                w = ev.get("winner")
                rec.winner = "draw" if w is None else ("person" if w == person else "opponent")
            elif kind == "answer":
                rec.answer = ev.get("answer")
        if rec is not None:
            games.append(rec)
    return sorted(games, key=lambda g: g.wall_time)


def _interval(k: int, n: int) -> list[float] | None:
    return list(wilson_interval(k, n)) if n else None


def build_report(exp: Experiment, log_paths: Sequence[str | Path], *, seed: int = 0
                 ) -> dict[str, Any]:
    """The report as a JSON-ready dict (see the module docstring)."""
    games = read_games(exp, log_paths)
    arms: dict[str, Any] = {}
    for arm in exp.opponents:
        gs = [g for g in games if g.arm == arm]
        finished = [g for g in gs if g.winner is not None]
        wins = sum(g.winner == "person" for g in finished)
        ps = [s for g in gs for s in g.person_scores]
        os_ = [s for g in gs for s in g.opponent_scores]
        answered = [g for g in gs if g.answer in ("yes", "no", "unsure")]
        yes = sum(g.answer == "yes" for g in answered)
        entry: dict[str, Any] = {
            "games": len(gs), "finished": len(finished), "rounds": len(ps),
            "person_win_rate": wins / len(finished) if finished else None,
            "person_win_rate_ci95": _interval(wins, len(finished)),
            "person_mean_score": float(np.mean(ps)) if ps else None,
            "opponent_mean_score": float(np.mean(os_)) if os_ else None,
            "answered": len(answered), "said_bot": yes,
            "said_bot_rate": yes / len(answered) if answered else None,
            "said_bot_rate_ci95": _interval(yes, len(answered)),
        }
        if ps and len(ps) == len(os_):
            diff = np.asarray(ps) - np.asarray(os_)
            est, lo, hi = bootstrap_ci(diff, seed=seed)
            entry["mean_difference_person_minus_opponent"] = {"estimate": est, "ci95": [lo, hi]}
            entry["wilcoxon_person_vs_opponent"] = paired_wilcoxon(ps, os_)
        arms[arm] = entry
    matches = [(g.participant, f"opponent:{g.arm}",
                1.0 if g.winner == "person" else 0.5 if g.winner == "draw" else 0.0)
               for g in games if g.winner is not None]
    detect = None
    judged = [g for g in games if g.answer in ("yes", "no")]
    if judged:
        correct = sum((g.answer == "yes") == (g.arm == "bot") for g in judged)
        detect = {"judged": len(judged), "correct": correct, "accuracy": correct / len(judged),
                  "ci95": list(wilson_interval(correct, len(judged)))}
    return {"format": REPORT_FORMAT, "made_by": "pigeon experiment report",
            "created": time.time(), "experiment": exp.id, "name": exp.name,
            "logs": [str(p) for p in log_paths], "participants": len(exp.participants),
            "participants_seen": len({g.participant for g in games}), "games": len(games),
            "arms": arms, "bot_detection": detect, "elo": elo_ratings(matches) if matches else {}}


def _markdown(r: dict[str, Any]) -> str:
    def f(x: Any, d: int = 0) -> str:
        return "–" if x is None else (f"{x:.{d}f}" if isinstance(x, float) else str(x))

    lines = [f"# Experiment {r['name']} ({r['experiment']})", "",
             f"{r['games']} games by {r['participants_seen']} of {r['participants']} participants.",
             "", ("| opponent | games | rounds | person wins (95 % CI) | person / opponent mean "
                  "score | Wilcoxon p | said 'bot' (95 % CI) |"), "|---|---|---|---|---|---|---|"]
    for arm, a in r["arms"].items():
        ci = a["person_win_rate_ci95"]
        bot_ci = a["said_bot_rate_ci95"]
        w = (a.get("wilcoxon_person_vs_opponent") or {}).get("p_value")
        lines.append(
            f"| {arm} | {a['games']} | {a['rounds']} | {f(a['person_win_rate'], 2)}"
            f"{f' ({ci[0]:.2f}-{ci[1]:.2f})' if ci else ''} | {f(a['person_mean_score'])} / "
            f"{f(a['opponent_mean_score'])} | {f(w, 3)} | {f(a['said_bot_rate'], 2)}"
            f"{f' ({bot_ci[0]:.2f}-{bot_ci[1]:.2f})' if bot_ci else ''} |")
    if r["bot_detection"]:
        d = r["bot_detection"]
        lines += ["", (f"Bot detection: {d['correct']}/{d['judged']} correct "
                       f"({d['accuracy']:.2f}, 95 % CI {d['ci95'][0]:.2f}-{d['ci95'][1]:.2f}).")]
    if r["elo"]:
        lines += ["", "Elo: " + ", ".join(f"{k} {v:.0f}" for k, v in
                                          sorted(r["elo"].items(), key=lambda kv: -kv[1]))]
    return "\n".join(lines) + "\n"


def write_report(report: dict[str, Any], out_dir: str | Path) -> list[Path]:
    """Write ``report.json``, ``report.md`` and ``report.png``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.json", out / "report.md", out / "report.png"]
    paths[0].write_text(json.dumps(report, indent=2))
    paths[1].write_text(_markdown(report))
    arms = list(report["arms"])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
    x = np.arange(len(arms))
    pm = [report["arms"][a]["person_mean_score"] or 0 for a in arms]
    om = [report["arms"][a]["opponent_mean_score"] or 0 for a in arms]
    ax1.bar(x - 0.2, pm, 0.4, label="person")
    ax1.bar(x + 0.2, om, 0.4, label="opponent")
    ax1.set_xticks(x, arms)
    ax1.set_ylabel("mean score per round")
    ax1.set_ylim(0, 5000)
    ax1.legend()
    rates = [report["arms"][a]["said_bot_rate"] or 0 for a in arms]
    cis = [report["arms"][a]["said_bot_rate_ci95"] or [0, 0] for a in arms]
    err = np.array([[r - c[0] for r, c in zip(rates, cis)], [c[1] - r for r, c in zip(rates, cis)]])
    ax2.bar(x, rates, 0.5, yerr=np.clip(err, 0, None), capsize=4, color="#888")
    ax2.set_xticks(x, arms)
    ax2.set_ylim(0, 1)
    ax2.set_ylabel("answered 'a bot' (95 % CI)")
    fig.suptitle(f"{report['name']}: {report['games']} games")
    fig.tight_layout()
    fig.savefig(paths[2], dpi=110)
    plt.close(fig)
    return paths
