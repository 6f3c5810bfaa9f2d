"""Synthetic RGB-D scenes written in the ScanNet frames layout (pure numpy + cv2).

Procedural box rooms with furniture made of boxes and vertical cylinders, rendered by a
vectorised ray caster from a smoothly moving camera. Per scene ``sceneXXXX_00/``::

    color/NNNNNN.jpg      HcxWcx3 uint8 (BGR on disk as written by cv2)
    depth/NNNNNN.png      HxW uint16 millimetres, 0 = no depth (sensor-like noise and holes)
    label/NNNNNN.png      HxW uint8 NYU40 ids (ScanNet-20 classes, ceiling 22)
    instance/NNNNNN.png   HxW uint16 nyu40_id * 1000 + instance id (0 for wall/floor/ceiling)
    pose/NNNNNN.txt       4x4 camera-to-world (camera +x right, +y down, +z forward; world z up)
    intrinsics_color.txt, intrinsics_depth.txt   4x4, each for its own image size

``color_camera='scannet'`` renders through ScanNet's own colour and depth cameras (scene0000_00,
scaled to the sizes asked for), which differ by a few pixels beyond a resize, with label /
instance maps in the colour camera as ScanNet's 2D labels are; ``layout='sensreader'`` writes
what ScanNet's official ``SensReader`` exporter writes (``color/0.jpg``, ``depth/0.png``,
``pose/0.txt``, ``intrinsic/intrinsic_color.txt`` ...; no labels).

World frame: the room spans ``[0, Lx] x [0, Ly] x [0, Lz]`` (floor at z = 0). Output is
deterministic: scene ``i`` of ``seed`` is drawn from ``np.random.default_rng([seed, i])``.
"""
import os
import os.path as osp
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

__all__ = [
    'SCANNET20_NYU40_IDS', 'SYNTHETIC_NYU40_IDS', 'Primitive', 'SyntheticScene', 'make_scene',
    'scene_name', 'camera_pose', 'scale_intrinsics', 'scene_cameras', 'cast_rays', 'render_frame',
    'generate_scannet_scene', 'generate_scannet_scenes'
]

# NYU40 ids of the ScanNet-20 benchmark classes.
SCANNET20_NYU40_IDS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 24, 28, 33, 34, 36, 39)
CEILING_ID = 22  # NYU40 'ceiling', ignored by ScanNet-20
SYNTHETIC_NYU40_IDS = SCANNET20_NYU40_IDS + (CEILING_ID, )
WALL, FLOOR, CABINET, BED, CHAIR, SOFA, TABLE, DOOR, WINDOW, BOOKSHELF = range(1, 11)
PICTURE, COUNTER, DESK, CURTAIN, FRIDGE = 11, 12, 14, 16, 24
SHOWER_CURTAIN, TOILET, SINK, BATHTUB, OTHERFURNITURE = 28, 33, 34, 36, 39

BOX, CYLINDER = 0, 1
PLAIN, STRIPES, CHECKER = 0, 1, 2
CAMERA_MARGIN = 1.0  # m kept free between walls and the camera path
SCANNET_DEPTH_FOCAL = 577.87  # ScanNet depth camera focal length at 640x480
# ScanNet scene0000_00's cameras (intrinsic/intrinsic_color.txt at 1296x968, *_depth at 640x480)
SCANNET_COLOR_K = np.array([[1170.187988, 0, 647.75], [0, 1170.187988, 483.75], [0, 0, 1]])
SCANNET_COLOR_HW = (968, 1296)
SCANNET_DEPTH_K = np.array([[577.590698, 0, 318.905426], [0, 578.729797, 242.683609], [0, 0, 1]])
COLOR_CAMERAS = ('depth', 'scannet')
LAYOUTS = ('frames25k', 'sensreader')
_EPS = 1e-4


@dataclass
class Primitive:
    """A box (``half`` = half extents) or a vertical cylinder (``half`` = (r, r, half
    height)), yaw-rotated about z around ``center``; with its material and labels."""
    kind: int
    center: np.ndarray  # (3, )
    half: np.ndarray  # (3, )
    yaw: float
    albedo: np.ndarray  # (3, ) RGB in [0, 1]
    albedo2: np.ndarray  # (3, ) second colour of stripes / checker
    texture: int = PLAIN
    tex_axis: int = 0
    tex_period: float = 0.2
    noise_freq: np.ndarray = field(default_factory=lambda: np.zeros((3, 3)))  # (3 waves, xyz)
    noise_amp: float = 0.0
    label: int = 0
    instance: int = 0
    glass: bool = False  # no depth return (windows)


@dataclass
class SyntheticScene:
    """Room size ``(Lx, Ly, Lz)`` in metres, the primitives (the 6 room faces first: walls
    x=0, x=Lx, y=0, y=Ly, then floor, ceiling), object groups (primitive indices plus a
    bounding box ``(center, half, yaw)`` for culling), light and camera trajectory."""
    room: np.ndarray
    prims: List[Primitive]
    groups: List[Tuple[List[int], np.ndarray, np.ndarray, float]]
    light: np.ndarray  # (3, ) position
    light_color: np.ndarray  # (3, )
    intrinsics: np.ndarray  # (3, 3) depth camera at 480x640
    max_range: float
    traj: Dict[str, float]


