"""SUN RGB-D read where ``SUNRGBD.zip`` unpacks (no conversion step)."""
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

from mask3d_mm.registry import DATASETS
from ..intrinsics import read_intrinsics
from ..rgbd_frames import RGBDFramesDataset
from .native_common import Incomplete, list_dirs, list_files, select_scenes, split_name

__all__ = ['SUNRGBDDataset', 'SUNRGBD_SENSORS']

SUNRGBD_SENSORS = ('kv1', 'kv2', 'realsense', 'xtion')
_IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png')


@DATASETS.register_module()
class SUNRGBDDataset(RGBDFramesDataset):
    """SUN RGB-D frames in the layout of the official ``SUNRGBD.zip``.

    ::

        data_root/                       (the unpacked SUNRGBD/ folder)
            kv1/ kv2/ realsense/ xtion/  (one folder per sensor)
                <set>/.../<scene>/       (at any depth: kv1/NYUdata/NYU0001,
                                          kv1/b3dodata/img_0063, kv2/kinect2data/...,
                                          kv2/align_kv2/..., realsense/{lg,sa,sh,shr}/...,
                                          xtion/xtion_align_data/...,
                                          xtion/sun3ddata/<building>/<room>/<sequence>)
                    image/<name>.jpg     (colour)
                    depth/<name>.png     (uint16 millimetres rotated left by 3 bits)
                    depth_bfx/<name>.png (the refined depth, same encoding; depth_bfx=True)
                    intrinsics.txt       (3x3 camera matrix of image/ and depth/)
                    extrinsics/, annotation*/, fullres/, scene.txt, ...  (not read)

    Upstream: the readme of ``SUNRGBD.zip`` ("image: rgb image, depth: depth image to read the
    depth see the code in SUNRGBDtoolbox/read3dPoints, intrinsics.txt: sensor intrinsic,
    fullres: full resolution depth and rgb image") and the toolbox's ``read3dPoints.m``
    (http://rgbd.cs.princeton.edu). Every folder under a sensor that holds ``image/`` and
    ``depth/`` is a scene, wherever it lies: the set folders differ per sensor and
    ``xtion/sun3ddata`` nests three levels deep.

    - **Frame:** one per scene folder (SUN RGB-D's "image"): the colour image of ``image/`` and
      the depth map of ``depth/`` (or ``depth_bfx/``). Their names agree, except in SUN3D's
      scenes (``0000152-000005072395.jpg`` with ``0000179-000005971095.png``), where the one
      colour file goes with the one depth file. ``scene`` is the scene folder relative to
      ``data_root`` (``'kv1/NYUdata/NYU0001'``), ``frame_id`` the colour file's stem.
    - **Encoding:** ``'sunrgbd'``: ``read3dPoints.m`` reads
      ``bitor(bitshift(d, -3), bitshift(d, 16 - 3)) / 1000`` (metres), 0 = no depth; the
      toolbox then clips at 8 m, this reader leaves that to ``LoadDepthFromFile(max_depth)``.
    - **Intrinsics:** ``intrinsics.txt`` of the scene (9 numbers, row-major 3x3), as
      ``depth_intrinsics`` and ``color_intrinsics``: SUN RGB-D's depth is registered to the
      colour image (same size, same camera matrix).
    - **Licence:** research data without a licence file; it includes NYUv2, B3DO and SUN3D
      frames under their own terms: cite Song et al., CVPR 2015 and those sources.

    Args:
        data_root (str): the ``SUNRGBD/`` folder (holding ``kv1/`` ... ``xtion/``).
        sensors (Sequence[str], optional): sensors to read, from ``'kv1'``, ``'kv2'``,
            ``'realsense'``, ``'xtion'``; each must be there. None: every sensor folder present
            (in that order). Defaults to None.
        depth_bfx (bool): read ``depth_bfx/`` (SUN RGB-D's refined depth) instead of
            ``depth/``. Defaults to False.
        ann_file (str): optional scene list, one scene folder per line relative to
            ``data_root`` (``kv1/NYUdata/NYU0001``); ``#`` comments. Defaults to ''.
        scenes (Sequence[str], optional): scene folders, instead of ``ann_file``.
        **kwargs: arguments of :class:`~mask3d_mm.datasets.RGBDFramesDataset`
            (``encoding``, ``skip_incomplete``: skip scenes lacking ``intrinsics.txt`` or a
            depth file, ``skip_bad_frames``, ``backend_args``, ``pipeline``, ...;
            ``frame_skip`` has no effect: a scene holds one frame).
    """

    DEPTH_ENCODING = 'sunrgbd'
    SOURCE = 'sunrgbd'
    LAYOUT = ('SUN RGB-D: <sensor>/<set>/.../<scene>/{image/*.jpg, depth/*.png, intrinsics.txt} '
              'for the sensors kv1, kv2, realsense, xtion')
    METAINFO = dict(dataset_name='SUN RGB-D')

    def __init__(self,
                 data_root: str,
                 sensors: Optional[Sequence[str]] = None,
                 depth_bfx: bool = False,
                 ann_file: str = '',
                 scenes: Optional[Sequence[str]] = None,
                 **kwargs) -> None:
        if sensors is not None:
            sensors = [sensors] if isinstance(sensors, str) else list(sensors)
            unknown = [s for s in sensors if s not in SUNRGBD_SENSORS]
            if unknown or not sensors:
                raise ValueError(f'unknown SUN RGB-D sensors {unknown or sensors}; choose from '
                                 f'{SUNRGBD_SENSORS}')
        self.sensors = sensors
        self.depth_bfx = depth_bfx
        self.scenes = scenes
        super().__init__(data_root=data_root, ann_file=ann_file, **kwargs)

    def _sensor_roots(self) -> List[str]:
        root = self.data_root
        if not self.isdir(root):
            raise self.layout_error(root, 'is not a folder')
        present = [s for s in SUNRGBD_SENSORS if self.isdir(self.join(root, s))]
        if self.sensors is None:
            if not present:
                hint = None
                subdirs = list_dirs(root, self.backend_args)
                if 'SUNRGBD' in subdirs:
                    hint = f'set data_root to {self.join(root, "SUNRGBD")}'
                elif root.rstrip('/').rsplit('/', 1)[-1] in SUNRGBD_SENSORS:
                    hint = ('this is one sensor folder: set data_root to its parent and '
                            'sensors=[...]')
                raise self.layout_error(root, 'holds none of the sensor folders '
                                        f'{", ".join(SUNRGBD_SENSORS)}', hint)
            return present
        missing = [s for s in self.sensors if s not in present]
        if missing:
            raise self.layout_error(root, f'has no sensor folder {", ".join(missing)} '
                                    f'(sensors={self.sensors})')
        return list(self.sensors)

    def _scan_sensor(self, sensor: str) -> Dict[str, Dict[str, List[str]]]:
        """Scene folder (relative to ``data_root``) -> ``{'image': [...], 'depth': [...],
        'depth_bfx': [...], 'intrinsics.txt': [...]}`` file names, from one recursive listing."""
        found: Dict[str, Dict[str, List[str]]] = defaultdict(lambda: defaultdict(list))
        for rel in list_files(self.join(self.data_root, sensor), self.backend_args,
                              recursive=True):
            parts = rel.split('/')
            name = parts[-1]
            if len(parts) >= 3 and parts[-2] in ('image', 'depth', 'depth_bfx'):
                scene = '/'.join([sensor] + parts[:-2])
                found[scene][parts[-2]].append(name)
            elif name == 'intrinsics.txt' and len(parts) >= 2:
                found['/'.join([sensor] + parts[:-1])][name].append(name)
        return {s: f for s, f in found.items() if 'image' in f and ('depth' in f
                                                                     or 'depth_bfx' in f)}

    def scan(self) -> List[dict]:
        """The frames of the sensors, scene folders sorted by path within each sensor."""
        owner = type(self).__name__
        depth_dir = 'depth_bfx' if self.depth_bfx else 'depth'
        found: Dict[str, Dict[str, List[str]]] = {}
        for sensor in self._sensor_roots():
            sensor_scenes = self._scan_sensor(sensor)
            if not sensor_scenes:
                raise self.layout_error(
                    self.join(self.data_root, sensor),
                    'holds no scene folder with image/ and depth/ (at any depth)')
            found.update(sorted(sensor_scenes.items()))
        names = select_scenes(list(found), self.ann_file, self.scenes, owner, self.backend_args)
        incomplete = Incomplete(owner, self.skip_incomplete)
        frames = []
        for scene in names:
            files = found[scene]
            folder = self.join(self.data_root, scene)
            if 'intrinsics.txt' not in files:
                incomplete.add(f'scene {folder} has no intrinsics.txt')
                continue
            images = [n for n in files['image'] if split_name(n)[1] in _IMAGE_SUFFIXES]
            depths = [n for n in files.get(depth_dir, []) if split_name(n)[1] == '.png']
            if not images or not depths:
                what = 'image/*.jpg' if not images else f'{depth_dir}/*.png'
                incomplete.add(f'scene {folder} has no {what}')
                continue
            pairs = self._pair(folder, images, depths, depth_dir)
            if pairs is None:
                incomplete.add(f'scene {folder}: image/ holds {len(images)} and {depth_dir}/ '
                               f'{len(depths)} files without matching names')
                continue
            k = read_intrinsics(self.join(folder, 'intrinsics.txt'), self.backend_args)
            for image, depth in pairs:
                frames.append(dict(img_path=self.join(folder, 'image', image),
                                   depth_path=self.join(folder, depth_dir, depth),
                                   scene=scene, frame_id=split_name(image)[0],
                                   depth_intrinsics=k, color_intrinsics=k.copy()))
        incomplete.log()
        return frames

    @staticmethod
    def _pair(folder: str, images: List[str], depths: List[str], depth_dir: str):
        """(image, depth) names of a scene: by equal stems, or the one image with the one
        depth map (SUN3D scenes name them by their own frame numbers); None when neither."""
        by_stem = {split_name(d)[0]: d for d in depths}
        pairs = [(i, by_stem[split_name(i)[0]]) for i in sorted(images)
                 if split_name(i)[0] in by_stem]
        if pairs:
            return pairs
        if len(images) == 1 and len(depths) == 1:
            return [(images[0], depths[0])]
        return None
