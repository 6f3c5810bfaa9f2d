"""``tools/train.py --cfg-options compile=True``: the compiled pre-training step trains as the
eager one (same seed, same losses)."""
import os.path as osp

import pytest

from mask3d_mm.tooling import read_scalars

from helpers.tools import finish_runs, start_train, tiny_pretrain_cfg, write_cfg

pytestmark = pytest.mark.slow  # trains in subprocesses; compilation takes minutes on 2 cores


def _losses(work_dir: str) -> dict:
    return {r['step']: r['loss'] for r in read_scalars(work_dir) if 'loss' in r}


def test_compiled_training_matches_eager(synthetic_scannet, tmp_path):
    """3 iterations of the shrunk vit-tiny_synthetic config, eager and with mmengine's
    ``compile=True`` (``torch.compile`` of ``train_step``), from the same seed."""
    cfg = write_cfg(tiny_pretrain_cfg(synthetic_scannet, max_iters=3, ckpt_interval=100),
                    str(tmp_path / 'tiny.py'))
    runs = {name: str(tmp_path / name) for name in ('eager', 'compiled')}
    procs = [start_train(cfg, runs['eager'], []),
             start_train(cfg, runs['compiled'], [], '--cfg-options', 'compile=True')]
    logs = finish_runs(*procs, timeout=1100)  # under pytest-timeout (20 min)
    for proc, log in zip(procs, logs):
        assert proc.returncode == 0, log[-3000:]
    assert 'Model has been "compiled"' in logs[1]
    eager, compiled = _losses(runs['eager']), _losses(runs['compiled'])
    assert sorted(eager) == sorted(compiled) == [1, 2, 3]
    for step in eager:
        assert compiled[step] == pytest.approx(eager[step], rel=1e-4, abs=1e-5), (eager,
                                                                                  compiled)
    assert osp.isfile(osp.join(runs['compiled'], 'last_checkpoint'))


def test_benchmark_compile_tiny(tmp_path):
    """benchmark_compile.py's smoke size: no graph break in model.loss, the compiled step's
    first loss is the eager one, both arms timed."""
    import torch
    from helpers.tools import load_tool
    tool = load_tool('tools/analysis_tools/benchmark_compile.py')
    threads = torch.get_num_threads()
    try:
        res = tool.main(['--tiny', '--batch', '2', '--warmup', '1', '--steps', '1', '--repeats',
                         '1', '--threads', '1', '--json', str(tmp_path / 'compile.json')])
    finally:
        torch.set_num_threads(threads)  # main() sets it for the process
        torch._dynamo.reset()
    assert res['graph_breaks']['breaks'] == 0 and res['graph_breaks']['graphs'] == 1
    assert res['first_loss']['compiled'] == pytest.approx(res['first_loss']['eager'], rel=1e-5)
    assert res['eager']['step_s'] > 0 and res['compiled']['step_s'] > 0 and res['ratio'] > 0
    assert osp.isfile(tmp_path / 'compile.json')
