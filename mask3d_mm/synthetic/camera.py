"""Cameras of the synthetic scenes: ScanNet's intrinsics, the trajectory, scaling."""
from typing import Optional, Tuple

import numpy as np

from .primitives import CAMERA_MARGIN, SyntheticScene

__all__ = ['SCANNET_COLOR_K', 'SCANNET_COLOR_HW', 'SCANNET_DEPTH_K', 'COLOR_CAMERAS',
           'camera_pose', 'scale_intrinsics', 'scene_cameras']

SCANNET_DEPTH_FOCAL = 577.87  # ScanNet depth camera focal length at 640x480
# ScanNet scene0000_00's cameras (intrinsic/intrinsic_color.txt at 1296x968, *_depth at 640x480)
SCANNET_COLOR_K = np.array([[1170.187988, 0, 647.75], [0, 1170.187988, 483.75], [0, 0, 1]])
SCANNET_COLOR_HW = (968, 1296)
SCANNET_DEPTH_K = np.array([[577.590698, 0, 318.905426], [0, 578.729797, 242.683609], [0, 0, 1]])
COLOR_CAMERAS = ('depth', 'scannet')


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
