"""Bad input across datasets, model and tools: one table, one policy (docs/robustness.md).

Each row breaks one thing. Default (fail fast): a clear error naming the file (or the config key)
and the problem; structural problems before the first iteration, content problems when the
frame is read. Where a documented skip exists, the row also runs with it: no error, the skip
counted in the log. Rows about file contents are also all found up front by
``tools/misc/verify_dataset.py``. Never a NaN loss.
"""
import logging
import os
import os.path as osp
import re
import shutil
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import default_collate
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper
from mmengine.registry import DATASETS

from helpers.tools import run_tool_main, tiny_pretrain_cfg, write_cfg
from mask3d_mm.registry import MODELS

BAD = 'scene0000_00/{}/000001.{}'  # the frame that the data rows break


def _color(root: str) -> str:
    return osp.join(root, BAD.format('color', 'jpg'))


def _depth(root: str) -> str:
    return osp.join(root, BAD.format('depth', 'png'))


def _remove(path: str) -> str:
    os.remove(path)
    return path


def _write_depth(root: str, make: Callable[[np.ndarray], np.ndarray]) -> str:
    path = _depth(root)
    depth = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    assert cv2.imwrite(path, make(depth))
    return path


def _truncate(path: str, keep: float) -> str:
    """Keep the first ``keep`` fraction of the file's bytes."""
    with open(path, 'rb') as f:
        head = f.read(int(keep * osp.getsize(path)))
    with open(path, 'wb') as f:
        f.write(head)
    return path


def _empty_root(root: str) -> str:
    for name in os.listdir(root):
        shutil.rmtree(osp.join(root, name))
    return root


def _float_depth_with_nan(root: str) -> str:
    """Every depth map as float32 metres (.tiff); the first frame has NaN holes."""
    first = None
    for scene in sorted(os.listdir(root)):
        folder = osp.join(root, scene, 'depth')
        for name in sorted(os.listdir(folder)):
            depth = cv2.imread(osp.join(folder, name), cv2.IMREAD_UNCHANGED) / 1000.0
            path = osp.join(folder, name[:-4] + '.tiff')
            if first is None:
                depth[:10, :10] = np.nan
                first = path
            assert cv2.imwrite(path, depth.astype(np.float32))
            os.remove(osp.join(folder, name))
    return first


@dataclass
class Case:
    error: type
    problem: str  # regex of the problem, in the message besides the file
    breaks: Optional[Callable[[str], str]] = None  # data rows: break the copy, return the file
    stage: str = 'build'  # data rows: 'build' (dataset construction) or 'load' (frame read)
    dataset: Dict = field(default_factory=dict)  # extra dataset arguments
    skip: Optional[Dict] = None  # dataset arguments that skip the frame instead; logged
    skip_log: str = ''
    seg: bool = False  # the row is about the mmseg ScanNet dataset
    bad_frames: int = 1  # frames that verify_dataset.py reports
    run: Optional[Callable] = None  # other rows: run(data_root, tmp_path) raises
    name: str = ''  # other rows: what the message names ({root}, {tmp} filled in)


# ---- model and tool rows -------------------------------------------------------------------
def _train_step_with_nan(key: str) -> Callable:
    """A real batch with NaN in the colour or the depth of sample 1, through train_step."""

    def run(root: str, tmp_path) -> None:
        cfg = tiny_pretrain_cfg(root)
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
        model = MODELS.build(cfg.model)
        batch = default_collate([dataset[i] for i in range(2)])
        if key == 'rgb':
            batch['inputs'] = batch['inputs'].float()
            batch['inputs'][1, :, :4, :4] = float('nan')
        else:
            batch['data_samples'][1].depth[:4, :4] = float('nan')
        before = [p.detach().clone() for p in model.parameters()]
        optim = OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-3))
        try:
            model.train_step(batch, optim)
        finally:  # rejected before any update
            assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))

    return run


def _tool(tool: str, *args: str, setup: Optional[Callable[[str], None]] = None) -> Callable:
    """Run tools/<tool>.py; ``{cfg}``, ``{work}`` and ``{tmp}`` in args are filled in;
    ``setup(tmp)`` writes the files the row needs first."""

    def run(root: str, tmp_path) -> None:
        cfg = write_cfg(tiny_pretrain_cfg(root, validate=True), str(tmp_path / 'tiny.py'))
        fill = dict(cfg=cfg, work=str(tmp_path / 'work'), tmp=str(tmp_path))
        if setup is not None:
            setup(str(tmp_path))
        run_tool_main(tool, *[a.format(**fill) for a in args])

    return run


def _truncated_checkpoint(tmp: str) -> None:
    """What a kill in the middle of a checkpoint save leaves."""
    path = osp.join(tmp, 'iter_4.pth')
    torch.save(dict(state_dict={'backbone.cls_token': torch.zeros(1, 1, 128)}), path)
    _truncate(path, 0.5)


