"""Render SynthWorld views: a scene + a heading → one street-level RGB view (numpy uint8).

Layers, back to front: sky lit by the sun → clouds and sun → terrain horizon → ground →
landmarks of nearby places → road and markings → shadows → objects by depth (buildings,
trees, signs, bollards, poles, cars, clutter). Then the per-place exposure and white balance,
per-view camera jitter (pitch, ±2° heading) and pixel noise: no single pixel decides.

The four headings of :func:`render_panorama` are consistent views of one world (the layout
is drawn once per scene). Deterministic: the same scene gives the same pixels.

Usage::

    from backend.synthworld.render import render_panorama, render_view
    views = render_panorama(scene, size=64)            # [0°, 90°, 180°, 270°]
    one = render_view(scene, heading_deg=90, size=96)
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from backend.synthworld.buildings import draw_building
from backend.synthworld.camera import Camera
from backend.synthworld.canvas import DrawContext
from backend.synthworld.landmarks import draw_landmark
from backend.synthworld.layout import Layout, make_layout
from backend.synthworld.road import draw_road, draw_shadow
from backend.synthworld.roadside import draw_bollard, draw_pole, draw_rock, draw_sign
from backend.synthworld.scene import Scene
from backend.synthworld.sky import draw_clouds, draw_sun, paint_sky
from backend.synthworld.styles import place_style
from backend.synthworld.terrain import ground_colour, paint_mountains
from backend.synthworld.traffic import draw_car
from backend.synthworld.vegetation import draw_tree

RENDERER_VERSION = "synthworld-render/1"
HEADINGS: tuple[float, ...] = (0.0, 90.0, 180.0, 270.0)
MIN_SIZE, MAX_SIZE = 16, 512

_DRAWERS = {"building": draw_building, "tree": draw_tree, "sign": draw_sign,
            "bollard": draw_bollard, "pole": draw_pole, "rock": draw_rock, "car": draw_car}
_SHADOW = {"building": lambda p: (p["height"], p["width"]), "tree": lambda p: (p["height"], 2.5),
           "pole": lambda p: (p["height"], 0.3), "sign": lambda p: (3.6, 1.0)}


def _check_size(size: int, supersample: int) -> None:
    if not isinstance(size, (int, np.integer)) or not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"size must be an integer from {MIN_SIZE} to {MAX_SIZE} px, got {size!r}")
    if supersample not in (1, 2, 3, 4):
        raise ValueError(f"supersample must be 1-4, got {supersample!r}")


def scene_light(layout: Layout) -> float:
    """Brightness of lit surfaces from the sun's height and the clouds (0.25-1)."""
    elev = layout.sun[0]
    sun = float(np.clip(math.sin(math.radians(max(elev, -6.0) + 6.0)) * 1.8, 0.0, 1.0))
    return 0.25 + 0.75 * sun * (1.0 - 0.3 * layout.cloudiness)


def render_view(scene: Scene, heading_deg: float, size: int = 64, *, supersample: int = 2,
                layout: Layout | None = None, view_index: int | None = None) -> np.ndarray:
    """Draw the view from ``scene`` looking at ``heading_deg`` (clockwise from north).

    Args:
        scene: the place (validated with ``scene.check()``).
        heading_deg: the camera heading in degrees.
        size: output width and height in pixels (16-512).
        supersample: draw at this multiple and downsample (anti-aliasing).
        layout: the scene's layout if already made (``make_layout(scene)``), to share it.
        view_index: seeds the per-view jitter and noise (default: from the heading).

    Returns:
        ``(size, size, 3)`` uint8 RGB array.

    Raises:
        ValueError: a bad size or supersample factor; SceneError for a bad scene.
    """
    _check_size(size, supersample)
    scene.check()
    layout = layout or make_layout(scene)
    style = place_style(scene)
    vi = int(round(heading_deg)) % 360 if view_index is None else int(view_index)  # noqa: RUF046
    rng = np.random.default_rng([scene.seed & 0xFFFFFFFF, vi, 13])
    w = size * supersample
    cam = Camera(heading_deg + float(rng.normal(0, 2.0)), w, w,
                 horizon_frac=0.5, pitch_px=float(rng.normal(0, 0.025)) * w)
    light = scene_light(layout)
    img = np.empty((w, w, 3), np.float32)
    paint_sky(img, cam, layout.sun, cloudiness=layout.cloudiness, haze=layout.haze)
    hrow = int(np.clip(math.ceil(cam.horizon_y), 1, w))
    haze_rgb = img[hrow - 1].mean(axis=0)
    ground = ground_colour(scene) * light
    if hrow < w:  # ground fades into haze towards the horizon
        ys = np.arange(hrow, w, dtype=np.float32)
        t = np.clip((ys - cam.horizon_y) / (0.25 * w), 0, 1)[:, None, None]
        img[hrow:] = ground[None, None, :] * t + haze_rgb[None, None, :] * (1 - t) * 0.6 + \
            ground[None, None, :] * (1 - t) * 0.4
    pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(pil)
    ctx = DrawContext(draw=draw, cam=cam, scene=scene, layout=layout, style=style, light=light,
                      line=supersample)
    day = float(np.clip((layout.sun[0] + 6.0) / 30.0, 0.08, 1.0))
    draw_clouds(draw, cam, layout.clouds, day)
    draw_sun(draw, cam, layout.sun, layout.cloudiness)
    paint_mountains(draw, cam, scene, layout.ridge_phases, haze_rgb)
    for lm in sorted(scene.landmarks, key=lambda m: -m.distance_km):
        draw_landmark(ctx, lm)
    draw_road(ctx, ground)
    objs = layout.objects
    if objs:
        xyz = np.array([(o.xy[0], o.xy[1], 0.0) for o in objs])
        sx, sy, depth = cam.project(xyz)
        shadow_rgb = tuple(int(v) for v in ground * 0.55)
        for i in np.flatnonzero(depth > 1.0):
            shadow = _SHADOW.get(objs[i].kind)
            if shadow is not None:
                h_m, w_m = shadow(objs[i].params)
                draw_shadow(ctx, objs[i].xy, h_m, w_m, shadow_rgb)
        for i in np.argsort(-depth):
            d = float(depth[i])
            if d <= 1.0 or not (-w < sx[i] < 2 * w):
                continue
            _DRAWERS[objs[i].kind](ctx, objs[i], float(sx[i]), float(sy[i]), cam.focal / d)
    if supersample > 1:
        pil = pil.reduce(supersample)
    out = np.asarray(pil, dtype=np.float32) * (layout.exposure * layout.tint)[None, None, :]
    out += rng.normal(0.0, layout.noise_sigma, size=out.shape).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def render_panorama(scene: Scene, size: int = 64, *, supersample: int = 2,
                    headings: tuple[float, ...] = HEADINGS) -> list[np.ndarray]:
    """The views of one place at ``headings`` (default 0/90/180/270°), sharing one world."""
    layout = make_layout(scene.check())
    return [render_view(scene, h, size, supersample=supersample, layout=layout, view_index=i)
            for i, h in enumerate(headings)]
