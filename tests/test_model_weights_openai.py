"""OpenAI's CLIP weights in a local file build the same model as the ``openai`` tag: QuickGELU.

No real weights can be downloaded here, so a tiny CLIP stands in for them, built both ways:
the tag route runs our ``load_clip_model`` with open_clip's own ``create_model`` (its download
replaced by these weights, its registry saying ``quick_gelu`` as it does for every OpenAI
tag); the file routes load the same weights from OpenAI's release format (a TorchScript
archive), from a file whose sha256 open_clip's registry lists, and from a plain file named with
``openai:PATH``. All must give the tag route's embeddings; a GELU build gives others."""

from __future__ import annotations

import numpy as np
import open_clip
import pytest
import torch

from backend.model import weights
from backend.model.backbone import build_clip
from backend.model.registry import get_backbone_config, register_configs
from backend.model.weights import load_backbone, openai_weights_file

NAME = "pigeon-tiny"


@pytest.fixture(scope="module")
def openai_like(tmp_path_factory):
    """(state dict, plain file, TorchScript file) of one tiny CLIP's weights."""
    root = tmp_path_factory.mktemp("openai")
    cfg = get_backbone_config(NAME)
    torch.manual_seed(3)
    model = build_clip(dict(cfg, quick_gelu=True)).eval()
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    plain = root / "open_clip_pytorch_model.bin"
    torch.save(sd, plain)
    image = torch.randn(1, 3, 64, 64)
    text = torch.zeros(1, cfg["text_cfg"]["context_length"], dtype=torch.long)
    with torch.no_grad():
        traced = torch.jit.trace(model, (image, text), check_trace=False)
    jit = root / "ViT-tiny-openai.pt"
    torch.jit.save(traced, str(jit))
    return sd, plain, jit


@pytest.fixture(scope="module")
def images():
    return torch.randn(6, 3, 64, 64, generator=torch.Generator().manual_seed(0))


def _embed(backbone, images):
    with torch.no_grad():
        return backbone.embed(images).numpy()


@pytest.fixture
def tag_route(monkeypatch, openai_like):
    """Our tag route with open_clip's builder; only the download is replaced."""
    sd, _, _ = openai_like
    register_configs()
    real_create = open_clip.create_model

    def create_model(name, pretrained=None, force_quick_gelu=False, **kw):
        assert pretrained == "openai"
        m = real_create(name, pretrained=None, force_quick_gelu=force_quick_gelu)
        m.load_state_dict(sd)
        return m

    def pretrained_cfg(name, tag):
        return {"quick_gelu": True} if (name, tag) == (NAME, "openai") else {}

    from backend.model import pretrained_weights

    monkeypatch.setattr(open_clip, "create_model", create_model)
    monkeypatch.setattr(open_clip, "get_pretrained_cfg", pretrained_cfg)
    # not in a local cache: open_clip would download it (here: create_model above)
    monkeypatch.setattr(pretrained_weights, "local_pretrained_file", lambda *a, **k: None)
    return load_backbone(NAME, "openai")


def test_every_file_route_gives_the_tag_routes_embeddings(tag_route, openai_like, images,
                                                         monkeypatch):
    _, plain, jit = openai_like
    want = _embed(tag_route, images)
    assert tag_route.model_cfg["quick_gelu"] is True

    from_jit = load_backbone(NAME, jit)  # OpenAI's release format: recognised
    np.testing.assert_allclose(_embed(from_jit, images), want, rtol=1e-5, atol=1e-5)
    assert from_jit.model_cfg["quick_gelu"] is True

    said = load_backbone(NAME, f"openai:{plain}")  # the user says so
    np.testing.assert_allclose(_embed(said, images), want, rtol=1e-5, atol=1e-5)
    explicit = load_backbone(NAME, plain, quick_gelu=True)
    np.testing.assert_allclose(_embed(explicit, images), want, rtol=1e-5, atol=1e-5)

    # a file open_clip's registry lists by sha256 (as ViT-L-14-336px.pt): recognised
    import hashlib

    digest = hashlib.sha256(plain.read_bytes()).hexdigest()
    monkeypatch.setattr(weights, "_openai_sha256s", lambda: frozenset({digest}))
    assert openai_weights_file(plain) == "sha256"
    by_hash = load_backbone(NAME, plain)
    np.testing.assert_allclose(_embed(by_hash, images), want, rtol=1e-5, atol=1e-5)


def test_gelu_around_openai_weights_gives_other_embeddings(tag_route, openai_like, images):
    """What the old file route built: the same weights with GELU drift measurably."""
    _, plain, _ = openai_like
    assert openai_weights_file(plain) is None  # an unknown plain file is not guessed
    gelu = load_backbone(NAME, plain)
    assert gelu.model_cfg["quick_gelu"] is False
    want = _embed(tag_route, images)
    drift = np.abs(_embed(gelu, images) - want).max() / np.abs(want).max()
    assert drift > 1e-3


def test_openai_prefix_needs_a_file(tmp_path):
    from backend.cliutil import UserError

    with pytest.raises(UserError, match="no such file"):
        load_backbone(NAME, f"openai:{tmp_path / 'missing.pt'}")


def test_a_bundle_records_quick_gelu_and_rebuilds_with_it(tag_route, openai_like, images,
                                                          tmp_path):
    from backend.model.bundle import load_bundle, save_bundle
    from backend.model.heads import HeadsConfig, PigeonHeads
    from backend.model.weights import weights_reference
    from tests.predict_fixtures import box_geocells

    _, plain, _ = openai_like
    source = f"openai:{plain}"
    bb = load_backbone(NAME, source)
    heads = PigeonHeads(HeadsConfig(embedding_dim=bb.embedding_dim, num_cells=6))
    save_bundle(tmp_path / "b", backbone=bb, heads=heads, geocells=box_geocells(),
                weights=weights_reference(source))
    again = load_bundle(tmp_path / "b").backbone
    assert again.model_cfg["quick_gelu"] is True
    np.testing.assert_allclose(_embed(again, images), _embed(tag_route, images), rtol=1e-5,
                               atol=1e-5)
