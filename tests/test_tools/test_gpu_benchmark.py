""".dev_scripts/gpu_benchmark/gpu_benchmark.py (CPU smoke run, wheel unpacking) and the
DataLoader part of tools/analysis_tools/benchmark_data_pipeline.py."""
import mask3d_mm  # noqa: F401,I001  (first: compat patches)

import json
import os
import os.path as osp
import subprocess
import sys
import zipfile

import pytest

from helpers.tools import REPO, load_tool

TOOL = osp.join(REPO, '.dev_scripts/gpu_benchmark/gpu_benchmark.py')
# what a bare CUDA machine with only the carried wheels lacks: the step must not need them
BLOCKED = ('mmseg', 'mmdet', 'mmcv._ext', 'mmcv.ops')


@pytest.mark.slow
def test_cpu_smoke_run_without_mmseg_mmdet_or_mmcv_ops(tmp_path):
    out = tmp_path / 'result.json'
    argv = ['--device', 'cpu', '--arch', 'tiny', '--batch', '2', '--img-size', '64', '--steps',
            '1', '--warmup', '1', '--no-compile', '--workers', '1', '--frames', '1x2',
            '--loader-batches', '1', '--wheels', str(tmp_path / 'no_wheels'), '--site',
            str(tmp_path / 'site'), '--json', str(out)]
    code = ('import runpy, sys\n'
            f'for m in {BLOCKED!r}: sys.modules[m] = None  # import raises ImportError\n'
            f'sys.argv = [{TOOL!r}] + {argv!r}\n'
            f'runpy.run_path({TOOL!r}, run_name="__main__")\n')
    proc = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'fraction of the matmul' in proc.stdout and '[DataLoader]' in proc.stdout
    res = json.loads(out.read_text())
    assert res['setup']['device'] == 'cpu' and res['setup']['arch'] == 'tiny'
    assert res['setup']['unpacked_wheels'] == []  # this environment has everything
    for arm in ('mask3d', 'mae'):
        r = res['eager'][arm]
        assert r['step_s'] > 0 and r['train_flops'] > 0 and 0 < r['flops_fraction']
    checks = res['eager']['checks']
    assert checks['time_ratio']['value'] > 0 and isinstance(checks['time_ratio']['passed'], bool)
    assert checks['memory_ratio']['passed'] is None  # CUDA only
    assert res['compiled'] == {'error': '--no-compile'}
    for key in ('rows', 'preconverted_rows'):  # JPEG + PNG frames, then pre-converted
        (row, ) = res['dataloader'][key]
        assert row['workers'] == 1 and row['frames_per_s'] > 0 and row['workers_needed'] >= 1
    assert res['dataloader']['color_hw'] == [968, 1296]
    assert 'pre-converted (preconvert_frames.py):' in proc.stdout


def _wheel(folder, dist: str, module: str, body: str) -> str:
    path = osp.join(folder, f'{dist}-0.1-py3-none-any.whl')
    with zipfile.ZipFile(path, 'w') as zf:
        zf.writestr(f'{module}/__init__.py', body)
        zf.writestr(f'{dist}-0.1.dist-info/METADATA', f'Name: {dist}\nVersion: 0.1\n')
    return path


def test_only_missing_wheels_are_unpacked(tmp_path, monkeypatch):
    tool = load_tool('.dev_scripts/gpu_benchmark/gpu_benchmark.py')
    wheels, site = tmp_path / 'wheels', tmp_path / 'site'
    wheels.mkdir()
    _wheel(str(wheels), 'm3d_fake_pkg', 'm3d_fake_pkg', 'VALUE = 42\n')
    _wheel(str(wheels), 'numpy', 'numpy', 'raise ImportError("shadowed numpy")\n')  # installed
    monkeypatch.setattr(sys, 'path', list(sys.path))
    monkeypatch.setenv('PYTHONPATH', os.environ.get('PYTHONPATH', ''))
    assert tool.wheel_distribution('opencv_python-5.0.0-cp37-abi3-x.whl') == 'opencv-python'
    assert tool.prepare_environment(str(wheels), str(site)) == ['m3d-fake-pkg']
    assert (site / 'm3d_fake_pkg' / '__init__.py').exists()
    assert not (site / 'numpy').exists()
    assert str(site) in sys.path[:2] and str(site) in os.environ['PYTHONPATH']
    import m3d_fake_pkg
    assert m3d_fake_pkg.VALUE == 42
    assert tool.prepare_environment(str(wheels), str(site)) == []  # done once
    res = tool.main(['--unpack-only', '--wheels', str(wheels), '--site', str(site)])
    assert res == dict(unpacked=[], missing=[])
    sys.modules.pop('m3d_fake_pkg')


