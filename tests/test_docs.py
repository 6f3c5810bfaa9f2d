"""The docs are tests: every fenced ``bash`` block of README.md, docs/*.md and
configs/**/README.md runs, as written, in a sandbox copy of the repository.

How a block runs: ``bash -euo pipefail`` in a folder that links every top-level entry of the
repository except ``data/``, ``work_dirs/`` and ``checkpoints/``, which hold small synthetic
stand-ins in the real layouts (ScanNet frames and ``.sens`` files, the NYUv2 ``.mat`` files,
Cityscapes, ViT checkpoints); ``python`` is the project's environment (first on ``PATH``), with
the stack pre-imported (``helpers/fork_server.py``; ``MASK3D_MM_TEST_FORK=0``: plain). Runs
are shrunk only through the documented ``MASK3D_MM_CFG_OPTIONS`` (docs/tools.md), chosen by
the family of configs a block trains (a tiny ViT, 2 iterations or 1 epoch, batch 1-2).

Every command must match a row of ``FAMILIES`` or ``NOT_RUN``: a command added to the docs
without a way to run it fails ``test_every_command_is_known``. Synopses with placeholders
(``CONFIG``, ``[--amp]``) go in ``text`` blocks, which must not hold runnable commands.
"""
import glob
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
from typing import Dict, List, Tuple

import pytest

from helpers.fork_server import interpreter
from helpers.tools import REPO, free_port

DOCS = ['README.md', *sorted(glob.glob('docs/*.md', root_dir=REPO)),
        *sorted(glob.glob('configs/**/README.md', root_dir=REPO, recursive=True))]
SANDBOX_OWN = ('data', 'work_dirs', 'checkpoints', '.git', '.pytest_cache')

_LOADERS = ' '.join(f'{s}_dataloader.num_workers=0 {s}_dataloader.persistent_workers=False'
                    for s in ('train', 'val'))
_TEST_LOADER = 'test_dataloader.num_workers=0 test_dataloader.persistent_workers=False'
_PRETRAIN_SMALL = ('model.backbone.arch=deit-tiny model.neck.in_channels=192 '
                   'model.neck.depth_in_channels=64 '
                   'model.neck.embed_dims=64 model.neck.num_layers=1 model.neck.num_heads=2 '
                   'model.depth_encoder.embed_dims=64 model.depth_encoder.num_layers=1 '
                   'model.depth_encoder.num_heads=2')
_VIT_SMALL = 'model.backbone.arch=deit-tiny'
_SEG_SMALL = (f'{_VIT_SMALL} model.neck.in_channels=[192,192,192,192] model.neck.out_channels=192 '
              'model.decode_head.in_channels=[192,192,192,192] model.decode_head.channels=32 '
              'model.auxiliary_head.in_channels=192 model.auxiliary_head.channels=16')
_ITERS = ('train_cfg.max_iters=2 train_cfg.val_interval=2 default_hooks.checkpoint.interval=2 '
          'train_dataloader.batch_size=2')  # UperNet's pooling branch has BN: batch >= 2