# ---------------------------------------------------------------------------------------------
# Scene sampling
# ---------------------------------------------------------------------------------------------

ROOM_TYPES = {
    # room type: (size range (m), [(class, min count, max count)])
    'bedroom': ((3.5, 6.0), [(BED, 1, 1), (CABINET, 0, 2), (DESK, 0, 1), (CHAIR, 0, 2),
                             (OTHERFURNITURE, 1, 2), (BOOKSHELF, 0, 1)]),
    'living': ((4.5, 8.0), [(SOFA, 1, 2), (TABLE, 1, 1), (CHAIR, 1, 4), (BOOKSHELF, 0, 2),
                            (CABINET, 0, 1), (OTHERFURNITURE, 0, 2)]),
    'kitchen': ((3.5, 6.5), [(COUNTER, 1, 2), (FRIDGE, 1, 1), (SINK, 0, 1), (CABINET, 1, 2),
                             (TABLE, 0, 1), (CHAIR, 0, 3)]),
    'bathroom': ((3.0, 4.5), [(TOILET, 1, 1), (SINK, 1, 2), (BATHTUB, 1, 1), (CABINET, 0, 1),
                              (OTHERFURNITURE, 0, 1)]),
    'office': ((4.0, 8.0), [(DESK, 1, 3), (CHAIR, 1, 4), (BOOKSHELF, 1, 2), (CABINET, 0, 2),
                            (TABLE, 0, 1), (OTHERFURNITURE, 0, 2)]),
}

PALETTE = {
    'wood': [(0.55, 0.38, 0.22), (0.70, 0.52, 0.33), (0.42, 0.28, 0.16), (0.80, 0.66, 0.45)],
    'fabric': [(0.30, 0.35, 0.55), (0.55, 0.25, 0.22), (0.35, 0.50, 0.35), (0.60, 0.55, 0.50),
               (0.25, 0.25, 0.28)],
    'white': [(0.90, 0.90, 0.88), (0.82, 0.84, 0.86), (0.95, 0.93, 0.90)],
    'metal': [(0.60, 0.62, 0.65), (0.35, 0.36, 0.38), (0.75, 0.75, 0.72)],
    'wall': [(0.85, 0.82, 0.75), (0.75, 0.80, 0.85), (0.80, 0.85, 0.76), (0.90, 0.88, 0.85),
             (0.85, 0.75, 0.70)],
    'floor': [(0.55, 0.40, 0.28), (0.65, 0.62, 0.58), (0.40, 0.40, 0.42), (0.72, 0.60, 0.45)],
    'vivid': [(0.85, 0.25, 0.20), (0.20, 0.45, 0.80), (0.95, 0.80, 0.25), (0.30, 0.65, 0.35),
              (0.60, 0.30, 0.65)],
}
CLASS_MATERIAL = {
    CABINET: 'wood', BED: 'fabric', CHAIR: 'wood', SOFA: 'fabric', TABLE: 'wood',
    DOOR: 'wood', WINDOW: 'white', BOOKSHELF: 'wood', PICTURE: 'vivid', COUNTER: 'white',
    DESK: 'wood', CURTAIN: 'fabric', FRIDGE: 'white', SHOWER_CURTAIN: 'vivid', TOILET: 'white',
    SINK: 'white', BATHTUB: 'white', OTHERFURNITURE: 'metal'
}


def _material(rng: np.random.Generator, kind: str) -> Tuple[np.ndarray, np.ndarray]:
    """Random (albedo, albedo2) of a palette, jittered; albedo2 is a darker/lighter variant
    or another palette colour."""
    colors = PALETTE[kind]
    a = np.asarray(colors[rng.integers(len(colors))]) * rng.uniform(0.85, 1.1, 3)
    if rng.random() < 0.5:
        b = a * rng.uniform(0.6, 0.85)
    else:
        b = np.asarray(colors[rng.integers(len(colors))]) * rng.uniform(0.7, 1.0, 3)
    return np.clip(a, 0.03, 1.0), np.clip(b, 0.03, 1.0)


def _surface(rng: np.random.Generator, kind: str, texture: Optional[int] = None,
             tex_axis: Optional[int] = None, period: Optional[float] = None) -> dict:
    """Material keyword arguments of a ``Primitive``: colours, texture and smooth noise."""
    albedo, albedo2 = _material(rng, kind)
    if texture is None:
        texture = int(rng.choice([PLAIN, STRIPES, CHECKER], p=[0.4, 0.4, 0.2]))
    scale = rng.uniform(0.15, 1.0, size=3)
    freq = rng.normal(size=(3, 3)) * (2 * np.pi / scale)[:, None]
    return dict(
        albedo=albedo, albedo2=albedo2, texture=texture,
        tex_axis=int(rng.integers(3)) if tex_axis is None else tex_axis,
        tex_period=float(rng.uniform(0.05, 0.4)) if period is None else period,
        noise_freq=freq, noise_amp=float(rng.uniform(0.04, 0.15)))


def _part(kind: int, center: Sequence[float], half: Sequence[float], **material) -> dict:
    """A primitive in its object's local frame (x along width, -y to the front, z up)."""
    return dict(kind=kind, center=np.asarray(center, float), half=np.asarray(half, float),
                **material)


