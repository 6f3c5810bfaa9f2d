"""A tiny Hypersim stand-in in the layout its scene zips unpack to (apple/ml-hypersim README).

::

    <root>/ai_VVV_NNN/images/
        scene_cam_XX_final_preview/frame.IIII.tonemap.jpg       colour (tonemapped preview)
        scene_cam_XX_geometry_hdf5/frame.IIII.depth_meters.hdf5  HDF5 dataset 'dataset',
                                                                float16 distance (m) from the
                                                                camera centre along each
                                                                pixel's ray; NaN = no surface
    <root>/metadata_camera_parameters.csv     (contrib/mikeroberts3000: per-scene M_cam_from_uv)
    <root>/metadata_images_split_scene_v1.csv (evermotion_dataset/analysis: the v1 split)

The distances are computed from known planar depths through the camera's ``M_cam_from_uv``
(camera-space ray of the pixel centre (u, v) in [-1, 1], v up, the camera looking down -z),
the way Hypersim's notebooks cast the rays of an image.
"""
import os
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

import h5py
import numpy as np

from .common import colour_image, room_depth, write_image, write_text

# Hypersim's default camera: 60 degrees horizontal fov, 4:3 (metadata_camera_parameters.csv)
DEFAULT_M = np.array([[0.5773502886169104, 0, 0], [0, 0.4330127164626828, 0], [0, 0, -1.0]])
# a tilt-shift camera (scene ai_044_004 of metadata_camera_parameters.csv)
TILT_SHIFT_M = np.array([[0.5859437528679018, 0.0, -0.0], [0.0, 0.4354028775375183, -0.0],
                         [-0.05859437615991441, -0.07401848995993912, -1.018256062290048]])


def pixel_rays(m: np.ndarray, width: int, height: int) -> np.ndarray:
    """HxWx3 camera-space rays of the pixel centres (Hypersim's ``M_cam_from_uv @ [u, v, 1]``,
    u from -1 + 1/W to 1 - 1/W left to right, v from 1 - 1/H down to -1 + 1/H)."""
    u = np.linspace(-1 + 1 / width, 1 - 1 / width, width)
    v = np.linspace(-1 + 1 / height, 1 - 1 / height, height)[::-1]
    uu, vv = np.meshgrid(u, v)
    uv1 = np.stack([uu, vv, np.ones_like(uu)], axis=-1)
    return uv1 @ np.asarray(m, np.float64).T


def planar_to_distance(planar: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Distance along each pixel's ray of the points at camera-space depth ``-z = planar``;
    NaN where ``planar`` is 0."""
    h, w = planar.shape
    rays = pixel_rays(m, w, h)
    dist = planar * np.linalg.norm(rays, axis=-1) / np.abs(rays[..., 2])
    dist[planar <= 0] = np.nan
    return dist


def write_depth_hdf5(path: str, distance: np.ndarray) -> str:
    os.makedirs(osp.dirname(path), exist_ok=True)
    with h5py.File(path, 'w') as f:
        f.create_dataset('dataset', data=distance.astype(np.float16), compression='gzip')
    return path


def write_hypersim(root: str, scenes: Sequence[str] = ('ai_001_001', ),
                   cameras: Sequence[str] = ('cam_00', ), num_frames: int = 2,
                   size: Tuple[int, int] = (96, 128), seed: int = 0,
                   m: Optional[Dict[str, np.ndarray]] = None,
                   colour_missing: Sequence[Tuple[str, str, int]] = ()
                   ) -> Dict[Tuple[str, str, int], dict]:
    """Write the scenes' frames (``size`` = (H, W); the real images are 768x1024).

    Args:
        m: ``M_cam_from_uv`` per scene (default: Hypersim's default camera).
        colour_missing: ``(scene, camera, frame)`` written without the tonemapped jpg.

    Returns:
        dict: ``(scene, camera, frame)`` -> ``dict(planar=HxW metres (0 = no surface),
        distance=HxW float64 as written (float16 values), m=3x3)``.
    """
    h, w = size
    frames = {}
    for si, scene in enumerate(scenes):
        cam_m = (m or {}).get(scene, DEFAULT_M)
        for ci, cam in enumerate(cameras):
            images = osp.join(root, scene, 'images')
            for i in range(num_frames):
                planar = room_depth(h, w, seed=seed + 100 * si + 10 * ci + i)
                dist = planar_to_distance(planar, cam_m)
                write_depth_hdf5(osp.join(images, f'scene_{cam}_geometry_hdf5',
                                          f'frame.{i:04d}.depth_meters.hdf5'), dist)
                if (scene, cam, i) not in colour_missing:
                    write_image(osp.join(images, f'scene_{cam}_final_preview',
                                         f'frame.{i:04d}.tonemap.jpg'),
                                colour_image(h, w, seed + i))
                frames[(scene, cam, i)] = dict(planar=planar,
                                               distance=dist.astype(np.float16).astype(np.float64),
                                               m=cam_m)
    return frames


def write_camera_parameters(path: str, m: Dict[str, np.ndarray], size: Tuple[int, int]) -> str:
    """``metadata_camera_parameters.csv`` with the columns the reader uses (the real file has
    ~90 more): ``scene_name``, ``settings_output_img_height``, ``settings_output_img_width``,
    ``M_cam_from_uv_00`` .. ``M_cam_from_uv_22``."""
    h, w = size
    header = ['scene_name', 'settings_output_img_height', 'settings_output_img_width',
              'use_camera_physical'] + [f'M_cam_from_uv_{i}{j}' for i in range(3) for j in range(3)]
    rows = [','.join(header)]
    for scene, mat in m.items():
        rows.append(','.join([scene, f'{float(h)}', f'{float(w)}', 'True']
                             + [repr(float(x)) for x in np.asarray(mat).ravel()]))
    return write_text(path, '\n'.join(rows) + '\n')


def write_split_csv(path: str, rows: Sequence[Tuple[str, str, int, bool, str]]) -> str:
    """``metadata_images_split_scene_v1.csv``: ``(scene, camera, frame, included, split)``."""
    lines = ['scene_name,camera_name,frame_id,included_in_public_release,exclude_reason,'
             'split_partition_name']
    for scene, cam, frame, included, split in rows:
        reason = '' if included else 'CONTENT FLAGGED FOR REMOVAL'
        lines.append(f'{scene},{cam},{frame},{included},{reason},{split if included else ""}')
    return write_text(path, '\n'.join(lines) + '\n')
