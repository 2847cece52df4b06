"""``pigeon predict``, ``pigeon index build|info`` and ``pigeon calibrate`` on a real tiny
bundle, real embeddings (backend.model.embed) and a small generic-layout dataset."""

import csv
import json

import numpy as np
import pytest

from bot.cli import main
from tests.predict_fixtures import SITES, box_geocells, view


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny bundle and a 36-location dataset (6 per site) of real JPEG files."""
    from backend.model.bundle import make_tiny_bundle

    root = tmp_path_factory.mktemp("cli")
    bundle = make_tiny_bundle(root / "bundle", box_geocells(), seed=0)
    rng = np.random.default_rng(0)
    (root / "img").mkdir()
    rows = []
    for i in range(36):
        la, lo = SITES[i % len(SITES)][:2]
        name = f"img/{i}.jpg"
        view(100 + i).save(root / name, quality=90)
        rows.append({"id": f"loc{i}", "lat": la + rng.uniform(-2, 2),
                     "lng": lo + rng.uniform(-2, 2), "image": name})
    with open(root / "data.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["id", "lat", "lng", "image"])
        w.writeheader()
        w.writerows(rows)
    return root, bundle


def test_predict_json_and_text(world, capsys):
    root, bundle = world
    imgs = [str(root / f"img/{i}.jpg") for i in range(4)]
    assert main(["predict", *imgs, "--model", str(bundle), "--json", "--no-geo"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert 0 <= d["projected_score"] <= 5000 and len(d["top_k"]) == 5
    assert main(["predict", imgs[0], "--model", str(bundle), "--no-geo"]) == 0
    out = capsys.readouterr().out
    assert "projected" in out and "pin" in out


def test_predict_bad_input_is_one_line_exit_2(world, capsys, tmp_path):
    root, bundle = world
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not a jpeg at all")
    assert main(["predict", str(junk), "--model", str(bundle)]) == 2
    err = capsys.readouterr().err
    assert "not an image" in err and "Traceback" not in err
    five = [str(root / "img/0.jpg")] * 5
    assert main(["predict", *five, "--model", str(bundle)]) == 2
    assert "1 to 4 views, got 5" in capsys.readouterr().err
    assert main(["predict", str(root / "img/0.jpg"), "--model", str(tmp_path)]) == 2
    assert "bundle" in capsys.readouterr().err


def test_index_build_then_calibrate(world, capsys):
    from backend.model.bundle import load_bundle
    from backend.model.embed import embed_dataset
    from backend.predict.predictor import Predictor

    root, bundle = world
    b = load_bundle(bundle)
    embed_dataset(b.backbone, root / "data.csv", root / "emb", batch_size=16,
                  show_progress=False)
    assert main(["index", "build", "--bundle", str(bundle), "--embeddings",
                 str(root / "emb")]) == 0
    assert "prototypes" in capsys.readouterr().out
    b = load_bundle(bundle)  # sha256 of the new part checked against bundle.json
    assert b.index_path is not None
    assert main(["index", "info", str(bundle)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["format"] == "pigeon-index/2" and info["counts"]["points"] == 36
    assert info["parameters"]["min_samples"] == 3

    # a training view predicted again is refined onto a training location
    g = Predictor(b, geo=None).predict([root / "img/0.jpg"])
    assert any(c.refined for c in g.top_k)

    assert main(["calibrate", "--bundle", str(bundle), "--data", str(root / "data.csv"),
                 "--limit", "24"]) == 0
    out = capsys.readouterr().out
    assert "temperature" in out and "ECE" in out
    b = load_bundle(bundle)
    cal = b.calibration
    assert cal["format"] == "pigeon-calibration/1" and cal["n_rounds"] == 24
    assert cal["temperature"] > 0 and "before" in cal and "after" in cal
    assert cal["after_is_in_sample"] is True and cal["held_out"]["folds"] == 2
    assert cal["parameters"]["max_candidates"] == "all"
    assert "in-sample" in out and "held-out" in out
    assert abs(cal["after"]["mean_projected"] - cal["after"]["mean_actual"]) <= \
        abs(cal["before"]["mean_projected"] - cal["before"]["mean_actual"]) + 1e-6
    assert Predictor(b, geo=None).calibration_temperature == pytest.approx(cal["temperature"])


def test_index_build_bad_embeddings_dir(world, capsys, tmp_path):
    _, bundle = world
    assert main(["index", "build", "--bundle", str(bundle), "--embeddings", str(tmp_path)]) == 2
    assert "pigeon embed" in capsys.readouterr().err


def test_calibrate_bad_data(world, capsys, tmp_path):
    _, bundle = world
    assert main(["calibrate", "--bundle", str(bundle), "--data", str(tmp_path / "no.csv")]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_predict_with_an_index_of_another_model_is_refused(world, capsys, tmp_path):
    import shutil

    from backend.predict.bundle_parts import attach_file
    from backend.predict.index import build_index

    root, bundle = world
    other = tmp_path / "bundle"
    shutil.copytree(bundle, other)
    rng = np.random.default_rng(3)
    foreign = build_index(rng.normal(size=(20, 128)), rng.uniform(-10, 10, 20),
                          rng.uniform(-10, 10, 20), np.arange(20) % 4, num_cells=4)
    foreign.save(tmp_path / "foreign.npz")
    attach_file(other, "index", tmp_path / "foreign.npz")
    assert main(["predict", str(root / "img/0.jpg"), "--model", str(other), "--no-geo"]) == 2
    err = capsys.readouterr().err
    assert "4 geocells" in err and "pigeon index build" in err and "Traceback" not in err


def test_index_build_refuses_embeddings_of_another_backbone(world, capsys, tmp_path):
    from backend.model.backbone import build_backbone
    from backend.model.embed import embed_dataset

    root, bundle = world
    pooled = build_backbone("pigeon-tiny", embedding_kind="pooled", seed=0)  # 64-dim
    embed_dataset(pooled, root / "data.csv", tmp_path / "emb", batch_size=36,
                  show_progress=False)
    assert main(["index", "build", "--bundle", str(bundle), "--embeddings",
                 str(tmp_path / "emb"), "--out", str(tmp_path / "i.npz")]) == 2
    err = capsys.readouterr().err
    assert "64-dim" in err and "128-dim" in err and not (tmp_path / "i.npz").exists()


def test_index_build_refuses_embeddings_of_other_weights(world, capsys, tmp_path):
    """Same architecture, same config name and kind, other weights: another embedding space."""
    from backend.model.backbone import build_backbone
    from backend.model.embed import embed_dataset

    root, bundle = world
    other = build_backbone("pigeon-tiny", seed=7)
    embed_dataset(other, root / "data.csv", tmp_path / "emb", batch_size=36,
                  show_progress=False)
    args = ["index", "build", "--bundle", str(bundle), "--embeddings", str(tmp_path / "emb"),
            "--out", str(tmp_path / "i.npz")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "other weights" in err and "pigeon embed --bundle" in err
    assert not (tmp_path / "i.npz").exists()
    assert main([*args, "--no-weights-check"]) == 0  # the user's explicit choice


def test_bf16_embeddings_give_a_bf16_index_and_bf16_queries(world, tmp_path):
    """Embeddings made under bf16 autocast: the index says so and the predictor computes its
    queries the same way, so a training view finds its own stored embedding again."""
    from backend.model.bundle import load_bundle
    from backend.model.embed import embed_dataset, load_embeddings
    from backend.predict.index import RefinementIndex
    from backend.predict.predictor import Predictor

    root, bundle = world
    b = load_bundle(bundle)
    embed_dataset(b.backbone, root / "data.csv", tmp_path / "emb", batch_size=16, amp="bf16",
                  show_progress=False)
    stored = load_embeddings(tmp_path / "emb")
    assert stored.meta["precision"] == "bf16"
    assert main(["index", "build", "--bundle", str(bundle), "--embeddings",
                 str(tmp_path / "emb"), "--out", str(tmp_path / "i.npz")]) == 0
    index = RefinementIndex.load(tmp_path / "i.npz")
    assert index.meta["embedding_precision"] == "bf16"
    predictor = Predictor(b, index=index, geo=None)
    fp32 = Predictor(b, index=None, geo=None)
    for i in (0, 5):
        q, _ = predictor.embed_rounds([[root / f"img/{i}.jpg"]])
        q32, _ = fp32.embed_rounds([[root / f"img/{i}.jpg"]])
        gap = np.abs(q[0] - stored.embeddings[i]).max()
        assert gap < 0.1 * np.abs(q32[0] - stored.embeddings[i]).max(), gap
