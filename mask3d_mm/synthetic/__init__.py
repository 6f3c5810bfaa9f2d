"""Synthetic RGB-D scenes written in the ScanNet frames layout (numpy + cv2), for the demo,
the tests and the docs: nothing is downloaded.

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

Modules: :mod:`.primitives` (ids, shapes, data classes), :mod:`.furniture` and :mod:`.scene`
(sampling), :mod:`.camera`, :mod:`.raycast`, :mod:`.render` (shading), :mod:`.sensor` (noise),
:mod:`.writer` (files, process pool, split files).
"""

from .camera import (COLOR_CAMERAS, SCANNET_COLOR_HW, SCANNET_COLOR_K, SCANNET_DEPTH_K,
                     camera_pose, scale_intrinsics, scene_cameras)
from .primitives import CEILING_ID, SYNTHETIC_NYU40_IDS, Primitive, SyntheticScene
from .raycast import cast_rays
from .render import render_frame, shade
from .scene import make_scene, scene_name
from .sensor import sensor_color, sensor_depth
from .writer import LAYOUTS, generate_scannet_scene, generate_scannet_scenes, write_scene_splits

__all__ = [
    'CEILING_ID', 'SYNTHETIC_NYU40_IDS', 'Primitive', 'SyntheticScene', 'make_scene', 'scene_name',
    'COLOR_CAMERAS', 'SCANNET_COLOR_HW', 'SCANNET_COLOR_K', 'SCANNET_DEPTH_K', 'camera_pose',
    'scale_intrinsics', 'scene_cameras', 'cast_rays', 'shade', 'render_frame', 'sensor_color',
    'sensor_depth', 'LAYOUTS', 'generate_scannet_scene', 'generate_scannet_scenes',
    'write_scene_splits'
]
