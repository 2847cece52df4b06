"""Screen bot's pure parts: region parsing and round detection from frames."""

import numpy as np
import pytest

from bot.screenbot.region import Region, RegionError, check_region, parse_region
from bot.screenbot.round_detector import RoundDetector, thumbnail


def test_parse_region_good_and_bad():
    assert parse_region("0, 80,1280,640") == Region(0, 80, 1280, 640)
    for bad, msg in [("1,2,3", "four numbers"), ("a,b,c,d", "whole pixel"),
                     ("-1,0,100,100", "negative"), ("0,0,10,10", "too small")]:
        with pytest.raises(RegionError, match=msg):
            parse_region(bad)


def test_region_outside_screen_is_named():
    monitors = [{"left": 0, "top": 0, "width": 1280, "height": 720}]
    assert check_region(Region(0, 0, 1280, 720), monitors)
    with pytest.raises(RegionError, match="outside the screen.*1280x720"):
        check_region(Region(1000, 0, 400, 300), monitors)


def _scene(seed, noise=0.0, rng=None):
    base = np.random.default_rng(seed).integers(0, 255, (8, 8, 3)).astype(np.float32)
    img = np.kron(base, np.ones((30, 40, 1)))
    if noise:
        img = img + (rng or np.random.default_rng(0)).normal(0, noise, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def test_thumbnail_shape_and_range():
    t = thumbnail(_scene(1))
    assert t.shape == (32, 32) and 0 <= t.min() and t.max() <= 1


def test_detects_each_new_round_once_after_it_settles():
    det = RoundDetector(settle_frames=3)
    rng = np.random.default_rng(5)
    events = []
    # round A: a transition frame, then a settled view (small sensor noise)
    stream = [_scene(99)] + [_scene(1, 2, rng)] * 5 + [_scene(2, 2, rng)] * 4 + [_scene(1, 2, rng)]
    for frame in stream:
        events.append(det.feed(frame))
    # round 1 fires on its 3rd settled frame; round 2 likewise; the single frame at the end
    # (a different scene that never settles) does not fire
    assert events.count("round") == 2
    assert events.index("round") == 3


def test_rebase_after_turning_is_not_a_new_round():
    det = RoundDetector(settle_frames=2)
    for f in [_scene(1)] * 2:
        det.feed(f)
    det.rebase(_scene(7))          # we turned the camera ourselves and ended on this view
    assert [det.feed(_scene(7)) for _ in range(3)] == [None, None, None]
