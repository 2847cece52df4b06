"""The ablation ladder: its configuration list, the training arguments each rung passes, and
a real tiny run (tiny backbone, real training, bundles, refinement index, evaluation)."""

from __future__ import annotations

import csv
import dataclasses
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backend.cliutil import UserError
from backend.eval.ablate import (
    IDEAS,
    LADDER,
    AblationSettings,
    select_rungs,
    train_argv,
    with_views,
)


def test_ladder_is_cumulative_one_idea_per_rung() -> None:
    names = [r.name for r in LADDER]
    assert names[0] == "CLIP base" and names[-1].startswith("+ expected-score pin")
    assert names.index("+ semantic geocells") < names.index("+ contrastive pretraining") \
        < names.index("+ refinement")
    for prev, cur in itertools.pairwise(LADDER):
        changed = [f.name for f in dataclasses.fields(cur)
                   if f.name not in ("name", "table") and getattr(cur, f.name) !=
                   getattr(prev, f.name)]
        assert len(changed) == 1, (cur.name, changed)
        for idea in IDEAS:  # an idea once added stays
            assert getattr(cur, idea) >= getattr(prev, idea)
    assert LADDER[0].views == 1 and LADDER[-1].views == 4
    assert [r.pin for r in LADDER].count("expected") == 1 and LADDER[-1].table == "ours"


def test_train_argv_per_rung(tmp_path: Path) -> None:
    s = AblationSettings("tr.csv", "te.csv", str(tmp_path), epochs=3, batch_size=8,
                         tau_km=75.0, seed=4)
    base = train_argv(LADDER[0], s, cells=Path("c.json"), run_dir=Path("r"),
                      embeddings=Path("e"), weights=None)
    # no label smoothing = one-hot on the point's OWN cell (not a tiny tau: that would be
    # one-hot on the nearest centroid, another cell for many points)
    assert base[base.index("--labels") + 1] == "own-cell"
    assert base[base.index("--aux") + 1] == "none" and "--finetune" not in base
    assert base[base.index("--embeddings") + 1] == "e"
    assert base[base.index("--epochs") + 1] == "3" and base[base.index("--seed") + 1] == "4"
    smooth = train_argv(LADDER[1], s, cells=Path("c.json"), run_dir=Path("r"),
                        embeddings=Path("e"), weights=None)
    assert smooth[smooth.index("--labels") + 1] == "smoothed"
    assert smooth[smooth.index("--tau-km") + 1] == "75.0"
    ft = train_argv(select_rungs("+ multi-task")[0], s, cells=Path("c.json"),
                    run_dir=Path("r"), embeddings=None, weights="w.pt")
    assert "--finetune" in ft and ft[ft.index("--data") + 1] == "tr.csv"
    assert "--backbone-lr" not in ft  # pigeon train's default unless asked
    fast = dataclasses.replace(s, backbone_lr=1e-4)
    ft = train_argv(select_rungs("+ multi-task")[0], fast, cells=Path("c.json"),
                    run_dir=Path("r"), embeddings=None, weights="w.pt")
    assert ft[ft.index("--backbone-lr") + 1] == "0.0001"
    frozen = train_argv(LADDER[0], fast, cells=Path("c.json"), run_dir=Path("r"),
                        embeddings=Path("e"), weights=None)
    assert "--backbone-lr" not in frozen
    assert ft[ft.index("--weights") + 1] == "w.pt" and ft[ft.index("--aux") + 1] == "auto"
    assert "--embeddings" not in ft
    assert "--loss-weights" not in ft   # PIGEON's unless asked
    light = dataclasses.replace(s, loss_weights="regression=1,koppen=1")
    for rung in (LADDER[0], select_rungs("+ multi-task")[0]):
        argv = train_argv(rung, light, cells=Path("c.json"), run_dir=Path("r"),
                          embeddings=Path("e"), weights=None)
        assert argv[argv.index("--loss-weights") + 1] == "regression=1,koppen=1"


def test_select_rungs() -> None:
    assert select_rungs(None) == LADDER
    got = select_rungs("+ refinement, clip base")
    assert [r.name for r in got] == ["CLIP base", "+ refinement"]  # ladder order
    with pytest.raises(UserError, match="unknown rung"):
        select_rungs("+ magic")


