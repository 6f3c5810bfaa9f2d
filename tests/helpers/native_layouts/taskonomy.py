"""A tiny Taskonomy stand-in (StanfordVL/taskonomy data/README.md; Omnidata's downloader).

Two layouts, as the data is distributed:

- ``'building'`` (the per-building archives, the sample building ``taskonomy-sample-model-1``)::

      <root>/<building>/rgb/point_<p>_view_<v>_domain_rgb.png
      <root>/<building>/depth_zbuffer/point_<p>_view_<v>_domain_depth_zbuffer.png
      <root>/<building>/point_info/point_<p>_view_<v>_domain_point_info.json

- ``'omnidata'`` (``omnitools.download ... --components taskonomy``: domain/component/building)::

      <root>/rgb/taskonomy/<building>/point_<p>_view_<v>_domain_rgb.png
      <root>/depth_zbuffer/taskonomy/<building>/..._domain_depth_zbuffer.png
      <root>/point_info/taskonomy/<building>/..._domain_point_info.json

Depth: uint16 in 1/512 m (z-buffer), 65535 where there is no surface. ``point_info`` holds
``field_of_view_rads`` and ``resolution`` (the images are square, 512x512).
"""
import json
import math
import os.path as osp
from typing import Dict, Sequence, Tuple

import numpy as np

from .common import colour_image, room_depth, to_uint16, write_image, write_text


def domain_dir(root: str, layout: str, building: str, domain: str) -> str:
    if layout == 'building':
        return osp.join(root, building, domain)
    if layout == 'omnidata':
        return osp.join(root, domain, 'taskonomy', building)
    raise ValueError(f'unknown layout {layout!r}')


def write_taskonomy(root: str, layout: str = 'building',
                    buildings: Sequence[str] = ('allensville', ),
                    views: Sequence[Tuple[int, int]] = ((0, 0), (0, 1), (12, 0)),
                    resolution: int = 128, fov: float = 1.0, seed: int = 0,
                    point_info: bool = True, sky_fraction: float = 0.05
                    ) -> Dict[Tuple[str, str], dict]:
    """Write ``(point, view)`` frames per building (the real images are 512x512).

    Returns:
        dict: ``(building, 'point_<p>_view_<v>')`` -> ``dict(depth=HxW metres as stored
        (multiples of 1/512; 0 = no depth, incl. the 65535 pixels), fov=..., k=3x3)``.
    """
    frames = {}
    for bi, building in enumerate(buildings):
        for p, v in views:
            stem = f'point_{p}_view_{v}_domain'
            depth = room_depth(resolution, resolution, seed=seed + 100 * bi + 10 * p + v)
            raw = to_uint16(depth, 512)
            rng = np.random.default_rng(seed + p + v)
            raw[rng.random(raw.shape) < sky_fraction] = 65535  # no surface (windows, holes)
            write_image(osp.join(domain_dir(root, layout, building, 'depth_zbuffer'),
                                 f'{stem}_depth_zbuffer.png'), raw)
            write_image(osp.join(domain_dir(root, layout, building, 'rgb'), f'{stem}_rgb.png'),
                        colour_image(resolution, resolution, seed + p))
            if point_info:
                info = dict(field_of_view_rads=fov, resolution=resolution, point_uuid=str(p),
                            view_id=v, camera_location=[0.0, 0.0, 1.5],
                            camera_rotation_final=[1.57, 0.0, 0.0])
                write_text(osp.join(domain_dir(root, layout, building, 'point_info'),
                                    f'{stem}_point_info.json'), json.dumps(info))
            metres = raw / 512.0
            metres[raw == 65535] = 0
            f = resolution / 2 / math.tan(fov / 2)
            c = (resolution - 1) / 2
            frames[(building, f'point_{p}_view_{v}')] = dict(
                depth=metres, fov=fov, k=np.array([[f, 0, c], [0, f, c], [0, 0, 1]]))
    return frames


def write_split_csv(path: str, splits: Dict[str, str]) -> str:
    """The official split file format (``train_val_test_<subset>.csv``): ``id,train,val,test``
    with 0/1 flags per building."""
    lines = ['id,train,val,test'] + [
        f'{b},{int(s == "train")},{int(s == "val")},{int(s == "test")}' for b, s in splits.items()]
    return write_text(path, '\n'.join(lines) + '\n')
