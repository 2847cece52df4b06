"""``pigeon serve``: every user error is one line and exit 2 (the running server and its
signals are tested in test_server_roundtrip.py)."""

from __future__ import annotations

import socket

import pytest

from bot.cli import main as pigeon
from tests.predict_fixtures import box_geocells


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    from backend.model.bundle import make_tiny_bundle

    return make_tiny_bundle(tmp_path_factory.mktemp("cli") / "bundle", box_geocells(), seed=1)


def _err(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("args,words", [
    (["--model", "/no/such/bundle"], "not a model bundle"),
    (["--token", "short"], "--token"),
    (["--allow-origin", "evil.example"], "not an origin"),
    (["--port", "70000"], "not a port"),
    (["--max-batch", "0"], "--max-batch"),
    (["--max-clients", "0"], "bad limit"),
    (["--max-megapixels", "0"], "bad limit"),
])
def test_bad_arguments(args, words, bundle, capsys):
    argv = ["serve", "--no-db"] + (args if args[0] == "--model" else ["--model", str(bundle),
                                                                     *args])
    assert pigeon(argv) == 2
    assert words in _err(capsys)


def test_port_in_use(bundle, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert pigeon(["serve", "--model", str(bundle), "--no-db", "--device", "cpu",
                       "--port", str(port), "--log-level", "warning"]) == 2
    assert "cannot listen" in capsys.readouterr().err


def test_cuda_asked_without_a_gpu(bundle, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU, so --device cuda is valid here")
    assert pigeon(["serve", "--model", str(bundle), "--device", "cuda", "--no-db"]) == 2
    assert "no CUDA GPU" in _err(capsys)


def test_help_has_an_example(capsys):
    with pytest.raises(SystemExit):
        pigeon(["serve", "--help"])
    assert "example:\n  pigeon serve --model" in capsys.readouterr().out