# MASK3D_MM_CFG_OPTIONS per family of configs a block trains
SHRINK = {
    'none': '',
    'pretrain': f'{_PRETRAIN_SMALL} train_cfg.max_epochs=1 train_cfg.val_interval=1 '
                f'train_dataloader.batch_size=2 val_dataloader.batch_size=2 {_LOADERS}',
    'pretrain_tiny': f'train_cfg.max_epochs=1 train_cfg.val_interval=1 '
                     f'train_dataloader.batch_size=2 val_dataloader.batch_size=2 {_LOADERS}',
    # a mixture: iterations, and the sampler's batch (2 + 1 + 1 frames of the three sources)
    'pretrain_mixed': 'train_cfg.max_iters=2 train_cfg.val_interval=2 '
                      'train_dataloader.batch_size=4 train_dataloader.sampler.batch_size=4 '
                      f'val_dataloader.batch_size=2 {_LOADERS}',
    'seg': f'{_SEG_SMALL} {_ITERS} {_LOADERS} {_TEST_LOADER}',
    'seg_tiny': f'{_ITERS} {_LOADERS} {_TEST_LOADER}',
    'det': f'{_VIT_SMALL} model.neck.in_channels=192 train_cfg.max_epochs=1 '
           f'train_cfg.val_interval=1 train_dataloader.batch_size=1 {_LOADERS} {_TEST_LOADER}',
    # tools/demo.py trains the tiny pre-training and segmentation configs: keys both have
    'demo': f'train_dataloader.batch_size=2 {_LOADERS} {_TEST_LOADER.replace("test", "val")}',
}
# (pattern of a command, family); the first full match decides
FAMILIES: List[Tuple[str, str]] = [
    (r'.*configs/mask3d/vit-tiny_synthetic(_fsdp)?\.py.*', 'pretrain_tiny'),
    (r'.*configs/mask3d/vit-tiny_synthetic-mixed\.py.*', 'pretrain_mixed'),
    (r'.*configs/mask3d/\S+\.py.*', 'pretrain'),
    (r'.*configs/benchmarks/mmseg/upernet_vit-tiny\S+\.py.*', 'seg_tiny'),
    (r'.*configs/benchmarks/mmseg/\S+\.py.*', 'seg'),
    (r'.*configs/benchmarks/mmdet/\S+\.py.*', 'det'),
    (r'.*configs/benchmarks/depth/\S*vit-tiny\S*\.py.*', 'seg_tiny'),
    (r'.*configs/benchmarks/depth/\S+\.py.*', 'seg'),
    (r'.*tools/demo\.py.*', 'demo'),
    (r'.*tools/analysis_tools/compare_pretraining\.py.*--dry-run.*', 'none'),
    (r'(python|bash) tools/(dataset_converters|model_converters|misc|analysis_tools)/\S+.*',
     'none'),
    (r'(python|bash) \.dev_scripts/gpu_benchmark/\S+.*', 'none'),
    (r'(source|cat|ls|python -c) .*|M=\S+.*|bash tools/install\.sh', 'none'),
]
# commands that are not run here, and why; each reason names the test that covers the path
NOT_RUN: Dict[str, str] = {
    r'bash tools/install\.sh && \.venv/bin/python -m pytest tests\s*(#.*)?':
        'the test suite itself: .ci/run runs it (test_ci_runs_the_readme_test_command)',
    r'\.venv/bin/python -m pytest tests( -m "not slow")?\s*(#.*)?':
        'the test suite (or its fast tier) itself: .ci/run runs the whole suite',
    r'.*tools/analysis_tools/compare_pretraining\.py(?!.*(--dry-run|--tables-from)).*':
        'a 40-220 minute study; the same script runs at a small size in '
        'tests/test_tools/test_compare_pretraining.py (its presets: '
        'test_presets_expand_to_their_tables; --pretrain-seeds: test_compare_nested.py)',
    r'.*TORCH_INDEX_URL=https://download\.pytorch\.org.*':
        'a CUDA install (network + GPU); the CPU install is what CI runs',
    r'.*tools/analysis_tools/benchmark_mask3d_vs_mae\.py.*--batch 8 --img-size 224.*':
        'a benchmark (minutes); its --steps 1 smoke run is '
        'tests/test_tools/test_benchmark_mask3d_vs_mae.py',
    r'.*tools/analysis_tools/benchmark_compile\.py.*--batch 8 --img-size 224.*':
        'a benchmark (compiles ViT-B: 10-20 minutes on 2 shared cores); its smoke size is '
        'tests/test_tools/test_compile_train.py::test_benchmark_compile_tiny',
    r'.*tools/analysis_tools/scale_table\.py.*--archs b l h.*':
        'builds and measures ViT-B / L / H (about 17 minutes on 2 shared cores); the tiny '
        'arch is tests/test_tools/test_scale_table.py',
    r'bash \.dev_scripts/gpu_benchmark/gpu_benchmark_wheels\.sh.*':
        'downloads 112 MB of wheels for a GPU machine; their unpacking is '
        'tests/test_tools/test_gpu_benchmark.py::test_only_missing_wheels_are_unpacked',
    r'bash \.dev_scripts/gpu_benchmark/gpu_benchmark\.sh.*':
        'needs a CUDA GPU; the same script on CPU is the smoke run beside it and '
        'tests/test_tools/test_gpu_benchmark.py',
    r'DS_BUILD_OPS=0 \.venv/bin/python -m pip install deepspeed==\S+':
        'downloads and builds the optional deepspeed (network, minutes); CPU training with it '
        'is tests/test_tools/test_fsdp.py::test_deepspeed_zero_trains_as_ddp where installed',
    r'bash tools/dist_train\.sh configs/mask3d/vit-l_scannet_fsdp\.py 8\s*':
        '8 ranks (GPUs on a cluster): as 8 gloo processes on 2 cores it only adds a shutdown '
        'race; the same command with 2 processes, shrunk as here, is '
        'tests/test_tools/test_fsdp.py::test_vit_l_fsdp_recipe_trains',
    r'bash tools/dist_train\.sh configs/mask3d/vit-l_scannet_deepspeed\.py.*':
        'needs the optional deepspeed, not installed in CI; its strategy trains the tiny model '
        'in tests/test_tools/test_fsdp.py::test_deepspeed_zero_trains_as_ddp where installed',
    r'.*mm(seg|det).*\.mim/tools/dataset_converters/cityscapes\.py.*':
        "the upstream Cityscapes converter: needs the Cityscapes download and cityscapesscripts "
        '(not a dependency); the converted layout is tested in tests/test_seg/',
}


