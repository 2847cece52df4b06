"""Hugging Face CLIP -> open_clip conversion, on a tiny CLIPModel built here (no hub)."""

from __future__ import annotations

import pytest
import torch
from test_model_fakes import one_torch_thread  # noqa: F401  (autouse fixture)

from backend.cliutil import UserError
from backend.model.hf_convert import convert_hf_clip
from backend.model.weights import load_backbone, load_clip_model

transformers = pytest.importorskip("transformers", reason="transformers (dev extra) missing")


def _tiny_hf(act="quick_gelu"):
    from transformers import CLIPConfig, CLIPModel

    torch.manual_seed(0)
    cfg = CLIPConfig(
        text_config={"vocab_size": 49408, "hidden_size": 32, "intermediate_size": 64,
                         "num_hidden_layers": 2, "num_attention_heads": 2,
                         "max_position_embeddings": 77, "hidden_act": act},
        vision_config={"hidden_size": 48, "intermediate_size": 96, "num_hidden_layers": 2,
                           "num_attention_heads": 3, "image_size": 32, "patch_size": 8, "hidden_act": act},
        projection_dim=16)
    model = CLIPModel(cfg).eval()
    with torch.no_grad():  # make the layer norms non-trivial so a swapped LN would show
        for n, p in model.named_parameters():
            if "norm" in n or "layrnorm" in n:
                p.add_(0.1 * torch.randn_like(p))
    return model


@pytest.mark.parametrize("act", ["quick_gelu", "gelu"])
def test_converted_model_matches_hf(tmp_path, act):
    hf = _tiny_hf(act)
    hf.save_pretrained(tmp_path / "hfclip")
    out = convert_hf_clip(tmp_path / "hfclip", tmp_path / "conv.pt")
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        ref_hidden = hf.vision_model(pixel_values=x).last_hidden_state.mean(dim=1)
        ref_pooled = hf.get_image_features(pixel_values=x)
        ref_pooled = getattr(ref_pooled, "pooler_output", ref_pooled)
        mean_bb = load_backbone("converted", out)
        pooled_bb = load_backbone("converted", out, embedding_kind="pooled")
        assert torch.allclose(mean_bb.embed(x), ref_hidden, atol=1e-5)
        assert torch.allclose(pooled_bb.embed(x), ref_pooled, atol=1e-5)
        # the text tower converts too (contrastive pretraining continues from it)
        clip, cfg, _ = load_clip_model("converted", out)
        assert cfg["quick_gelu"] is (act == "quick_gelu")
        ids = torch.zeros(2, 77, dtype=torch.long)
        ids[:, 0], ids[0, 1:4], ids[1, 1:6] = 49406, torch.tensor([320, 1125, 539]), 400
        ids[0, 4], ids[1, 6] = 49407, 49407
        ref_text = hf.get_text_features(input_ids=ids)
        ref_text = getattr(ref_text, "pooler_output", ref_text)
        assert torch.allclose(clip.encode_text(ids), ref_text, atol=1e-5)


def test_bad_sources_are_explained(tmp_path):
    with pytest.raises(UserError, match="no config.json"):
        convert_hf_clip(tmp_path, tmp_path / "x.pt")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(UserError):
        convert_hf_clip(tmp_path, tmp_path / "x.pt")


def test_streetclip_shape_maps_onto_vit_l_14_336():
    """StreetCLIP's published config (CLIP ViT-L/14-336) converts to our ViT-L-14-336 config
    with QuickGELU, and every tensor finds its place with the right shape (meta tensors)."""
    from transformers import CLIPConfig, CLIPModel

    from backend.model.backbone import build_clip
    from backend.model.hf_convert import convert_hf_state_dict, hf_config_to_openclip
    from backend.model.registry import get_backbone_config

    cfg = CLIPConfig(
        text_config={"hidden_size": 768, "intermediate_size": 3072, "num_attention_heads": 12,
                         "num_hidden_layers": 12, "max_position_embeddings": 77, "vocab_size": 49408,
                         "hidden_act": "quick_gelu"},
        vision_config={"hidden_size": 1024, "intermediate_size": 4096, "num_attention_heads": 16,
                           "num_hidden_layers": 24, "image_size": 336, "patch_size": 14,
                           "hidden_act": "quick_gelu"},
        projection_dim=768)
    oc = hf_config_to_openclip(cfg)
    ref = get_backbone_config("ViT-L-14-336")
    assert oc["quick_gelu"] is True and oc["embed_dim"] == ref["embed_dim"]
    for tower in ("vision_cfg", "text_cfg"):
        assert {k: v for k, v in oc[tower].items() if k in ref[tower]} == ref[tower]
    with torch.device("meta"):
        hf = CLIPModel(cfg)
        target = build_clip(oc).state_dict()
    sd = convert_hf_state_dict(hf.state_dict(), oc)
    assert set(sd) == set(target) - {"attn_mask"}
    assert all(sd[k].shape == target[k].shape for k in sd)
