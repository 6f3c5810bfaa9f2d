"""Convert NYUv2's ``nyu_depth_v2_labeled.mat`` into PNG folders for semantic segmentation.

Inputs (NYU Depth v2 and the 40-class benchmark of Gupta et al.):

- ``nyu_depth_v2_labeled.mat``: MATLAB v7.3 (HDF5), read with h5py. MATLAB is column-major,
  so h5py shows every array with its axes reversed: ``images`` (N, 3, W, H) uint8,
  ``depths`` (N, W, H) float metres, ``labels`` (N, W, H) raw class ids (0 = unlabelled,
  1..894). Frame ``i`` is ``images[i].transpose(2, 1, 0)`` (H, W, 3) RGB and ``labels[i].T``.
- ``splits.mat``: ``trainNdxs`` (795) and ``testNdxs`` (654), 1-based frame numbers.
  MATLAB v5 (scipy) or v7.3 (h5py); both are read.
- ``classMapping40.mat``: field ``mapClass`` (1 x 894): ``mapClass[k - 1]`` is the NYU40 id
  (1..40, 0 = none) of raw class ``k``; raw 0 stays 0. Instead of the .mat, a ``.npy`` or
  ``.txt`` with the 894 values (or 895, starting with raw class 0) is accepted.

Output: ``images/{split}/NNNN.png`` (RGB as 8-bit PNG), ``labels40/{split}/NNNN.png`` (uint8,
0 = ignore, 1..40), ``depth/{split}/NNNN.png`` (uint16 millimetres), ``NNNN`` the 1-based frame
number of the .mat (zero-padded to 4 digits).
"""
import os
import os.path as osp
import shutil
import uuid
from typing import Callable, Dict, Optional, Sequence, Tuple

import cv2
import numpy as np

__all__ = ['OUTPUTS', 'read_mat_arrays', 'read_splits', 'read_class_mapping', 'convert_nyuv2',
           'check_outputs', 'replace_outputs', 'convert_nyuv2_set']

OUTPUTS = ('images', 'labels40', 'depth')  # the folders of a converted set


