"""A pinhole camera standing in the SynthWorld: world metres → view pixels.

World axes: x east, y north, z up, in metres; the camera sits at the origin, ``CAM_HEIGHT_M``
above the ground, looking along ``heading`` (degrees clockwise from north) with a 90° field of
view, so the four headings 0/90/180/270 tile the full circle. Ground polygons are clipped at a
near plane before projection, so roads and shadows behind the camera never wrap around.

Usage::

    cam = Camera(heading_deg=90, width=64, height=64)
    x, y, depth = cam.project(np.array([[100.0, 0.0, 0.0]]))   # a point 100 m east
"""

from __future__ import annotations

import math

import numpy as np

CAM_HEIGHT_M = 2.5
NEAR_M = 0.5
FOV_DEG = 90.0


def wrap_deg(angle: np.ndarray | float) -> np.ndarray | float:
    """Wrap degrees into [-180, 180)."""
    return (np.asarray(angle) + 180.0) % 360.0 - 180.0


def polar_to_xy(azimuth_deg: np.ndarray | float, distance_m: np.ndarray | float) -> np.ndarray:
    """Ground position ``(..., 2)`` of a point at a bearing and a distance from the camera."""
    a = np.radians(np.asarray(azimuth_deg, dtype=np.float64))
    d = np.asarray(distance_m, dtype=np.float64)
    return np.stack([d * np.sin(a), d * np.cos(a)], axis=-1)


class Camera:
    """Projects world points into one view; ``horizon_y`` may move with camera pitch jitter."""

    def __init__(self, heading_deg: float, width: int, height: int, *,
                 horizon_frac: float = 0.5, pitch_px: float = 0.0) -> None:
        self.heading_deg = float(heading_deg)
        self.width = int(width)
        self.height = int(height)
        self.focal = self.width / 2.0 / math.tan(math.radians(FOV_DEG / 2))
        self.cx = self.width / 2.0
        self.horizon_y = self.height * horizon_frac + pitch_px
        h = math.radians(self.heading_deg)
        self.forward = np.array([math.sin(h), math.cos(h)])
        self.right = np.array([math.cos(h), -math.sin(h)])

    def to_camera(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World ground coords ``(N, 2)`` → (right, forward) metres in the camera frame."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        return xy @ self.right, xy @ self.forward

    def project(self, xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """World points ``(N, 3)`` → screen x, screen y, depth (forward metres; <= 0 is behind)."""
        p = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
        rgt, fwd = self.to_camera(p[:, :2])
        safe = np.where(fwd > 1e-6, fwd, 1e-6)
        sx = self.cx + self.focal * rgt / safe
        sy = self.horizon_y + self.focal * (CAM_HEIGHT_M - p[:, 2]) / safe
        return sx, sy, fwd

    def angle_to_x(self, azimuth_deg: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Screen x of a far-away world direction, and whether it lies in front (|angle| < 89°)."""
        rel = np.radians(wrap_deg(np.asarray(azimuth_deg, dtype=np.float64) - self.heading_deg))
        front = np.abs(rel) < math.radians(89.0)
        return self.cx + self.focal * np.tan(np.clip(rel, -1.55, 1.55)), front

    def elevation_to_y(self, elevation_deg: np.ndarray | float,
                       azimuth_deg: np.ndarray | float | None = None) -> np.ndarray:
        """Screen y of a direction ``elevation_deg`` above the horizon (pinhole: y = f·tan(e)/cos(rel))."""
        e = np.radians(np.asarray(elevation_deg, dtype=np.float64))
        scale = 1.0
        if azimuth_deg is not None:
            rel = np.radians(wrap_deg(np.asarray(azimuth_deg, dtype=np.float64) - self.heading_deg))
            scale = 1.0 / np.maximum(np.cos(np.clip(rel, -1.55, 1.55)), 0.02)
        return self.horizon_y - self.focal * np.tan(np.clip(e, -1.5, 1.5)) * scale

    def ground_polygon(self, xy: np.ndarray, z: float = 0.0) -> list[tuple[float, float]]:
        """Clip a ground polygon (world ``(N, 2)``, at height ``z``) to the near plane, project it.

        Returns:
            Screen vertices for ``ImageDraw.polygon`` ([] when the polygon is behind the camera).
        """
        rgt, fwd = self.to_camera(xy)
        pts = list(zip(rgt.tolist(), fwd.tolist()))
        clipped: list[tuple[float, float]] = []
        n = len(pts)
        for i in range(n):  # Sutherland-Hodgman against the plane forward = NEAR_M
            cur, nxt = pts[i], pts[(i + 1) % n]
            cin, nin = cur[1] >= NEAR_M, nxt[1] >= NEAR_M
            if cin:
                clipped.append(cur)
            if cin != nin:
                t = (NEAR_M - cur[1]) / (nxt[1] - cur[1])
                clipped.append((cur[0] + t * (nxt[0] - cur[0]), NEAR_M))
        if len(clipped) < 3:
            return []
        # keep huge near-plane coordinates bounded so PIL does not overflow
        lim = 50.0 * self.width
        out = []
        for r, f in clipped:
            sx = self.cx + self.focal * r / f
            sy = self.horizon_y + self.focal * (CAM_HEIGHT_M - z) / f
            out.append((float(np.clip(sx, -lim, lim)), float(np.clip(sy, -lim, lim))))
        return out
