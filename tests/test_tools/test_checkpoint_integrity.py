"""A checkpoint whose bytes changed on disk is refused, naming it, wherever it is loaded;
torch.load alone loads it silently (it does not check the zip's CRC-32)."""
import io
import os.path as osp
import shutil
import struct
import zipfile

import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader

from helpers.tools import run_tool_main
from mask3d_mm.compat import check_zip_crc


def flip_tensor_bytes(path: str, n: int = 4096) -> str:
    """Invert ``n`` bytes in the middle of the largest tensor of the torch zip file ``path``;
    the name of the zip member hit."""
    with zipfile.ZipFile(path) as z:
        info = max((i for i in z.infolist() if '/data/' in i.filename),
                   key=lambda i: i.file_size)
    assert info.file_size >= 2 * n
    with open(path, 'r+b') as f:
        f.seek(info.header_offset)
        name_len, extra_len = struct.unpack('<HH', f.read(30)[26:30])
        at = info.header_offset + 30 + name_len + extra_len + info.file_size // 2 - n // 2
        f.seek(at)
        data = f.read(n)
        f.seek(at)
        f.write(bytes(b ^ 0xFF for b in data))
    return info.filename


def test_flipped_bytes_in_a_tensor_are_refused(tmp_path):
    good = str(tmp_path / 'weights.pth')
    torch.save({'state_dict': {'w': torch.randn(256, 64), 'b': torch.zeros(3)}}, good)
    bad = str(tmp_path / 'flipped.pth')
    shutil.copy(good, bad)
    member = flip_tensor_bytes(bad)
    # what the check is for: torch loads the changed bytes without a word
    silent = torch.load(bad, weights_only=True)['state_dict']['w']
    assert not torch.equal(silent, torch.load(good, weights_only=True)['state_dict']['w'])

    with pytest.raises(RuntimeError) as e:
        CheckpointLoader.load_checkpoint(bad, map_location='cpu')
    assert f'{bad} is corrupt: zip member {member} fails its CRC check' in str(e.value)
    # the bytes of a remote (s3://) checkpoint go through the same check
    with open(bad, 'rb') as f:
        stream = io.BytesIO(f.read())
    with pytest.raises(RuntimeError, match='s3://bucket/flipped.pth is corrupt'):
        check_zip_crc(stream, 's3://bucket/flipped.pth')
    loaded = CheckpointLoader.load_checkpoint(good, map_location='cpu')  # intact: loads
    assert torch.equal(loaded['state_dict']['w'], torch.load(good)['state_dict']['w'])


def test_a_file_saved_without_crcs_still_loads(tmp_path):
    """``set_crc32_options(False)`` writes 0 for every CRC: nothing to check, not refused."""
    path = str(tmp_path / 'no_crc.pth')
    torch.serialization.set_crc32_options(False)
    try:
        torch.save({'w': torch.arange(4.0)}, path)
    finally:
        torch.serialization.set_crc32_options(True)
    assert torch.equal(CheckpointLoader.load_checkpoint(path)['w'], torch.arange(4.0))


@pytest.mark.parametrize('how', ['resume', 'load_from', 'export', 'test_tool'])
def test_corrupt_runner_checkpoint_is_refused_by_the_tools(tiny_pretrain_run, tmp_path, how):
    config, ckpt = tiny_pretrain_run
    bad = str(tmp_path / 'iter_2.pth')
    shutil.copy(ckpt, bad)
    member = flip_tensor_bytes(bad)
    work = ['--work-dir', str(tmp_path / 'work')]
    with pytest.raises(RuntimeError) as e:
        if how == 'resume':
            run_tool_main('train', config, *work, '--resume', bad)
        elif how == 'load_from':
            run_tool_main('train', config, *work, '--cfg-options', f'load_from={bad}')
        elif how == 'export':
            run_tool_main('model_converters/export_rgb_encoder', bad, str(tmp_path / 'out.pth'))
        else:
            run_tool_main('test', config, bad, *work)
    assert f'{bad} is corrupt: zip member {member} fails its CRC check' in str(e.value)
    assert not osp.exists(tmp_path / 'out.pth')
    assert not osp.exists(tmp_path / 'work' / 'iter_3.pth')  # nothing trained on
