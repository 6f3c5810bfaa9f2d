"""Vectorised ray casting of the scenes' boxes and cylinders (all rays share the camera centre;
direction z component in camera = 1, so the ray parameter t is the camera-frame depth)."""
from typing import Optional, Tuple

import numpy as np

from .primitives import BOX, Primitive, SyntheticScene

__all__ = ['cast_rays']

_EPS = 1e-4


def _to_local(prim: Primitive, o: np.ndarray,
              d: np.ndarray) -> Tuple[np.ndarray, Tuple[np.ndarray, ...]]:
    """Ray origin (3, ) and directions (3, N) in the primitive's frame."""
    c, s = float(np.cos(prim.yaw)), float(np.sin(prim.yaw))
    ox, oy, oz = o - prim.center
    if prim.yaw == 0.0:
        return np.array([ox, oy, oz], np.float32), (d[0], d[1], d[2])
    return (np.array([c * ox + s * oy, -s * ox + c * oy, oz], np.float32),
            (c * d[0] + s * d[1], -s * d[0] + c * d[1], d[2]))


def _hit_box(o: np.ndarray, d: Tuple[np.ndarray, ...], half: np.ndarray) -> np.ndarray:
    """Entry distance (N, ) of rays o + t d into the box |x| <= half (local frame); inf on a
    miss or when the origin is inside."""
    near = np.full(d[0].shape, -np.inf, np.float32)
    far = np.full(d[0].shape, np.inf, np.float32)
    with np.errstate(divide='ignore', invalid='ignore'):
        for a in range(3):
            inv = np.float32(1.0) / d[a]
            t1 = (-half[a] - o[a]) * inv
            t2 = (half[a] - o[a]) * inv
            np.fmax(near, np.fmin(t1, t2), out=near)
            np.fmin(far, np.fmax(t1, t2), out=far)
    return np.where((near <= far) & (near > _EPS), near, np.float32(np.inf))


def _hit_cylinder(o: np.ndarray, d: Tuple[np.ndarray, ...], half: np.ndarray) -> np.ndarray:
    """Entry distance (N, ) into the vertical cylinder x^2 + y^2 <= r^2, |z| <= h (local
    frame): side or caps, inf on a miss."""
    r, h = half[0], half[2]
    a = d[0] * d[0] + d[1] * d[1]
    b = o[0] * d[0] + o[1] * d[1]
    c = o[0] ** 2 + o[1] ** 2 - r * r
    with np.errstate(divide='ignore', invalid='ignore'):
        t_side = (-b - np.sqrt(np.maximum(b * b - a * c, 0))) / a
        ok = (b * b - a * c >= 0) & (t_side > _EPS) & (np.abs(o[2] + t_side * d[2]) <= h)
        t = np.where(ok, t_side, np.float32(np.inf))
        for zc in (-h, h):
            tc = (zc - o[2]) / d[2]
            x, y = o[0] + tc * d[0], o[1] + tc * d[1]
            ok = (tc > _EPS) & (x * x + y * y <= r * r)
            t = np.where(ok & (tc < t), tc, t)
    return t