def _dataset(root: Path, name: str, n: int, rng: np.random.Generator) -> Path:
    centres = [(48.8, 2.3), (-33.9, 151.2), (40.7, -74.0)]
    rows = ["id,lat,lng,image_1,image_2,image_3,image_4,month"]
    for i in range(n):
        c = i % len(centres)
        lat, lng = centres[c][0] + rng.normal(0, 0.3), centres[c][1] + rng.normal(0, 0.3)
        files = []
        for v in range(4):
            arr = np.clip(np.array([80 * c, 200 - 80 * c, 40 * v]) +
                          rng.normal(0, 20, (16, 16, 3)), 0, 255).astype(np.uint8)
            f = f"{name}{i}_{v}.png"
            Image.fromarray(arr).save(root / f)
            files.append(f)
        rows.append(f"{name}{i},{lat:.5f},{lng:.5f},{','.join(files)},{i % 12 + 1}")
    path = root / f"{name}.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_with_views_cuts_views(tmp_path: Path) -> None:
    from backend.eval.datasets import load_dataset

    ds = load_dataset(_dataset(tmp_path, "t", 3, np.random.default_rng(0)))
    one = with_views(ds, 1)
    assert [len(loc.image_paths) for loc in one] == [1, 1, 1]
    assert [len(loc.image_paths) for loc in ds] == [4, 4, 4]  # the original is untouched


