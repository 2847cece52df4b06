"""Our GeoCLIP head against the ``geoclip`` package's own modules with its shipped weights.

The package's GeoCLIP builds a frozen Hugging Face CLIP ViT-L/14 that is downloaded (or, with
``clip_pretrained=False``, a random 428 M-parameter one that plays no part here: the
comparison starts from CLIP's 768-d image features). So its ``CLIPModel`` is replaced by a
stand-in whose ``get_image_features`` hands the test's features through; everything after
that — the image MLP, the location encoder, the normalisation, the logit scale, the weights
loading, the forward pass, the softmax — is the package's own code.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from test_model_fakes import one_torch_thread  # noqa: F401  (autouse fixture)

from backend.cliutil import UserError
from backend.model.geoclip_head import GeoCLIPHead, equal_earth, geoclip_head_from_state
from backend.model.geoclip_parts import read_gallery_csv, read_geoclip_parts

geoclip = pytest.importorskip("geoclip", reason="the geoclip package (dev extra) is missing")


class _FeaturesThrough(torch.nn.Module):
    """Stands in for the package's frozen CLIP: the 'pixels' are already CLIP features."""

    def get_image_features(self, pixel_values):
        return pixel_values


@pytest.fixture(scope="module")
def theirs():
    from geoclip.model import image_encoder

    saved = image_encoder.CLIPModel
    image_encoder.CLIPModel = lambda config: _FeaturesThrough()
    try:
        model = geoclip.GeoCLIP(from_pretrained=True, clip_pretrained=False).eval()
    finally:
        image_encoder.CLIPModel = saved
    return model


def _their_gallery():
    from geoclip.model.misc import file_dir, load_gps_data

    return load_gps_data(os.path.join(file_dir, "gps_gallery", "coordinates_100K.csv"))


def _compare(ours: GeoCLIPHead, theirs, gallery: torch.Tensor, n_feats: int = 5):
    torch.manual_seed(11)
    feats = torch.randn(n_feats, 768) * 2.0
    with torch.no_grad():
        ref = theirs(feats, gallery).softmax(dim=-1)
        got = ours(feats)["geocell"].softmax(dim=-1)
    diff = float((got - ref).abs().max())
    for i in range(n_feats):
        assert torch.equal(got[i].topk(10).indices, ref[i].topk(10).indices), i
        top = ref[i].topk(10).indices
        assert torch.equal(ours.gallery[top], gallery[top])  # the same GPS points
    return diff, float(ref.max())


def test_gallery_is_read_exactly_as_the_package_reads_it():
    parts = read_geoclip_parts()
    assert torch.equal(parts.gallery, _their_gallery())
    assert parts.gallery.shape == (100_000, 2)


def test_head_matches_the_package_on_part_of_the_gallery(theirs):
    parts = read_geoclip_parts()
    parts.gallery = parts.gallery[:3000]
    ours = GeoCLIPHead.build(parts, chunk=1000)  # chunking must not matter
    diff, top = _compare(ours, theirs, _their_gallery()[:3000])
    assert diff <= 1e-5 and top > 1e-3


@pytest.mark.slow
def test_bundle_head_matches_the_package_on_the_100k_gallery(theirs, tmp_path):
    """The Must-show parity: the head as `pigeon bundle geoclip` stores it (gallery features
    cached in heads.pt) against the package's per-call gallery encoding (about 2 min here)."""
    from backend.model.bundle import load_bundle
    from backend.model.bundle_geoclip import make_geoclip_bundle

    out = make_geoclip_bundle(tmp_path / "b", weights=tiny_768_checkpoint(tmp_path),
                              show_progress=False)
    head = load_bundle(out).heads
    assert isinstance(head, GeoCLIPHead) and head.config.num_cells == 100_000
    diff, top = _compare(head, theirs, _their_gallery(), n_feats=3)
    print(f"max abs probability difference over 100,000 gallery points: {diff:.2e} "
          f"(largest probability {top:.3f})")
    assert diff <= 1e-5


def tiny_768_checkpoint(tmp_path) -> str:
    """A small CLIP whose image features are 768-d (GeoCLIP's input size), saved as a pigeon
    checkpoint: stands in for ViT-L-14/openai, which cannot be downloaded here."""
    from backend.model.backbone import build_clip
    from backend.model.registry import get_backbone_config
    from backend.model.weights import save_clip_checkpoint

    cfg = get_backbone_config("pigeon-tiny")
    cfg["embed_dim"] = 768
    torch.manual_seed(0)
    return str(save_clip_checkpoint(build_clip(cfg), cfg, tmp_path / "tiny768.pt",
                                    config_name="tiny-768", source={"test": "random"}))


def test_state_round_trip_and_another_gallery():
    parts = read_geoclip_parts()
    parts.gallery = parts.gallery[:50]
    head = GeoCLIPHead.build(parts)
    back = geoclip_head_from_state(head.state())
    x = torch.randn(2, 768)
    assert torch.equal(back(x)["geocell"], head(x)["geocell"])
    other = head.with_gallery(torch.tensor([[48.85, 2.35], [-33.87, 151.2]]))
    assert other(x)["geocell"].shape == (2, 2)
    assert torch.allclose(other.gallery_features, head.encode_locations(other.gallery))
    with pytest.raises(ValueError, match="768"):
        head(torch.randn(1, 512))


def test_equal_earth_known_values():
    """The projection's corners: (0, 180) -> x = pi * 2/sqrt(3) / A1... scaled by SF/180."""
    pts = torch.tensor([[0.0, 0.0], [0.0, 180.0], [90.0, 0.0]], dtype=torch.float64)
    xy = equal_earth(pts).numpy() * 180 / 66.50336
    a1, a2, a3, a4 = 1.340264, -0.081106, 0.000893, 0.003796
    theta = np.arcsin(np.sqrt(3) / 2)
    assert np.allclose(xy[0], 0.0)
    assert np.isclose(xy[1, 0], 2 * np.sqrt(3) * np.pi / (3 * a1))
    assert np.isclose(xy[2, 1], a4 * theta**9 + a3 * theta**7 + a2 * theta**3 + a1 * theta)


def test_missing_or_bad_parts_are_explained(tmp_path):
    with pytest.raises(UserError, match="pip install geoclip"):
        read_geoclip_parts(tmp_path)
    csv = tmp_path / "g.csv"
    csv.write_text("LAT,LON\n1.5,2.5\n91,0\n")
    with pytest.raises(UserError, match="line 3"):
        read_gallery_csv(csv)
    csv.write_text("lat;lon\n")
    with pytest.raises(UserError, match="LAT,LON header"):
        read_gallery_csv(csv)
