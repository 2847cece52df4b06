"""Blind experiments: statistics, the design, the arena's blinded games, the report."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.arena.api import HUB
from bot.arena.app import ArenaConfig, make_app
from bot.arena.sample_dataset import write_sample_dataset
from bot.cli import main as pigeon
from bot.experiment.design import Experiment, ExperimentError, create_experiment
from bot.experiment.report import build_report, write_report
from bot.experiment.stats import (
    StatsError,
    bootstrap_ci,
    elo_ratings,
    paired_wilcoxon,
    wilson_interval,
)


def test_wilson_interval_known_values():
    lo, hi = wilson_interval(8, 10)
    assert (round(lo, 3), round(hi, 3)) == (0.49, 0.943)
    assert wilson_interval(0, 5)[0] == 0.0 and wilson_interval(5, 5)[1] == 1.0
    for bad in [(1, 0), (6, 5), (-1, 3)]:
        with pytest.raises(StatsError):
            wilson_interval(*bad)


def test_paired_wilcoxon_matches_scipy_and_refuses_too_few():
    from scipy.stats import wilcoxon

    rng = np.random.default_rng(0)
    a = rng.normal(3000, 500, 30)
    b = a - rng.normal(300, 200, 30)
    out = paired_wilcoxon(a, b)
    assert out["p_value"] == pytest.approx(wilcoxon(a, b).pvalue) and out["p_value"] < 0.01
    few = paired_wilcoxon([1, 2, 3], [1, 2, 4])
    assert few["p_value"] is None and few["n_nonzero"] == 1
    with pytest.raises(StatsError):
        paired_wilcoxon([1, 2], [1])


def test_elo_and_bootstrap():
    r = elo_ratings([("a", "b", 1.0)] * 5)
    assert r["a"] > 1500 > r["b"] and r["a"] + r["b"] == pytest.approx(3000)
    assert elo_ratings([("a", "b", 0.5)]) == {"a": 1500, "b": 1500}
    with pytest.raises(StatsError):
        elo_ratings([("a", "a", 1.0)])
    est, lo, hi = bootstrap_ci(np.arange(100.0), seed=1)
    assert lo < est < hi and est == pytest.approx(49.5)
    with pytest.raises(StatsError):
        bootstrap_ci([])


def test_design_is_counterbalanced_and_round_trips(tmp_path):
    exp = create_experiment(tmp_path / "e", participants=6, opponents=("bot", "replay"),
                            games_per_opponent=1, seed=3)
    firsts = [order[0] for order in exp.participants.values()]
    assert firsts.count("bot") == firsts.count("replay") == 3
    assert all(sorted(o) == ["bot", "replay"] for o in exp.participants.values())
    back = Experiment.load(tmp_path / "e")
    assert back == exp
    code = next(iter(exp.participants))
    assert back.assignment(code.lower()) == exp.participants[code]
    with pytest.raises(ExperimentError, match="unknown participant"):
        back.assignment("NOPE")
    with pytest.raises(ExperimentError):
        create_experiment(tmp_path / "x", participants=2, opponents=("alien",))
    with pytest.raises(ExperimentError, match="no experiment"):
        Experiment.load(tmp_path / "missing")


def test_blinded_game_question_and_report(tmp_path):
    data = write_sample_dataset(tmp_path / "data", n=5, size=48)
    exp = create_experiment(tmp_path / "exp", participants=2, opponents=("baseline",),
                            games_per_opponent=1, rules={"start_hp": 100}, name="pilot")
    code = next(iter(exp.participants))
    logs = tmp_path / "logs"

    async def go():
        app = make_app(ArenaConfig(dataset=data, log_dir=logs, baseline_delay_s=0.05,
                                   experiment=tmp_path / "exp"))
        c = TestClient(TestServer(app))
        await c.start_server()
        hub = app[HUB]
        try:
            info = await (await c.get("/api/info")).json()
            assert info["experiment"]["question"] == "Was your opponent a bot?"
            r = await c.post("/api/experiment/start", json={"code": code, "consent": False})
            assert r.status == 400 and "consent" in (await r.json())["error"]
            r = await c.post("/api/experiment/start", json={"code": "BAD", "consent": True})
            assert r.status == 403
            g = await (await c.post("/api/experiment/start",
                                    json={"code": code, "consent": True})).json()
            hdr = {"X-Player-Token": g["token"]}
            base = f"/api/games/{g['game_id']}"
            st = await (await c.get(f"{base}/state", headers=hdr)).json()
            other = next(p for p in st["players"] if p["id"] != st["you"])
            assert other["name"] == "opponent" and other["kind"] == "player"  # blinded
            assert st["experiment"]["question"] is None
            r = await c.post(f"{base}/answer", headers=hdr, json={"answer": "yes"})
            assert r.status == 409  # not before the end
            loc = hub.games[g["game_id"]].game.current.location
            await c.post(f"{base}/guess", headers=hdr, json={"lat": loc.lat, "lng": loc.lng})
            for _ in range(50):
                st = await (await c.get(f"{base}/state", headers=hdr)).json()
                if st["phase"] == "finished":
                    break
                await asyncio.sleep(0.05)
            assert st["phase"] == "finished" and st["experiment"]["question"]
            r = await c.post(f"{base}/answer", headers=hdr, json={"answer": "maybe"})
            assert r.status == 400
            assert (await c.post(f"{base}/answer", headers=hdr, json={"answer": "yes"})).status == 200
            assert (await c.post(f"{base}/answer", headers=hdr, json={"answer": "no"})).status == 409
            # the design has one game per participant: a second start is refused
            r = await c.post("/api/experiment/start", json={"code": code, "consent": True})
            assert r.status == 409 and "all 1 games" in (await r.json())["error"]
        finally:
            await c.close()
    asyncio.run(go())

    report = build_report(Experiment.load(tmp_path / "exp"), [logs])
    arm = report["arms"]["baseline"]
    assert report["games"] == 1 and arm["finished"] == 1 and arm["person_win_rate"] == 1.0
    assert arm["said_bot"] == 1 and arm["said_bot_rate_ci95"][1] == 1.0
    assert report["bot_detection"]["correct"] == 0          # said "bot" to a non-bot
    assert report["elo"][code] > report["elo"]["opponent:baseline"]
    paths = write_report(report, tmp_path / "report")
    assert [p.stat().st_size > 0 for p in paths] == [True] * 3
    assert json.loads(paths[0].read_text())["format"] == "pigeon-experiment-report/1"
    assert paths[2].read_bytes()[:4] == b"\x89PNG"


def test_experiment_cli(tmp_path, capsys):
    assert pigeon(["experiment", "create", "--out", str(tmp_path / "e"), "--participants", "3",
                   "--opponents", "bot,baseline"]) == 0
    out = capsys.readouterr().out
    assert out.count("  P0") == 3
    assert pigeon(["experiment", "create", "--out", str(tmp_path / "e"),
                   "--participants", "3"]) == 2
    assert "already holds" in capsys.readouterr().err
    assert pigeon(["experiment", "create", "--out", str(tmp_path / "f"), "--participants", "2",
                   "--opponents", "ghost"]) == 2
    assert pigeon(["experiment", "report", str(tmp_path / "e"), "--logs",
                   str(tmp_path / "nologs")]) == 2
    assert "no such log path" in capsys.readouterr().err
    (tmp_path / "logs").mkdir()
    assert pigeon(["experiment", "report", str(tmp_path / "e"), "--logs",
                   str(tmp_path / "logs")]) == 2
    assert "no game of experiment" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["arena"], ["experiment"], ["experiment", "create"],
                                  ["experiment", "report"], ["scores"], ["scores", "report"]])
def test_help_of_every_command_shows_an_example(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        pigeon([*argv, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "example:" in out or "SUBCOMMAND" in out
