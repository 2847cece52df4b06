"""SynthWorld training stages on tiny inputs: captions, contrastive pretraining, multi-task."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from backend.model.registry import get_backbone_config
from backend.synthworld.captions import caption, view_captions
from backend.synthworld.contrastive import (
    normalise,
    pretrain_clip,
    random_shift,
    zero_shot_accuracy,
)
from backend.synthworld.supervised import train_multitask

FACTS = {"town": "Rennes", "admin1": "Bretagne", "country_name": "France", "koppen": "Cfb",
         "driving_side": "right"}


def _cfg(size: int = 16) -> dict:
    cfg = copy.deepcopy(get_backbone_config("pigeon-tiny"))
    cfg["vision_cfg"].update(image_size=size, patch_size=8, width=32, layers=1, head_width=16)
    cfg["text_cfg"].update(context_length=32, width=32, layers=1, heads=2)
    return cfg


def test_captions_follow_pigeon_and_vary():
    rng = np.random.default_rng(0)
    caps = {caption(FACTS, heading_deg=90, month=6, rng=rng) for _ in range(30)}
    assert all(c.startswith("A Street View photo close to the town of Rennes in the region of "
                            "Bretagne in France.") for c in caps)
    assert len(caps) > 5
    assert any("faces east" in c for c in caps) and any("June" in c for c in caps)
    assert caption({}, heading_deg=None, month=None, rng=rng) == \
        "A Street View photo somewhere at sea."



def test_view_captions_are_place_major_and_repeatable():
    caps = view_captions([FACTS, {}], [6, 0], n_views=4, rng=np.random.default_rng(1))
    assert len(caps) == 8 and all("Rennes" in c for c in caps[:4])
    assert all(c.startswith("A Street View photo somewhere at sea.") for c in caps[4:])
    assert not any("January" in c or "taken in" in c for c in caps[4:])   # month 0: unknown
    for k, word in enumerate(("north", "east", "south", "west")):
        assert "faces" not in caps[k] or f"faces {word}" in caps[k]
    assert caps == view_captions([FACTS, {}], [6, 0], n_views=4, rng=np.random.default_rng(1))
    with pytest.raises(ValueError, match="months"):
        view_captions([FACTS], [6, 7], n_views=4, rng=np.random.default_rng(1))

def test_shift_keeps_shape_and_moves_pixels():
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    y = random_shift(x, 2, torch.Generator().manual_seed(1))
    assert y.shape == x.shape and not torch.equal(x, y)
    assert torch.equal(random_shift(x, 0, torch.Generator()), x)
    assert normalise(torch.zeros(1, 4, 4, 3, dtype=torch.uint8)).shape == (1, 3, 4, 4)


def test_contrastive_pretraining_runs_and_checks_inputs():
    imgs = torch.randint(0, 255, (8, 16, 16, 3), dtype=torch.uint8)
    caps = [f"A Street View photo close to the town of T{i} in France." for i in range(8)]
    _, stats = pretrain_clip(_cfg(), imgs, caps, minutes=1.0, batch_size=4, max_steps=3)
    assert stats["steps"] == 3 and stats["images_seen"] == 12
    assert np.isfinite(stats["loss_last"])
    with pytest.raises(ValueError, match="one caption per image"):
        pretrain_clip(_cfg(), imgs, caps[:3], minutes=1.0, batch_size=4)
    with pytest.raises(ValueError, match="images must be"):
        pretrain_clip(_cfg(32), imgs, caps, minutes=1.0, batch_size=4)
    # panoramas: 8 views are 2 places of 4; a pair is a place's mean view and one caption
    _, stats = pretrain_clip(_cfg(), imgs, caps, minutes=1.0, batch_size=2, max_steps=3,
                             views_per_caption=4)
    assert stats["steps"] == 3 and stats["images_seen"] == 24 and np.isfinite(stats["loss_last"])
    assert stats["params"]["views_per_caption"] == 4 and stats["params"]["batch_size"] == 2
    with pytest.raises(ValueError, match="views_per_caption"):
        pretrain_clip(_cfg(), imgs, caps, minutes=1.0, batch_size=2, views_per_caption=3)
    with pytest.raises(ValueError, match="batch size must be 2..2"):
        pretrain_clip(_cfg(), imgs, caps, minutes=1.0, batch_size=4, views_per_caption=4)


class _ColourClip(torch.nn.Module):
    """A stand-in CLIP: an image is its mean colour; a prompt names "red", "green" or "blue"."""

    def encode_image(self, x):
        return x.mean((2, 3))

    def encode_text(self, tokens):
        import open_clip

        words = [open_clip.tokenizer.decode(t) for t in tokens]
        return torch.tensor([[float(c in w) for c in ("red", "green", "blue")] for w in words])


def test_zero_shot_accuracy_picks_the_best_matching_prompts():
    cfg = {"text_cfg": {"context_length": 16}}
    images = torch.zeros(3, 4, 4, 3, dtype=torch.uint8)
    for i in range(3):
        images[i, ..., i] = 255                      # a red, a green and a blue image
    prompts = {"R": ["a red thing"], "G": ["a green thing", "green"], "B": ["blue"]}
    model = _ColourClip()
    assert zero_shot_accuracy(model, cfg, images, ["R", "G", "B"], prompts) == 1.0
    assert zero_shot_accuracy(model, cfg, images, ["G", "B", "R"], prompts) == 0.0
    assert zero_shot_accuracy(model, cfg, images, ["R", "G", "X"], prompts) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="labels"):
        zero_shot_accuracy(model, cfg, images, ["R"], prompts)
    with pytest.raises(ValueError, match="prompt"):
        zero_shot_accuracy(model, cfg, images, ["R", "G", "B"], {"R": []})


def test_multitask_training_lowers_the_loss():
    rng = np.random.default_rng(0)
    n = 12
    # two kinds of place: dark views in the north, bright views in the south
    views = np.zeros((n, 4, 16, 16, 3), np.uint8)
    views[n // 2:] = 220
    latlng = np.array([[60.0, 10.0]] * (n // 2) + [[-30.0, 20.0]] * (n // 2))
    cents = np.array([[60.0, 10.0], [-30.0, 20.0]])
    reg = rng.normal(size=(n, 6)).astype(np.float32)
    reg[:, 3:] = np.nan
    bb, heads, stats = train_multitask(_cfg(), torch.from_numpy(views), latlng,
                                       np.full(n, 3), np.arange(n) % 12, reg, cents,
                                       minutes=1.0, batch_size=8, lr=3e-3, max_steps=40)
    assert stats["steps"] == 40
    assert stats["loss_last"]["geocell"] < stats["loss_first"]["geocell"]
    with torch.no_grad():
        x = normalise(torch.from_numpy(views[[0, -1], 0]))
        pred = heads(bb.embed(x))["geocell"].argmax(1).tolist()
    assert pred == [0, 1]
    with pytest.raises(ValueError, match="latlng"):
        train_multitask(_cfg(), torch.from_numpy(views), latlng[:3], np.full(n, 3),
                        np.zeros(n), reg, cents, minutes=1.0)
