"""Grab the panorama region of the screen with mss, with errors a user can act on.

Usage::

    with ScreenGrabber() as grab:
        region = grab.resolve_region("0,80,1280,640")   # or None: the whole first monitor
        frame = grab.frame(region)                        # numpy HxWx3 uint8 (RGB)
"""

from __future__ import annotations

import os
from typing import Self

import numpy as np

from bot.screenbot.region import Region, check_region, parse_region


class ScreenError(RuntimeError):
    """No screen to capture (no display), or the capture failed."""


class ScreenGrabber:
    """A thin shell around ``mss.mss()`` that returns RGB numpy frames."""

    def __init__(self) -> None:
        if os.name == "posix" and not os.environ.get("DISPLAY") \
                and not os.environ.get("WAYLAND_DISPLAY"):
            raise ScreenError("no display: DISPLAY is not set. Run this on a desktop session, "
                              "or start a virtual screen (Xvfb :99 & export DISPLAY=:99)")
        import mss
        import mss.exception

        try:
            self._sct = mss.mss()
        except mss.exception.ScreenShotError as exc:
            raise ScreenError(f"cannot open the screen {os.environ.get('DISPLAY', '')!r}: "
                              f"{exc}. Is the X server running?") from exc

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._sct.close()

    def monitors(self) -> list[dict[str, int]]:
        """The physical monitors (mss's index 0, the union of all, is left out)."""
        return [dict(m) for m in self._sct.monitors[1:]] or [dict(self._sct.monitors[0])]

    def resolve_region(self, text: str | None) -> Region:
        """The region to watch: parsed and checked, or the whole first monitor."""
        mons = self.monitors()
        if text is None:
            m = mons[0]
            return Region(m["left"], m["top"], m["width"], m["height"])
        return check_region(parse_region(text), mons)

    def frame(self, region: Region) -> np.ndarray:
        """One RGB frame of ``region`` as an ``(H, W, 3)`` uint8 array."""
        import mss.exception

        try:
            shot = self._sct.grab(region.as_mss())
        except mss.exception.ScreenShotError as exc:
            raise ScreenError(f"screen capture failed: {exc}") from exc
        bgra = np.frombuffer(shot.bgra, dtype=np.uint8).reshape(shot.height, shot.width, 4)
        return bgra[..., 2::-1].copy()
