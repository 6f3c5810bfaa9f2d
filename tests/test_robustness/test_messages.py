"""Messages that name the right thing (issue 25, section 4): each case is reproduced as it was
reported (wrong file named, silently ignored, silently misread, passed a check it should fail)
and must now fail with an error naming the right file or key, in training and in
``tools/misc/verify_dataset.py``."""
import mask3d_mm  # noqa: F401,I001  (first: mask3d_mm/compat.py says why)

import ast
import glob
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.registry import DATASETS, DefaultScope

from helpers.tools import PRETRAIN_CONFIG, REPO, load_tool, run_tool_main
from mask3d_mm.datasets.nyu40 import scannet20_label_map
from mask3d_mm.datasets.transforms import LoadDepthFromFile
from mask3d_mm.datasets.transforms.loading import ImplausibleDepthError
from mask3d_mm.tooling import apply_cfg_options, parse_cfg_options
from mask3d_mm.tooling.cfg_options import check_config_keys, misspelt_runner_key, runner_keys

SEG_CONFIG = osp.join(REPO, 'configs/benchmarks/mmseg/upernet_vit-tiny_synthetic-scannet20.py')
FRAME = ('scene0000_00', '000001')


@pytest.fixture
def scannet_copy(synthetic_scannet, tmp_path) -> str:
    """A writable copy of the session's synthetic set (2 scenes x 4 frames, labels 120x160)."""
    root = str(tmp_path / 'data')
    shutil.copytree(synthetic_scannet, root)
    return root


def _file(root: str, modality: str, suffix: str = '.png') -> str:
    return osp.join(root, FRAME[0], modality, FRAME[1] + suffix)


def _seg_cfg(root: str, tmp_path) -> str:
    """The shipped tiny ScanNet-20 config on ``root``, written for the tools."""
    cfg = Config.fromfile(SEG_CONFIG)
    cfg.train_dataloader.dataset.update(data_root=root, ann_file='')
    path = str(tmp_path / 'seg.py')
    cfg.dump(path)
    return path


def _train_dataset(cfg_path: str):
    cfg = Config.fromfile(cfg_path)
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return DATASETS.build(cfg.train_dataloader.dataset)


def _frame_index(dataset, path: str) -> int:
    return next(i for i in range(len(dataset))
                if dataset.get_data_info(i)['seg_map_path'] == path)


def _verify(cfg_path: str, tmp_path) -> list:
    """``verify_dataset.py CONFIG`` in this process: its bad-frame lines (it must exit 1)."""
    out = tmp_path / 'bad.txt'
    with pytest.raises(SystemExit) as e:
        run_tool_main('misc/verify_dataset', cfg_path, '--out-path', str(out))
    assert e.value.code == 1
    return out.read_text().splitlines()


# 1. a wrong-size label map: the error named the depth file; verify_dataset found nothing


def test_wrong_size_label_map_is_named_in_training_and_verify(scannet_copy, tmp_path):
    label = _file(scannet_copy, 'label')
    assert cv2.imwrite(label, np.full((120, 120), 1, np.uint8))  # 1:1, the frame is 4:3
    cfg_path = _seg_cfg(scannet_copy, tmp_path)
    dataset = _train_dataset(cfg_path)
    index = _frame_index(dataset, label)
    assert dataset.get_data_info(index)['depth_path'] == _file(scannet_copy, 'depth')
    with pytest.raises(ValueError, match='aspect ratios differ') as e:
        dataset[index]
    msg = str(e.value)
    assert f'label map {label} (gt_seg_map) is 120x120' in msg, msg
    assert _file(scannet_copy, 'depth') not in msg, msg  # the old message named the depth file
    lines = _verify(cfg_path, tmp_path)
    assert len(lines) == 1 and f'label map {label} (gt_seg_map)' in lines[0], lines


