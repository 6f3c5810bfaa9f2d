"""Scene sampling: a room of a random type, furniture placed against the walls or free,
doors / windows / pictures on the walls, a light and a camera trajectory.

Output is deterministic: scene ``i`` of ``seed`` is drawn from ``np.random.default_rng([seed, i])``.
With ``materials='independent'`` the same layout is drawn, and then every object's material
from a second generator, whatever the object's class.
"""
from typing import List, Optional, Tuple

import numpy as np

from .camera import SCANNET_DEPTH_FOCAL
from .furniture import (MATERIAL_MODES, ROOM_TYPES, _box_on_floor, _furniture, _surface,
                        redraw_materials)
from .primitives import (BATHTUB, BOX, CAMERA_MARGIN, CEILING_ID, CHECKER, CURTAIN, DOOR, FLOOR,
                         PICTURE, PLAIN, SHOWER_CURTAIN, STRIPES, WALL, WINDOW, Primitive,
                         SyntheticScene)

__all__ = ['scene_name', 'make_scene']

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


def make_scene(seed: int, index: int, materials: str = 'class') -> SyntheticScene:
    """Sample the layout of scene ``index`` of ``seed`` (room, furniture, light, trajectory).

    ``materials``: 'class' (default): each class draws from its own palette (wood cabinets,
    white sinks ...), so colour alone can name a class; 'independent': the same scene, with
    every object's material (windows keep their glass) drawn independently of its class, so
    shape and placement carry the class, as in real rooms.

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
    if materials not in MATERIAL_MODES:
        raise ValueError(f'materials must be one of {MATERIAL_MODES}, got {materials!r}')
    if materials == 'independent':  # a second generator: the layout stays that of 'class'
        material_rng = np.random.default_rng([seed, index, 2**31 - 1, 13])
        for cls, parts, _, _ in objects:
            if cls != WINDOW:
                redraw_materials(material_rng, parts)
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
