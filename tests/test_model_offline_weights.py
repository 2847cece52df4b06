"""Without internet, commands that need open_clip weights fail at once with one line saying
what to download and where to put it; cached weights load with no network at all.

Independent of this machine's network: the hub is pointed at a closed port on 127.0.0.1
(``HF_ENDPOINT``), or ``HF_HUB_OFFLINE`` is set, and the caches are empty temporary folders.
Before this, open_clip's download retried for about a minute and printed 46 lines.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from backend.cliutil import UserError
from backend.model import pretrained_weights as pw

REPO = Path(__file__).resolve().parent.parent


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: connections refused


def offline_env(tmp_path: Path, how: str = "endpoint") -> dict[str, str]:
    env = dict(os.environ)
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_CACHE"):
        env.pop(var, None)
    env.update({"HF_HOME": str(tmp_path / "hf"), "XDG_CACHE_HOME": str(tmp_path / "xdg"),
                "PYTHONPATH": str(REPO) + os.pathsep + env.get("PYTHONPATH", "")})
    if how == "endpoint":
        env["HF_ENDPOINT"] = f"http://127.0.0.1:{closed_port()}"
    else:
        env["HF_HUB_OFFLINE"] = "1"
    return env


def pigeon(args: list[str], env: dict[str, str]) -> tuple[int, list[str], float]:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bot", *args], check=False, env=env,
                          capture_output=True, text=True, timeout=170, cwd=REPO)
    lines = [x for x in (proc.stdout + proc.stderr).splitlines() if x.strip()]
    return proc.returncode, lines, time.perf_counter() - t0


@pytest.mark.parametrize(("args", "repo"), [
    (["bundle", "zero-shot"], "models--timm--vit_large_patch14_clip_336.openai"),
    (["bundle", "geoclip"], "models--timm--vit_large_patch14_clip_224.openai"),
])
def test_bundle_commands_fail_fast_in_one_line(tmp_path, args, repo):
    pytest.importorskip("geoclip", reason="the geoclip package (dev extra) is missing")
    env = offline_env(tmp_path)
    rc, lines, seconds = pigeon([*args, "--out", str(tmp_path / "b"), "--quiet"], env)
    print(f"{' '.join(args)}: exit {rc} after {seconds:.1f} s (imports included): {lines}")
    assert rc == 2 and len(lines) == 1, lines
    line = lines[0]
    assert "cannot be downloaded" in line and "127.0.0.1" in line
    assert str(tmp_path / "hf" / "hub" / repo) in line  # where to put the download
    assert "open_clip.create_model(" in line  # what to run on a machine with internet
    assert not (tmp_path / "b").exists()


def test_serving_a_bundle_that_references_a_tag_fails_fast(tmp_path):
    """`pigeon serve` / `pigeon predict` on a bundle whose backbone is an open_clip tag."""
    from PIL import Image

    from backend.model.backbone import build_backbone
    from backend.model.bundle import save_bundle
    from backend.model.heads import HeadsConfig, PigeonHeads
    from tests.predict_fixtures import box_geocells

    cells = box_geocells()
    bb = build_backbone("ViT-B-32", seed=0)
    heads = PigeonHeads(HeadsConfig(embedding_dim=bb.embedding_dim, num_cells=len(cells)))
    save_bundle(tmp_path / "b", backbone=bb, heads=heads, geocells=cells,
                weights={"kind": "pretrained", "tag": "openai"})
    import numpy as np
    # a textured view: a one-colour one is refused before the model loads
    pixels = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "v.jpg")
    env = offline_env(tmp_path, how="env")
    for args in (["predict", str(tmp_path / "v.jpg"), "--model", str(tmp_path / "b")],
                 ["serve", "--model", str(tmp_path / "b"), "--port", "0", "--no-db"]):
        rc, lines, seconds = pigeon(args, env)
        print(f"{args[0]}: exit {rc} after {seconds:.1f} s: {lines}")
        assert rc == 2 and len(lines) == 1, lines
        assert "HF_HUB_OFFLINE is set" in lines[0]
        assert "models--timm--vit_base_patch32_clip_224.openai" in lines[0]


def test_cached_weights_load_without_the_network(tmp_path, monkeypatch):
    """A tag whose file is in the hub cache loads from that file: the (closed) hub is never
    asked, and the weights are the file's."""
    import open_clip

    from backend.model.backbone import build_clip
    from backend.model.registry import get_backbone_config
    from backend.model.weights import load_clip_model

    cfg = get_backbone_config("pigeon-tiny")
    torch.manual_seed(5)
    model = build_clip(cfg)
    snap = tmp_path / "hub" / "models--someone--tiny-clip" / "snapshots" / "0123abc"
    snap.mkdir(parents=True)
    torch.save(model.state_dict(), snap / "open_clip_pytorch_model.bin")
    tag_cfg = {"hf_hub": "someone/tiny-clip/", "quick_gelu": False}
    monkeypatch.setattr(open_clip, "get_pretrained_cfg", lambda name, tag: tag_cfg)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    asked = []
    monkeypatch.setattr(pw, "offline_reason", lambda *a, **k: asked.append(a) or "offline")
    loaded, _, _ = load_clip_model("pigeon-tiny", "sometag")
    assert not asked
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k
    # the same tag with nothing cached: one clear line
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    with pytest.raises(UserError, match="cannot be downloaded"):
        load_clip_model("pigeon-tiny", "sometag")


def test_probe_and_cache_lookup(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    port = closed_port()
    assert "127.0.0.1" in pw.offline_reason(f"http://127.0.0.1:{port}")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert pw.offline_reason("http://127.0.0.1:1") == "HF_HUB_OFFLINE is set"
    # a server that answers (even 404) means online
    from http.server import BaseHTTPRequestHandler, HTTPServer
    from threading import Thread

    class NotFound(BaseHTTPRequestHandler):
        def do_HEAD(self):
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    srv = HTTPServer(("127.0.0.1", 0), NotFound)
    Thread(target=srv.serve_forever, daemon=True).start()
    try:
        monkeypatch.delenv("HF_HUB_OFFLINE")
        assert pw.offline_reason(f"http://127.0.0.1:{srv.server_port}") is None
    finally:
        srv.shutdown()
        srv.server_close()
    # the safetensors twin is preferred, as open_clip prefers it
    cfg = {"hf_hub": "timm/x.openai/"}
    snap = tmp_path / "models--timm--x.openai" / "snapshots" / "r1"
    snap.mkdir(parents=True)
    (snap / "open_clip_pytorch_model.bin").write_bytes(b"0")
    assert pw.cached_file(cfg, str(tmp_path)).endswith("open_clip_pytorch_model.bin")
    (snap / "open_clip_model.safetensors").write_bytes(b"0")
    assert pw.cached_file(cfg, str(tmp_path)).endswith("open_clip_model.safetensors")
    assert pw.cached_file({"hf_hub": "timm/y/"}, str(tmp_path)) is None