def test_verify_checks_label_size_without_an_align_step(scannet_copy, tmp_path):
    """A pipeline without ``AlignImageTo`` (mmseg's NYUv2 style): the label map is still held
    to its image's aspect ratio."""
    label = _file(scannet_copy, 'label')
    assert cv2.imwrite(label, np.full((120, 120), 1, np.uint8))
    cfg = Config.fromfile(SEG_CONFIG)
    cfg.train_dataloader.dataset.update(data_root=scannet_copy, ann_file='')
    cfg.train_dataloader.dataset.pipeline = [p for p in cfg.train_pipeline
                                             if p.type != 'mask3d_mm.AlignImageTo'][:2]
    cfg.dump(str(tmp_path / 'noalign.py'))
    lines = _verify(str(tmp_path / 'noalign.py'), tmp_path)
    assert len(lines) == 1 and f'label map {label} (gt_seg_map) is 120x120' in lines[0], lines


# 2. a top-level typo in a config file was silently ignored


def _child_config(tmp_path, body: str) -> str:
    path = tmp_path / 'child.py'
    path.write_text(f'_base_ = [{PRETRAIN_CONFIG!r}]\n{body}\n')
    return str(path)


def test_config_file_typo_is_refused_by_the_tools(tmp_path):
    path = _child_config(tmp_path, 'trian_cfg = dict(max_epochs=1)')
    cfg = Config.fromfile(path)
    assert 'trian_cfg' in cfg and cfg.train_cfg.max_epochs != 1  # mmengine keeps both
    with pytest.raises(KeyError, match=r"'trian_cfg' .*did you mean train_cfg\?") as e:
        apply_cfg_options(cfg, None, {})
    assert path in str(e.value)
    for tool, argv in (('train', [path, '--work-dir', str(tmp_path / 'w')]),
                       ('test', [path, str(tmp_path / 'none.pth')]),
                       ('misc/verify_dataset', [path])):
        with pytest.raises(KeyError, match=r"'trian_cfg' .*did you mean train_cfg\?"):
            run_tool_main(tool, *argv)
    assert not osp.exists(tmp_path / 'w')  # refused before anything was built


def test_config_variables_are_not_typos(tmp_path):
    body = '\n'.join(['data_root = "data/x"', 'crop_size = (96, 128)', 'max_depth = 10.0',
                      'num_classes = 20', 'train_pipeline = []', 'test_pipeline = []',
                      'val_pipeline = []', 'dataset_type = "x"', 'norm_cfg = dict()',
                      'backend_args = None', 'max_epochs = 3', 'optimizer = dict()',
                      '_trian_cfg = 1'])
    check_config_keys(Config.fromfile(_child_config(tmp_path, body)))


@pytest.mark.parametrize('key,target', [
    ('trian_cfg', 'train_cfg'), ('randomnes', 'randomness'), ('defualt_hooks', 'default_hooks'),
    ('work_dirs', 'work_dir'), ('load_form', 'load_from'), ('visualiser', 'visualizer'),
    ('custom_hook', 'custom_hooks'), ('val_dataloder', 'val_dataloader'),
    ('models', 'model'), ('train_pipeline', None), ('test_pipeline', None),
    ('val_dataset', None), ('resume_from', None), ('norm_cfg', None), ('cfg1', None)])
def test_misspelt_runner_keys(key, target):
    assert misspelt_runner_key(key, runner_keys()) == target


def _top_level_names(files) -> dict:
    """name -> files assigning it at top level (what ``Config.fromfile`` keeps as keys)."""
    names = {}
    for f in files:
        for node in ast.parse(open(f).read()).body:
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, ast.AnnAssign) else [])
            for name in (n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)):
                names.setdefault(name, []).append(f)
    return names


def test_shipped_and_upstream_config_variables_pass():
    """Every top-level name of the shipped configs (bases included) passes; of the 2531
    config files of the pinned mmseg, mmdet and mmpretrain, only mmseg's BiSeNetV2 OHEM config
    is flagged: its ``models = dict(...)`` (OHEM sampler) is indeed ignored by the Runner."""
    shipped = _top_level_names(glob.glob(osp.join(REPO, 'configs/**/*.py'), recursive=True))
    known = runner_keys()
    assert not {n: misspelt_runner_key(n, known) for n in shipped
                if misspelt_runner_key(n, known)}
    import mmdet, mmpretrain, mmseg  # noqa: E401
    upstream = [f for m in (mmseg, mmdet, mmpretrain) for f in glob.glob(
        osp.join(osp.dirname(m.__file__), '.mim/configs/**/*.py'), recursive=True)]
    flagged = {n: fs for n, fs in _top_level_names(upstream).items()
               if misspelt_runner_key(n, known)}
    assert list(flagged) == ['models'] and len(flagged['models']) == 1, flagged
    assert flagged['models'][0].endswith('bisenetv2_fcn_4xb4-ohem-160k_cityscapes-1024x1024.py')


