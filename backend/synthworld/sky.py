"""Sky, sun and clouds: latitude + month + time of day decide the sun; the sun lights the view.

The sun's position comes from the solar declination of the month and a local solar time
drawn per place (09:00-16:00), so its height tells the latitude and season and its azimuth
(south at noon in the north, north in the south) tells the hemisphere. Each view shows the
sky brightening towards the sun's azimuth; the sun disc appears when it is in view; objects
cast shadows away from it (see ``render``). Clouds are anchored in world directions.

Usage::

    sun = sun_position(lat=48.0, month=6, solar_hour=12.0)   # (elevation°, azimuth°)
    paint_sky(img_array, cam, sun, cloudiness=0.3)
"""

from __future__ import annotations

import math

import numpy as np
from PIL import ImageDraw

from backend.synthworld.camera import Camera, wrap_deg


def sun_position(lat: float, month: int, solar_hour: float) -> tuple[float, float]:
    """The sun's (elevation, azimuth) in degrees at mid-``month`` and local solar time.

    Args:
        lat: latitude in degrees.
        month: 1-12.
        solar_hour: local solar time in hours (12 = solar noon).

    Returns:
        Elevation above the horizon (negative below) and azimuth clockwise from north.
    """
    doy = 30.44 * (month - 1) + 15.0
    decl = math.radians(-23.44 * math.cos(2 * math.pi * (doy + 10.0) / 365.0))
    phi = math.radians(lat)
    ha = math.radians(15.0 * (solar_hour - 12.0))
    sin_e = math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(ha)
    elev = math.degrees(math.asin(max(-1.0, min(1.0, sin_e))))
    az = math.degrees(math.atan2(math.sin(ha),
                                 math.cos(ha) * math.sin(phi) - math.tan(decl) * math.cos(phi)))
    return elev, (az + 180.0) % 360.0


def paint_sky(img: np.ndarray, cam: Camera, sun: tuple[float, float], *,
              cloudiness: float, haze: float) -> None:
    """Fill ``img`` (float32, H×W×3, 0-255) above the horizon with a sun-lit gradient, in place."""
    h, w, _ = img.shape
    elev, az = sun
    day = float(np.clip((elev + 6.0) / 30.0, 0.08, 1.0))  # twilight → full day
    top = np.array([40, 95, 200], np.float32) * day + np.array([20, 25, 45], np.float32) * (1 - day)
    low = np.array([185, 210, 235], np.float32) * day + np.array([60, 55, 70], np.float32) * (1 - day)
    if elev < 15:  # warm light near the horizon when the sun is low
        warm = (15 - max(elev, -5)) / 20.0
        low = low * (1 - 0.5 * warm) + np.array([240, 160, 90], np.float32) * 0.5 * warm
    grey = np.array([175, 178, 182], np.float32) * (0.45 + 0.55 * day)
    top = top * (1 - cloudiness * 0.8) + grey * cloudiness * 0.8
    low = low * (1 - haze) + grey * haze
    ys = np.arange(h, dtype=np.float32)[:, None]
    t = np.clip((cam.horizon_y - ys) / max(cam.horizon_y, 1.0), 0.0, 1.0) ** 0.7
    sky = low[None, None, :] * (1 - t[..., None]) + top[None, None, :] * t[..., None]
    # glow towards the sun's azimuth, across the whole view
    xs = np.arange(w, dtype=np.float32)
    col_az = cam.heading_deg + np.degrees(np.arctan((xs - cam.cx) / cam.focal))
    rel = np.abs(wrap_deg(col_az - az)) / 180.0
    glow = (1.0 - rel) ** 2 * 45.0 * day * (1 - 0.6 * cloudiness)
    sky = sky + glow[None, :, None] * np.array([1.0, 0.9, 0.6], np.float32)
    rows = int(np.clip(math.ceil(cam.horizon_y), 0, h))
    img[:rows] = sky[:rows, :, :]


def draw_sun(draw: ImageDraw.ImageDraw, cam: Camera, sun: tuple[float, float],
             cloudiness: float) -> None:
    """Draw the sun disc when its direction is in the view and the sky is not overcast."""
    elev, az = sun
    if elev < -1 or cloudiness > 0.85:
        return
    x, front = cam.angle_to_x(az)
    if not bool(front):
        return
    y = float(cam.elevation_to_y(elev, az))
    r = max(1.5, cam.width * 0.035)
    if -r < x < cam.width + r and -r < y < cam.horizon_y:
        draw.ellipse((x - 2 * r, y - 2 * r, x + 2 * r, y + 2 * r), fill=(255, 240, 200))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 245))


def draw_clouds(draw: ImageDraw.ImageDraw, cam: Camera,
                clouds: list[tuple[float, float, float, float, int]], day: float) -> None:
    """Draw world-anchored clouds: (azimuth°, elevation°, width°, height°, grey level)."""
    for az, el, wd, ht, grey in clouds:
        x, front = cam.angle_to_x(az)
        if not bool(front):
            continue
        y = float(cam.elevation_to_y(el, az))
        half_w = cam.focal * math.tan(math.radians(wd / 2))
        half_h = cam.focal * math.tan(math.radians(ht / 2))
        if x + half_w < 0 or x - half_w > cam.width:
            continue
        g = int(grey * (0.4 + 0.6 * day))
        draw.ellipse((x - half_w, y - half_h, x + half_w, y + half_h), fill=(g, g, min(255, g + 6)))
        draw.ellipse((x - half_w * 0.5, y - half_h * 1.4, x + half_w * 0.6, y + half_h * 0.2),
                     fill=(min(255, g + 12),) * 3)