def test_real_tiny_ladder(tmp_path: Path, capsys: pytest.CaptureFixture,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch", reason="torch is needed to train the rungs")
    import backend.model.pretrain
    from bot.cli import main

    # contrastive pretraining that fails: its rung must be skipped with the reason, and the
    # rungs after it must run without it and say so (real pretraining is too slow here)
    calls: list[list[str]] = []
    monkeypatch.setattr(backend.model.pretrain, "main", lambda argv: calls.append(argv) or 3)

    rng = np.random.default_rng(0)
    train = _dataset(tmp_path, "train", 24, rng)
    test = _dataset(tmp_path, "test", 6, rng)
    out = tmp_path / "ladder"
    rc = main(["ablate", "--train", str(train), "--test", str(test), "--out", str(out),
               "--only", "CLIP base,+ contrastive pretraining,+ refinement", "--epochs", "1",
               "--without", "finetune,multitask",
               "--batch-size", "8", "--n-boot", "50", "--grid-bands", "6"])
    text = capsys.readouterr().out
    assert rc == 0, text
    doc = json.loads((out / "ladder.json").read_text())
    assert doc["format"] == "pigeon-ablation/1" and doc["settings"]["epochs"] == 1
    rungs = {r["rung"]["name"]: r for r in doc["rungs"]}
    assert "contrastive pretraining failed (exit 3)" in \
        rungs["+ contrastive pretraining"]["skipped"]
    assert calls and calls[0][calls[0].index("--data") + 1] == str(train)
    assert rungs["+ refinement"]["notes"] == ["without finetune", "without multitask",
                                              "without contrastive"]
    base = rungs["CLIP base"]
    assert base["skipped"] is None and base["metrics"]["n_items"] == 6
    # each rung's table numbers are its own evaluation report's numbers
    for name in ("CLIP base", "+ refinement"):
        folder = Path(rungs[name]["folder"])
        summary = json.loads((folder / "report" / "summary.json").read_text())
        assert summary["metrics"]["metrics"]["median_km"] == \
            rungs[name]["metrics"]["metrics"]["median_km"]
        bundle = json.loads((folder / "bundle" / "bundle.json").read_text())
        assert bundle["parameters"]["ablation_rung"]["name"] == name
    assert (Path(rungs["+ refinement"]["folder"]) / "bundle" / "index.npz").is_file()
    assert not (Path(base["folder"]) / "bundle" / "index.npz").exists()
    # the plain grid was used (not semantic cells) and says what it is
    cells = json.loads((out / "_cache" / "grid-geocells.json").read_text())
    assert cells["metadata"]["parameters"]["kind"] == "equal_area"
    table = (out / "ladder.txt").read_text()
    assert "Table 1" in table and "CLIP base" in table and "skipped: + contrastive" in table
    assert "1 km" in table and "median km" in table
    # what refinement gives over the base, place by place, from the two rungs' own reports
    pair = doc["paired_score_differences"]
    assert [p["rung"].split(" (")[0] for p in pair] == ["+ refinement"]
    assert pair[0]["previous"].startswith("CLIP base") and pair[0]["n"] == 6

    def scores(name: str) -> dict[str, float]:
        with open(Path(rungs[name]["folder"]) / "report" / "predictions.csv") as fh:
            return {r["id"]: float(r["score"]) for r in csv.DictReader(fh)}

    a, b = scores("+ refinement"), scores("CLIP base")
    assert pair[0]["diff"] == pytest.approx(np.mean([a[k] - b[k] for k in a]))
    assert pair[0]["low"] <= pair[0]["diff"] <= pair[0]["high"]
    assert "Paired score difference" in table and "Paired score difference" in text


def test_consecutive_differences_skip_rungs_that_did_not_run() -> None:
    from types import SimpleNamespace

    from backend.eval.ladder_paired import consecutive_differences, format_differences

    a = SimpleNamespace(label="a", scores={"p1": 100.0, "p2": 200.0})
    skipped = SimpleNamespace(label="b", scores=None)
    c = SimpleNamespace(label="c", scores={"p1": 150.0, "p2": 260.0})
    d = SimpleNamespace(label="d", scores={"p1": 1.0, "p3": 2.0})
    rows = consecutive_differences([a, skipped, c, d], n_boot=50)
    assert rows[0]["rung"] == "c" and rows[0]["previous"] == "a"
    assert rows[0]["diff"] == pytest.approx(55.0)
    assert rows[1]["rung"] == "d" and "different items" in rows[1]["error"]
    text = format_differences(rows)
    assert "+55" in text and "not comparable" in text


def test_ablate_cli_needs_paths(capsys: pytest.CaptureFixture) -> None:
    from bot.cli import main

    assert main(["ablate", "--train", "a", "--test", "b", "--out", "c", "--without",
                 "magic"]) == 2
    assert "unknown idea" in capsys.readouterr().err
    assert main(["ablate", "--list"]) == 0
    assert "9. + expected-score pin (ours)" in capsys.readouterr().out
    assert main(["ablate", "--train", "x.csv"]) == 2
    assert "--test, --out" in capsys.readouterr().err


def test_ladder_resumes_and_reuses_the_model_for_the_pin_rung(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """A second run of the same command reads back the finished rungs (nothing trains
    again, same numbers); the pin-only rung evaluates the rung before's bundle; a folder
    holding other settings is refused with what differs."""
    pytest.importorskip("torch", reason="torch is needed to train the rungs")
    from bot.cli import main

    rng = np.random.default_rng(1)
    train = _dataset(tmp_path, "train", 24, rng)
    test = _dataset(tmp_path, "test", 6, rng)
    out = tmp_path / "ladder"
    argv = ["ablate", "--train", str(train), "--test", str(test), "--out", str(out),
            "--only", "+ refinement,+ expected-score pin (ours)", "--epochs", "1",
            "--without", "finetune,multitask,contrastive", "--batch-size", "8",
            "--n-boot", "50", "--grid-bands", "6"]
    assert main(argv) == 0, capsys.readouterr().out
    first = json.loads((out / "ladder.json").read_text())
    pin = first["rungs"][1]
    assert pin["rung"]["pin"] == "expected" and "the model of 08-refinement" in pin["label"]
    pin_folder = Path(pin["folder"])
    assert not (pin_folder / "train").exists() and not (pin_folder / "bundle").exists()
    assert (pin_folder / "report" / "predictions.csv").is_file()
    trained = sorted(p.stat().st_mtime_ns for p in out.rglob("heads.pt"))
    capsys.readouterr()

    assert main(argv) == 0
    text = capsys.readouterr().out
    assert text.count("done in an earlier run") == 2, text
    assert sorted(p.stat().st_mtime_ns for p in out.rglob("heads.pt")) == trained
    second = json.loads((out / "ladder.json").read_text())
    for a, b in zip(first["rungs"], second["rungs"], strict=True):
        assert a["label"] == b["label"] and a["metrics"] == b["metrics"]
        assert b["seconds"] == pytest.approx(a["seconds"], abs=0.01)
    for a, b in zip(first["paired_score_differences"], second["paired_score_differences"],
                    strict=True):  # scores read back from predictions.csv (6 decimals)
        assert a["rung"] == b["rung"] and a["n"] == b["n"]
        for key in ("mean_a", "mean_b", "diff", "low", "high"):
            assert b[key] == pytest.approx(a[key], abs=1e-3)

    # a report of another configuration is not taken for this rung's
    summary = pin_folder / "report" / "summary.json"
    doc = json.loads(summary.read_text())
    doc["params"]["rung"]["pin"] = "argmax"
    summary.write_text(json.dumps(doc))
    assert main(argv) == 0
    assert capsys.readouterr().out.count("done in an earlier run") == 1

    assert main([*argv[:-4], "--n-boot", "60", "--grid-bands", "6"]) == 2
    err = capsys.readouterr().err
    assert "other settings" in err and "n_boot: 50 then, 60 now" in err
