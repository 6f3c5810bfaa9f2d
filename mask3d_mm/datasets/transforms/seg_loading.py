"""Loading semantic label maps that mmseg's ``LoadAnnotations`` would silently misread."""
from typing import Dict, Optional

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmseg.datasets.transforms import LoadAnnotations

from mask3d_mm.registry import TRANSFORMS

__all__ = ['LoadSegLabels', 'check_label_ids']

_SHOWN = 8  # ids listed in a message


def _ids(ids: np.ndarray) -> str:
    shown = ', '.join(str(int(i)) for i in ids[:_SHOWN])
    return shown + (f', ... ({len(ids)} ids)' if len(ids) > _SHOWN else '')


def _read(path: str, backend_args: Optional[dict], imdecode_backend: str) -> np.ndarray:
    """The file's values as stored (``'unchanged'``), squeezed as mmseg does."""
    data = fileio.get(path, backend_args=backend_args)
    try:
        labels = mmcv.imfrombytes(data, flag='unchanged', backend=imdecode_backend)
    except Exception as e:  # pillow's UnidentifiedImageError, cv2.error, ...
        raise ValueError(f'cannot decode label file {path} (corrupt or not an image): '
                         f'{e}') from e
    if labels is None or labels.size == 0:
        raise ValueError(f'cannot decode label file {path} ({len(data)} bytes; corrupt, '
                         'empty or not an image)')
    return labels.squeeze()


def check_label_ids(labels: np.ndarray, path: str) -> np.ndarray:
    """The label map as uint8 ids, as mmseg keeps them; refuses what a cast would change.

    Raises:
        ValueError: naming ``path``: a colour image (not a map of ids), float values, or ids
            outside 0..255 (e.g. ScanNet's raw category ids in a uint16 PNG, which mmseg's
            ``astype(np.uint8)`` turns into other classes: 257 -> 1 = wall).
    """
    if labels.ndim != 2:
        raise ValueError(f'label file {path} has shape {labels.shape}: expected a single-'
                         'channel map of class ids, not a colour (palette-rendered) image')
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f'label file {path} holds {labels.dtype} values: expected integer '
                         'class ids (uint8)')
    if labels.dtype == np.uint8:
        return labels
    low, high = int(labels.min()), int(labels.max())
    if low < 0 or high > 255:
        wide = np.unique(labels[(labels < 0) | (labels > 255)])
        raise ValueError(
            f'label file {path} is a {labels.dtype} map with ids outside 0..255 '
            f'({_ids(wide)}): the uint8 cast of the label loader would turn them into other '
            f'classes ({int(wide[0])} -> {int(wide[0]) % 256}). These look like raw ids (e.g. '
            "ScanNet's raw category ids): convert them to the dataset's ids (ScanNet-20: NYU40 "
            "ids 0..40 through ScanNet's scannetv2-labels.combined.tsv)")
    return labels.astype(np.uint8)


def _present(labels: np.ndarray) -> np.ndarray:
    """The ids (uint8) that occur in ``labels``."""
    return np.flatnonzero(np.bincount(labels.ravel(), minlength=256))