@pytest.mark.slow
def test_data_pipeline_benchmark_with_dataloader(synthetic_scannet, tmp_path):
    tool = load_tool('tools/analysis_tools/benchmark_data_pipeline.py')
    out = tmp_path / 'pipe.json'
    res = tool.main([synthetic_scannet, '--num-frames', '2', '--rounds', '1', '--workers', '0',
                     '1', '--batch-size', '2', '--loader-batches', '1',
                     '--gpu-frames-per-s', '1000', '--json', str(out)])
    pw = res['per_worker']
    assert pw['frames'] == 2 and pw['ratio'] > 0 and pw['target'] == 0.9
    assert set(pw['cpu']['step_ms']) >= {'LoadDepthFromFile', 'AlignColorToDepth',
                                         'PackRGBDInputs'}
    assert [r['workers'] for r in res['dataloader']] == [0, 1]
    for r in res['dataloader']:
        assert r['frames_per_s'] > 0
        assert r['workers_needed'] * r['frames_per_s_per_worker'] >= 1000
    assert json.loads(out.read_text())['dataloader'][1]['workers'] == 1


def test_vit_l_part_is_on_by_default_on_cuda():
    tool = load_tool('.dev_scripts/gpu_benchmark/gpu_benchmark.py')
    args = tool.parse_args([])
    assert (args.device, args.arch, args.amp, args.large_arch, args.large_batch) == (
        'cuda', 'b', 'bf16', 'l', 64)
    assert tool.parse_args(['--device', 'cpu', '--arch', 'tiny']).large_arch == 'none'
    assert tool.parse_args(['--large-arch', 'none']).large_arch == 'none'


@pytest.mark.slow
def test_build_only_builds_the_vit_b_and_vit_l_models(tmp_path):
    """What a checkout can check without a GPU: the default (CUDA) run's models build, and
    ViT-L is Mask3D's vit-l_scannet.py model against MAE with a ViT-L encoder."""
    proc = subprocess.run([sys.executable, TOOL, '--build-only'], cwd=REPO, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    params = json.loads(proc.stdout.strip().splitlines()[-1])['params']
    assert set(params) == {'mask3d_b', 'mae_b', 'mask3d_l', 'mae_l'}
    assert params['mask3d_l'] > 2.5 * params['mask3d_b']
    # the same encoder and decoder sizes: Mask3D adds its depth encoder (~3 M) to MAE's
    assert 0 < params['mask3d_l'] - params['mae_l'] < 5e6
    assert 0 < params['mask3d_b'] - params['mae_b'] < 5e6


@pytest.mark.slow
def test_large_part_cpu_smoke_run(tmp_path):
    """The ViT-L part's code path (timing, FLOPs, report) at the tiny size on the CPU."""
    out = tmp_path / 'result.json'
    proc = subprocess.run(
        [sys.executable, TOOL, '--device', 'cpu', '--arch', 'tiny', '--batch', '2',
         '--img-size', '64', '--steps', '1', '--warmup', '1', '--no-compile', '--workers',
         '--large-arch', 'tiny', '--large-batch', '2', '--wheels', str(tmp_path / 'none'),
         '--site', str(tmp_path / 'site'), '--json', str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '[ViT-TINY eager, batch 2]' in proc.stdout
    res = json.loads(out.read_text())
    assert res['setup']['large_arch'] == 'tiny' and res['setup']['large_batch'] == 2
    for arm in ('mask3d', 'mae'):
        r = res['large'][arm]
        assert r['step_s'] > 0 and r['train_flops'] > 0 and r['flops_fraction'] > 0
    assert isinstance(res['large']['checks']['time_ratio']['passed'], bool)
