"""The zero-shot head: its logits are a Hugging Face CLIPModel's zero-shot logits (tiny random
CLIP built here, converted through our converter), the hierarchy's maths, the place data."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from test_model_fakes import one_torch_thread  # noqa: F401  (autouse fixture)
from test_model_hf_convert import _tiny_hf

from backend.model.hf_convert import convert_hf_clip
from backend.model.weights import backbone_from_clip, load_clip_model
from backend.model.zero_shot_head import (
    TEMPLATES,
    build_zero_shot_head,
    clip_tokenizer,
    encode_texts,
    group_log_softmax,
    level_fields,
    zero_shot_head_from_state,
)
from backend.model.zero_shot_places import PlaceHierarchy

transformers = pytest.importorskip("transformers", reason="transformers (dev extra) missing")


def small_hierarchy() -> PlaceHierarchy:
    """3 countries, 5 regions, 8 leaves (one a region leaf), masses chosen by hand."""
    return PlaceHierarchy(
        country_iso2=np.array(["FR", "JP", "CL"], dtype=object),
        country_name=np.array(["France", "Japan", "Chile"], dtype=object),
        region_name=np.array(["Brittany", "Provence", "Hokkaido", "Okinawa", "Magallanes"],
                             dtype=object),
        region_country=np.array([0, 0, 1, 1, 2]),
        leaf_name=np.array(["Rennes", "Brest", "Marseille", "Sapporo", "Asahikawa", "Naha",
                            "Okinawa", "Magallanes"], dtype=object),
        leaf_kind=np.array(["town"] * 6 + ["town", "region"], dtype=object),
        leaf_region=np.array([0, 0, 1, 2, 2, 3, 3, 4]),
        leaf_lat=np.array([48.1, 48.4, 43.3, 43.06, 43.77, 26.2, 26.3, -53.2]),
        leaf_lng=np.array([-1.68, -4.49, 5.37, 141.35, 142.36, 127.68, 127.8, -70.9]),
        leaf_mass=np.array([20.0, 10.0, 30.0, 40.0, 5.0, 8.0, 2.0, 1.0]))


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """A tiny random Hugging Face CLIP and the same model converted by our converter."""
    torch.set_num_threads(1)
    tmp = tmp_path_factory.mktemp("zs")
    hf = _tiny_hf("quick_gelu")
    hf.save_pretrained(tmp / "hf")
    path = convert_hf_clip(tmp / "hf", tmp / "clip.pt")
    clip, cfg, name = load_clip_model("converted", path)
    return hf, clip.eval(), cfg, name


def _hf_text(hf, tokenizer, captions):
    with torch.no_grad():
        out = hf.get_text_features(input_ids=tokenizer(captions))
    return F.normalize(getattr(out, "pooler_output", out), dim=-1)


def test_logits_equal_hugging_face_zero_shot_logits(converted):
    hf, clip, cfg, name = converted
    h = small_hierarchy()
    head = build_zero_shot_head(clip, cfg, h, templates=("caption",), prior="uniform")
    backbone = backbone_from_clip(clip, cfg, name, embedding_kind="pooled").eval()
    torch.manual_seed(3)
    pixels = torch.randn(4, 3, 32, 32)
    tok = clip_tokenizer(cfg)
    with torch.no_grad():
        ours = head.prompt_logits(backbone.embed(pixels))
        for level, fields in level_fields(h).items():
            captions = [TEMPLATES["caption"](f) for f in fields]
            ref = hf(input_ids=tok(captions), pixel_values=pixels).logits_per_image
            assert ours[level].shape == ref.shape
            assert torch.allclose(ours[level], ref, atol=1e-4, rtol=1e-5), level
    assert head.prompts["leaf"][0] == ("A Street View photo close to the town of Rennes in the "
                                       "region of Brittany in France.")
    assert head.prompts["leaf"][7] == "A Street View photo in the region of Magallanes in Chile."


def test_ensemble_prior_and_hierarchy_match_a_reference(converted):
    """Two templates averaged (CLIP's prompt ensembling), the sampler prior, the three-level
    product: recomputed here from Hugging Face's image and text features with numpy."""
    hf, clip, cfg, name = converted
    h = small_hierarchy()
    templates = ("caption", "photo")
    head = build_zero_shot_head(clip, cfg, h, templates=templates, prior="sampler",
                                prior_strength=0.7)
    backbone = backbone_from_clip(clip, cfg, name, embedding_kind="pooled").eval()
    torch.manual_seed(4)
    pixels = torch.randn(3, 3, 32, 32)
    tok = clip_tokenizer(cfg)
    with torch.no_grad():
        got = head(backbone.embed(pixels))["geocell"].double().numpy()
        img = hf.get_image_features(pixel_values=pixels)
        img = F.normalize(getattr(img, "pooler_output", img), dim=-1)
        scale = float(hf.logit_scale.exp())
    fields = level_fields(h)
    logits = {}
    for level in ("country", "region", "leaf"):
        t = sum(_hf_text(hf, tok, [TEMPLATES[n](f) for f in fields[level]]) for n in templates)
        logits[level] = (scale * img @ F.normalize(t / 2, dim=-1).T).double().numpy()
    m = h.masses()
    prior = {"country": np.log(m["country"] / m["country"].sum()),
             "region": np.log(m["region"] / m["country"][h.region_country]),
             "leaf": np.log(m["leaf"] / m["region"][h.leaf_region])}

    def log_softmax_in(z, groups):
        out = np.empty_like(z)
        for g in np.unique(groups):
            sel = groups == g
            zz = z[:, sel]
            out[:, sel] = zz - np.log(np.exp(zz - zz.max(1, keepdims=True)).sum(1,
                                      keepdims=True)) - zz.max(1, keepdims=True)
        return out

    lc = log_softmax_in(logits["country"] + 0.7 * prior["country"], np.zeros(3, int))
    lr = log_softmax_in(logits["region"] + 0.7 * prior["region"], h.region_country)
    ll = log_softmax_in(logits["leaf"] + 0.7 * prior["leaf"], h.leaf_region)
    want = lc[:, h.leaf_country] + lr[:, h.leaf_region] + ll
    assert np.allclose(got, want, atol=1e-4)
    assert np.allclose(np.exp(got).sum(1), 1.0, atol=1e-5)  # a distribution over the leaves


def test_head_state_round_trip(converted, tmp_path):
    _, clip, cfg, _ = converted
    head = build_zero_shot_head(clip, cfg, small_hierarchy(), templates=("photo",))
    torch.save(head.state(), tmp_path / "heads.pt")
    back = zero_shot_head_from_state(torch.load(tmp_path / "heads.pt", weights_only=True))
    x = torch.randn(2, cfg["embed_dim"])
    assert torch.equal(back(x)["geocell"], head(x)["geocell"])
    assert back.prompts == head.prompts and back.config == head.config
    with pytest.raises(ValueError, match="not a zero-shot head"):
        zero_shot_head_from_state({"format": "pigeon-heads/1"})
    with pytest.raises(ValueError, match="unknown prompt templates"):
        build_zero_shot_head(clip, cfg, small_hierarchy(), templates=("nope",))


def test_short_text_encoding_equals_open_clip_encode_text(converted):
    """Cutting the padding after the longest caption changes nothing (causal text tower)."""
    _, clip, cfg, _ = converted
    tok = clip_tokenizer(cfg)
    captions = ["A photo taken in Rennes, Brittany, France.", "Japan", "A road in Chile."]
    with torch.no_grad():
        full = F.normalize(clip.encode_text(tok(captions)), dim=-1)
    assert torch.allclose(encode_texts(clip, tok, captions, batch_size=2), full, atol=1e-6)


def test_group_log_softmax():
    torch.manual_seed(0)
    z = torch.randn(3, 7, dtype=torch.float64) * 30
    groups = torch.tensor([2, 0, 2, 1, 0, 2, 1])
    got = group_log_softmax(z, groups, 3)
    for g in range(3):
        sel = groups == g
        assert torch.allclose(got[:, sel], z[:, sel].log_softmax(dim=1))


def test_prior_is_a_distribution_within_each_parent():
    h = small_hierarchy()
    p = h.log_prior("sampler")
    assert np.isclose(np.exp(p["country"]).sum(), 1.0)
    for r in range(len(h.region_name)):
        assert np.isclose(np.exp(p["leaf"][h.leaf_region == r]).sum(), 1.0)
    for c in range(len(h.country_name)):
        assert np.isclose(np.exp(p["region"][h.region_country == c]).sum(), 1.0)
    assert all(np.array_equal(v, np.zeros_like(v)) for v in h.log_prior("uniform").values())
    assert np.allclose(h.log_prior("sampler", 0.5)["leaf"], 0.5 * p["leaf"])
    with pytest.raises(ValueError):
        h.log_prior("bogus")


def test_place_hierarchy_from_the_geo_layer():
    from backend.geo.assets import AssetsMissing
    from backend.model.zero_shot_places import build_place_hierarchy

    try:
        h = build_place_hierarchy(["FR", "JP"], towns_per_region=3)
    except AssetsMissing as exc:
        pytest.skip(f"geo assets not built: {exc}")
    assert list(h.country_iso2) == ["FR", "JP"] and list(h.country_name) == ["France", "Japan"]
    assert len(h.region_name) >= 47  # Japan's 47 prefectures and France's regions
    assert set(np.bincount(h.leaf_region, minlength=len(h.region_name))) <= {1, 2, 3}
    assert (h.leaf_mass > 0).all() and np.isfinite(h.leaf_mass).all()
    tokyo = int(np.flatnonzero(h.region_name == "Tokyo")[0])
    assert "Tokyo" in set(h.leaf_name[h.leaf_region == tokyo])
    # every leaf lies in its own country (the admin polygons agree)
    from backend.geo.admin import AdminAreas

    iso = AdminAreas.default().country_of(h.leaf_lat, h.leaf_lng, nearest_km=10)
    assert (iso == h.country_iso2[h.leaf_country]).mean() > 0.98
    for bad in (["XX"], "", ["FR"] * 0):
        with pytest.raises(Exception, match="alpha-2"):
            build_place_hierarchy(bad)
    with pytest.raises(Exception, match="1..50"):
        build_place_hierarchy(["FR"], towns_per_region=0)