def _init_from_mmseg_named_vit(root: str, tmp_path) -> None:
    """The pre-training model initialised from its own ViT saved with mmseg's ViT names."""
    cfg = tiny_pretrain_cfg(root)
    names = (('.attn.qkv.weight', '.attn.attn.in_proj_weight'),
             ('.attn.qkv.bias', '.attn.attn.in_proj_bias'), ('.attn.proj.', '.attn.attn.out_proj.'))
    state = {}
    for key, value in MODELS.build(cfg.model.backbone).state_dict().items():
        for old, new in names:
            key = key.replace(old, new)
        state[f'backbone.{key}'] = value
    path = str(tmp_path / 'upernet_vit.pth')
    torch.save(dict(state_dict=state), path)
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=path, prefix='backbone.')
    MODELS.build(cfg.model).init_weights()


def _seg_checkpoint(tmp: str) -> None:
    torch.save(dict(state_dict={'decode_head.conv_seg.weight': torch.zeros(2)}),
               osp.join(tmp, 'upernet.pth'))


CASES = {
    # structural problems: found when the dataset is built, before the first iteration
    'missing-color': Case(FileNotFoundError, 'lacks required file', lambda r: _remove(_color(r)),
                          skip=dict(skip_incomplete=True), skip_log=r'skipped 1 frame'),
    'missing-depth': Case(FileNotFoundError, 'lacks required file', lambda r: _remove(_depth(r)),
                          skip=dict(skip_incomplete=True), skip_log=r'skipped 1 frame'),
    'empty-data-root': Case(FileNotFoundError, 'no scene found', _empty_root),
    'missing-data-root': Case(FileNotFoundError, 'does not exist',
                              lambda r: shutil.rmtree(r) or r),
    'seg-missing-label': Case(FileNotFoundError, 'lacks required file',
                              lambda r: _remove(osp.join(r, BAD.format('label', 'png'))),
                              seg=True, skip=dict(skip_incomplete=True),
                              skip_log=r'skipped 1 frame'),
    # file contents: found when the frame is read (or up front by verify_dataset.py)
    'rgb-depth-aspect-mismatch': Case(
        ValueError, 'does not match the aspect ratio',
        lambda r: _write_depth(r, lambda d: d[:, :120]), stage='load',
        skip=dict(skip_bad_frames=True), skip_log=r'skipped bad frame scene0000_00/000001'),
    '8-bit-depth': Case(ValueError, '8-bit', lambda r: _write_depth(
        r, lambda d: (d // 256).astype(np.uint8)), stage='load',
        skip=dict(skip_bad_frames=True), skip_log=r'skipped bad frame scene0000_00/000001'),
    'all-invalid-depth': Case(ValueError, 'no valid pixel', lambda r: _write_depth(
        r, np.zeros_like), stage='load', skip=dict(skip_bad_frames=True),
        skip_log=r'skipped bad frame scene0000_00/000001'),
    'corrupt-depth-png': Case(ValueError, 'cannot decode depth file',
                              lambda r: _truncate(_depth(r), 0.5), stage='load',
                              skip=dict(skip_bad_frames=True),
                              skip_log=r'skipped bad frame scene0000_00/000001'),
    'corrupt-color-jpg': Case(AssertionError, 'failed to load image',
                              lambda r: _truncate(_color(r), 0.5), stage='load',
                              skip=dict(skip_bad_frames=True),
                              skip_log=r'skipped bad frame scene0000_00/000001'),
    # cv2 names no file here: the dataset's note on the error does
    'empty-color-file': Case(cv2.error, r'!buf\.empty\(\)', lambda r: _truncate(_color(r), 0),
                             stage='load', skip=dict(skip_bad_frames=True),
                             skip_log=r'skipped bad frame scene0000_00/000001'),
    'nan-in-float-depth': Case(ValueError, 'float image containing NaN', _float_depth_with_nan,
                               stage='load', dataset=dict(suffixes=dict(depth='.tiff')),
                               bad_frames=8),  # all float; the others say so without NaN
    # tensors reaching the model: rejected by the data preprocessor, never a NaN loss
    'nan-rgb-tensor': Case(ValueError, 'non-finite .*color', run=_train_step_with_nan('rgb'),
                           name='{root}/scene0000_00/color/000001.jpg'),
    'nan-depth-tensor': Case(ValueError, 'non-finite .*depth', run=_train_step_with_nan('depth'),
                             name='{root}/scene0000_00/color/000001.jpg'),
    # a pre-trained start whose ViT has other parameter names: nothing stays random silently
    'pretrained-vit-of-other-names': Case(
        RuntimeError, r"16 of the 54 tensors of the encoder are not in .*prefix 'backbone\.'.*"
        r'layers\.N\.attn\.qkv\.weight \(x4\).*mmseg_vit_to_mmpretrain\.py.*allow_partial=True',
        run=_init_from_mmseg_named_vit, name='{tmp}/upernet_vit.pth'),
    # tools
    'cfg-option-unknown-arg': Case(TypeError, "Mask3DViT.*unexpected keyword argument 'archh'",
                                   run=_tool('train', '{cfg}', '--work-dir', '{work}',
                                             '--cfg-options', 'model.backbone.archh=b')),
    'cfg-option-top-level-typo': Case(
        KeyError, "'randomnes' is not a key.*did you mean randomness",
        run=_tool('train', '{cfg}', '--work-dir', '{work}', '--cfg-options',
                  'randomnes.seed=1'), name='{tmp}/tiny.py'),
    'resume-missing-checkpoint': Case(
        FileNotFoundError, 'can not be found',
        run=_tool('train', '{cfg}', '--work-dir', '{work}', '--resume', '{tmp}/iter_9.pth'),
        name='{tmp}/iter_9.pth'),
    'test-missing-checkpoint': Case(
        FileNotFoundError, 'can not be found',
        run=_tool('test', '{cfg}', '{tmp}/nowhere.pth', '--work-dir', '{work}'),
        name='{tmp}/nowhere.pth'),
    'resume-truncated-checkpoint': Case(
        RuntimeError, 'cannot read .* truncated',
        run=_tool('train', '{cfg}', '--work-dir', '{work}', '--resume', '{tmp}/iter_4.pth',
                  setup=_truncated_checkpoint), name='{tmp}/iter_4.pth'),
    'export-not-a-mask3d-checkpoint': Case(
        KeyError, 'not a Mask3D checkpoint',
        run=_tool('model_converters/export_rgb_encoder', '{tmp}/upernet.pth', '{tmp}/out.pth',
                  setup=_seg_checkpoint), name='{tmp}/upernet.pth'),
}


class _Collect(logging.Handler):

    def __init__(self) -> None:
        super().__init__()
        self.messages: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _text(error: BaseException) -> str:
    """The message of ``error`` with its notes (Python >= 3.11), as a traceback shows it."""
    return '\n'.join([str(error), *getattr(error, '__notes__', [])])


def _build_dataset(case: Case, root: str, **kwargs):
    if case.seg:
        pytest.importorskip('mask3d_mm.datasets.scannet_seg')
        cfg = dict(type='mask3d_mm.ScanNetSegDataset', data_root=root, pipeline=[])
    else:
        cfg = tiny_pretrain_cfg(root).train_dataloader.dataset.to_dict()
    cfg.update(case.dataset, **kwargs)
    return DATASETS.build(cfg)


def _read_all(dataset) -> list:
    return [dataset[i] for i in range(len(dataset))]


@pytest.mark.parametrize('case_id', list(CASES))
def test_bad_input(case_id, synthetic_scannet, tmp_path):
    case = CASES[case_id]
    root = str(tmp_path / 'data')
    shutil.copytree(synthetic_scannet, root)
    if case.run is not None:  # model and tool rows
        with pytest.raises(case.error) as e:
            case.run(root, tmp_path)
        name = case.name.format(root=root, tmp=str(tmp_path))
        text = _text(e.value)
        assert name in text and re.search(case.problem, text), text
        return

    bad = case.breaks(root)
    # fail fast: the error names the file and the problem, at the stage it belongs to
    if case.stage == 'build':
        with pytest.raises(case.error) as e:
            _build_dataset(case, root)
    else:
        dataset = _build_dataset(case, root)  # builds: the problem is inside a file
        with pytest.raises(case.error) as e:
            _read_all(dataset)
    text = _text(e.value)
    assert bad in text and re.search(case.problem, text), text

    if case.stage == 'load':  # found up front, with every other bad frame
        cfg = tiny_pretrain_cfg(root)
        cfg.train_dataloader.dataset.update(case.dataset)
        out = tmp_path / 'bad_frames.txt'
        with pytest.raises(SystemExit) as exit_info:
            run_tool_main('misc/verify_dataset', write_cfg(cfg, str(tmp_path / 'v.py')),
                          '--out-path', str(out))
        assert exit_info.value.code == 1
        lines = out.read_text().splitlines()
        assert len(lines) == case.bad_frames
        found = [line for line in lines if bad in line]
        assert len(found) == 1 and re.search(case.problem, found[0]), lines

    if case.skip is None:
        return
    logger = MMLogger.get_instance(f'test_bad_input_{case_id}')  # the current logger now
    handler = _Collect()
    logger.addHandler(handler)
    try:
        samples = _read_all(_build_dataset(case, root, **case.skip))
    finally:
        logger.removeHandler(handler)
    assert samples and all(s is not None for s in samples)
    assert any(re.search(case.skip_log, m) for m in handler.messages), handler.messages
