"""``pigeon scores report`` on a real SQLite score log."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backend.scorelog import ScoreLog
from bot.cli import main as pigeon
from bot.reports.scores import build_scores_report


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "scores.sqlite"
    rng = np.random.default_rng(0)
    with ScoreLog(path) as log:
        for i in range(40):
            rid = f"g:{i + 1}"
            proj = float(rng.uniform(0, 5000))
            log.log_guess(round_id=rid, source="arena", lat=10.0, lng=20.0, game_id="g",
                          round_number=i + 1, projected_score=proj, model_id="m", n_views=4)
            if i < 36:   # four rounds never got their result
                score = float(np.clip(proj + rng.normal(0, 400), 0, 5000))
                log.log_result(rid, truth_lat=11.0, truth_lng=21.0, score=score,
                               opponent_score=float(rng.uniform(0, 5000)))
        log.log_guess(round_id="x:1", source="geoguessr", lat=0, lng=0)
    return path


def test_report_figures(db):
    with ScoreLog(db) as log:
        rep = build_scores_report(log.rounds(source="arena"), source="arena")
    assert rep["summary"]["rounds"] == 40 and rep["summary"]["with_result"] == 36
    lo, hi = rep["mean_score_ci95"]["ci95"]
    assert lo < rep["mean_score_ci95"]["estimate"] < hi
    assert sum(c["rounds"] for c in rep["calibration"]) == 36
    # the fake log was built calibrated: higher projected bins have higher actual means
    means = [c["mean_actual"] for c in rep["calibration"]]
    assert means == sorted(means)
    assert rep["win_rate"]["decided"] == 36


def test_cli_writes_files_and_refuses_bad_input(db, tmp_path, capsys):
    out = tmp_path / "rep"
    assert pigeon(["scores", "report", "--db", str(db), "--source", "arena",
                   "--out", str(out)]) == 0
    data = json.loads((out / "scores_report.json").read_text())
    assert data["format"] == "pigeon-scores-report/1" and data["source"] == "arena"
    assert (out / "scores_report.png").read_bytes()[:4] == b"\x89PNG"
    assert "mean score" in (out / "scores_report.md").read_text()
    assert pigeon(["scores", "report", "--db", str(tmp_path / "none.sqlite")]) == 2
    assert "no score log" in capsys.readouterr().err
    assert pigeon(["scores", "report", "--db", str(db), "--source", "screen"]) == 2
    assert "has no rounds" in capsys.readouterr().err
