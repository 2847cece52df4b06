"""The model commands end to end: embed -> train -> bundle make -> bundle info -> load."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import torch
from test_model_embed import make_dataset
from test_model_fakes import one_torch_thread  # noqa: F401  (autouse fixture)
from test_model_train_heads import make_geocells

from backend.cliutil import UserError
from backend.model import cli as model_cli
from backend.model.bundle import load_bundle
from backend.model.embed import load_embeddings


def pigeon(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="pigeon")
    sub = parser.add_subparsers(dest="command")
    model_cli.register(sub)
    args = parser.parse_args([str(a) for a in argv])
    return args.func(args)


def test_embed_train_bundle_pipeline(tmp_path, capsys):
    csv_path = make_dataset(tmp_path / "d", n=12, views=2, style="colour")
    gc = make_geocells(tmp_path / "geocells.json")
    assert pigeon("embed", "--model", "pigeon-tiny", "--data", csv_path, "--out",
                  tmp_path / "emb", "--workers", "0", "--quiet") == 0
    assert pigeon("train", "--embeddings", tmp_path / "emb", "--geocells", gc, "--out",
                  tmp_path / "run", "--aux", "none", "--epochs", "2", "--batch-size", "4",
                  "--quiet") == 0
    assert "validation: median" in capsys.readouterr().out
    assert pigeon("bundle", "make", "--run", tmp_path / "run", "--geocells", gc, "--out",
                  tmp_path / "bundle") == 0
    capsys.readouterr()
    assert pigeon("bundle", "info", tmp_path / "bundle", "--check", "--json") == 0
    info = json.loads(capsys.readouterr().out)
    assert info["backbone"] == "pigeon-tiny" and info["geocell_count"] == 4
    assert info["check"].startswith("loaded")
    # embedding with the bundle's backbone gives the same cache
    assert pigeon("embed", "--bundle", tmp_path / "bundle", "--data", csv_path, "--out",
                  tmp_path / "emb2", "--workers", "0", "--quiet") == 0
    assert np.allclose(load_embeddings(tmp_path / "emb2").embeddings,
                       load_embeddings(tmp_path / "emb").embeddings, atol=1e-6)
    # the bundle's backbone reproduces the cached embeddings (same weights, same preprocess)
    b = load_bundle(tmp_path / "bundle")
    emb = load_embeddings(tmp_path / "emb")
    from PIL import Image
    views = torch.stack([b.backbone.preprocess(Image.open(tmp_path / "d" / "img" / f"0_{v}.png"))
                         for v in range(2)])
    with torch.no_grad():
        assert np.allclose(b.backbone.embed(views).mean(0).numpy(), emb.embeddings[0], atol=1e-5)
        assert b.heads(torch.from_numpy(emb.embeddings[:3]))["geocell"].shape == (3, 4)


def test_weights_list_and_errors(tmp_path, capsys):
    assert pigeon("weights", "list") == 0
    assert "ViT-L-14-336" in capsys.readouterr().out
    with pytest.raises(UserError, match="not a bundle directory"):
        pigeon("bundle", "info", tmp_path / "none")
    with pytest.raises(UserError, match="heads.pt does not exist"):
        pigeon("bundle", "make", "--run", tmp_path, "--geocells", tmp_path / "g.json", "--out",
               tmp_path / "b")
    with pytest.raises(UserError, match="no config.json"):
        pigeon("weights", "convert-hf-clip", tmp_path, "--out", tmp_path / "x.pt")


def test_registered_in_pigeon_with_examples(capsys):
    from bot import cli

    assert "backend.model.cli" in cli.COMMAND_MODULES
    rc = cli.main(["bundle", "info", "/definitely/not/here"])
    assert rc == 2 and "not a bundle directory" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    assert "example:\n  pigeon train" in capsys.readouterr().out
