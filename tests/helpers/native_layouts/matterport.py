"""A tiny Matterport3D stand-in: the undistorted images of a scan (niessner/Matterport
data_organization.md).

::

    <root>/<scan>/
        undistorted_color_images/<uuid>_i<cam>_<yaw>.jpg     colour, 1280x1024
        undistorted_depth_images/<uuid>_d<cam>_<yaw>.png     uint16, 0.25 mm (/ 4000), 0 = none
        undistorted_camera_parameters/<scan>.conf

The ``.conf`` file, as the scans ship it: a header, then per camera of a panorama an
``intrinsics_matrix fx 0 cx  0 fy cy  0 0 1`` line followed by its ``scan <depth> <color>
<16 numbers of the camera-to-world matrix>`` lines.
"""
import os.path as osp
from typing import Dict, Sequence, Tuple

import numpy as np

from .common import colour_image, room_depth, to_uint16, write_image, write_text


def write_matterport(root: str, scans: Sequence[str] = ('17DRP5sb8fy', ),
                     panoramas: Sequence[str] = ('0f37bd0737e349de9d536263a4bdd60d', ),
                     cameras: Sequence[int] = (0, 1, 2), yaws: Sequence[int] = (0, 1),
                     size: Tuple[int, int] = (128, 160), seed: int = 0, conf: bool = True
                     ) -> Dict[Tuple[str, str], dict]:
    """Write the scans (``size`` = (H, W); the real images are 1024x1280).

    Returns:
        dict: ``(scan, '<uuid>_<cam>_<yaw>')`` -> ``dict(depth=HxW metres as stored (multiples
        of 0.25 mm), k=3x3)``.
    """
    h, w = size
    frames = {}
    for si, scan in enumerate(scans):
        lines = ['dataset matterport', f'n_images {len(panoramas) * len(cameras) * len(yaws)}',
                 '', 'depth_directory undistorted_depth_images',
                 'color_directory undistorted_color_images', '']
        for pi, uuid in enumerate(panoramas):
            for cam in cameras:
                fx, fy = 0.84 * w + cam, 0.84 * w + 0.5 + cam
                cx, cy = w / 2 - 1.3 + cam, h / 2 + 2.1 - cam
                k = np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]])
                lines.append(f'intrinsics_matrix {fx:g} 0 {cx:g}  0 {fy:g} {cy:g}  0 0 1')
                for yaw in yaws:
                    depth = room_depth(h, w, seed=seed + 100 * si + 10 * pi + 3 * cam + yaw)
                    raw = to_uint16(depth, 4000)
                    d_name, c_name = f'{uuid}_d{cam}_{yaw}.png', f'{uuid}_i{cam}_{yaw}.jpg'
                    write_image(osp.join(root, scan, 'undistorted_depth_images', d_name), raw)
                    write_image(osp.join(root, scan, 'undistorted_color_images', c_name),
                                colour_image(h, w, seed + cam + yaw))
                    a = np.radians(60 * yaw)
                    pose = np.array([[np.cos(a), -np.sin(a), 0, 1.0],
                                     [np.sin(a), np.cos(a), 0, 2.0], [0, 0, 1, 1.5],
                                     [0, 0, 0, 1]])
                    lines.append(f'scan {d_name} {c_name} '
                                 + ' '.join(f'{x:g}' for x in pose.ravel()))
                    frames[(scan, f'{uuid}_{cam}_{yaw}')] = dict(depth=raw / 4000.0, k=k)
        if conf:
            write_text(osp.join(root, scan, 'undistorted_camera_parameters', f'{scan}.conf'),
                       '\n'.join(lines) + '\n')
    return frames
