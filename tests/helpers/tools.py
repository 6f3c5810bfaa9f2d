"""Helpers of the tool and robustness tests: tiny pre-training configs, tool subprocesses."""
import mask3d_mm  # noqa: F401,I001  (first: compat patches)

import importlib.util
import os
import os.path as osp
import subprocess
import sys
from typing import Dict, List, Optional

from mmengine.config import Config

from .fork_server import interpreter

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
HERE = osp.dirname(osp.abspath(__file__))  # holds tool_test_hooks.py
PRETRAIN_CONFIG = osp.join(REPO, 'configs/mask3d/vit-tiny_synthetic.py')
CROP = (64, 96)


def tiny_pretrain_cfg(data_root: str, max_iters: int = 4, ckpt_interval: int = 4,
                      batch_size: int = 2, hooks: Optional[List[dict]] = None,
                      validate: bool = False) -> Config:
    """The synthetic pre-training config, smaller (64x96 crops, iteration-based, no workers).

    ``hooks`` are test hooks of ``tool_test_hooks`` (imported through ``custom_imports``);
    ``validate`` keeps the validation split and metric (validated at the end only).
    """
    cfg = Config.fromfile(PRETRAIN_CONFIG)
    cfg.model.backbone.img_size = CROP
    cfg.model.depth_encoder.img_size = CROP
    for loader in ('train_dataloader', 'val_dataloader'):
        dl = cfg[loader]
        dl.update(batch_size=batch_size, num_workers=0, persistent_workers=False)
        dl.dataset.update(data_root=data_root, ann_file='')
        for t in dl.dataset.pipeline:
            if 'scale' in t:
                t.scale = CROP
    cfg.val_dataloader.dataset.frame_skip = 1
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10**6)
    if not validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0,
                                end=max_iters)]
    cfg.optim_wrapper.optimizer.lr = 2e-3
    cfg.log_processor = dict(window_size=1, by_epoch=False)  # each iteration's own loss
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=ckpt_interval,
                                        by_epoch=False)
    cfg.custom_hooks = list(hooks or [])
    if hooks:
        cfg.custom_imports = dict(imports=['mask3d_mm', 'tool_test_hooks'],
                                  allow_failed_imports=False)
    cfg.randomness = dict(seed=0)
    return cfg


def write_cfg(cfg: Config, path: str) -> str:
    cfg.dump(path)
    return path


def tool_env(**extra: str) -> Dict[str, str]:
    """Environment of a tool subprocess: the test hooks importable, one thread per process,
    CPU only (2 ranks on a 1-GPU machine would fail; CPU runs are deterministic)."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(p for p in (HERE, REPO, env.get('PYTHONPATH')) if p)
    env.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHON=interpreter(),
               PYTHONWARNINGS='ignore', CUDA_VISIBLE_DEVICES='')
    env.update(extra)
    return env


def run(cmd: List[str], cwd: str = REPO, timeout: float = 180,
        **env: str) -> subprocess.CompletedProcess:
    """Run a tool; ``cwd``: where mmengine may leave files (e.g. ``.dist_test/``). A
    ``sys.executable`` command runs on the pre-imported interpreter (``fork_server``)."""
    if cmd[0] == sys.executable:
        cmd = [interpreter(), *cmd[1:]]
    return subprocess.run(cmd, cwd=cwd, env=tool_env(**env), capture_output=True, text=True,
                          timeout=timeout)


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_tool_main(tool: str, *argv: str):
    """Run ``tools/<tool>.py``'s ``main()`` in this process with ``argv`` (faster than a
    subprocess: the stack is imported already); returns what ``main()`` returns."""
    import importlib.util
    from unittest import mock
    path = osp.join(REPO, 'tools', f'{tool}.py')
    spec = importlib.util.spec_from_file_location(f'mask3d_mm_tool_{osp.basename(tool)}', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with mock.patch.object(sys, 'argv', [path, *argv]):
        return module.main()


def load_tool(relpath: str):
    """Import a script of ``tools/`` or ``.dev_scripts/`` (not a package) as a module, e.g.
    ``load_tool('tools/analysis_tools/benchmark_data_pipeline.py')``."""
    path = osp.join(REPO, relpath)
    spec = importlib.util.spec_from_file_location(osp.splitext(osp.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def start_train(config: str, work_dir: str, options: List[str], *extra: str,
                cwd: str = REPO) -> subprocess.Popen:
    """``python tools/train.py CONFIG --work-dir DIR [extra]`` in ``cwd``, shrunk by
    ``MASK3D_MM_CFG_OPTIONS`` (``options``), in its own session (see :func:`finish_runs`); its
    output goes to ``DIR.log`` (``proc.log_path``)."""
    import shlex
    env = tool_env(MASK3D_MM_CFG_OPTIONS=' '.join(shlex.quote(o) for o in options))
    with open(f'{work_dir}.log', 'a') as log:
        proc = subprocess.Popen([interpreter(), osp.join(REPO, 'tools/train.py'), config,
                                 '--work-dir', work_dir, *extra], cwd=cwd, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    proc.log_path = f'{work_dir}.log'
    return proc


def finish_runs(*procs: subprocess.Popen, timeout: float = 300) -> List[str]:
    """Wait for the runs of :func:`start_train` (a timeout each) and kill what is left of their
    sessions (the data-loader workers of a SIGKILLed run); their logs."""
    import signal
    outs = []
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        with open(proc.log_path) as f:
            outs.append(f.read())
    return outs



def capture_log(fn) -> str:
    """The messages mmengine's current logger records while ``fn()`` runs, one text."""
    return '\n'.join(capture_messages(fn))


def capture_messages(fn) -> list:
    """The messages mmengine's current logger records while ``fn()`` runs, one per record."""
    import logging

    from mmengine.logging import MMLogger
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        fn()
    finally:
        logger.removeHandler(handler)
    return [r.getMessage() for r in records]
