"""What a new user ran into (issue 18, items 11 and 12): every mistake is one line and exit 2
with nothing written, never a traceback or a silent wrong result; help texts print right
and their example paths exist; the README's first hour is written down."""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from bot.cli import build_parser, main
from tests.predict_fixtures import box_geocells, view
from tests.test_cli import _walk

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    from backend.model.bundle import make_tiny_bundle

    return make_tiny_bundle(tmp_path_factory.mktemp("ux") / "bundle", box_geocells(), seed=2)


def _one_line_error(capsys, *words: str) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, err
    return err


def test_serve_on_a_file_that_is_not_a_score_log(bundle, tmp_path, capsys):
    bad = tmp_path / "not-a-db"
    bad.write_text("hello, I am a text file\n" * 100)
    assert main(["serve", "--model", str(bundle), "--db", str(bad), "--port", "0",
                 "--device", "cpu", "--log-level", "warning"]) == 2
    _one_line_error(capsys, "not-a-db", "--db")
    assert bad.read_text().startswith("hello")      # nothing written into it


def test_predict_on_cuda_without_a_gpu(bundle, tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU, so --device cuda is valid here")
    img = tmp_path / "v.jpg"
    view(1).save(img)
    assert main(["predict", str(img), "--model", str(bundle), "--device", "cuda",
                 "--no-geo"]) == 2
    _one_line_error(capsys, "no CUDA GPU", "--device cpu")


def test_predict_on_a_black_screen_is_refused(bundle, tmp_path, capsys):
    black = tmp_path / "black.jpg"
    Image.new("RGB", (640, 360), (0, 0, 0)).save(black)
    assert main(["predict", str(black), "--model", str(bundle), "--no-geo"]) == 2
    _one_line_error(capsys, "no content")


def test_geo_lookup_into_a_missing_folder(tmp_path, capsys):
    out = tmp_path / "missing" / "x.json"
    assert main(["geo", "lookup", "48.85", "2.35", "--json", "--out", str(out)]) == 2
    _one_line_error(capsys, "does not exist")
    assert not out.parent.exists()


def test_scores_report_into_an_existing_file(tmp_path, capsys):
    from backend.scorelog import ScoreLog

    db = tmp_path / "s.sqlite"
    with ScoreLog(db) as log:
        log.log_guess(round_id="r", source="test", lat=1, lng=2)
        log.log_result("r", truth_lat=1.5, truth_lng=2.5, score=4000)
    existing = tmp_path / "report.md"
    existing.write_text("my notes")
    assert main(["scores", "report", "--db", str(db), "--out", str(existing)]) == 2
    _one_line_error(capsys, "is a file")
    assert existing.read_text() == "my notes"


@pytest.mark.parametrize("argv,flag", [
    (["pretrain", "--data", "x.csv", "--out", "o", "--max-steps", "-1"], "--max-steps"),
    (["demo", "--timeout", "-1"], "--timeout"),
    (["scores", "list", "--last", "-1"], "--last"),
])
def test_negative_counts_are_refused_before_anything_starts(argv, flag, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert flag in err and "Traceback" not in err


def test_synthworld_render_does_not_create_folders(tmp_path, capsys):
    out = tmp_path / "nonexistent" / "r.png"
    assert main(["synthworld", "render", "48.85", "2.35", "--out", str(out)]) == 2
    _one_line_error(capsys, "does not exist")
    assert not out.parent.exists()


def test_calibrate_refuses_data_that_is_mostly_bad_rows(bundle, tmp_path, capsys):
    (tmp_path / "img").mkdir()
    rows = []
    for i in range(9):
        name = f"img/{i}.jpg"
        if i == 0:
            view(i).save(tmp_path / name)
        rows.append({"id": f"r{i}", "lat": 10 + i, "lng": 20, "image": name})  # 8 missing
    with open(tmp_path / "val.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["id", "lat", "lng", "image"])
        w.writeheader()
        w.writerows(rows)
    assert main(["calibrate", "--bundle", str(bundle), "--data", str(tmp_path / "val.csv")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    last = err.strip().splitlines()[-1]     # after the progress bar
    assert "8 of its 9 rows are bad" in last and "pigeon data check" in last
    assert not (bundle / "calibration.json").exists()


def test_calibrate_never_writes_a_temperature_at_the_edge_of_its_range():
    from backend.cliutil import UserError
    from backend.core.calibration import T_MAX, CalibrationResult
    from backend.predict.calibrate import check_fitted

    fields = {f: None for f in CalibrationResult.__dataclass_fields__}
    for t in (T_MAX, 0.05):
        with pytest.raises(UserError, match="edge of the range"):
            check_fitted(CalibrationResult(**{**fields, "temperature": t, "n_rounds": 30}))
    check_fitted(CalibrationResult(**{**fields, "temperature": 1.3, "n_rounds": 30}))


# ------------------------------------------------------------------ help texts, doctor

def test_help_texts_print_percent_signs_right():
    bad = [" ".join(p) for p, parser in _walk(build_parser()) if "%%" in parser.format_help()]
    assert not bad, f"'%%' shows in the help of: {bad}"


def test_help_examples_name_bundles_that_exist():
    missing = []
    for path, parser in _walk(build_parser()):
        for ref in re.findall(r"--(?:model|bundle)[ =](bundles/[\w./-]+)", parser.epilog or ""):
            if not (REPO / ref).exists():
                missing.append(f"pigeon {' '.join(path)}: {ref}")
    assert not missing, missing


def test_serve_and_arena_examples_run_as_written():
    epilogs = {p: parser.epilog for p, parser in _walk(build_parser())}
    for cmd in (("serve",), ("arena",)):
        example = epilogs[cmd].split("example:", 1)[1].split()
        for flag in ("--model", "--data"):
            if flag in example:
                assert (REPO / example[example.index(flag) + 1]).exists(), (cmd, flag)


def test_doctor_checks_the_screen_tools(capsys):
    main(["doctor"])
    out = capsys.readouterr().out
    assert re.search(r"\bxvfb\b", out) and re.search(r"\bxdotool\b", out)


def test_embed_progress_reaches_the_end(bundle, tmp_path, capsys):
    from backend.model.bundle import load_bundle
    from backend.model.embed import embed_dataset

    (tmp_path / "img").mkdir()
    with open(tmp_path / "d.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["id", "lat", "lng", "image"])
        w.writeheader()
        for i in range(12):
            view(i).save(tmp_path / f"img/{i}.jpg")
            w.writerow({"id": f"p{i}", "lat": i, "lng": i, "image": f"img/{i}.jpg"})
    embed_dataset(load_bundle(bundle).backbone, tmp_path / "d.csv", tmp_path / "emb",
                  batch_size=4, show_progress=True)
    err = capsys.readouterr().err
    assert "12/12" in err and "100%" in err, err[-300:]


# ------------------------------------------------------------------ the README's first hour

def _worked_example() -> list[str]:
    text = (REPO / "README.md").read_text()
    block = text.split("## Training your own model", 1)[1].split("```", 2)[1]
    return [ln.split("#")[0].strip() for ln in block.splitlines() if ln.startswith("pigeon ")]


def test_readme_says_how_to_run_pigeon_and_what_it_needs():
    text = (REPO / "README.md").read_text()
    assert "source .venv/bin/activate" in text and ".venv/bin/pigeon" in text
    assert "GB" in text.split("## What is in the box")[0]       # the disk it needs
    assert "PIGEON_TOKEN" in text and "<all_urls>" in text


def test_readme_worked_example_can_be_typed_and_leaves_nothing_untracked():
    lines = _worked_example()
    assert len(lines) >= 10
    assert not [ln for ln in lines if "<" in ln or ">" in ln], "placeholders in the example"
    outs = [ln.split()[ln.split().index("--out") + 1] for ln in lines if "--out" in ln.split()]
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout: cannot ask git what it ignores")
    for out in outs:
        probe = f"{out.rstrip('/')}/probe.txt"
        parts = Path(probe).parts
        for i in range(1, len(parts)):     # git cannot look beyond a symlink (a worktree's data/)
            if (REPO / Path(*parts[:i])).is_symlink():
                probe = str(Path(*parts[:i]))
                break
        ignored = subprocess.run(["git", "check-ignore", "-q", "--no-index", probe], cwd=REPO,
                                 check=False).returncode == 0
        assert ignored, f"{out} (from the README's worked example) is not git-ignored"