@pytest.mark.slow
def test_every_shipped_config_passes_the_key_check():
    """``Config.fromfile`` + the check for every shipped config (no building; ~1 s each)."""
    for path in sorted(glob.glob(osp.join(REPO, 'configs/**/*.py'), recursive=True)):
        if '/_base_/' not in path:
            check_config_keys(Config.fromfile(path))


# 3. a uint16 label map of raw ids was cast to uint8 (257 -> 1 = wall) without a word


def test_raw_uint16_label_ids_are_refused(scannet_copy, tmp_path):
    label = _file(scannet_copy, 'label')
    raw = (257 + np.arange(120 * 160) % 11).reshape(120, 160).astype(np.uint16)  # 257..267
    assert cv2.imwrite(label, raw)
    from mmseg.datasets.transforms import LoadAnnotations  # the reported behaviour
    info = dict(seg_map_path=label, reduce_zero_label=False, seg_fields=[],
                label_map=scannet20_label_map())
    misread = LoadAnnotations()(dict(info))['gt_seg_map']
    assert set(np.unique(misread)) <= set(range(20)) | {255} and (misread == 0).any()  # wall
    cfg_path = _seg_cfg(scannet_copy, tmp_path)
    dataset = _train_dataset(cfg_path)
    with pytest.raises(ValueError, match=r'uint16 map with ids outside 0\.\.255 \(257, 258') as e:
        dataset[_frame_index(dataset, label)]
    assert f'label file {label}' in str(e.value)
    lines = _verify(cfg_path, tmp_path)
    assert len(lines) == 1 and f'label file {label} is a uint16 map' in lines[0], lines


def test_label_ids_outside_the_classes_are_refused(tmp_path):
    from mask3d_mm.datasets import LoadSegLabels
    path = str(tmp_path / 'l.png')
    labels = np.arange(12 * 16).reshape(12, 16).astype(np.uint8) % 41
    labels[-1] = 255
    assert cv2.imwrite(path, labels)
    from mmseg.datasets.transforms import LoadAnnotations
    for reduce, label_map, num_classes in ((False, scannet20_label_map(), None),
                                           (True, None, 40),
                                           (True, {i: (i * 7) % 40 for i in range(40)}, 40)):
        info = dict(seg_map_path=path, reduce_zero_label=reduce, label_map=label_map)
        ours = LoadSegLabels(num_classes=num_classes)(dict(info, seg_fields=[]))['gt_seg_map']
        theirs = LoadAnnotations()(dict(info, seg_fields=[]))['gt_seg_map']
        np.testing.assert_array_equal(ours, theirs)  # mmseg's result on a valid map
    labels[0, 0] = 77
    assert cv2.imwrite(path, labels)
    with pytest.raises(ValueError, match=f'label file {path} holds ids 77 that the dataset'):
        LoadSegLabels()(dict(seg_map_path=path, reduce_zero_label=False, seg_fields=[],
                             label_map=scannet20_label_map()))
    with pytest.raises(ValueError, match=f'label file {path} holds ids 77, which become 76'):
        LoadSegLabels(num_classes=40)(dict(seg_map_path=path, reduce_zero_label=True,
                                           seg_fields=[]))
    assert cv2.imwrite(path, np.zeros((12, 16, 3), np.uint8))
    with pytest.raises(ValueError, match=f'label file {path} has shape'):
        LoadSegLabels()(dict(seg_map_path=path, reduce_zero_label=False, seg_fields=[]))


# 4. millimetres read at a 4-5x too small scale passed the plausibility check