@TRANSFORMS.register_module()
class LoadSegLabels(LoadAnnotations):
    """mmseg's ``LoadAnnotations`` for semantic label maps, refusing maps it would silently
    misread, naming the file.

    mmseg reads a label file unchanged and casts it to uint8, so a uint16 map of raw ids
    (ScanNet's raw category ids 257..267 become 1..11: wall, floor, ...) trains on wrong
    classes, and ids outside the dataset's classes pass unnoticed. This transform reads the
    file once and raises a ``ValueError`` naming it for:

    - a colour image, float values, or ids outside 0..255 (:func:`check_label_ids`);
    - with a ``label_map`` in the data info (``ScanNetSegDataset``: NYU40 ids 0..40; mmseg's
      class subsets): ids it does not map (after ``reduce_zero_label``), other than
      ``ignore_index``;
    - with ``num_classes``: ids, after ``reduce_zero_label`` and ``label_map``, that are
      neither below it nor ``ignore_index`` (NYUv2-40: ``num_classes=40``).

    Otherwise the result is mmseg's: ``reduce_zero_label`` (0 -> 255, i -> i - 1) then the
    data info's ``label_map``, ``gt_seg_map`` uint8, ``seg_fields``. A subclass of mmseg's
    ``LoadAnnotations``, so ``ScanNetRGBDDataset(skip_bad_frames=True)`` and
    ``tools/misc/verify_dataset.py`` treat it as a file loader.

    Args:
        num_classes (int, optional): the dataset's number of classes; None: not checked
            beyond ``label_map``. Defaults to None.
        ignore_index (int): the ignored label. Defaults to 255.
        reduce_zero_label, backend_args, imdecode_backend: as mmseg's ``LoadAnnotations``.
    """

    def __init__(self, num_classes: Optional[int] = None, ignore_index: int = 255,
                 reduce_zero_label: Optional[bool] = None, backend_args: Optional[dict] = None,
                 imdecode_backend: str = 'pillow') -> None:
        super().__init__(reduce_zero_label=reduce_zero_label, backend_args=backend_args,
                         imdecode_backend=imdecode_backend)
        if num_classes is not None and not 0 < num_classes <= 255:
            raise ValueError(f'num_classes must be in 1..255, got {num_classes}')
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def _reduce_zero_label(self, results: dict) -> bool:
        if self.reduce_zero_label is None:
            self.reduce_zero_label = results['reduce_zero_label']
        if self.reduce_zero_label != results['reduce_zero_label']:
            raise ValueError(f'the dataset has reduce_zero_label={results["reduce_zero_label"]}'
                             f' but {type(self).__name__} has {self.reduce_zero_label}')
        return bool(self.reduce_zero_label)

    def _check_mapped(self, ids: np.ndarray, label_map: Optional[Dict[int, int]],
                      path: str) -> None:
        if label_map is None:
            return
        unmapped = ids[~np.isin(ids, list(label_map)) & (ids != self.ignore_index)]
        if unmapped.size:
            keys = sorted(label_map)
            raise ValueError(
                f"label file {path} holds ids {_ids(unmapped)} that the dataset's label_map "
                f'does not map (it maps ids {keys[0]}..{keys[-1]}'
                f'{", after reduce_zero_label" if self.reduce_zero_label else ""}): not the '
                "dataset's ids (raw ids of another label set?)")

    def _load_seg_map(self, results: dict) -> None:
        path = results['seg_map_path']
        labels = check_label_ids(_read(path, self.backend_args, self.imdecode_backend), path)
        lut = np.arange(256, dtype=np.uint8)
        if self._reduce_zero_label(results):  # as mmseg: 0 -> 255, i -> i - 1, 255 stays
            lut = np.concatenate([[255], np.arange(255)]).astype(np.uint8)
            lut[255] = 255
        label_map = results.get('label_map')
        self._check_mapped(lut[_present(labels)], label_map, path)
        reduced = lut.copy()  # mmseg's label_map loop, on a table of the 256 ids
        for old, new in (label_map or {}).items():
            lut[reduced == old] = new
        if self.num_classes is not None:
            ids = _present(labels)
            bad = ids[(lut[ids] >= self.num_classes) & (lut[ids] != self.ignore_index)]
            if bad.size:
                raise ValueError(
                    f'label file {path} holds ids {_ids(bad)}, which become '
                    f'{_ids(lut[bad])} (reduce_zero_label={self.reduce_zero_label}, label_map '
                    f'{"given" if label_map else "none"}): beyond the {self.num_classes} '
                    f'classes of the dataset (train ids 0..{self.num_classes - 1}, '
                    f'{self.ignore_index} ignored)')
        results['gt_seg_map'] = lut[labels]
        results['seg_fields'].append('gt_seg_map')

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_classes={self.num_classes}, '
                f'ignore_index={self.ignore_index}, reduce_zero_label={self.reduce_zero_label}, '
                f"imdecode_backend='{self.imdecode_backend}', backend_args={self.backend_args})")