def _hit(prim: Primitive, o: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Hit distance (N, ) of rays (origin (3, ), directions (3, N)) with a primitive."""
    ol, dl = _to_local(prim, o, d)
    return (_hit_box if prim.kind == BOX else _hit_cylinder)(ol, dl, prim.half.astype(np.float32))


def _hit_room(room: np.ndarray, o: np.ndarray, d: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Exit distance (N, ) from the room box and the face index (N, ) (0..5 as in
    ``SyntheticScene.prims``) for rays starting inside it."""
    ts = []
    with np.errstate(divide='ignore', invalid='ignore'):
        for a in range(3):
            t = np.where(d[a] > 0, np.float32(room[a] - o[a]), np.float32(-o[a])) / d[a]
            ts.append(np.where(np.isfinite(t) & (t > 0), t, np.float32(np.inf)))
    ts = np.stack(ts)
    axis = np.argmin(ts, axis=0)
    t = np.take_along_axis(ts, axis[None], 0)[0]
    positive = np.take_along_axis(d, axis[None], 0)[0] > 0
    face = np.where(axis == 2, 4 + positive, 2 * axis + positive)
    return t, face


def _screen_rows_cols(group_box: Tuple[np.ndarray, np.ndarray, float], o: np.ndarray,
                      rot: np.ndarray, k: np.ndarray, h: int,
                      w: int) -> Optional[Tuple[slice, slice]]:
    """Pixel rectangle covering the projection of a (yaw-rotated) bounding box, the whole
    image when it crosses the camera plane, None when it is off screen or behind."""
    center, half, yaw = group_box
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)])
    local = signs * half
    c, s = np.cos(yaw), np.sin(yaw)
    world = np.stack([c * local[:, 0] - s * local[:, 1], s * local[:, 0] + c * local[:, 1],
                      local[:, 2]], axis=1) + center
    cam = (world - o) @ rot  # (8, 3) in the camera frame
    if np.all(cam[:, 2] <= 0.05):
        return None
    if np.any(cam[:, 2] <= 0.05):
        return slice(0, h), slice(0, w)
    u = k[0, 0] * cam[:, 0] / cam[:, 2] + k[0, 2]
    v = k[1, 1] * cam[:, 1] / cam[:, 2] + k[1, 2]
    c0, c1 = max(int(np.floor(u.min())), 0), min(int(np.ceil(u.max())) + 1, w)
    r0, r1 = max(int(np.floor(v.min())), 0), min(int(np.ceil(v.max())) + 1, h)
    if c0 >= c1 or r0 >= r1:
        return None
    return slice(r0, r1), slice(c0, c1)


def cast_rays(scene: SyntheticScene, k: np.ndarray, pose: np.ndarray, h: int,
              w: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ray cast one view.

    Returns:
        depth (H, W) float32 camera-frame z in metres, prim (H, W) int32 primitive index,
        dirs (3, H, W) float32 world ray directions (camera z component 1).
    """
    rot, o = pose[:3, :3], pose[:3, 3]
    xs = ((np.arange(w, dtype=np.float32) - k[0, 2]) / k[0, 0]).astype(np.float32)
    ys = ((np.arange(h, dtype=np.float32) - k[1, 2]) / k[1, 1]).astype(np.float32)
    r32 = rot.astype(np.float32)
    dirs = (r32[:, 0, None, None] * xs[None, None, :] + r32[:, 1, None, None] * ys[None, :, None]
            + r32[:, 2, None, None])  # (3, H, W)
    t, prim = _hit_room(scene.room, o, dirs.reshape(3, -1))
    t, prim = t.reshape(h, w), prim.reshape(h, w).astype(np.int32)
    for ids, center, half, yaw in scene.groups:
        win = _screen_rows_cols((center, half, yaw), o, rot, k, h, w)
        if win is None:
            continue
        d = dirs[(slice(None), ) + win].reshape(3, -1)
        t_win = t[win].reshape(-1)
        sel = None
        bb = Primitive(BOX, center, half, yaw, np.zeros(3), np.zeros(3))
        if len(ids) > 1 and np.any(np.abs(_to_local(bb, o, d[:, :1])[0]) > half):
            # cull by the group's bounding box first (camera outside it)
            sel = np.flatnonzero(_hit(bb, o, d) < t_win)
            if sel.size == 0:
                continue
            d = d[:, sel]
        best_t, best_p = t_win if sel is None else t_win[sel], np.full(d.shape[1], -1)
        for i in ids:
            ti = _hit(scene.prims[i], o, d)
            closer = ti < best_t
            best_t = np.where(closer, ti, best_t)
            best_p[closer] = i
        hit = best_p >= 0
        idx = np.flatnonzero(hit) if sel is None else sel[hit]
        t_sub, p_sub = t[win], prim[win]  # views into t / prim
        rr, cc = np.unravel_index(idx, t_sub.shape)
        t_sub[rr, cc] = best_t[hit]
        p_sub[rr, cc] = best_p[hit]
    return t, prim, dirs