def _box_on_floor(w: float, d: float, h: float, x: float = 0., y: float = 0.,
                  z0: float = 0., **mat) -> dict:
    """Box of size w x d x h whose bottom is at height ``z0``."""
    return _part(BOX, (x, y, z0 + h / 2), (w / 2, d / 2, h / 2), **mat)


def _legs(w: float, d: float, h: float, t: float, **mat) -> List[dict]:
    """Four t x t legs of height h at the corners of a w x d footprint."""
    return [_box_on_floor(t, t, h, sx * (w - t) / 2, sy * (d - t) / 2, **mat)
            for sx in (-1, 1) for sy in (-1, 1)]


def _furniture(rng: np.random.Generator, cls: int) -> Tuple[List[dict], bool]:
    """Parts of one piece of furniture in its local frame and whether it stands against a
    wall (its back, local +y, then touches the wall)."""
    m = CLASS_MATERIAL[cls]
    u = rng.uniform
    if cls == CABINET:
        w, d, h = u(0.5, 1.6), u(0.4, 0.6), u(0.7, 2.0)
        return [_box_on_floor(w, d, h, **_surface(rng, m, STRIPES, 0, w / rng.integers(1, 4)))
                ], True
    if cls == BED:
        w, length = u(1.0, 1.8), u(1.9, 2.1)
        frame = _surface(rng, 'wood')
        return [_box_on_floor(w, length, 0.3, **frame),
                _box_on_floor(w - 0.05, length - 0.1, u(0.2, 0.3), y=0.05, z0=0.3,
                              **_surface(rng, m)),
                _box_on_floor(w, 0.08, u(0.9, 1.2), y=length / 2 - 0.04, **frame)], True
    if cls == CHAIR:
        w, sh, bh = u(0.4, 0.5), u(0.42, 0.48), u(0.35, 0.5)
        mat = _surface(rng, m)
        return _legs(w, w, sh, 0.04, **mat) + [
            _box_on_floor(w, w, 0.05, z0=sh, **_surface(rng, 'fabric')),
            _box_on_floor(w, 0.05, bh, y=(w - 0.05) / 2, z0=sh + 0.05, **mat)], False
    if cls == SOFA:
        w, d, sh = u(1.6, 2.4), u(0.8, 1.0), u(0.4, 0.48)
        mat = _surface(rng, m)
        return [_box_on_floor(w, d, sh, **mat),
                _box_on_floor(w, 0.2, u(0.8, 0.95), y=(d - 0.2) / 2, **mat),
                _box_on_floor(0.15, d, sh + 0.2, x=-(w - 0.15) / 2, **mat),
                _box_on_floor(0.15, d, sh + 0.2, x=(w - 0.15) / 2, **mat)], rng.random() < 0.6
    if cls in (TABLE, DESK):
        w, d, h = ((u(0.8, 1.8), u(0.6, 1.0), u(0.7, 0.78)) if cls == TABLE else
                   (u(1.0, 1.6), u(0.5, 0.7), u(0.72, 0.76)))
        top = _box_on_floor(w, d, 0.04, z0=h - 0.04, **_surface(rng, m))
        mat = _surface(rng, m if rng.random() < 0.5 else 'metal')
        if cls == TABLE:
            return [top] + _legs(w, d, h - 0.04, 0.05, **mat), False
        return [top, _box_on_floor(0.03, d, h - 0.04, x=-(w - 0.03) / 2, **mat),
                _box_on_floor(0.03, d, h - 0.04, x=(w - 0.03) / 2, **mat)], True
    if cls == BOOKSHELF:
        w, d, h = u(0.6, 1.2), u(0.3, 0.4), u(1.5, 2.2)
        mat = _surface(rng, m)
        books = _surface(rng, 'vivid', STRIPES, 0, u(0.03, 0.06))
        n = int(rng.integers(3, 6))
        parts = [_box_on_floor(0.03, d, h, x=sx * (w - 0.03) / 2, **mat) for sx in (-1, 1)]
        parts.append(_box_on_floor(w - 0.06, 0.02, h, y=(d - 0.02) / 2, **books))
        parts += [_box_on_floor(w - 0.06, d - 0.02, 0.025, y=-0.01, z0=k * (h - 0.025) / n,
                                **mat) for k in range(n + 1)]
        return parts, True
    if cls == COUNTER:
        w, d, h = u(1.5, 3.0), u(0.55, 0.65), u(0.86, 0.92)
        return [_box_on_floor(w, d - 0.03, h - 0.04, y=0.015,
                              **_surface(rng, 'wood', STRIPES, 0, u(0.4, 0.6))),
                _box_on_floor(w, d, 0.04, z0=h - 0.04, **_surface(rng, m))], True
    if cls == FRIDGE:
        w, d, h = u(0.6, 0.9), u(0.6, 0.75), u(1.6, 1.9)
        return [_box_on_floor(w, d, h, **_surface(rng, rng.choice(['white', 'metal']), STRIPES,
                                                  2, h / 2))], True
    if cls == TOILET:
        r = u(0.18, 0.22)
        mat = _surface(rng, m, PLAIN)
        return [_part(CYLINDER, (0, -0.05, 0.2), (r, r, 0.2), **mat),
                _box_on_floor(0.42, 0.18, 0.4, y=r - 0.02, z0=0.4, **mat)], True
    if cls == SINK:
        mat = _surface(rng, m, PLAIN)
        return [_part(CYLINDER, (0, 0.1, 0.38), (0.08, 0.08, 0.38), **mat),
                _box_on_floor(u(0.45, 0.6), 0.42, 0.14, y=0.02, z0=0.76, **mat)], True
    if cls == BATHTUB:
        w, d, h, t = u(1.5, 1.7), u(0.7, 0.8), u(0.5, 0.58), 0.08
        mat = _surface(rng, m, PLAIN)
        return [_box_on_floor(w, d, 0.1, **mat),
                _box_on_floor(t, d, h, x=-(w - t) / 2, **mat),
                _box_on_floor(t, d, h, x=(w - t) / 2, **mat),
                _box_on_floor(w, t, h, y=-(d - t) / 2, **mat),
                _box_on_floor(w, t, h, y=(d - t) / 2, **mat)], True
    if cls == OTHERFURNITURE:
        if rng.random() < 0.5:  # trash bin
            r, h = u(0.12, 0.2), u(0.3, 0.6)
            return [_part(CYLINDER, (0, 0, h / 2), (r, r, h / 2), **_surface(rng, m))], False
        w = u(0.4, 0.55)  # nightstand / stool
        return [_box_on_floor(w, w, u(0.45, 0.6), **_surface(rng, 'wood'))], True
    raise ValueError(f'no furniture model for NYU40 id {cls}')


