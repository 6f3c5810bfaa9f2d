"""``tools/misc/verify_dataset.py`` run as docs/data_preparation.md ("Depth from other sensors")
documents it: lists depth files in a wrong encoding with the likely cause, and refuses a misspelt
``--cfg-options`` key instead of verifying the default data root."""
import os
import os.path as osp
import re
import shlex
import subprocess
import sys

import cv2
import numpy as np
import pytest

from mask3d_mm.synthetic import generate_scannet_scenes, write_scene_splits

from helpers.fork_server import interpreter

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOC = osp.join(REPO, 'docs', 'data_preparation.md')


def documented_command() -> str:
    """The ```bash block of the section "Depth from other sensors"."""
    text = open(DOC).read().split('## Depth from other sensors', 1)[1].split('\n## ', 1)[0]
    blocks = re.findall(r'```bash\n(.*?)```', text, re.S)
    assert len(blocks) == 1, blocks
    command = blocks[0].replace('\\\n', ' ')
    assert command.startswith('python tools/misc/verify_dataset.py'), command
    return command


@pytest.fixture(scope='module')
def mixed_encodings(tmp_path_factory):
    """Synthetic ScanNet-layout frames; frames 1-3 of the training scene re-encoded wrongly."""
    root = str(tmp_path_factory.mktemp('mixed_depth'))
    write_scene_splits(root, generate_scannet_scenes(root, num_scenes=2, frames_per_scene=4,
                                                     height=48, width=64, seed=0))
    scene = open(osp.join(root, 'scannetv2_train.txt')).read().split()[0]
    bad = {}
    for fid, kind in (('000001', 'sunrgbd'), ('000002', 'tum'), ('000003', 'metres')):
        path = osp.join(root, scene, 'depth', f'{fid}.png')
        mm = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        assert mm.dtype == np.uint16
        if kind == 'sunrgbd':  # stored as SUN RGB-D stores millimetres
            raw = (mm << np.uint16(3)) | (mm >> np.uint16(13))
        elif kind == 'tum':
            raw = np.round(mm.astype(np.float64) * 5).astype(np.uint16)
        else:  # whole metres in a uint16 PNG
            raw = np.round(mm / 1000.0).astype(np.uint16)
        assert cv2.imwrite(path, raw)
        bad[path] = kind
    return root, bad


def _run(command: str, env_options: str) -> subprocess.CompletedProcess:
    argv = shlex.split(command)
    assert argv[0] == 'python'
    env = dict(os.environ, MASK3D_MM_CFG_OPTIONS=env_options)
    return subprocess.run([interpreter()] + argv[1:], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow
def test_documented_command_reports_implausible_depth(mixed_encodings, tmp_path):
    root, bad = mixed_encodings
    out = str(tmp_path / 'bad.txt')
    proc = _run(documented_command() + f' --out-path {out}',
                f'train_dataloader.dataset.data_root={root}')
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = open(out).read().splitlines()
    assert len(lines) == 3, lines
    causes = dict(sunrgbd="decode plausibly as encoding='sunrgbd'",
                  tum="decode plausibly as encoding='tum'",
                  metres='whole metres as integers')
    for path, kind in bad.items():
        found = [line for line in lines if f'depth file {path} ' in line]
        assert len(found) == 1, lines
        # SUN RGB-D's rotated values put every pixel of this small room beyond max_depth
        error = ('has no valid pixel' if kind == 'sunrgbd' else
                 'ImplausibleDepthError: depth file .* looks implausible')
        assert re.search(error, found[0]) and causes[kind] in found[0], found[0]
    assert '3 bad frame(s) out of 4' in proc.stdout and '(2 with implausible depth)' in proc.stdout


@pytest.mark.slow
def test_misspelt_key_is_refused(mixed_encodings):
    root, _ = mixed_encodings
    proc = _run(documented_command(), f'train_dataloder.dataset.data_root={root}')
    assert proc.returncode != 0
    assert "'train_dataloder' is not a key" in proc.stderr, proc.stderr
    assert 'train_dataloader' in proc.stderr and 'bad frame' not in proc.stdout
