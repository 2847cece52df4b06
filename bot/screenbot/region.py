"""Screen regions: parse ``X,Y,W,H`` and check it against the monitors that exist.

Usage::

    >>> parse_region("0,0,800,600")
    Region(x=0, y=0, width=800, height=600)
"""

from __future__ import annotations

from dataclasses import dataclass


class RegionError(ValueError):
    """A region that is malformed or lies outside every monitor."""


@dataclass(frozen=True)
class Region:
    x: int
    y: int
    width: int
    height: int

    def as_mss(self) -> dict[str, int]:
        return {"left": self.x, "top": self.y, "width": self.width, "height": self.height}

    def inside(self, other: Region) -> bool:
        return (self.x >= other.x and self.y >= other.y
                and self.x + self.width <= other.x + other.width
                and self.y + self.height <= other.y + other.height)


def parse_region(text: str) -> Region:
    """Parse ``"X,Y,W,H"`` (pixels) into a :class:`Region`.

    Raises:
        RegionError: not four integers, or a width/height below 32 pixels.
    """
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) != 4:
        raise RegionError(f"region {text!r} must be four numbers X,Y,W,H (e.g. 0,80,1280,640)")
    try:
        x, y, w, h = (int(p) for p in parts)
    except ValueError as exc:
        raise RegionError(f"region {text!r} must be whole pixel numbers X,Y,W,H") from exc
    if x < 0 or y < 0:
        raise RegionError(f"region {text!r} starts at a negative position")
    if w < 32 or h < 32:
        raise RegionError(f"region {text!r} is too small: width and height must be >= 32 px")
    return Region(x, y, w, h)


def check_region(region: Region, monitors: list[dict[str, int]]) -> Region:
    """Return ``region`` if it lies within one of ``monitors`` (mss's dicts).

    Raises:
        RegionError: naming the screen size, when the region falls outside every monitor.
    """
    screens = [Region(m["left"], m["top"], m["width"], m["height"]) for m in monitors]
    if any(region.inside(s) for s in screens):
        return region
    sizes = ", ".join(f"{s.width}x{s.height}+{s.x}+{s.y}" for s in screens) or "none"
    raise RegionError(f"region {region.x},{region.y},{region.width},{region.height} lies "
                      f"outside the screen (monitors: {sizes}); pick one inside it")