def _reads(path: str, **kwargs) -> bool:
    """Whether ``path`` passes the plausibility check when read with ``kwargs``."""
    try:
        LoadDepthFromFile(on_implausible='error', **kwargs)(dict(depth_path=path))
    except ImplausibleDepthError:
        return False
    return True


def test_millimetres_read_too_small_are_flagged(synthetic_scannet):
    files = sorted(glob.glob(osp.join(synthetic_scannet, '*', 'depth', '*.png')))
    assert len(files) == 8
    flagged = {'tum': 0, 'matterport': 0}
    for path in files:
        assert _reads(path)  # millimetres read as such
        depth = LoadDepthFromFile()(dict(depth_path=path))['depth']
        median = np.median(depth[depth > 0])
        for encoding, factor in (('tum', 5), ('matterport', 4)):
            ok = _reads(path, encoding=encoding)
            flagged[encoding] += not ok
            if median < 0.8 * factor:  # the documented reach of the rule: see near_symptom
                assert not ok, (path, encoding, median)
    assert flagged == {'tum': 8, 'matterport': 6}, flagged  # 2 rooms with medians > 3.2 m
    with pytest.raises(ImplausibleDepthError) as e:
        LoadDepthFromFile(encoding='tum', on_implausible='error')(dict(depth_path=files[0]))
    msg = str(e.value)
    assert f"depth file {files[0]} looks implausible for encoding='tum'" in msg
    assert 'plausibility=dict(near_median_depth=0)' in msg  # how to accept such frames
    assert "Likely cause: the values decode plausibly as encoding='scannet'" in msg


def test_close_range_frames(tmp_path):
    """A tabletop at 0.6 m with some background at 1.5-2 m passes; with no background at
    all it is flagged (the rule's documented limit) and passes with the rule turned off."""
    h, w = 120, 160
    depth = np.full((h, w), 0.6) + np.linspace(0, 0.1, w)[None]  # the table top, slanted
    depth[:12] = np.linspace(1.5, 2.0, w)[None]  # 10% background
    path = str(tmp_path / 'table.png')
    assert cv2.imwrite(path, np.round(depth * 1000).astype(np.uint16))
    assert _reads(path)
    depth[:12] = 0.9  # a wall right behind the table: nothing beyond 1.5 m
    assert cv2.imwrite(path, np.round(depth * 1000).astype(np.uint16))
    assert not _reads(path)
    assert _reads(path, plausibility=dict(near_median_depth=0))


# 5. --cfg-options lost the spaces inside values (mmengine's DictAction deletes them)


def test_cfg_option_values_keep_their_spaces(tmp_path, monkeypatch):
    assert parse_cfg_options(['work_dir=/tmp/a b', "x='/x/my file.pth'", 'l=[1, 2]',
                              "t=('a b', c)"]) == {
                                  'work_dir': '/tmp/a b', 'x': '/x/my file.pth', 'l': [1, 2],
                                  't': ('a b', 'c')}
    train = load_tool('tools/train.py')
    monkeypatch.setenv('MASK3D_MM_CFG_OPTIONS', "load_from='/x/my file.pth'")
    cfg = Config.fromfile(PRETRAIN_CONFIG)
    args = train.parse_args([PRETRAIN_CONFIG, '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                             f'work_dir={tmp_path}/a b',
                             'train_dataloader.dataset.data_root=/data/my set'])
    train.merge_args(cfg, args)
    assert cfg.work_dir == f'{tmp_path}/a b'
    assert cfg.train_dataloader.dataset.data_root == '/data/my set'
    assert cfg.load_from == '/x/my file.pth'
    test = load_tool('tools/test.py')
    cfg = Config.fromfile(PRETRAIN_CONFIG)
    args = test.parse_args([PRETRAIN_CONFIG, 'ckpt.pth', '--work-dir', str(tmp_path / 't'),
                            '--cfg-options', 'val_dataloader.dataset.data_root=/data/my set'])
    test.merge_args(cfg, args)
    assert cfg.test_dataloader.dataset.data_root == '/data/my set'