def read_mat_arrays(path: str, keys: Tuple[str, ...]) -> Dict[str, np.ndarray]:
    """Read named arrays from a .mat file, v7.3 (HDF5, axes as MATLAB writes them: reversed
    back here) or v5 (scipy). Returns each as MATLAB sees it (e.g. 1 x 894)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} does not exist')
    import h5py
    if h5py.is_hdf5(path):
        with h5py.File(path, 'r') as f:
            missing = [k for k in keys if k not in f]
            if missing:
                raise KeyError(f'{path} has no {missing}; it has {sorted(f.keys())}')
            return {k: np.asarray(f[k]).T for k in keys}
    from scipy.io import loadmat
    data = loadmat(path)
    missing = [k for k in keys if k not in data]
    if missing:
        names = sorted(k for k in data if not k.startswith('__'))
        raise KeyError(f'{path} has no {missing}; it has {names}')
    return {k: np.asarray(data[k]) for k in keys}


def read_splits(path: str) -> Tuple[np.ndarray, np.ndarray]:
    """0-based (train, test) frame indices from ``splits.mat`` (1-based in the file)."""
    arrays = read_mat_arrays(path, ('trainNdxs', 'testNdxs'))
    train, test = (arrays[k].reshape(-1).astype(np.int64) - 1 for k in ('trainNdxs', 'testNdxs'))
    if min(train.min(), test.min()) < 0:
        raise ValueError(f'{path}: indices must be 1-based')
    if np.intersect1d(train, test).size:
        raise ValueError(f'{path}: train and test indices overlap')
    return train, test


def read_class_mapping(path: str, key: str = 'mapClass') -> np.ndarray:
    """(895,) uint8 look-up table raw class id -> NYU40 id (entry 0 = unlabelled -> 0).

    Args:
        path (str): ``classMapping40.mat`` (field ``key``), or a ``.npy`` / ``.txt`` with 894
            values (raw ids 1..894) or 895 (raw ids 0..894).
        key (str): field of the .mat. Defaults to 'mapClass'.
    """
    if path.endswith('.npy'):
        values = np.load(path)
    elif path.endswith('.txt'):
        values = np.loadtxt(path)
    else:
        values = read_mat_arrays(path, (key,))[key]
    values = np.asarray(values).reshape(-1)
    if values.size == 894:
        values = np.concatenate([[0], values])
    if values.size != 895:
        raise ValueError(f'{path}: expected 894 (or 895) class ids, got {values.size}')
    if values.min() < 0 or values.max() > 40 or values[0] != 0:
        raise ValueError(f'{path}: ids must be in 0..40 with raw class 0 -> 0')
    return values.astype(np.uint8)


def _write(path: str, img: np.ndarray) -> None:
    if not cv2.imwrite(path, img):
        raise OSError(f'could not write {path}')


def convert_nyuv2(labeled_mat: str,
                  splits_mat: str,
                  out_dir: str,
                  mapping: str,
                  with_depth: bool = True,
                  progress: Optional[Callable[[int, int], None]] = None) -> Dict[str, int]:
    """Write the PNG folders (module docstring) and return the number of frames per split.

    Args:
        labeled_mat (str): ``nyu_depth_v2_labeled.mat`` (v7.3 / HDF5).
        splits_mat (str): ``splits.mat``.
        out_dir (str): output root.
        mapping (str): ``classMapping40.mat`` or a .npy / .txt alternative.
        with_depth (bool): also write ``depth/``. Defaults to True.
        progress (callable, optional): called with (done, total) after each frame.
    """
    import h5py
    lut = read_class_mapping(mapping)
    splits = dict(zip(('train', 'test'), read_splits(splits_mat)))
    if not h5py.is_hdf5(labeled_mat):
        raise ValueError(f'{labeled_mat} is not a MATLAB v7.3 (HDF5) file')
    counts = {}
    with h5py.File(labeled_mat, 'r') as f:
        images, labels = f['images'], f['labels']
        depths = f['depths'] if with_depth else None
        num = images.shape[0]
        if images.ndim != 4 or images.shape[1] != 3 or labels.shape != (num, ) + images.shape[2:]:
            raise ValueError(f'{labeled_mat}: unexpected shapes images {images.shape}, labels '
                             f'{labels.shape} (expected (N, 3, W, H) and (N, W, H))')
        total, done = sum(len(v) for v in splits.values()), 0
        for split, indices in splits.items():
            if indices.max(initial=-1) >= num:
                raise ValueError(f'{splits_mat}: {split} index {indices.max() + 1} > {num} frames')
            dirs = {d: osp.join(out_dir, d, split) for d in ('images', 'labels40', 'depth')}
            for d in ('images', 'labels40') + (('depth', ) if with_depth else ()):
                os.makedirs(dirs[d], exist_ok=True)
            for i in indices:
                name = f'{i + 1:04d}.png'
                rgb = np.ascontiguousarray(images[i].transpose(2, 1, 0))  # (H, W, 3)
                _write(osp.join(dirs['images'], name), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
                raw = np.asarray(labels[i]).T
                if raw.max() >= lut.size:
                    raise ValueError(f'{labeled_mat}: frame {i + 1} has raw class '
                                     f'{raw.max()} > {lut.size - 1}')
                _write(osp.join(dirs['labels40'], name), lut[raw])
                if with_depth:
                    mm = np.round(np.asarray(depths[i], np.float64).T * 1000.0)
                    _write(osp.join(dirs['depth'], name), np.clip(mm, 0, 65535).astype(np.uint16))
                done += 1
                if progress is not None:
                    progress(done, total)
            counts[split] = len(indices)
    return counts


def check_outputs(out_dir: str, force: bool, inputs: Sequence[str]) -> None:
    """Refuse existing output folders without ``force``, and always refuse replacing a folder
    that holds an input."""
    existing = [d for d in OUTPUTS if osp.lexists(osp.join(out_dir, d))]
    if existing and not force:
        raise FileExistsError(f'{out_dir} already holds {existing}: pass --force to replace '
                              'them by this conversion')
    for d in existing:
        folder = osp.realpath(osp.join(out_dir, d))
        for path in inputs:
            if osp.realpath(path).startswith(folder + os.sep):
                raise ValueError(f'the input {path} is inside the output folder {folder}, '
                                 'which this conversion would replace; move it first')


def replace_outputs(part: str, out_dir: str) -> None:
    """Move the folders converted into ``part`` to ``out_dir``; old ones are deleted after."""
    old = part[:-len('.part')] + '.old'
    os.makedirs(old)
    for d in OUTPUTS:
        if osp.lexists(osp.join(out_dir, d)):
            os.rename(osp.join(out_dir, d), osp.join(old, d))
    for d in OUTPUTS:
        if osp.isdir(osp.join(part, d)):
            os.rename(osp.join(part, d), osp.join(out_dir, d))
    shutil.rmtree(old)
    os.rmdir(part)


def convert_nyuv2_set(labeled_mat: str, splits_mat: str, out_dir: str, mapping: str,
                      with_depth: bool = True, force: bool = False,
                      progress: Optional[Callable[[int, int], None]] = None) -> Dict[str, int]:
    """:func:`convert_nyuv2` that never leaves a partial or mixed set: existing output folders
    are refused unless ``force`` (then all three are replaced); the set is converted into a
    hidden ``.nyuv2_mat-*.part`` folder of ``out_dir`` and moved into place when complete."""
    check_outputs(out_dir, force, [labeled_mat, splits_mat, mapping])
    part = osp.join(out_dir, f'.nyuv2_mat-{os.getpid()}-{uuid.uuid4().hex[:8]}.part')
    os.makedirs(part)
    try:
        counts = convert_nyuv2(labeled_mat, splits_mat, part, mapping, with_depth=with_depth,
                               progress=progress)
    except BaseException:
        shutil.rmtree(part)
        raise
    replace_outputs(part, out_dir)
    return counts