# a command (part) -> the stand-in entry it writes
BLOCK_OUTPUTS = {
    'export_rgb_encoder.py': 'mask3d_vit-b*.pth',
    'generate_synthetic_scannet.py data/synthetic_scannet ': 'synthetic_scannet',
    'nyuv2_mat.py': 'nyuv2',
    'scannet_to_coco.py': 'annotations',
}


def fenced_blocks(doc: str) -> List[Tuple[str, int, str]]:
    """``(language, first line number, text)`` of each fenced block of ``doc``."""
    blocks, lang, start, lines = [], None, 0, []
    with open(osp.join(REPO, doc)) as f:
        for n, line in enumerate(f, 1):
            fence = re.match(r'\s*```(\S*)\s*$', line)
            if fence and lang is None:
                lang, start, lines = fence.group(1), n + 1, []
            elif fence:
                blocks.append((lang, start, ''.join(lines)))
                lang = None
            elif lang is not None:
                lines.append(re.sub(r'^ {0,4}', '', line) if line.startswith('  ') else line)
    return blocks


def commands(text: str) -> List[str]:
    """Logical command lines of a shell block (continuations joined, comment lines dropped)."""
    joined = re.sub(r'\\\n\s*', ' ', text)
    return [c.strip() for c in joined.splitlines() if c.strip() and not c.strip().startswith('#')]


def shell_blocks() -> List[Tuple[str, int, str]]:
    return [(doc, line, text) for doc in DOCS for lang, line, text in fenced_blocks(doc)
            if lang in ('bash', 'sh', 'shell')]


def not_run_reason(cmd: str):
    return next((why for pattern, why in NOT_RUN.items() if re.fullmatch(pattern, cmd)), None)


def family(cmd: str) -> str:
    for pattern, name in FAMILIES:
        if re.fullmatch(pattern, cmd):
            return name
    raise KeyError(cmd)


def block_family(text: str) -> str:
    names = {family(c) for c in commands(text) if not_run_reason(c) is None} - {'none'}
    assert len(names) <= 1, f'a block mixes families {names}: split it'
    return names.pop() if names else 'none'


BLOCKS = [b for b in shell_blocks()
          if any(not_run_reason(c) is None for c in commands(b[2]))]


def test_every_command_is_known():
    unknown = []
    for doc, line, text in shell_blocks():
        for cmd in commands(text):
            if not_run_reason(cmd) is None:
                try:
                    family(cmd)
                except KeyError:
                    unknown.append(f'{doc}:{line}: {cmd}')
    assert not unknown, 'documented commands with no way to run them here:\n' + '\n'.join(unknown)


def test_text_blocks_hold_no_runnable_command():
    """Synopses (placeholders in capitals or brackets) are ``text``; runnable lines are bash."""
    bad = []
    for doc in DOCS:
        for lang, line, text in fenced_blocks(doc):
            if lang in ('bash', 'sh', 'shell', 'python'):
                continue
            for cmd in commands(text):
                if re.match(r'(python|bash) tools/', cmd) and not re.search(
                        r'\b[A-Z][A-Z_]{2,}\b|\[', cmd):
                    bad.append(f'{doc}:{line}: {cmd}')
    assert not bad, 'runnable commands outside bash blocks (untested):\n' + '\n'.join(bad)


def test_ci_runs_the_readme_test_command():
    with open(osp.join(REPO, 'README.md')) as f:
        first = commands(fenced_blocks('README.md')[0][2]) if f else []
    with open(osp.join(REPO, '.ci/run')) as f:
        ci = [c for c in commands(f.read()) if not c.startswith(('set ', 'cd '))]
    assert len(first) == 2 and ci == [re.sub(r'\s*#.*', '', first[1])]


