"""ScanNet 2D instance maps (frames layout) to a COCO instance segmentation json.

Input: the ScanNet frames layout (:mod:`mask3d_mm.datasets.scannet_layout`: the scene discovery,
scene lists and ``frame_skip`` of the datasets), with ``color/`` and ``instance/NNNNNN.png`` per
frame:

- uint16: ``nyu40_id * 1000 + instance_id`` (``scannet_frames_25k``, synthetic scenes); walls,
  floors and ceilings have instance id 0.
- uint8: instance ids only; the class then comes from ``label/NNNNNN.png`` (NYU40 ids).

Output (Pri3D's protocol, REFERENCE section 2): the 18 ScanNet-20 classes without wall and floor;
category ids are the NYU40 ids; one annotation per (class, instance id) present in a frame with
at least ``min_area`` pixels (instance id 0 means "no instance" and is skipped); compressed RLE
masks (pycocotools, ``counts`` as str), ``bbox`` = the mask's extent ``[x, y, w, h]``,
``area`` = its pixel count. Image and annotation ids start at 1.

Colour and annotation sizes: raw ScanNet colour is 1296x968, instance/label maps are 640x480
(rendered in the colour camera). Each image entry has ``file_name`` = the colour jpg relative to
the data root and ``width``/``height`` = the **annotation** size, so boxes, masks and COCO
evaluation all live in annotation pixels. Pipelines must therefore resize the loaded colour image
to that size first: :class:`~mask3d_mm.datasets.transforms.AlignImageTo`
(``reference='annotation'``), right after ``LoadImageFromFile`` (it also sets ``ori_shape``, which ``LoadAnnotations`` uses for the masks and
the detector uses to paste predictions). Resizing only the image with mmdet's ``Resize`` would not
do: ``Resize`` scales annotations by the image's factor, assuming they were drawn on the image.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import mmcv
import mmengine
import mmengine.fileio as fileio
import numpy as np
import pycocotools.mask as mask_utils
from mmengine.utils import track_iter_progress

from mask3d_mm.datasets.nyu40 import SCANNET_INSTANCE_CLASSES, SCANNET_INSTANCE_NYU40_IDS
from mask3d_mm.datasets.scannet_layout import INSTANCE_DIVISOR, ScanNetLayout

__all__ = ['decode_instance_map', 'frame_annotations', 'scannet_to_coco']


def decode_instance_map(instance: np.ndarray,
                        label: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Split an instance map into NYU40 class ids and instance ids.

    Args:
        instance (np.ndarray): (H, W) uint16 ``nyu40 * 1000 + id``, or uint8 ids (then
            ``label`` is required).
        label (np.ndarray, optional): (H, W) NYU40 ids, for uint8 instance maps.

    Returns:
        tuple[np.ndarray, np.ndarray]: (H, W) int64 class ids and (H, W) int64 instance ids.
    """
    if instance.ndim != 2:
        raise ValueError(f'instance map must be HxW, got shape {instance.shape}')
    if instance.dtype == np.uint16:
        ids = instance.astype(np.int64)
        return ids // INSTANCE_DIVISOR, ids % INSTANCE_DIVISOR
    if instance.dtype == np.uint8:
        if label is None:
            raise ValueError('an 8-bit instance map holds instance ids only: its class must '
                             'come from the label map (label/NNNNNN.png)')
        if label.shape != instance.shape:
            raise ValueError(f'label {label.shape} and instance {instance.shape} sizes differ')
        return label.astype(np.int64), instance.astype(np.int64)
    raise ValueError(f'instance map must be uint16 (nyu40 * 1000 + id) or uint8, got '
                     f'{instance.dtype}')


def frame_annotations(classes: np.ndarray,
                      instances: np.ndarray,
                      min_area: int = 1000,
                      nyu40_ids: Sequence[int] = SCANNET_INSTANCE_NYU40_IDS) -> List[dict]:
    """COCO annotations (without ``id``/``image_id``) of one frame.

    Args:
        classes (np.ndarray): (H, W) NYU40 ids.
        instances (np.ndarray): (H, W) instance ids (0: none).
        min_area (int): Masks with fewer pixels are dropped. Defaults to 1000.
        nyu40_ids (Sequence[int]): Kept classes. Defaults to the 18 instance classes.

    Returns:
        list[dict]: Sorted by (class, instance id); each with ``category_id`` (NYU40 id),
        ``instance_id``, ``segmentation`` (RLE), ``area``, ``bbox`` ([x, y, w, h]), ``iscrowd``.
    """
    keep = np.isin(classes, np.asarray(nyu40_ids)) & (instances > 0)
    keys = classes[keep] * INSTANCE_DIVISOR + instances[keep]
    values, counts = np.unique(keys, return_counts=True)
    key_map = np.where(keep, classes * INSTANCE_DIVISOR + instances, -1)
    anns = []
    for value, count in zip(values.tolist(), counts.tolist()):
        if count < min_area:
            continue
        rle = mask_utils.encode(np.asfortranarray(key_map == value, dtype=np.uint8))
        anns.append(dict(
            category_id=value // INSTANCE_DIVISOR,
            instance_id=value % INSTANCE_DIVISOR,
            segmentation=dict(size=[int(s) for s in rle['size']],
                              counts=rle['counts'].decode('ascii')),
            area=int(count),
            bbox=[float(v) for v in mask_utils.toBbox(rle)],
            iscrowd=0))
    return anns