def _yaw_rot(yaw: float) -> np.ndarray:
    """(2, 2) rotation about z."""
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s], [s, c]])


def _local_aabb(parts: List[dict]) -> Tuple[np.ndarray, np.ndarray]:
    """(lo, hi) of the parts in the object frame."""
    lo = np.min([p['center'] - p['half'] for p in parts], axis=0)
    hi = np.max([p['center'] + p['half'] for p in parts], axis=0)
    return lo, hi


def _wall_frame(room: np.ndarray, wall: int, s: float) -> Tuple[np.ndarray, float]:
    """Point on wall ``wall`` (0: x=0, 1: x=Lx, 2: y=0, 3: y=Ly) at fraction ``s`` along it
    (xy), and the yaw that turns local +y towards the wall (local -y into the room)."""
    lx, ly = room[:2]
    if wall == 0:
        return np.array([0., s * ly]), np.pi / 2
    if wall == 1:
        return np.array([lx, s * ly]), -np.pi / 2
    if wall == 2:
        return np.array([s * lx, 0.]), np.pi
    return np.array([s * lx, ly]), 0.


def _place(rng: np.random.Generator, room: np.ndarray, parts: List[dict], on_wall: bool,
           taken: List[np.ndarray]) -> Optional[Tuple[np.ndarray, float]]:
    """Position (xy) and yaw of an object that overlaps no footprint in ``taken`` (each
    [xmin, ymin, xmax, ymax]); None when 50 tries fail. Objects taller than the camera path
    stay within ``CAMERA_MARGIN`` of a wall."""
    lo, hi = _local_aabb(parts)
    tall = hi[2] > 1.2
    for _ in range(50):
        if on_wall or tall:
            wall = int(rng.integers(4))
            span = room[1 - wall // 2]
            half_w = max(-lo[0], hi[0])
            if span < 2 * half_w + 0.1:
                continue
            anchor, yaw = _wall_frame(room, wall,
                                      rng.uniform(half_w + 0.05, span - half_w - 0.05) / span)
            pos = anchor + _yaw_rot(yaw) @ np.array([0., -hi[1] - 0.01])
        else:
            yaw = rng.uniform(-np.pi, np.pi)
            pos = rng.uniform(0.2 * room[:2], 0.8 * room[:2])
        corners = np.array([[lo[0], lo[1]], [lo[0], hi[1]], [hi[0], lo[1]], [hi[0], hi[1]]])
        xy = corners @ _yaw_rot(yaw).T + pos
        box = np.concatenate([xy.min(0), xy.max(0)])
        if box[0] < 0 or box[1] < 0 or box[2] > room[0] or box[3] > room[1]:
            continue
        if tall and not _outside_camera_region(box, room):
            continue
        if any(box[0] < t[2] + 0.1 and t[0] < box[2] + 0.1 and box[1] < t[3] + 0.1
               and t[1] < box[3] + 0.1 for t in taken):
            continue
        taken.append(box)
        return pos, float(yaw)
    return None


def _outside_camera_region(box: np.ndarray, room: np.ndarray) -> bool:
    """Whether footprint [xmin, ymin, xmax, ymax] stays clear of the camera path region
    (the room shrunk by CAMERA_MARGIN)."""
    m = CAMERA_MARGIN - 0.05
    return bool(box[2] < m or box[3] < m or box[0] > room[0] - m or box[1] > room[1] - m)


def _decal_material(rng: np.random.Generator, cls: int, w: float, h: float) -> dict:
    """Material of a door / window / picture of size w x h."""
    if cls == DOOR:
        return _surface(rng, 'wood', STRIPES, 2, h / 3)
    if cls == WINDOW:
        return _surface(rng, 'white', CHECKER, 0, w / 2)
    return _surface(rng, 'vivid')


def _decals(rng: np.random.Generator, room: np.ndarray, room_type: str,
            bathtub: Optional[Tuple[np.ndarray, float, np.ndarray, np.ndarray]]
            ) -> List[Tuple[int, List[dict], np.ndarray, float]]:
    """Thin boxes on the walls: a door, windows (+ curtains), pictures, and a shower curtain
    in front of the bathtub. Returns (class, parts, position, yaw) per object."""
    out = []
    few = room_type == 'bathroom'
    counts = [(DOOR, 1), (WINDOW, int(rng.integers(0 if few else 1, 2 if few else 3))),
              (PICTURE, int(rng.integers(0 if few else 1, 2 if few else 4)))]
    lz = room[2]
    for cls, count in counts:
        for _ in range(count):
            wall = int(rng.integers(4))
            span = room[1 - wall // 2]
            if cls == DOOR:
                w, h, z0 = rng.uniform(0.8, 0.95), rng.uniform(2.0, 2.1), 0.0
            elif cls == WINDOW:
                w, h = rng.uniform(0.8, 1.6), rng.uniform(1.0, 1.4)
                z0 = rng.uniform(0.8, max(0.85, lz - h - 0.3))
            else:
                w, h = rng.uniform(0.3, 1.0), rng.uniform(0.3, 0.8)
                z0 = rng.uniform(1.1, 1.7) - h / 2
            along = rng.uniform(w / 2 + 0.1, span - w / 2 - 0.1)
            anchor, yaw = _wall_frame(room, wall, along / span)
            rot = _yaw_rot(yaw)
            off = 0.01 + 0.01 * len(out)  # distinct offsets: no coplanar faces
            thick = 0.04 if cls == DOOR else 0.02
            parts = [_box_on_floor(w, thick, h, z0=z0, **_decal_material(rng, cls, w, h))]
            out.append((cls, parts, anchor + rot @ np.array([0., -off - thick / 2]), yaw))
            if cls != WINDOW or rng.random() > 0.7:
                continue
            cur = _surface(rng, 'fabric', STRIPES, 0, rng.uniform(0.08, 0.15))
            cw, cz0 = rng.uniform(0.3, 0.6), max(0.2, z0 - 0.3)
            for side in (-1, 1):  # curtains on either side of the window
                cpos = anchor + rot @ np.array([side * (w / 2 + cw / 2 - 0.1), -off - 0.06])
                if not cw / 2 < cpos[1 - wall // 2] < span - cw / 2:
                    continue
                out.append((CURTAIN, [_box_on_floor(cw, 0.03, lz - 0.15 - cz0, z0=cz0, **cur)],
                            cpos, yaw))
    if bathtub is not None:
        pos, yaw, lo, hi = bathtub
        front = pos + _yaw_rot(yaw) @ np.array([0., lo[1] + 0.05])
        mat = _surface(rng, 'vivid', STRIPES, 0, rng.uniform(0.1, 0.2))
        out.append((SHOWER_CURTAIN, [_box_on_floor(hi[0] - lo[0], 0.02,
                                                   min(2.0, lz - 0.1) - 0.7, z0=0.7, **mat)],
                    front, yaw))
    return out


def _room_faces(rng: np.random.Generator) -> List[Primitive]:
    """Walls x=0, x=Lx, y=0, y=Ly, floor and ceiling (geometry is cast analytically)."""
    wall = _surface(rng, 'wall', int(rng.choice([PLAIN, STRIPES], p=[0.7, 0.3])), 0,
                    rng.uniform(0.1, 0.3))
    wall['noise_amp'] *= 0.5
    floor = _surface(rng, 'floor', int(rng.choice([STRIPES, CHECKER])), 0,
                     rng.uniform(0.1, 0.6))
    ceil = _surface(rng, 'white', PLAIN)
    ceil['noise_amp'] *= 0.3
    zero = np.zeros(3)
    faces = [Primitive(BOX, zero, zero, 0., label=WALL, **wall) for _ in range(4)]
    faces.append(Primitive(BOX, zero, zero, 0., label=FLOOR, **floor))
    faces.append(Primitive(BOX, zero, zero, 0., label=CEILING_ID, **ceil))
    return faces


def scene_name(index: int) -> str:
    """ScanNet-style name of scene ``index``: ``scene0003_00``."""
    return f'scene{index:04d}_00'


def make_scene(seed: int, index: int) -> SyntheticScene:
    """Sample the layout of scene ``index`` of ``seed`` (room, furniture, light, trajectory).

    Objects are numbered 1.. in sampling order; this is the instance id written to the
    ``instance`` images, shared by all parts of an object and all frames of the scene.
    """
    rng = np.random.default_rng([seed, index])
    names = sorted(ROOM_TYPES)
    room_type = names[int(rng.integers(len(names)))]
    (smin, smax), catalogue = ROOM_TYPES[room_type]
    room = np.array([rng.uniform(smin, smax), rng.uniform(smin, smax), rng.uniform(2.5, 3.1)])
    prims = _room_faces(rng)
    groups, taken, objects, bathtub = [], [], [], None
    for cls, nmin, nmax in catalogue:
        for _ in range(int(rng.integers(nmin, nmax + 1))):
            parts, on_wall = _furniture(rng, cls)
            placed = _place(rng, room, parts, on_wall, taken)
            if placed is None:
                continue
            objects.append((cls, parts, placed[0], placed[1]))
            if cls == BATHTUB:
                bathtub = placed + _local_aabb(parts)
    objects += _decals(rng, room, room_type, bathtub)
    for inst, (cls, parts, pos, yaw) in enumerate(objects, start=1):
        ids = []
        rot = _yaw_rot(yaw)
        for p in parts:
            center = np.concatenate([rot @ p['center'][:2] + pos, p['center'][2:]])
            ids.append(len(prims))
            prims.append(Primitive(center=center, yaw=yaw, label=cls, instance=inst,
                                   glass=cls == WINDOW,
                                   **{k: v for k, v in p.items() if k != 'center'}))
        lo, hi = _local_aabb(parts)
        mid = (lo + hi) / 2
        center = np.concatenate([rot @ mid[:2] + pos, mid[2:]])
        groups.append((ids, center, (hi - lo) / 2 + 1e-3, yaw))
    light = np.array([rng.uniform(0.3, 0.7) * room[0], rng.uniform(0.3, 0.7) * room[1],
                      room[2] - 0.05])
    k = np.array([[SCANNET_DEPTH_FOCAL * rng.uniform(0.99, 1.01), 0, 319.5 + rng.normal(0, 2)],
                  [0, SCANNET_DEPTH_FOCAL * rng.uniform(0.99, 1.01), 239.5 + rng.normal(0, 2)],
                  [0, 0, 1]])
    traj = dict(theta0=rng.uniform(-np.pi, np.pi), sweep=rng.uniform(np.pi, 2 * np.pi) *
                rng.choice([-1, 1]), radius=rng.uniform(0.5, 1.0), height=rng.uniform(1.35, 1.65),
                look=rng.uniform(0.3, 0.8), pitch=rng.uniform(-0.5, -0.2),
                phase=rng.uniform(0, 2 * np.pi), wobble=rng.uniform(0.5, 2.0))
    return SyntheticScene(room=room, prims=prims, groups=groups, light=light,
                          light_color=rng.uniform(0.9, 1.1, 3), intrinsics=k,
                          max_range=float(rng.uniform(6.0, 8.0)), traj=traj)


# ---------------------------------------------------------------------------------------------
# Camera
# ---------------------------------------------------------------------------------------------


def camera_pose(scene: SyntheticScene, s: float) -> np.ndarray:
    """(4, 4) camera-to-world pose at trajectory time ``s`` in [0, 1): the camera loops
    around the room centre inside the free region, looking roughly across the room."""
    tr, room = scene.traj, scene.room
    theta = tr['theta0'] + tr['sweep'] * s
    half = np.maximum(room[:2] / 2 - CAMERA_MARGIN, 0.05)
    wob = tr['wobble'] * s * 2 * np.pi + tr['phase']
    radius = tr['radius'] * (0.85 + 0.15 * np.sin(wob))
    pos = np.array([room[0] / 2 + half[0] * radius * np.cos(theta),
                    room[1] / 2 + half[1] * radius * np.sin(theta),
                    tr['height'] + 0.08 * np.sin(1.7 * wob)])
    yaw = theta + np.pi + tr['look'] * np.sin(wob)
    pitch = tr['pitch'] + 0.06 * np.sin(2.3 * wob + 1.0)
    roll = 0.03 * np.sin(1.3 * wob + 2.0)
    fwd = np.array([np.cos(pitch) * np.cos(yaw), np.cos(pitch) * np.sin(yaw), np.sin(pitch)])
    right = np.cross(fwd, [0., 0., 1.])
    right /= np.linalg.norm(right)
    down = np.cross(fwd, right)
    c, s_ = np.cos(roll), np.sin(roll)
    right, down = c * right + s_ * down, -s_ * right + c * down
    pose = np.eye(4)
    pose[:3, :3] = np.stack([right, down, fwd], axis=1)
    pose[:3, 3] = pos
    return pose


def scale_intrinsics(k: np.ndarray, sx: float, sy: float) -> np.ndarray:
    """(3, 3) intrinsics of an image resized by (sx, sy) (corner convention: ``cx' = sx cx``;
    the default colour camera, kept for byte-identical output)."""
    return np.diag([sx, sy, 1.0]) @ k


def _resize_intrinsics(k: np.ndarray, size_hw: Tuple[int, int],
                       new_hw: Tuple[int, int]) -> np.ndarray:
    """(3, 3) intrinsics of a ``size_hw`` image resized to ``new_hw`` with pixel centres at
    integer coordinates (``cx' = (cx + 0.5) s - 0.5``, as ``cv2.resize``)."""
    sy, sx = new_hw[0] / size_hw[0], new_hw[1] / size_hw[1]
    return np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]]) @ k


