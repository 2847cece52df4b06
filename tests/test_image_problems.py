"""One definition of a bad image (issue 18, item 10): ``image_problem`` says why an image
cannot serve as a view, and ``pigeon data check``, the arena's dataset and the server agree."""

from __future__ import annotations

import csv
import io
import json

import pytest
from PIL import Image

from backend.predict.images import image_problem
from bot.arena.dataset import load_arena_dataset
from bot.arena.sample_dataset import write_sample_dataset
from bot.cli import main as pigeon


def _spoil(csv_path, spoilers):
    """Replace the first image of the first rows with bad files; returns their ids."""
    rows = list(csv.DictReader(csv_path.open()))
    base = csv_path.parent
    for row, spoil in zip(rows, spoilers):
        spoil(base / row["image_1"])
    return [r["id"] for r in rows[:len(spoilers)]]


def _text(path):
    path.write_text("this is a text file, not a picture\n")


def _truncated(path):
    path.write_bytes(path.read_bytes()[:300])


def _black(path):
    Image.new("RGB", (128, 128), (0, 0, 0)).save(path, "JPEG")


def _white_png_named_jpg(path):
    Image.new("RGB", (128, 128), (250, 250, 250)).save(path, "PNG")


SPOILERS = [_text, _truncated, _black, _white_png_named_jpg]


def test_image_problem_says_what_is_wrong(tmp_path):
    good = tmp_path / "good.jpg"
    Image.effect_mandelbrot((128, 96), (-2, -1, 1, 1), 40).convert("RGB").save(good)
    assert image_problem(good) is None
    cases = {"text": ("not an image", _text), "truncated": ("damaged or truncated", _truncated),
             "black": ("no content", _black), "white": ("no content", _white_png_named_jpg)}
    for name, (words, spoil) in cases.items():
        path = tmp_path / f"{name}.jpg"
        path.write_bytes(good.read_bytes())
        spoil(path)
        assert words in image_problem(path), name
    assert "no such image file" in image_problem(tmp_path / "missing.jpg")
    buf = io.BytesIO()
    Image.new("L", (64, 64), 128).save(buf, "PNG")
    assert "no content" in image_problem(buf.getvalue())


def test_data_check_and_the_arena_refuse_the_same_rows(tmp_path, capsys):
    csv_path = write_sample_dataset(tmp_path / "data", n=6, size=64)
    bad_ids = _spoil(csv_path, SPOILERS)
    assert pigeon(["data", "check", str(csv_path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    checked = {b["id"]: " ".join(b["reasons"]) for b in report["bad"]}
    assert sorted(checked) == sorted(bad_ids)
    assert "not an image" in checked[bad_ids[0]] and "no content" in checked[bad_ids[2]]
    arena = load_arena_dataset(csv_path)
    assert sorted(loc.id for loc in arena.locations) == sorted(
        r["id"] for r in csv.DictReader(csv_path.open()) if r["id"] not in bad_ids)
    assert len(arena.problems) == len(bad_ids)
    for problem, bad_id in zip(arena.problems, bad_ids):   # the same verdict, word for word
        assert _verdict(problem) == _verdict(checked[bad_id]) is not None, problem


def _verdict(text: str) -> str | None:
    for words in ("not an image", "damaged or truncated", "no content"):
        if words in text:
            return words
    return None


def test_data_check_lists_bad_images_by_line_without_json(tmp_path, capsys):
    csv_path = write_sample_dataset(tmp_path / "data", n=3, size=64)
    _spoil(csv_path, [_black])
    assert pigeon(["data", "check", str(csv_path)]) == 1
    out = capsys.readouterr().out
    assert "line 2" in out and "no content" in out and "2 usable, 1 bad" in out


@pytest.mark.parametrize("flag", [[], ["--no-image-check"]])
def test_data_check_of_a_clean_dataset(tmp_path, capsys, flag):
    csv_path = write_sample_dataset(tmp_path / "data", n=3, size=64)
    assert pigeon(["data", "check", str(csv_path), *flag]) == 0
    assert "3 usable, 0 bad" in capsys.readouterr().out
