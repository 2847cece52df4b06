"""``pigeon data check`` and ``pigeon data split`` through the real CLI, bad inputs included."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.cli import main


def _csv(root: Path, rows: list[str]) -> Path:
    noise = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    Image.fromarray(noise).save(root / "a.jpg")    # a usable view (data check decodes it)
    path = root / "d.csv"
    path.write_text("id,lat,lng,image\n" + "".join(r + "\n" for r in rows))
    return path


def _good_rows(n: int = 40) -> list[str]:
    rng = np.random.default_rng(0)
    return [f"p{i},{rng.uniform(-50, 60):.5f},{rng.uniform(-170, 170):.5f},a.jpg"
            for i in range(n)]


def test_check_good_and_bad(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    good = _csv(tmp_path, _good_rows(5))
    assert main(["data", "check", str(good)]) == 0
    out = capsys.readouterr().out
    assert "layout generic, 5 rows, 5 usable, 0 bad" in out
    bad = _csv(tmp_path, _good_rows(3) + ["p0,1,1,a.jpg", "q,1,xx,a.jpg", "r,1,1,nope.jpg"])
    assert main(["data", "check", str(bad)]) == 1
    out = capsys.readouterr().out
    for needle in ("3 bad", "line 5 (id 'p0'): duplicate id", "line 6", "line 7",
                   "missing image"):
        assert needle in out, needle
    assert main(["data", "check", str(bad), "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert [b["line"] for b in doc["bad"]] == [5, 6, 7] and doc["locations"] == 3
    assert main(["data", "check", str(bad), "--no-image-check", "--json"]) == 1
    assert len(json.loads(capsys.readouterr().out)["bad"]) == 2


def test_check_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["data", "check", str(tmp_path / "none.csv")]) == 2
    assert "no such dataset file" in capsys.readouterr().err
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    assert main(["data", "check", str(tmp_path / "x.csv")]) == 2
    assert "unrecognised CSV header" in capsys.readouterr().err


def test_split_cli(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    csv = _csv(tmp_path, _good_rows(40))
    out = tmp_path / "split"
    assert main(["data", "split", str(csv), "--test-frac", "0.25", "--min-km", "1",
                 "--seed", "3", "--out", str(out)]) == 0
    assert "every test point is at least" in capsys.readouterr().out
    meta = json.loads((out / "split.json").read_text())
    assert meta["counts"] == {"train": 30, "test": 10, "skipped_bad_rows": 0}
    assert main(["data", "check", str(out / "test.csv")]) == 0  # images still resolve


def test_split_bad_rows_and_options(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    csv = _csv(tmp_path, _good_rows(20) + ["bad,100,0,a.jpg"])
    out = tmp_path / "split"
    assert main(["data", "split", str(csv), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "line 22" in err and "--on-bad-row skip" in err and "\n" not in err.strip()
    assert main(["data", "split", str(csv), "--out", str(out), "--on-bad-row", "skip"]) == 0
    assert "skipped 1 bad row" in capsys.readouterr().out
    for bad in (["--test-frac", "1.5"], ["--test-frac", "x"], ["--min-km", "-1"]):
        with pytest.raises(SystemExit) as exc:
            main(["data", "split", str(csv), "--out", str(out), *bad])
        assert exc.value.code == 2
    dense = _csv(tmp_path, [f"d{i},10.0,{10 + i * 0.001:.4f},a.jpg" for i in range(10)])
    assert main(["data", "split", str(dense), "--out", str(out)]) == 2
    assert "lower --min-km" in capsys.readouterr().err


def test_group_help_and_examples(capsys: pytest.CaptureFixture) -> None:
    assert main(["data"]) == 2
    assert "check" in capsys.readouterr().out
    for cmd in (["data", "split"], ["data", "check"], ["eval"], ["ablate"]):
        with pytest.raises(SystemExit):
            main([*cmd, "--help"])
        assert "example:" in capsys.readouterr().out
