"""Every shipped backbone config builds, runs forward and backward; embedding kinds; weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from test_model_fakes import one_torch_thread  # noqa: F401  (autouse fixture)

from backend.cliutil import UserError
from backend.model.backbone import Backbone, backbone_from_state, build_backbone, build_vision_tower
from backend.model.registry import (
    DEFAULT_BACKBONE,
    TINY_BACKBONE,
    get_backbone_config,
    list_backbones,
    register_configs,
)
from backend.model.weights import list_weights, load_backbone, load_clip_model, save_clip_checkpoint


def test_registry_lists_shipped_configs_and_registers_with_open_clip():
    names = list_backbones()
    assert {"pigeon-tiny", "synthworld-base", "ViT-B-32", "ViT-L-14-336"} <= set(names)
    assert DEFAULT_BACKBONE == "ViT-L-14-336" and TINY_BACKBONE in names
    import open_clip
    register_configs()
    assert "pigeon-tiny" in open_clip.list_models()
    assert open_clip.get_model_config("pigeon-tiny")["vision_cfg"]["width"] == 128
    with pytest.raises(ValueError, match="unknown backbone 'nope'.*pigeon-tiny"):
        get_backbone_config("nope")


@pytest.mark.parametrize("name", ["pigeon-tiny", "synthworld-base", "ViT-B-32"])
@pytest.mark.parametrize("kind", ["mean_hidden", "pooled"])
def test_config_forward_backward_real(name, kind):
    torch.manual_seed(0)
    bb = build_backbone(name, embedding_kind=kind).train()
    x = torch.randn(2, 3, bb.image_size, bb.image_size)
    emb = bb.embed(x)
    assert emb.shape == (2, bb.embedding_dim) and torch.isfinite(emb).all()
    emb.square().mean().backward()
    last = bb.visual.transformer.resblocks[-1]
    for p in (bb.visual.conv1.weight, last.mlp.c_proj.weight, bb.visual.class_embedding):
        assert p.grad is not None and p.grad.abs().sum() > 0
    # ln_post/proj only feed the pooled CLIP embedding
    assert (bb.visual.proj.grad is not None) is (kind == "pooled")


@pytest.mark.parametrize("name", ["ViT-L-14-336", "ViT-L-14"])
def test_big_config_forward_backward_on_meta(name):
    """ViT-L/14 (336 and 224 px) is too big for a quick CPU step: shapes and autograd on meta
    tensors."""
    cfg = get_backbone_config(name)
    size = cfg["vision_cfg"]["image_size"]
    with torch.device("meta"):
        visual = build_vision_tower(cfg)
        bb = Backbone(visual, cfg, config_name=name)
        x = torch.randn(2, 3, size, size, requires_grad=True)
        emb = bb.embed(x)
        assert emb.shape == (2, 1024) and emb.device.type == "meta"
        emb.sum().backward()
    assert x.grad is not None and x.grad.shape == x.shape
    assert sum(p.numel() for p in visual.parameters()) > 300e6


def test_mean_hidden_is_mean_of_all_last_block_tokens():
    torch.manual_seed(0)
    bb = build_backbone("pigeon-tiny")
    v = bb.visual
    x = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        t = v.conv1(x).flatten(2).transpose(1, 2)
        t = torch.cat([v.class_embedding.expand(3, 1, -1), t], dim=1) + v.positional_embedding
        t = v.transformer(v.ln_pre(t))
        assert torch.allclose(bb.embed(x), t.mean(dim=1), atol=1e-5)
        pooled = build_backbone("pigeon-tiny", embedding_kind="pooled")
        pooled.load_state_dict(bb.state_dict())
        assert torch.allclose(pooled.embed(x), v(x), atol=1e-6)


def test_embed_views_means_present_views_only():
    torch.manual_seed(0)
    bb = build_backbone("pigeon-tiny")
    views = torch.randn(2, 4, 3, 64, 64)
    mask = torch.tensor([[True, True, True, True], [True, False, True, False]])
    with torch.no_grad():
        out = bb.embed_views(views, mask)
        assert torch.allclose(out[0], bb.embed(views[0]).mean(0), atol=1e-5)
        assert torch.allclose(out[1], bb.embed(views[1, [0, 2]]).mean(0), atol=1e-5)
    with pytest.raises(ValueError, match="at least one view"):
        bb.embed_views(views, torch.zeros(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="takes 64x64 images"):
        bb.embed(torch.randn(1, 3, 32, 32))


def test_preprocess_any_mode_and_size():
    bb = build_backbone("pigeon-tiny")
    for mode in ("RGB", "L", "RGBA", "P"):
        img = Image.fromarray(np.zeros((50, 200, 3), np.uint8)).convert(mode)
        assert bb.preprocess(img).shape == (3, 64, 64)


def test_set_trainable_last_block():
    bb = build_backbone("pigeon-tiny")
    bb.set_trainable("last_block")
    trainable = {n for n, p in bb.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith(("visual.transformer.resblocks.3.", "visual.ln_post",
                                           "visual.proj")) for n in trainable)
    bb.set_trainable("frozen")
    assert not any(p.requires_grad for p in bb.parameters())


def test_state_round_trip(tmp_path):
    bb = build_backbone("pigeon-tiny", seed=1)
    torch.save(bb.state(), tmp_path / "b.pt")
    bb2 = backbone_from_state(torch.load(tmp_path / "b.pt", weights_only=True))
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(bb.embed(x), bb2.embed(x))


def test_weights_checkpoint_round_trip_and_errors(tmp_path):
    torch.manual_seed(0)
    clip, cfg, name = load_clip_model("pigeon-tiny", None)
    path = save_clip_checkpoint(clip, cfg, tmp_path / "w.pt", config_name=name,
                                source={"test": True})
    bb = load_backbone("pigeon-tiny", path)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(bb.embed(x), Backbone(clip.visual, cfg, config_name=name).embed(x))
    # a plain open_clip state dict for a registry config loads too
    torch.save(clip.state_dict(), tmp_path / "plain.pt")
    with torch.no_grad():
        assert torch.allclose(load_backbone("pigeon-tiny", tmp_path / "plain.pt").embed(x),
                              bb.embed(x))
    with pytest.raises(UserError, match="neither a file nor an open_clip pretrained tag"):
        load_backbone("pigeon-tiny", "openai")
    with pytest.raises(UserError, match="not an open_clip checkpoint for ViT-B-32"):
        load_backbone("ViT-B-32", tmp_path / "plain.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="cannot read weights file"):
        load_backbone("pigeon-tiny", tmp_path / "junk.pt")


def test_list_weights_rows():
    rows = {r["name"]: r for r in list_weights()}
    assert rows["ViT-L-14-336"]["mean_hidden_dim"] == 1024
    assert "openai" in rows["ViT-L-14-336"]["pretrained_tags"]