# ---------------------------------------------------------------------------------------------
# Ray casting (all rays share the camera centre; direction z component in camera = 1, so the
# ray parameter t is the camera-frame depth)
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Shading and sensor models
# ---------------------------------------------------------------------------------------------

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


def sensor_depth(depth: np.ndarray, prim: np.ndarray, cos_inc: np.ndarray,
                 scene: SyntheticScene, rng: np.random.Generator) -> np.ndarray:
    """Structured-light-like depth (H, W) uint16 mm from true depth (H, W) metres: noise
    sigma = 1.2 mm + 1.9 mm * (d - 0.4)^2, holes at discontinuities, grazing angles and glass,
    random dropout blobs, no return below 0.3 m or beyond ``scene.max_range``."""
    h, w = depth.shape
    sigma = 0.0012 + 0.0019 * (depth - 0.4) ** 2
    noisy = depth + rng.standard_normal(depth.shape, np.float32) * sigma
    kernel = np.ones((3, 3), np.uint8)
    jump = cv2.dilate(depth, kernel) - cv2.erode(depth, kernel)
    edge = (jump > 0.03 + 0.04 * depth).astype(np.uint8)
    holes = cv2.dilate(edge, kernel).astype(bool) & (rng.random(depth.shape, np.float32) < 0.7)
    holes |= rng.random(depth.shape, np.float32) < np.clip((0.15 - cos_inc) / 0.15, 0, 0.9)
    glass = np.array([p.glass for p in scene.prims])[prim]
    holes |= glass & (rng.random(depth.shape, np.float32) < 0.95)
    blobs = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(0, 4))):
        center = (int(rng.integers(w)), int(rng.integers(h)))
        axes = (max(1, int(w * rng.uniform(0.01, 0.06))), max(1, int(h * rng.uniform(0.01, 0.06))))
        cv2.ellipse(blobs, center, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    holes |= blobs.astype(bool)
    holes |= (depth < 0.3) | (depth > scene.max_range)
    mm = np.round(np.clip(noisy, 0, 60) * 1000)
    mm[holes] = 0
    return mm.astype(np.uint16)


def sensor_color(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) uint8 BGR from linear RGB (H, W, 3): exposure jitter, gamma 2, read noise."""
    img = np.sqrt(np.clip(rgb * np.float32(rng.uniform(0.9, 1.15)), 0, 1))
    img += rng.standard_normal(img.shape, np.float32) * np.float32(0.012)
    return np.clip(img[..., ::-1] * 255 + 0.5, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def _write_matrix(path: str, mat: np.ndarray) -> None:
    """4x4 matrix as ScanNet writes it: 4 lines of 4 '%f' floats."""
    np.savetxt(path, np.asarray(mat, np.float64), fmt='%f')


def _homogeneous(k: np.ndarray) -> np.ndarray:
    """(4, 4) from (3, 3) intrinsics."""
    out = np.eye(4)
    out[:3, :3] = k
    return out


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
                instance=labels[label_prim] * np.uint16(1000) + insts[label_prim],
                depth_gt=depth)


def scene_cameras(scene: SyntheticScene, depth_hw: Tuple[int, int],
                  color_hw: Optional[Tuple[int, int]] = None, color_camera: str = 'depth'
                  ) -> Tuple[np.ndarray, np.ndarray, Tuple[int, int], Optional[np.ndarray]]:
    """Intrinsics of a scene's cameras: ``(k_depth, k_color, color_hw, k_label)``.

    ``color_camera='depth'``: the colour camera is the scene's depth camera scaled to
    ``color_hw`` (default: the depth size), labels are seen by the depth camera (k_label None).
    ``'scannet'``: ScanNet's depth camera at ``depth_hw`` and colour camera at ``color_hw``
    (default: 1296x968 scaled like the depth), labels seen by the colour camera at the depth
    size (as ``scannet_frames_25k``'s 640x480 labels); all scaled with pixel centres at integer
    coordinates.
    """
    if color_camera not in COLOR_CAMERAS:
        raise ValueError(f'color_camera must be one of {COLOR_CAMERAS}, got {color_camera!r}')
    height, width = depth_hw
    if color_camera == 'depth':
        color_hw = depth_hw if color_hw is None else tuple(color_hw)
        k_depth = scale_intrinsics(scene.intrinsics, width / 640, height / 480)
        k_color = scale_intrinsics(k_depth, color_hw[1] / width, color_hw[0] / height)
        return k_depth, k_color, color_hw, None
    if color_hw is None:
        color_hw = (round(SCANNET_COLOR_HW[0] * height / 480),
                    round(SCANNET_COLOR_HW[1] * width / 640))
    color_hw = (int(color_hw[0]), int(color_hw[1]))
    k_depth = _resize_intrinsics(SCANNET_DEPTH_K, (480, 640), depth_hw)
    k_color = _resize_intrinsics(SCANNET_COLOR_K, SCANNET_COLOR_HW, color_hw)
    k_label = _resize_intrinsics(SCANNET_COLOR_K, SCANNET_COLOR_HW, depth_hw)
    return k_depth, k_color, color_hw, k_label


def generate_scannet_scene(scene_dir: str, index: int = 0, num_frames: int = 25,
                           height: int = 480, width: int = 640,
                           color_size: Optional[Tuple[int, int]] = None, seed: int = 0,
                           frame_step: int = 1, color_camera: str = 'depth',
                           layout: str = 'frames25k') -> str:
    """Render scene ``index`` of ``seed`` into ``scene_dir``.

    Frames are named ``{i * frame_step:06d}`` (``layout='frames25k'``, the default) or
    ``{i * frame_step}`` (``'sensreader'``: ScanNet's ``SensReader`` export, without labels);
    ``color_size`` (h, w) and ``color_camera`` as :func:`scene_cameras`. Returns ``scene_dir``.
    """
    if layout not in LAYOUTS:
        raise ValueError(f'layout must be one of {LAYOUTS}, got {layout!r}')
    cv2.setNumThreads(1)
    scene = make_scene(seed, index)
    depth_hw = (int(height), int(width))
    k_depth, k_color, color_hw, k_label = scene_cameras(scene, depth_hw, color_size,
                                                        color_camera)
    official = layout == 'sensreader'
    subs = ('color', 'depth', 'pose') if official else ('color', 'depth', 'label', 'instance',
                                                        'pose')
    for sub in subs + (('intrinsic', ) if official else ()):
        os.makedirs(osp.join(scene_dir, sub), exist_ok=True)
    if official:
        for name, k in (('color', k_color), ('depth', k_depth)):
            _write_matrix(osp.join(scene_dir, 'intrinsic', f'intrinsic_{name}.txt'),
                          _homogeneous(k))
            _write_matrix(osp.join(scene_dir, 'intrinsic', f'extrinsic_{name}.txt'), np.eye(4))
    else:
        _write_matrix(osp.join(scene_dir, 'intrinsics_depth.txt'), _homogeneous(k_depth))
        _write_matrix(osp.join(scene_dir, 'intrinsics_color.txt'), _homogeneous(k_color))
    for i in range(num_frames):
        rng = np.random.default_rng([seed, index, i])
        pose = camera_pose(scene, i / max(num_frames, 1))
        frame = render_frame(scene, pose, k_depth, depth_hw, k_color, color_hw, rng, k_label)
        name = str(i * frame_step) if official else f'{i * frame_step:06d}'
        cv2.imwrite(osp.join(scene_dir, 'color', name + '.jpg'), frame['color'],
                    [cv2.IMWRITE_JPEG_QUALITY, 90])
        for key in subs[1:-1]:
            cv2.imwrite(osp.join(scene_dir, key, name + '.png'), frame[key])
        _write_matrix(osp.join(scene_dir, 'pose', name + '.txt'), pose)
    return scene_dir


def _scene_job(kwargs: dict) -> str:
    return generate_scannet_scene(**kwargs)


def generate_scannet_scenes(out_dir: str, num_scenes: int = 4, frames_per_scene: int = 25,
                            height: int = 480, width: int = 640,
                            color_size: Optional[Tuple[int, int]] = None, seed: int = 0,
                            frame_step: int = 1, workers: int = 1,
                            progress: Optional[Callable[[str], None]] = None,
                            color_camera: str = 'depth', layout: str = 'frames25k') -> List[str]:
    """Write ``num_scenes`` synthetic scenes ``out_dir/sceneXXXX_00`` in the ScanNet frames
    layout (see the module docstring and :func:`generate_scannet_scene` for ``color_camera``
    and ``layout``); byte-identical for the same arguments whatever ``workers``. ``progress``
    is called with each finished scene dir. Returns the scene dirs in order."""
    jobs = [dict(scene_dir=osp.join(out_dir, scene_name(i)), index=i,
                 num_frames=frames_per_scene, height=height, width=width,
                 color_size=color_size, seed=seed, frame_step=frame_step,
                 color_camera=color_camera, layout=layout)
            for i in range(num_scenes)]
    if workers <= 1 or num_scenes <= 1:
        results = []
        for job in jobs:
            results.append(_scene_job(job))
            if progress is not None:
                progress(results[-1])
        return results
    with ProcessPoolExecutor(max_workers=min(workers, num_scenes)) as pool:
        results = []
        for scene_dir in pool.map(_scene_job, jobs):
            results.append(scene_dir)
            if progress is not None:
                progress(scene_dir)
    return results


def write_scene_splits(out_dir: str, scene_dirs: Sequence[str],
                       val_fraction: float = 0.25) -> Tuple[str, str]:
    """Write ScanNet's split files ``scannetv2_train.txt`` / ``scannetv2_val.txt`` (one scene
    name per line; the last ``val_fraction`` of the scenes, at least one, for validation), so
    the synthetic set drops into configs written for ScanNet. Returns the two paths."""
    names = [osp.basename(osp.normpath(d)) for d in scene_dirs]
    if len(names) < 2:
        raise ValueError(f'need at least 2 scenes for a train/val split, got {len(names)}')
    num_val = min(max(1, round(len(names) * val_fraction)), len(names) - 1)
    paths = []
    for split, subset in (('train', names[:-num_val]), ('val', names[-num_val:])):
        paths.append(osp.join(out_dir, f'scannetv2_{split}.txt'))
        with open(paths[-1], 'w') as f:
            f.write('\n'.join(subset) + '\n')
    return paths[0], paths[1]
