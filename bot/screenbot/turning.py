"""Turn the panorama by sending the view's turn key to the focused window (xdotool on X11).

GeoGuessr turns while an arrow key is held; the local arena turns 90° per ArrowRight press.
``KeyTurner`` sends ``presses`` key presses per quarter turn. Without xdotool the screen bot
falls back to one view (or asks the player to turn, when interactive).
"""

from __future__ import annotations

import shutil
import subprocess


class TurnError(RuntimeError):
    """The turn key could not be sent."""


class KeyTurner:
    def __init__(self, key: str = "Right", presses: int = 1) -> None:
        self.key = key
        self.presses = presses
        self._xdotool = shutil.which("xdotool")

    @property
    def available(self) -> bool:
        return self._xdotool is not None

    def quarter_turn(self) -> None:
        """Turn the view by 90° (clockwise for the default key)."""
        if not self._xdotool:
            raise TurnError("xdotool is not installed (sudo apt-get install xdotool); "
                            "use --views 1 or turn the view by hand")
        for _ in range(self.presses):
            proc = subprocess.run([self._xdotool, "key", self.key], check=False,
                                  capture_output=True, text=True, timeout=10)
            if proc.returncode != 0:
                raise TurnError(f"xdotool key {self.key} failed: {proc.stderr.strip()}")
