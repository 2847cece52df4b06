"""What every SynthWorld drawing function gets: the image being drawn, its camera and the light.

Usage::

    ctx = DrawContext(draw, cam, scene, layout, style, light=0.9, line=1)
    sx, sy, ppm, depth = ctx.billboard((10.0, 20.0))
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import ImageDraw

from backend.synthworld.camera import Camera
from backend.synthworld.layout import Layout
from backend.synthworld.scene import Scene
from backend.synthworld.styles import RGB, PlaceStyle


@dataclass
class DrawContext:
    draw: ImageDraw.ImageDraw
    cam: Camera
    scene: Scene
    layout: Layout
    style: PlaceStyle
    light: float
    """Overall brightness of lit surfaces (sun height and clouds), 0.2-1."""
    line: int
    """Pixel width of a thin line at this resolution (grows with supersampling)."""

    def billboard(self, xy: tuple[float, float], z: float = 0.0) -> tuple[float, float, float, float]:
        """Screen (x, y) of a ground point, pixels per metre there, and its depth in metres."""
        sx, sy, depth = self.cam.project([(xy[0], xy[1], z)])
        d = float(depth[0])
        return float(sx[0]), float(sy[0]), self.cam.focal / max(d, 1e-6), d

    def lit(self, rgb: RGB | tuple[float, float, float], shade: float = 1.0) -> RGB:
        """Colour under the scene's light (``shade`` < 1 for sides facing away)."""
        k = self.light * shade
        return (min(255, int(rgb[0] * k)), min(255, int(rgb[1] * k)), min(255, int(rgb[2] * k)))
