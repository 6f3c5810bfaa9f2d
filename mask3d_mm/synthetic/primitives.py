"""Constants and data classes of the synthetic scenes: NYU40 ids of the objects, shapes,
textures, :class:`Primitive` and :class:`SyntheticScene` (world frame: floor at z = 0, z up)."""
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

import numpy as np

from mask3d_mm.datasets.nyu40 import NYU40_CLASSES, SCANNET20_NYU40_IDS

__all__ = ['CEILING_ID', 'SYNTHETIC_NYU40_IDS', 'Primitive', 'SyntheticScene']

CEILING_ID = NYU40_CLASSES.index('ceiling') + 1  # 22, ignored by ScanNet-20
SYNTHETIC_NYU40_IDS = SCANNET20_NYU40_IDS + (CEILING_ID, )
WALL, FLOOR, CABINET, BED, CHAIR, SOFA, TABLE, DOOR, WINDOW, BOOKSHELF = range(1, 11)
PICTURE, COUNTER, DESK, CURTAIN, FRIDGE = 11, 12, 14, 16, 24
SHOWER_CURTAIN, TOILET, SINK, BATHTUB, OTHERFURNITURE = 28, 33, 34, 36, 39

BOX, CYLINDER = 0, 1
PLAIN, STRIPES, CHECKER = 0, 1, 2
CAMERA_MARGIN = 1.0  # m kept free between walls and the camera path


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
