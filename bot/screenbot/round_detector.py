"""Decide from successive frames when a new round has started and its view has settled.

Pure numpy, no I/O. A frame is reduced to a small grey thumbnail; a new round is a large
change from the last round's thumbnail (the panorama jumps to another place), and the view
counts as settled once ``settle_frames`` consecutive frames differ by less than
``settle_threshold``. Turning the camera also changes the frame, so after turning the view
itself the caller calls ``rebase(frame)`` with the settled frame it ended on.

Usage::

    det = RoundDetector()
    for frame in frames:                   # numpy HxWx3 uint8
        event = det.feed(frame)
        if event == "round":               # a new, settled round view
            ...
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

THUMB = 32


def thumbnail(frame: np.ndarray, size: int = THUMB) -> np.ndarray:
    """A ``size``x``size`` grey thumbnail in [0, 1] by block averaging (no PIL needed)."""
    a = np.asarray(frame, dtype=np.float32)
    if a.ndim == 3:
        a = a[..., :3].mean(axis=2)
    h, w = a.shape
    ys = np.linspace(0, h, size + 1).astype(int)
    xs = np.linspace(0, w, size + 1).astype(int)
    rows = np.add.reduceat(a, ys[:-1], axis=0) / np.diff(ys)[:, None]
    out = np.add.reduceat(rows, xs[:-1], axis=1) / np.diff(xs)[None, :]
    return out / 255.0


def frame_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two thumbnails, in [0, 1]."""
    return float(np.abs(a - b).mean())


@dataclass
class RoundDetector:
    round_threshold: float = 0.12
    settle_threshold: float = 0.01
    settle_frames: int = 3
    _last_round: np.ndarray | None = field(default=None, repr=False)
    _prev: np.ndarray | None = field(default=None, repr=False)
    _stable: int = 0

    def rebase(self, frame: np.ndarray) -> None:
        """Take ``frame`` as the current round's view (after the caller turned the camera)."""
        t = thumbnail(frame)
        self._last_round = t
        self._prev = t
        self._stable = 0

    def settled(self) -> bool:
        """Whether the last ``settle_frames`` frames fed were (nearly) the same."""
        return self._stable + 1 >= self.settle_frames

    def feed(self, frame: np.ndarray) -> str | None:
        """Feed one frame; returns ``"round"`` when a new settled round view is seen."""
        t = thumbnail(frame)
        if self._prev is not None and frame_difference(t, self._prev) < self.settle_threshold:
            self._stable += 1
        else:
            self._stable = 0
        self._prev = t
        if not self.settled():
            return None
        if self._last_round is None or frame_difference(t, self._last_round) > self.round_threshold:
            self._last_round = t
            return "round"
        return None