@pytest.fixture(scope='session')
def stand_ins(tmp_path_factory) -> str:
    """``data/`` and ``checkpoints/`` of the sandboxes: small synthetic files in real layouts."""
    import cv2
    import numpy as np
    import torch
    from mmpretrain.models import VisionTransformer

    from helpers.seg_data import (nyu_frames, write_class_mapping, write_labeled_mat,
                                  write_splits_mat)
    from helpers.sens_writer import write_sens
    from mask3d_mm.synthetic import generate_scannet_scenes, write_scene_splits
    root = tmp_path_factory.mktemp('docs_stand_ins')
    data = root / 'data'
    synthetic = str(data / 'synthetic_scannet')
    scenes = generate_scannet_scenes(synthetic, num_scenes=2, frames_per_scene=4, height=120,
                                     width=160, color_size=(240, 320), seed=0)
    write_scene_splits(synthetic, scenes)  # as the generator's command line does
    os.makedirs(data / 'scannet')
    frames_25k = data / 'scannet' / 'scannet_frames_25k'
    shutil.copytree(synthetic, frames_25k)
    for split in ('train', 'val'):  # COCO instances of the detection configs
        tool = osp.join(REPO, 'tools/dataset_converters/scannet_to_coco.py')
        out = str(frames_25k / 'annotations' / f'instances_{split}.json')
        subprocess.run([interpreter(), tool, str(frames_25k), '--scene-list',
                        f'scannetv2_{split}.txt', '--min-area', '50', '--out', out],
                       check=True, capture_output=True, timeout=300)
    os.makedirs(data / 'scannet' / 'scans' / 'scene0000_00')
    rgb = np.full((48, 64, 3), 120, np.uint8)
    write_sens(str(data / 'scannet' / 'scans' / 'scene0000_00' / 'scene0000_00.sens'),
               colors=[cv2.imencode('.jpg', rgb)[1].tobytes()] * 3,
               depths=[np.full((48, 64), 1500 + 100 * i, np.uint16) for i in range(3)],
               poses=[np.eye(4)] * 3)
    frames = nyu_frames()
    write_labeled_mat(str(root / 'nyu_depth_v2_labeled.mat'), frames)
    write_splits_mat(str(root / 'splits.mat'))
    write_class_mapping(str(root / 'classMapping40.mat'), frames['map_class'])
    subprocess.run([interpreter(), osp.join(REPO, 'tools/dataset_converters/nyuv2_mat.py'),
                    'nyu_depth_v2_labeled.mat', 'splits.mat', 'data/nyuv2', '--mapping',
                    'classMapping40.mat'], cwd=str(root), check=True, capture_output=True,
                   timeout=300)
    ckpt = root / 'checkpoints'
    os.makedirs(ckpt)
    torch.manual_seed(0)
    vit = VisionTransformer(arch='deit-tiny', img_size=224).state_dict()
    for name in ('mask3d_vit-b_scannet.pth',):  # exports: bare keys
        torch.save(vit, str(ckpt / name))
    for name in ('vit-base-p16_in1k.pth', 'mae_vit-base-p16_in1k.pth'):  # mmpretrain layout
        torch.save({'state_dict': {f'backbone.{k}': v for k, v in vit.items()}}, str(ckpt / name))
    return str(root)


def run_block(script: str, cwd: str, shrink: str) -> subprocess.CompletedProcess:
    python = interpreter()  # the project's environment, pre-imported (helpers/fork_server.py)
    env = dict(os.environ)
    env.update(PATH=os.pathsep.join((osp.dirname(python), osp.dirname(sys.executable),
                                     env['PATH'])),
               MASK3D_MM_CFG_OPTIONS=shrink, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='',
               PYTHONWARNINGS='ignore',
               # tools/dist_*.sh's rendezvous port (29500 by default): blocks run in parallel
               PORT=str(free_port()))
    return subprocess.run(['bash', '-euo', 'pipefail', '-c', script], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope='session')
def pretrained_work_dir(stand_ins, tmp_path_factory) -> str:
    """``work_dirs/vit-b_scannet`` of a (shrunk) run of the recipe, for blocks that start
    from its checkpoint without training it."""
    sandbox = make_sandbox(str(tmp_path_factory.mktemp('docs_pretrain') / 'repo'), stand_ins)
    proc = run_block('python tools/train.py configs/mask3d/vit-b_scannet.py', sandbox,
                     SHRINK['pretrain'])
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return osp.join(sandbox, 'work_dirs', 'vit-b_scannet')


