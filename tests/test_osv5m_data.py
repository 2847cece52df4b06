"""``pigeon data osv5m`` against a local fake of the hub (real huggingface_hub HTTP code)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from osv5m_fake_hub import FakeHub, make_osv5m_repo

from backend.cliutil import UserError
from backend.eval.datasets import load_dataset
from backend.eval.osv5m_data import download_osv5m, month_of

REPO = Path(__file__).resolve().parent.parent


def _cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_DISABLE_PROGRESS_BARS="1")
    return subprocess.run([sys.executable, "-m", "bot.cli", "data", "osv5m", *args],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=timeout,
                          check=False)


def test_whole_split_unpacked_checked_and_readable(tmp_path):
    repo = make_osv5m_repo(shards={"test": [3, 3, 2]})
    with FakeHub(repo.files) as hub:
        proc = _cli("--out", str(tmp_path / "osv"), "--split", "test", "--endpoint", hub.url)
    assert proc.returncode == 0, proc.stderr
    assert "needs about" in proc.stdout and "8 rows with images" in proc.stdout
    ds = load_dataset(tmp_path / "osv" / "test.csv")  # our OSV-5M layout, every image there
    assert ds.layout == "osv5m" and len(ds) == 8
    # the stray member (no CSV row) and the non-JPEG member are not kept
    assert {loc.id for loc in ds} == {i for ids in repo.shard_ids["test"] for i in ids}
    loc = ds[0]
    truth = next(r for r in repo.rows["test"] if r["id"] == loc.id)
    assert loc.extra["unique_city"] == truth["unique_city"]
    assert loc.month is not None and str(loc.month) == month_of(truth["captured_at"])
    meta = json.loads((tmp_path / "osv" / "osv5m.json").read_text())
    e = meta["splits"]["test"]
    assert meta["format"] == "pigeon-osv5m/1" and meta["source"]["commit"]
    assert (e["shards_done"], e["images_without_row"], e["bad_images"],
            e["rows_without_image"]) == (3, 1, 1, 2)
    assert not list((tmp_path / "osv" / ".hub" / "images" / "test").glob("*.zip"))


def test_limit_downloads_only_the_shards_it_needs(tmp_path):
    repo = make_osv5m_repo(shards={"test": [4, 4, 4]}, bad_jpeg=False, stray_member=False)
    with FakeHub(repo.files) as hub:
        e = download_osv5m(tmp_path, split="test", limit=3, endpoint=hub.url, say=lambda s: None)
        assert hub.fetched("images/test/00.zip") == [""]
        assert hub.fetched("images/test/01.zip") == [] == hub.fetched("images/test/02.zip")
        assert e["rows_written"] == 3 and not e["shards_done"]  # 00 used in part, zip kept
        assert (tmp_path / ".hub" / "images" / "test" / "00.zip").is_file()
        # a larger limit continues from the kept zip, then takes the next shard
        e = download_osv5m(tmp_path, split="test", limit=6, endpoint=hub.url, say=lambda s: None)
        assert hub.fetched("images/test/00.zip") == [""] and hub.fetched("images/test/01.zip")
    assert e["rows_written"] == 6 and e["shards_done"] == 1
    assert len(load_dataset(tmp_path / "test.csv")) == 6


def test_killed_download_resumes_from_its_last_byte(tmp_path):
    from huggingface_hub import constants

    chunk = constants.DOWNLOAD_CHUNK_SIZE  # http_get writes the file in chunks of this size
    repo = make_osv5m_repo(shards={"test": [5]}, bad_jpeg=False, stray_member=False,
                           pad_bytes=chunk + chunk // 2)
    with FakeHub(repo.files, stall_after={"images/test/00.zip": chunk + chunk // 4}) as hub:
        env = dict(os.environ, PYTHONPATH=str(REPO), HF_HUB_DISABLE_PROGRESS_BARS="1")
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "data", "osv5m", "--out",
                                 str(tmp_path), "--endpoint", hub.url], cwd=REPO, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        part = tmp_path / ".hub" / "images" / "test" / "00.zip.part"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (part.is_file() and part.stat().st_size):
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)  # killed mid-download, as by a reboot
        proc.wait(timeout=30)
        have = part.stat().st_size
        assert have == chunk
        hub.stall_after.clear()
        e = download_osv5m(tmp_path, split="test", endpoint=hub.url, say=lambda s: None)
        assert hub.fetched("images/test/00.zip") == ["", f"bytes={have}-"]
        assert hub.fetched("test.csv") == [""]  # the CSV finished in the first run
    assert e["rows_written"] == 5 and e["complete"]


def test_corrupt_download_is_removed_and_said(tmp_path):
    repo = make_osv5m_repo(shards={"test": [3]})
    with FakeHub(repo.files) as hub:
        hub.files["images/test/00.zip"] = b"x" * len(repo.files["images/test/00.zip"])
        with pytest.raises(UserError, match="sha256 .* does not match"):
            download_osv5m(tmp_path, split="test", endpoint=hub.url, say=lambda s: None)
    left = tmp_path / ".hub" / "images" / "test"
    assert not (left / "00.zip").exists() and not (left / "00.zip.part").exists()


def test_not_enough_disk_says_how_much_before_downloading(tmp_path):
    repo = make_osv5m_repo(shards={"test": [3]})
    with FakeHub(repo.files) as hub:
        with pytest.raises(UserError, match=r"not enough disk space: .*needs about .* free"):
            download_osv5m(tmp_path, split="test", endpoint=hub.url, disk_free=lambda p: 10,
                           say=lambda s: None)
        assert not [m for m, _, _ in hub.log if m == "GET"]


def test_no_internet_is_one_clear_line(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    proc = _cli("--out", str(tmp_path / "o"), "--endpoint", dead, timeout=60)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot reach the Hugging Face hub" in lines[0], proc.stderr


def test_unknown_revision_and_bad_arguments(tmp_path):
    repo = make_osv5m_repo(shards={"test": [2]})
    with FakeHub(repo.files) as hub, pytest.raises(UserError, match="revision 'v9' not found"):
        download_osv5m(tmp_path, split="test", endpoint=hub.url, revision="v9")
    with pytest.raises(UserError, match="--split must be one of"):
        download_osv5m(tmp_path, split="val")
    proc = _cli("--out", str(tmp_path), "--limit", "0")
    assert proc.returncode == 2 and "must be at least 1" in proc.stderr


@pytest.mark.parametrize("text, month", [("1600000000000", "9"), ("1600000000", "9"),
                                          ("2019-07-04T10:00:00Z", "7"), ("", ""),
                                          ("soon", ""), ("-5", "")])
def test_month_of_captured_at(text, month):
    assert month_of(text) == month
