"""Writers of tiny NYUv2 .mat files in MATLAB's layouts, for the segmentation tests."""
import os.path as osp
from typing import Dict

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NYU_HW = (96, 128)  # H != W: a transposed frame would not even have the right shape
NYU_TRAIN, NYU_TEST = [1, 3, 4], [2, 5]  # 1-based, as in splits.mat


def nyu_frames(num: int = 5, hw=NYU_HW, seed: int = 0) -> Dict[str, np.ndarray]:
    """Frames as MATLAB holds them, (H, W, ...) per frame: rgb uint8, depth float32 metres,
    raw labels uint16 (0..894); plus the 894-entry ``mapClass``."""
    rng = np.random.default_rng(seed)
    h, w = hw
    yy, xx = np.mgrid[:h, :w]
    rgb = np.stack([np.stack([(yy * 2 + n) % 256, (xx * 2) % 256, (yy + xx + 40 * n) % 256], -1)
                    for n in range(num)]).astype(np.uint8)
    depth = (0.5 + yy / h + xx / (2 * w) + 0.1 * np.arange(num)[:, None, None]).astype(
        np.float32)
    raw = rng.integers(0, 895, (num, h, w)).astype(np.uint16)
    raw[:, :4] = 0  # unlabelled border, as in the real set
    map_class = rng.integers(0, 41, 894).astype(np.float64)
    return dict(rgb=rgb, depth=depth, raw=raw, map_class=map_class)


def write_labeled_mat(path: str, frames: Dict[str, np.ndarray]) -> None:
    """A MATLAB v7.3 file: HDF5 behind a 512-byte header, arrays stored column-major, i.e.
    with reversed axes as h5py reads them: images (N, 3, W, H), depths/labels (N, W, H)."""
    import h5py
    with h5py.File(path, 'w', userblock_size=512) as f:
        f.create_dataset('images', data=frames['rgb'].transpose(0, 3, 2, 1))
        f.create_dataset('depths', data=frames['depth'].transpose(0, 2, 1))
        f.create_dataset('labels', data=frames['raw'].transpose(0, 2, 1))
    with open(path, 'r+b') as f:
        f.write(b'MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: test HDF5 schema 1.00 .')


def write_splits_mat(path: str, v73: bool = False) -> None:
    """``splits.mat``: trainNdxs / testNdxs as MATLAB column vectors (k x 1), 1-based."""
    train = np.array(NYU_TRAIN, np.float64)[:, None]
    test = np.array(NYU_TEST, np.float64)[:, None]
    if v73:
        import h5py
        with h5py.File(path, 'w') as f:  # MATLAB (k, 1) -> HDF5 (1, k)
            f.create_dataset('trainNdxs', data=train.T)
            f.create_dataset('testNdxs', data=test.T)
    else:
        from scipy.io import savemat
        savemat(path, dict(trainNdxs=train, testNdxs=test))


def write_class_mapping(path: str, map_class: np.ndarray) -> None:
    """``classMapping40.mat`` (MATLAB v5): mapClass 1 x 894, className 1 x 40."""
    from scipy.io import savemat
    from mask3d_mm.datasets.nyu40 import NYU40_CLASSES
    names = np.empty((1, 40), dtype=object)
    names[0, :] = list(NYU40_CLASSES)
    savemat(path, dict(mapClass=map_class[None, :], className=names))


TINY_ARCH = dict(embed_dims=128, num_layers=4, num_heads=4, feedforward_channels=512)
TINY_CROP = (96, 128)  # the 6x8 grid of the tiny Mask3D export


def shrink_seg_cfg(cfg, data_root: str, checkpoint, work_dir: str, crop=TINY_CROP,
                   resize: bool = True):
    """An mmseg UperNet config (segmentation or depth) at toy size: the tiny ViT at
    ``TINY_CROP``, 2 iterations, CPU, no workers. ``crop``: the training crop size; ``resize``:
    set the pipelines' (Random)Resize scales to ``TINY_CROP`` as well."""
    m = cfg.model
    m.backbone.update(arch=TINY_ARCH, img_size=TINY_CROP, out_indices=(0, 1, 2, 3),
                      drop_path_rate=0.0)
    if m.backbone.init_cfg is not None:
        m.backbone.init_cfg.checkpoint = checkpoint
    m.neck.update(in_channels=[128] * 4, out_channels=128)
    m.decode_head.update(in_channels=[128] * 4, channels=32)
    m.auxiliary_head.update(in_channels=128, channels=16)
    m.data_preprocessor.size = TINY_CROP
    if m.get('test_cfg', {}).get('mode') == 'slide':
        m.test_cfg.update(crop_size=TINY_CROP, stride=(48, 64))
    scannet = 'ScanNet' in cfg.train_dataloader.dataset.type
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.update(batch_size=2 if name == 'train_dataloader' else 1, num_workers=0,
                      persistent_workers=False)
        loader.dataset.data_root = data_root
        if scannet:  # the synthetic fixture has no scene lists
            train = name == 'train_dataloader'
            loader.dataset.update(ann_file='', scenes=['scene0000_00' if train else 'scene0001_00'],
                                  frame_skip=1 if train else 2)
        for t in loader.dataset.pipeline:
            if resize and t.type in ('Resize', 'RandomResize'):
                t.scale = TINY_CROP[::-1]
            if 'crop_size' in t:
                t.crop_size = crop
    cfg.optim_wrapper.type = 'OptimWrapper'  # AMP needs a GPU
    cfg.optim_wrapper.pop('loss_scale', None)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=2)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100, save_last=False)
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=0)
    return cfg