def make_sandbox(path: str, stand_ins: str, skip: tuple = ()) -> str:
    os.makedirs(path)
    for entry in os.listdir(REPO):
        if entry not in SANDBOX_OWN:
            os.symlink(osp.join(REPO, entry), osp.join(path, entry))
    ignore = shutil.ignore_patterns(*skip)
    for entry in os.listdir(stand_ins):
        src = osp.join(stand_ins, entry)
        if osp.isdir(src):
            shutil.copytree(src, osp.join(path, entry), symlinks=True, ignore=ignore)
        else:
            shutil.copy(src, osp.join(path, entry))
    return path


@pytest.mark.parametrize('doc,line,text', BLOCKS, ids=[f'{d}:{n}' for d, n, _ in BLOCKS])
@pytest.mark.slow
def test_documented_block_runs(doc, line, text, stand_ins, request, tmp_path):
    script = '\n'.join(c for c in commands(text) if not_run_reason(c) is None)
    # a block that writes the Mask3D export gets no stand-in for it (no overwrite)
    # what a block writes is left out of its sandbox, as on a fresh clone (no overwrite)
    skip = tuple(entry for command, entry in BLOCK_OUTPUTS.items() if command in script)
    sandbox = make_sandbox(str(tmp_path / 'repo'), stand_ins, skip)
    if 'work_dirs/vit-b_scannet/' in script and 'configs/mask3d/vit-b_scannet.py' not in script:
        shutil.copytree(request.getfixturevalue('pretrained_work_dir'),
                        osp.join(sandbox, 'work_dirs', 'vit-b_scannet'))
    proc = run_block(script, sandbox, SHRINK[block_family(text)])
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{doc}:{line} failed:\n{script}\n---\n{out[-6000:]}'
    assert 'Traceback' not in out, out[-6000:]
    if doc == 'README.md' and 'tools/demo.py' in script and '--skip-finetune' not in script:
        check_demo_summary(osp.join(sandbox, 'work_dirs', 'demo'))


def check_demo_summary(work_dir: str) -> None:
    """The README's demo table is what tools/demo.py writes: this run's summary.md is built
    from its summary.json, and its layout, numbers aside, is the README's block (whose numbers
    are those of docs/results/demo.json, the demo's summary on the full synthetic set:
    tests/test_docs_tables.py)."""
    import json
    from mask3d_mm.analysis.demo_summary import demo_tables
    from mask3d_mm.analysis.pretraining_comparison.doc_tables import marker_blocks
    with open(osp.join(work_dir, 'summary.json')) as f:
        summary = json.load(f)
    with open(osp.join(work_dir, 'summary.md')) as f:
        written = f.read()
    assert written == demo_tables(summary) + '\n'
    assert len(summary['per_seed']) == 5 and summary['mIoU'] is not None
    with open(osp.join(REPO, 'README.md')) as f:
        readme = dict(marker_blocks(f.read()))['demo']

    def layout(text: str) -> str:
        return re.sub(r'[-+]?\d+(\.\d+)?', '#', text)
    assert layout(written.rstrip('\n')) == layout(readme)


def test_readme_registry_table_lists_every_registered_class():
    import mask3d_mm.registry as registry
    with open(osp.join(REPO, 'README.md')) as f:
        text = f.read()
    table = text[text.index('| registry | classes |'):]
    table = table[:table.index('\n\n')]
    listed = set(re.findall(r'`(\w+)`', table))
    registered = {name for attr in ('DATASETS', 'TRANSFORMS', 'MODELS', 'METRICS', 'HOOKS',
                                    'OPTIM_WRAPPER_CONSTRUCTORS', 'STRATEGIES', 'FUNCTIONS')
                  for name in getattr(registry, attr).module_dict}
    assert registered == listed, (registered - listed, listed - registered)


def test_every_test_a_doc_cites_exists():
    """``test_x.py::test_y`` (and ``::test_z`` after it) in the docs name tests that exist."""
    missing = []
    for doc in DOCS:
        with open(osp.join(REPO, doc)) as f:
            for line in f:
                for path, rest in re.findall(r'`((?:tests/)?test_[\w/]+\.py)::(\w+`(?:, `::\w+`)*)',
                                             line):
                    full = osp.join(REPO, path if path.startswith('tests/') else 'tests/' + path)
                    source = open(full).read() if osp.isfile(full) else ''
                    for name in re.findall(r'(test_\w+)', rest):
                        if f'def {name}(' not in source:
                            missing.append(f'{doc}: {path}::{name}')
    assert not missing, missing
