"""``scripts/compare_predictions.py``: the paired difference of two evaluations, and bad input."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "compare_predictions.py"
spec = importlib.util.spec_from_file_location("compare_predictions", SCRIPT)
cp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cp)


def _write(path: Path, scores: dict[str, float]) -> Path:
    path.write_text("id,score,distance_km\n" + "".join(f"{k},{v},1\n" for k, v in scores.items()))
    return path


def test_paired_difference_and_its_interval(tmp_path, capsys):
    a = _write(tmp_path / "a.csv", {f"p{i}": 1000 + 10 * i + 50 for i in range(40)})
    b = _write(tmp_path / "b.csv", {f"p{i}": 1000 + 10 * i for i in range(40)})
    r = cp.compare(cp.read_column(a, "score"), cp.read_column(b, "score"), n_boot=200)
    # every item is exactly 50 better: the pairing removes the spread between items
    assert r["diff"] == pytest.approx(50) and r["low"] == pytest.approx(50)
    assert r["high"] == pytest.approx(50) and r["n"] == 40
    assert cp.main([str(a), str(b), "--n-boot", "200"]) == 0
    assert "A - B = +50.0 [+50.0, +50.0]" in capsys.readouterr().out


def test_bad_inputs_say_what_to_do(tmp_path, capsys):
    a = _write(tmp_path / "a.csv", {"p1": 1.0, "p2": 2.0})
    b = _write(tmp_path / "b.csv", {"p1": 1.0, "p3": 2.0})
    assert cp.main([str(a), str(b)]) == 2
    assert "different items" in capsys.readouterr().err
    assert cp.main([str(a), str(a), "--column", "nope"]) == 2
    assert "need columns" in capsys.readouterr().err
    assert cp.main([str(a), str(tmp_path / "missing.csv")]) == 2
    assert "missing.csv" in capsys.readouterr().err
