"""scripts/build_assets.py: clear errors, idempotence, metadata (fast steps only)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def build():
    spec = importlib.util.spec_from_file_location("build_assets",
                                                  REPO / "scripts" / "build_assets.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_missing_npm_is_a_clear_error(build, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(build.shutil, "which", lambda name: None)
    with pytest.raises(build.BuildError, match="npm is not installed"):
        build.fetch_npm_package(tmp_path / "cache")
    assert build.main(["--out", str(tmp_path), "--only", "admin"]) == 2
    err = capsys.readouterr().err
    assert "npm is not installed" in err and "Traceback" not in err


def test_unknown_step(build, tmp_path, capsys):
    assert build.main(["--out", str(tmp_path), "--only", "bogus"]) == 2
    assert "unknown step" in capsys.readouterr().err


def test_elevation_step_is_idempotent_and_recorded(build, tmp_path, capsys):
    assert build.main(["--out", str(tmp_path), "--only", "elevation"]) == 0
    asset = tmp_path / "geo" / "elevation.npz"
    first = asset.stat().st_mtime_ns
    manifest = json.loads((tmp_path / "ASSETS.json").read_text())
    src = manifest["steps"]["elevation"]["sources"][0]
    assert src["package"] == "pvlib" and len(src["sha256"]) == 64 and src["licence"]
    assert manifest["inputs"]["build_version"] == str(build.BUILD_VERSION)
    capsys.readouterr()
    assert build.main(["--out", str(tmp_path), "--only", "elevation"]) == 0
    assert "up to date" in capsys.readouterr().out
    assert asset.stat().st_mtime_ns == first
    assert build.main(["--out", str(tmp_path), "--only", "elevation", "--force"]) == 0
    assert asset.stat().st_mtime_ns != first


def test_changed_inputs_invalidate(build, tmp_path, monkeypatch, capsys):
    assert build.main(["--out", str(tmp_path), "--only", "elevation"]) == 0
    monkeypatch.setattr(build, "BUILD_VERSION", build.BUILD_VERSION + 100)
    capsys.readouterr()
    assert build.main(["--out", str(tmp_path), "--only", "elevation"]) == 0
    assert "up to date" not in capsys.readouterr().out
