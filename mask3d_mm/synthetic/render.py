"""Shading (Lambertian, one point light, textured albedo) and one frame's render through the
colour, depth and label cameras."""
from typing import Dict, Optional, Tuple

import numpy as np

from mask3d_mm.datasets.scannet_layout import INSTANCE_DIVISOR
from .primitives import BOX, CHECKER, STRIPES, Primitive, SyntheticScene
from .raycast import cast_rays
from .sensor import sensor_color, sensor_depth

__all__ = ['shade', 'render_frame']

_ROOM_NORMALS = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]],
                         np.float32)
_AXES = np.arange(3)[:, None]


def _surface_normals(prim: Primitive, index: int,
                     points: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """World normals (3, n) and primitive-frame coordinates (3, n) of world ``points`` (3, n)
    lying on primitive ``index``."""
    if index < 6:  # room face: its frame is the world frame
        return np.broadcast_to(_ROOM_NORMALS[index][:, None], points.shape), points
    c, s = float(np.cos(prim.yaw)), float(np.sin(prim.yaw))
    rel = points - prim.center.astype(np.float32)[:, None]
    local = np.stack([c * rel[0] + s * rel[1], -s * rel[0] + c * rel[1], rel[2]])
    half = prim.half.astype(np.float32)
    if prim.kind == BOX:  # the face whose slab the point is closest to leaving
        axis = np.argmax(np.abs(local) / half[:, None], axis=0)
        nl = (axis == _AXES) * np.sign(local)
    else:  # caps, or radial on the side
        cap = np.abs(local[2]) >= half[2] - 1e-3
        radius = np.sqrt(local[0] ** 2 + local[1] ** 2) + np.float32(1e-6)
        nl = np.where(cap, np.stack([0 * radius, 0 * radius, np.sign(local[2])]),
                      np.stack([local[0] / radius, local[1] / radius, 0 * radius]))
    normal = np.stack([c * nl[0] - s * nl[1], s * nl[0] + c * nl[1], nl[2]])
    return normal.astype(np.float32, copy=False), local


def _albedo(prim: Primitive, local: np.ndarray) -> np.ndarray:
    """Textured albedo (3, n) at primitive-frame points (3, n): stripes or checker between
    two colours, times smooth multi-sine noise."""
    if prim.texture == STRIPES:
        second = np.sin(local[prim.tex_axis] * np.float32(np.pi / prim.tex_period)) > 0
    elif prim.texture == CHECKER:
        second = np.floor(local * np.float32(1 / prim.tex_period)).sum(0) % 2 == 1
    else:
        second = np.zeros(local.shape[1], bool)
    albedo = np.where(second, prim.albedo2.astype(np.float32)[:, None],
                      prim.albedo.astype(np.float32)[:, None])
    freq = prim.noise_freq.astype(np.float32)  # (3 waves, xyz); no BLAS threads
    noise = np.sin(freq[:, :1] * local[0] + freq[:, 1:2] * local[1] + freq[:, 2:] * local[2])
    noise = noise.sum(0)
    return albedo * (1 + np.float32(prim.noise_amp / 3) * noise)


def shade(scene: SyntheticScene, depth: np.ndarray, prim: np.ndarray, dirs: np.ndarray,
          o: np.ndarray, with_color: bool = True) -> Tuple[Optional[np.ndarray], np.ndarray]:
    """Lambertian shading with one point light and ambient.

    Returns:
        rgb (H, W, 3) float32 linear colour (None unless ``with_color``) and
        cos_incidence (H, W) float32 |cos| of the angle between normal and view ray.
    """
    h, w = depth.shape
    view = dirs.reshape(3, -1)
    pts = o.astype(np.float32)[:, None] + view * depth.reshape(-1)
    flat = prim.reshape(-1)
    order = np.argsort(flat, kind='stable')
    bounds = np.flatnonzero(np.diff(flat[order])) + 1
    normal = np.empty_like(pts)
    albedo = np.empty_like(pts) if with_color else None
    for chunk in np.split(order, bounds):
        i = int(flat[chunk[0]])
        n, local = _surface_normals(scene.prims[i], i, pts[:, chunk])
        normal[:, chunk] = n
        if with_color:
            albedo[:, chunk] = _albedo(scene.prims[i], local)
    cos_inc = np.abs((normal * view).sum(0)) / np.sqrt((view * view).sum(0))
    if not with_color:
        return None, cos_inc.reshape(h, w)
    to_light = scene.light.astype(np.float32)[:, None] - pts
    dist2 = (to_light * to_light).sum(0)
    lambert = np.maximum((normal * to_light).sum(0), 0) / np.sqrt(dist2) / (1 + dist2 / 12)
    light = 0.3 + 0.9 * scene.light_color.astype(np.float32)[:, None] * lambert
    return (albedo * light).T.reshape(h, w, 3), cos_inc.reshape(h, w)


def render_frame(scene: SyntheticScene, pose: np.ndarray, k_depth: np.ndarray,
                 depth_hw: Tuple[int, int], k_color: np.ndarray, color_hw: Tuple[int, int],
                 rng: np.random.Generator,
                 k_label: Optional[np.ndarray] = None) -> Dict[str, np.ndarray]:
    """Render one frame: ``color`` (Hc, Wc, 3) uint8 BGR, ``depth`` (H, W) uint16 mm,
    ``label`` (H, W) uint8, ``instance`` (H, W) uint16, ``depth_gt`` (H, W) float32 metres.

    Both cameras share the pose; labels are seen by the depth camera, or by a camera with
    intrinsics ``k_label`` at the depth size (the colour camera's, scaled) when given."""
    o = pose[:3, 3]
    depth, prim, dirs = cast_rays(scene, k_depth, pose, *depth_hw)
    same = tuple(color_hw) == tuple(depth_hw) and np.array_equal(k_color, k_depth)
    rgb, cos_inc = shade(scene, depth, prim, dirs, o, with_color=same)
    c_prim = prim
    if not same:  # color camera: same centre, its own intrinsics and size
        c_depth, c_prim, c_dirs = cast_rays(scene, k_color, pose, *color_hw)
        rgb = shade(scene, c_depth, c_prim, c_dirs, o)[0]
    label_prim = prim
    if k_label is not None:
        if tuple(color_hw) == tuple(depth_hw) and np.array_equal(k_label, k_color):
            label_prim = c_prim
        else:
            label_prim = cast_rays(scene, k_label, pose, *depth_hw)[1]
    labels = np.array([p.label for p in scene.prims], np.uint16)
    insts = np.array([p.instance for p in scene.prims], np.uint16)
    return dict(color=sensor_color(rgb, rng), depth=sensor_depth(depth, prim, cos_inc, scene, rng),
                label=labels[label_prim].astype(np.uint8),
                instance=labels[label_prim] * np.uint16(INSTANCE_DIVISOR) + insts[label_prim],
                depth_gt=depth)