def _read_png(path: str, backend_args: Optional[dict]) -> np.ndarray:
    img = mmcv.imfrombytes(fileio.get(path, backend_args=backend_args), flag='unchanged',
                           backend='cv2')
    if img is None:
        raise ValueError(f'cannot decode {path}')
    return img


def scannet_to_coco(data_root: str,
                    scene_list: str = '',
                    scenes: Optional[Sequence[str]] = None,
                    frame_skip: int = 1,
                    min_area: int = 1000,
                    out_file: Optional[str] = None,
                    skip_incomplete: bool = False,
                    progress: bool = False,
                    backend_args: Optional[dict] = None) -> Dict:
    """Convert the instance maps of ScanNet frames to a COCO dict (and json file).

    Args:
        data_root (str): Folder of the scene folders.
        scene_list (str): Scene list file (e.g. ``scannetv2_val.txt``), a path that exists or
            one relative to ``data_root``. Empty: ``scenes`` or every scene folder.
        scenes (Sequence[str], optional): Scene names instead of ``scene_list``.
        frame_skip (int): Keep every N-th frame of each scene. Defaults to 1.
        min_area (int): Drop masks with fewer pixels (annotation resolution). Defaults to 1000.
        out_file (str, optional): Where to write the json.
        skip_incomplete (bool): Skip frames lacking a file instead of raising.
        progress (bool): Show a progress bar. Defaults to False.
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        dict: COCO json content (``images``, ``annotations``, ``categories``, ``info``).
    """
    if min_area < 0:
        raise ValueError(f'min_area must be >= 0, got {min_area}')
    if scene_list and scenes is not None:
        raise ValueError('give either scene_list or scenes, not both')
    if not isinstance(frame_skip, int) or frame_skip < 1:
        raise ValueError(f'frame_skip must be a positive int, got {frame_skip!r}')
    layout = ScanNetLayout(data_root, backend_args=backend_args)
    if scene_list and not osp.isfile(scene_list) and not osp.isabs(scene_list):
        scene_list = layout.join(data_root, scene_list)
    frames = layout.scan(layout.scene_names(scene_list, scenes), required=('color', 'instance'),
                         optional=('label', ), frame_skip=frame_skip,
                         skip_incomplete=skip_incomplete, owner='scannet_to_coco')

    images, annotations = [], []
    for image_id, frame in enumerate(track_iter_progress(frames) if progress else frames, 1):
        files = frame['files']
        instance = _read_png(files['instance'], backend_args)
        label = None
        if instance.dtype == np.uint8:
            if 'label' not in files:
                raise FileNotFoundError(f'{files["instance"]} is 8-bit (instance ids only) '
                                        'and the frame has no label/ map to give the classes')
            label = _read_png(files['label'], backend_args)
        classes, ids = decode_instance_map(instance, label)
        height, width = instance.shape
        images.append(dict(
            id=image_id, width=int(width), height=int(height),
            file_name=f'{frame["scene"]}/color/{osp.basename(files["color"])}',
            scene=frame['scene'], frame_id=frame['frame_id']))
        for ann in frame_annotations(classes, ids, min_area):
            annotations.append(dict(id=len(annotations) + 1, image_id=image_id, **ann))

    coco = dict(
        info=dict(description='ScanNet 2D instances (mask3d_mm scannet_to_coco)',
                  min_area=min_area, frame_skip=frame_skip,
                  scenes=sorted({img['scene'] for img in images})),
        licenses=[],
        images=images,
        annotations=annotations,
        categories=[dict(id=i, name=n, supercategory='object')
                    for i, n in zip(SCANNET_INSTANCE_NYU40_IDS, SCANNET_INSTANCE_CLASSES)])
    if out_file is not None:
        os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
        mmengine.dump(coco, out_file)
    return coco
