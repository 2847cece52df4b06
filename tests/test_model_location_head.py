"""The head interface: a head kind registered from outside plugs into bundles and the
predictor with no change to either; bad head files and bad head outputs are explained."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pytest
import torch
from test_model_fakes import one_torch_thread  # noqa: F401  (autouse fixture)

from backend.geocells.point_cells import PointCells
from backend.model.backbone import build_backbone
from backend.model.bundle import BundleError, load_bundle, save_bundle
from backend.model.location_head import (
    HEAD_FORMATS,
    HeadError,
    cell_logits,
    head_device,
    head_from_state,
    register_head_format,
)

FORMAT = "test-first-dims/1"


@dataclass
class FirstDimsConfig:
    embedding_dim: int
    num_cells: int
    kind: str = "test-first-dims"

    def to_dict(self):
        return asdict(self)


class FirstDimsHead(torch.nn.Module):
    """A made-up head: cell i's logit is 10 x the embedding's i-th component."""

    def __init__(self, config):
        super().__init__()
        self.config = config

    def forward(self, emb):
        return {"geocell": 10.0 * emb[:, :self.config.num_cells].float()}

    def state(self):
        return {"format": FORMAT, "config": self.config.to_dict()}


def load_first_dims(state, device="cpu"):
    return FirstDimsHead(FirstDimsConfig(**state["config"])).to(device).eval()


@pytest.fixture
def registered():
    register_head_format(FORMAT, load_first_dims)
    yield
    HEAD_FORMATS.pop(FORMAT, None)


def test_a_new_head_kind_needs_no_change_to_bundle_or_predictor(registered, tmp_path):
    from PIL import Image

    from backend.predict.predictor import Predictor

    backbone = build_backbone("pigeon-tiny", seed=0, embedding_kind="pooled")
    cells = PointCells([48.85, 35.68, -33.87], [2.35, 139.65, 151.21],
                       name=["Paris", "Tokyo", "Sydney"], iso2=["FR", "JP", "AU"],
                       country=["France", "Japan", "Australia"])
    head = FirstDimsHead(FirstDimsConfig(embedding_dim=backbone.embedding_dim, num_cells=3))
    out = save_bundle(tmp_path / "b", backbone=backbone, heads=head, geocells=cells)
    b = load_bundle(out)
    assert isinstance(b.heads, FirstDimsHead) and isinstance(b.geocells, PointCells)
    assert b.meta["heads"]["kind"] == "test-first-dims"
    p = Predictor(b, geo=None)
    img = Image.new("RGB", (80, 80), (30, 140, 200))
    guess = p.predict([img])
    emb, _ = p.embed_rounds([[img]])
    probs = torch.softmax(10.0 * torch.tensor(emb[0, :3]), dim=0).numpy()
    top = int(np.argmax(probs))
    assert guess.top_k[0].cell == top and guess.top_k[0].country == cells.iso2[top]
    assert guess.top_k[0].prob == pytest.approx(float(probs[top]), rel=1e-5)


def test_unknown_formats_and_bad_outputs(registered, tmp_path):
    with pytest.raises(HeadError, match="known: .*pigeon-heads/1"):
        head_from_state({"format": "who-knows/3"})
    with pytest.raises(HeadError):
        head_from_state(["not", "a", "dict"])
    head = FirstDimsHead(FirstDimsConfig(embedding_dim=4, num_cells=6))  # asks for 6 of 4
    with pytest.raises(HeadError, match=r"shape \(2, 4\), expected \(2, 6\)"):
        cell_logits(head, torch.zeros(2, 4))
    assert head_device(head) == torch.device("cpu")
    # a bundle whose head file has an unknown format: a BundleError naming heads.pt
    backbone = build_backbone("pigeon-tiny", seed=0)
    cells = PointCells([0.0, 1.0], [0.0, 1.0])
    out = save_bundle(tmp_path / "b", backbone=backbone, geocells=cells,
                      heads=FirstDimsHead(FirstDimsConfig(backbone.embedding_dim, 2)))
    HEAD_FORMATS.pop(FORMAT)
    with pytest.raises(BundleError, match="heads.pt.*test-first-dims/1"):
        load_bundle(out)
