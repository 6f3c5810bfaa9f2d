"""Materials and furniture models: each piece of furniture is a few boxes and vertical
cylinders in its local frame (x along its width, -y to the front, z up)."""
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .primitives import (BATHTUB, BED, BOOKSHELF, BOX, CABINET, CHAIR, CHECKER, COUNTER,
                         CURTAIN, CYLINDER, DESK, DOOR, FRIDGE, OTHERFURNITURE, PICTURE, PLAIN,
                         SHOWER_CURTAIN, SINK, SOFA, STRIPES, TABLE, TOILET, WINDOW)

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


# 'independent' materials (issue 13): any object may be made of any of these
OBJECT_MATERIALS = ('wood', 'fabric', 'white', 'metal', 'vivid')
MATERIAL_MODES = ('class', 'independent')


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


def redraw_materials(rng: np.random.Generator, parts: List[dict]) -> None:
    """Give an object's ``parts`` (in place) a material drawn independently of its class: one
    palette of :data:`OBJECT_MATERIALS` and one surface for the whole object, a second one
    for each further part with probability 0.3 (legs, frames, cushions)."""
    kind = str(rng.choice(OBJECT_MATERIALS))
    main = _surface(rng, kind)
    for i, part in enumerate(parts):
        other = i > 0 and rng.random() < 0.3
        part.update(_surface(rng, str(rng.choice(OBJECT_MATERIALS))) if other else main)


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
