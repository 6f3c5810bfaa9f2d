"""Surface normals from a depth map and pinhole intrinsics (auxiliary Mask3D target)."""
from typing import Tuple

import torch
import torch.nn.functional as F

from mask3d_mm.structures import valid_depth

__all__ = ['depth_to_normals']


def depth_to_normals(depth: torch.Tensor, intrinsics: torch.Tensor,
                     max_depth: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """Unit camera-frame normals by central differences of the back-projected points.

    Pixel (u, v) with depth d maps to ((u - cx) d / fx, (v - cy) d / fy, d) (OpenCV convention,
    x right, y down, z forward). The normal is the cross product of the horizontal and vertical
    central differences, oriented towards the camera. A normal is valid where the pixel and its
    four neighbours have valid depth (0 < d <= max_depth); image borders are invalid.

    Args:
        depth (torch.Tensor): (B, 1, H, W) metres, 0 = invalid.
        intrinsics (torch.Tensor): (B, 3, 3) intrinsics of the depth map at its current size.
        max_depth (float): Largest valid depth.

    Returns:
        tuple: normals (B, 3, H, W) (zero where invalid) and valid (B, 1, H, W) bool.
    """
    B, _, H, W = depth.shape
    depth = depth.float()
    valid = valid_depth(depth, max_depth)
    depth = torch.where(valid, depth, torch.zeros_like(depth))
    k = intrinsics.to(depth).reshape(B, 3, 3)
    fx, fy = k[:, 0, 0].view(B, 1, 1, 1), k[:, 1, 1].view(B, 1, 1, 1)
    cx, cy = k[:, 0, 2].view(B, 1, 1, 1), k[:, 1, 2].view(B, 1, 1, 1)
    u = torch.arange(W, device=depth.device, dtype=depth.dtype).view(1, 1, 1, W)
    v = torch.arange(H, device=depth.device, dtype=depth.dtype).view(1, 1, H, 1)
    points = torch.cat([(u - cx) / fx * depth, (v - cy) / fy * depth, depth], dim=1)

    dx = points[..., 1:-1, 2:] - points[..., 1:-1, :-2]
    dy = points[..., 2:, 1:-1] - points[..., :-2, 1:-1]
    normals = torch.cross(dx, dy, dim=1)
    facing = (normals * points[..., 1:-1, 1:-1]).sum(dim=1, keepdim=True)
    normals = torch.where(facing > 0, -normals, normals)
    norm = normals.norm(dim=1, keepdim=True)
    ok = (valid[..., 1:-1, 1:-1] & valid[..., 1:-1, 2:] & valid[..., 1:-1, :-2]
          & valid[..., 2:, 1:-1] & valid[..., :-2, 1:-1] & (norm > 1e-12))
    normals = torch.where(ok, normals / norm.clamp(min=1e-12), torch.zeros_like(normals))
    return F.pad(normals, (1, 1, 1, 1)), F.pad(ok, (1, 1, 1, 1), value=False)
