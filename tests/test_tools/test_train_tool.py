"""tools/train.py (and tools/test.py) as users type them: MASK3D_MM_CFG_OPTIONS, the CPU
fallback of AMP configs, work-dir and resume policy, early checks of nested keys (docs/tools.md).

Runs that train go through a subprocess ``python tools/train.py`` shrunk by
``MASK3D_MM_CFG_OPTIONS``; runs that must fail before training call the tool's ``main()`` in
this process (same code, no import time).
"""
import glob
import importlib.util
import os
import os.path as osp
import shlex
import shutil
import sys

import pytest
import torch
from mmengine.config import Config

from helpers.tools import REPO, load_tool, run, run_tool_main

TRAIN = osp.join(REPO, 'tools/train.py')
TINY = osp.join(REPO, 'configs/mask3d/vit-tiny_synthetic.py')
ENV = 'MASK3D_MM_CFG_OPTIONS'


def shrink(data_root: str, epochs: int = 1, **extra) -> str:
    """``MASK3D_MM_CFG_OPTIONS`` that turn a pre-training config into seconds on the synthetic
    set: 2 iterations per epoch, no workers."""
    opts = dict(extra)
    for split in ('train', 'val'):
        opts.update({
            f'{split}_dataloader.dataset.data_root': data_root,
            f'{split}_dataloader.dataset.ann_file': '',
            f'{split}_dataloader.batch_size': 4,
            f'{split}_dataloader.num_workers': 0,
            f'{split}_dataloader.persistent_workers': False,
        })
    opts['train_cfg.max_epochs'] = epochs
    return ' '.join(shlex.quote(f'{k}={v}') for k, v in opts.items())


def log_text(work_dir: str) -> str:
    """The log of the newest run in ``work_dir``."""
    logs = sorted(glob.glob(osp.join(work_dir, '*', '*.log')))
    with open(logs[-1]) as f:
        return f.read()


@pytest.fixture(scope='module')
def first_run(synthetic_scannet, tmp_path_factory):
    """One epoch of the tiny pre-training config, typed as a preemptible cluster job would
    (``--resume`` on an empty work dir) with ``--no-validate`` and command-line options that
    ``MASK3D_MM_CFG_OPTIONS`` overrides: ``(work_dir, completed process)``."""
    work_dir = str(tmp_path_factory.mktemp('first_run') / 'work')
    proc = run([sys.executable, TRAIN, TINY, '--work-dir', work_dir, '--resume', '--no-validate',
                '--cfg-options', 'train_cfg.max_epochs=3', 'randomness.seed=5'],
               **{ENV: shrink(synthetic_scannet)})
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return work_dir, proc


# ---- C: MASK3D_MM_CFG_OPTIONS ---------------------------------------------------------------
@pytest.mark.slow
def test_env_options_win_over_cfg_options_and_are_logged(first_run, synthetic_scannet):
    work_dir, proc = first_run
    log = log_text(work_dir)
    assert f'extra --cfg-options from {ENV}: ' in log
    assert sorted(f for f in os.listdir(work_dir) if f.endswith('.pth')) == ['epoch_1.pth']
    dumped = Config.fromfile(osp.join(work_dir, 'vit-tiny_synthetic.py'))
    assert dumped.train_cfg.max_epochs == 1  # the environment won over --cfg-options (3)
    assert dumped.randomness.seed == 5  # --cfg-options still applied
    assert dumped.train_dataloader.dataset.data_root == synthetic_scannet


@pytest.mark.parametrize('value, error, match', [
    ('train_dataloder.batch_size=2', KeyError,
     f"{ENV} train_dataloder.batch_size: 'train_dataloder' is not a key.*train_dataloader"),
    ('batch_size', ValueError, f"{ENV}: 'batch_size' is not a key=value pair"),
    ('a="unclosed', ValueError, f'{ENV}=.*No closing quotation'),
])
def test_env_options_are_checked(value, error, match, tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, value)
    with pytest.raises(error, match=match):
        run_tool_main('train', TINY, '--work-dir', str(tmp_path / 'work'))


@pytest.mark.slow
def test_test_tool_reads_env_options(tiny_pretrain_run, tmp_path, monkeypatch):
    config, ckpt = tiny_pretrain_run
    monkeypatch.setenv(ENV, 'randomnes.seed=1')
    with pytest.raises(KeyError, match=f'{ENV} randomnes.seed.*did you mean randomness'):
        run_tool_main('test', config, ckpt, '--work-dir', str(tmp_path / 'cli'))
    # the environment wins over the command line: the run writes to its work_dir
    monkeypatch.setenv(ENV, f'work_dir={tmp_path / "env"}')
    metrics = run_tool_main('test', config, ckpt, '--work-dir', str(tmp_path / 'cli'))
    assert 'depth/masked/abs_rel' in metrics
    assert not osp.exists(tmp_path / 'cli')
    assert f'extra --cfg-options from {ENV}: work_dir=' in log_text(str(tmp_path / 'env'))


# ---- B: --no-validate with val options, one paramwise line ----------------------------------
@pytest.mark.slow
def test_no_validate_after_val_options_and_one_paramwise_line(first_run):
    work_dir, proc = first_run
    log = log_text(work_dir)
    assert 'Epoch(val)' not in log  # the val_dataloader.* options were merged, then dropped
    assert 'paramwise_options -- ' not in proc.stdout + proc.stderr + log
    summary = [line for line in log.splitlines() if 'paramwise_options of' in line]
    assert len(summary) == 1, summary
    assert 'weight_decay=0.0 x' in summary[0] and 'log_level=DEBUG' in summary[0]


def test_help_imports_nothing_heavy():
    code = ('import runpy, sys\nsys.argv = ["train.py", "--help"]\n'
            'try:\n    runpy.run_path(%r, run_name="__main__")\n'
            'except SystemExit:\n    pass\n'
            'print("HEAVY", sorted(m for m in ("torch", "mmengine", "mask3d_mm") '
            'if m in sys.modules))') % TRAIN
    proc = run([sys.executable, '-c', code])
    assert 'MASK3D_MM_CFG_OPTIONS' in proc.stdout and '--overwrite-work-dir' in proc.stdout
    assert 'HEAVY []' in proc.stdout, proc.stdout[-2000:]


# ---- E: --resume -----------------------------------------------------------------------------
@pytest.mark.slow
def test_resume_on_empty_work_dir_says_it_starts_from_scratch(first_run):
    work_dir, _ = first_run
    log = log_text(work_dir)
    assert f'--resume: no checkpoint in {work_dir}: starting from scratch' in log
    assert 'Auto resumed' not in log and 'resumed from' not in log


@pytest.mark.slow
def test_resume_says_what_it_continues(first_run, synthetic_scannet, tmp_path, monkeypatch):
    work_dir = str(tmp_path / 'work')
    shutil.copytree(first_run[0], work_dir)
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:  # the copy's own file
        f.write(osp.join(work_dir, 'epoch_1.pth'))
    monkeypatch.setenv(ENV, shrink(synthetic_scannet, epochs=2))
    run_tool_main('train', TINY, '--work-dir', work_dir, '--resume', '--no-validate')
    log = log_text(work_dir)
    ckpt = osp.join(work_dir, 'epoch_1.pth')
    assert f'--resume: resuming from {ckpt} (named by {work_dir}/last_checkpoint)' in log
    assert f'resumed from {ckpt} at epoch 1, iteration 2' in log
    assert osp.isfile(osp.join(work_dir, 'epoch_2.pth'))


@pytest.mark.parametrize('pointer, args, match', [
    (None, ['--resume', '{work}/epoch_9.pth'],
     r'--resume {work}/epoch_9.pth: the checkpoint can not be found \(work dir {work}\)'),
    ('', ['--resume'], '{work}/last_checkpoint is empty'),
    ('{work}/epoch_7.pth', ['--resume'],
     '{work}/last_checkpoint names {work}/epoch_7.pth, which does not exist'),
], ids=['explicit-missing-file', 'empty-last-checkpoint', 'dangling-last-checkpoint'])
def test_resume_from_nothing_fails_naming_the_file(pointer, args, match, tmp_path):
    work = str(tmp_path / 'work')
    os.makedirs(work)
    if pointer is not None:
        with open(osp.join(work, 'last_checkpoint'), 'w') as f:
            f.write(pointer.format(work=work))
    with pytest.raises(FileNotFoundError, match=match.format(work=work)):
        run_tool_main('train', TINY, '--work-dir', work, *[a.format(work=work) for a in args])


# ---- D: a fresh run in a used work dir ---------------------------------------------------------
@pytest.mark.slow
def test_fresh_run_in_used_work_dir_is_refused(first_run, synthetic_scannet, tmp_path):
    work_dir = str(tmp_path / 'work')
    shutil.copytree(first_run[0], work_dir)
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work_dir, 'epoch_1.pth'))
    before = {f: os.path.getmtime(osp.join(work_dir, f)) for f in os.listdir(work_dir)}
    proc = run([sys.executable, TRAIN, TINY, '--work-dir', work_dir],
               **{ENV: shrink(synthetic_scannet)})
    assert proc.returncode != 0
    err = proc.stderr.strip().splitlines()[-1]
    assert err.startswith('FileExistsError') and work_dir in err
    assert f'newest: {osp.join(work_dir, "epoch_1.pth")}' in err
    assert '--resume' in err and '--work-dir NEW_DIR' in err and '--overwrite-work-dir' in err
    assert {f: os.path.getmtime(osp.join(work_dir, f)) for f in os.listdir(work_dir)} == before


@pytest.mark.slow
def test_overwrite_work_dir_starts_over(first_run, synthetic_scannet, tmp_path, monkeypatch):
    work_dir = str(tmp_path / 'work')
    shutil.copytree(first_run[0], work_dir)
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work_dir, 'epoch_1.pth'))
    os.rename(osp.join(work_dir, 'epoch_1.pth'), osp.join(work_dir, 'epoch_6.pth'))
    monkeypatch.setenv(ENV, shrink(synthetic_scannet))
    run_tool_main('train', TINY, '--work-dir', work_dir, '--overwrite-work-dir', '--no-validate')
    with open(osp.join(work_dir, 'last_checkpoint')) as f:  # the new run's, not the old one
        assert f.read().strip() == osp.join(work_dir, 'epoch_1.pth')
    assert 'removed last_checkpoint; 1 checkpoint(s) of the earlier run' in log_text(work_dir)


# ---- F: misspelt nested keys fail before training ---------------------------------------------
@pytest.mark.parametrize('option, match', [
    ('default_hooks.checkpoint.intervall=5',
     r"default_hooks.checkpoint.intervall: CheckpointHook takes no argument 'intervall'; "
     r'did you mean interval'),
    ('default_hooks.logger.intervl=5', "LoggerHook takes no argument 'intervl'.*interval"),
    ('custom_hooks.0.num_sample=2',
     "custom_hooks.0.num_sample: DepthReconstructionVisHook.*did you mean num_samples"),
    ('optim_wrapper.clip_gard=None', "optim_wrapper.clip_gard: OptimWrapper.*clip_grad"),
    ('param_scheduler.1.eta_mn=0', "param_scheduler.1.eta_mn: CosineAnnealingLR.*eta_min"),
    ('train_cfg.max_epoch=1', "train_cfg.max_epoch: EpochBasedTrainLoop.*max_epochs"),
    ('val_cfg.fp61=True', "val_cfg.fp61: ValLoop.*fp16"),
])
def test_misspelt_nested_key_fails_before_training(option, match, tmp_path):
    with pytest.raises(TypeError, match=match):
        run_tool_main('train', TINY, '--work-dir', str(tmp_path / 'work'), '--cfg-options',
                      option)
    assert not osp.exists(tmp_path / 'work')  # nothing was built, nothing written


@pytest.mark.parametrize('option, keys', [
    ('max_depth=5.0', r'model.depth_encoder.max_depth=\.\.\., model.head.max_depth=\.\.\.'),
    ('data_root=/elsewhere', r'train_dataloader.dataset.data_root=\.\.\.'),
    ('train_pipeline.0.type=X', r'set the keys'),
])
def test_config_variable_option_is_refused(option, keys, tmp_path, monkeypatch):
    """A config variable was substituted when the file was read: setting it would change
    nothing, so it is refused, naming the keys that hold its value (also from the env)."""
    top = option.split('.')[0].split('=')[0]
    with pytest.raises(KeyError, match=f"--cfg-options {option.split('=')[0]}: '{top}' is a "
                       f'variable of .*change nothing.*{keys}'):
        run_tool_main('train', TINY, '--work-dir', str(tmp_path / 'w'), '--cfg-options', option)
    monkeypatch.setenv('MASK3D_MM_CFG_OPTIONS', option)
    with pytest.raises(KeyError, match=f"MASK3D_MM_CFG_OPTIONS {option.split('=')[0]}: "):
        run_tool_main('train', TINY, '--work-dir', str(tmp_path / 'w'))
    assert not osp.exists(tmp_path / 'w')


def test_kwargs_forwarded_to_another_class_are_checked_there(tmp_path):
    """EMAHook hands **kwargs to its EMA model: real arguments pass, typos fail."""
    from mask3d_mm import tooling as runtime
    cfg = Config.fromfile(TINY)
    cfg.custom_hooks = [dict(type='EMAHook', momentum=0.001, priority='ABOVE_NORMAL')]
    runtime.check_component_args(cfg)
    cfg.custom_hooks[0]['momentun'] = 0.001
    with pytest.raises(TypeError, match="custom_hooks.0.momentun: EMAHook.*momentum"):
        runtime.check_component_args(cfg)


# ---- G: imagenet_checkpoint is gone ---------------------------------------------------------
IMAGENET_MSG = ('imagenet_checkpoint is not read .*set model.backbone.init_cfg.checkpoint=PATH '
                r'\(configs/mask3d/README.md\)')


def test_imagenet_checkpoint_option_is_explained(tmp_path, monkeypatch):
    with pytest.raises(KeyError, match='--cfg-options: ' + IMAGENET_MSG):
        run_tool_main('train', TINY, '--work-dir', str(tmp_path / 'w'), '--cfg-options',
                      'imagenet_checkpoint=mae.pth')
    monkeypatch.setenv(ENV, 'imagenet_checkpoint=mae.pth')
    with pytest.raises(KeyError, match=f'{ENV}: ' + IMAGENET_MSG):
        run_tool_main('train', TINY, '--work-dir', str(tmp_path / 'w'))


def test_imagenet_checkpoint_in_child_config_is_explained(tmp_path):
    child = tmp_path / 'child.py'
    child.write_text(f"_base_ = ['{osp.join(REPO, 'configs/mask3d/vit-b_scannet.py')}']\n"
                     "imagenet_checkpoint = 'mae.pth'\n")
    with pytest.raises(KeyError, match=f'{child}: ' + IMAGENET_MSG):
        run_tool_main('train', str(child), '--work-dir', str(tmp_path / 'w'))


# ---- A: AMP configs on a machine without a GPU ------------------------------------------------
TRAINING_CONFIGS = sorted(
    p for pattern in ('configs/mask3d/*.py', 'configs/benchmarks/mmseg/*.py',
                      'configs/benchmarks/mmdet/*.py',
                      'configs/benchmarks/pretrain_comparison/*.py')
    for p in glob.glob(osp.join(REPO, pattern)))
KEPT = ('optimizer', 'paramwise_cfg', 'constructor', 'clip_grad', 'accumulative_counts')


def _tiny_vit_model() -> torch.nn.Module:
    """A model with an mmpretrain ViT as ``backbone`` and a head, for the optimizer builders."""
    from mmpretrain.models import VisionTransformer
    model = torch.nn.Module()
    model.backbone = VisionTransformer(
        arch=dict(embed_dims=32, num_layers=2, num_heads=2, feedforward_channels=64),
        img_size=32, patch_size=16)
    model.neck = torch.nn.Sequential(torch.nn.Linear(32, 8), torch.nn.LayerNorm(8))
    return model


@pytest.mark.skipif(torch.cuda.is_available(), reason='about machines without a GPU')
@pytest.mark.parametrize('config', TRAINING_CONFIGS,
                         ids=[osp.relpath(p, REPO) for p in TRAINING_CONFIGS])
@pytest.mark.slow
def test_every_training_config_falls_back_to_fp32_on_cpu(config, tmp_path, monkeypatch):
    from mmengine.optim import OptimWrapper, build_optim_wrapper
    from mmengine.registry import DefaultScope
    monkeypatch.delenv(ENV, raising=False)
    train = load_tool('tools/train.py')
    original = Config.fromfile(config)
    cfg = Config.fromfile(config)
    launcher = []
    if 'strategy' in cfg:  # sharded configs run under a launcher (tools/dist_train.sh)
        launcher = ['--launcher', 'pytorch']
        if 'DeepSpeed' in cfg.strategy.type and importlib.util.find_spec('deepspeed') is None:
            pytest.skip('deepspeed is optional and not installed (docs/distributed.md)')
    notes = train.merge_args(cfg, train.parse_args([config, '--work-dir', str(tmp_path),
                                                    *launcher]))
    was_amp = original.optim_wrapper.get('type') == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.get('type', 'OptimWrapper') == 'OptimWrapper'
    assert not {'loss_scale', 'dtype', 'use_fsdp'} & set(cfg.optim_wrapper)
    for key in KEPT:  # the same optimizer, betas, weight decay, paramwise settings
        assert cfg.optim_wrapper.get(key) == original.optim_wrapper.get(key), key
    fallback = [n for n in notes if 'AmpOptimWrapper -> OptimWrapper' in n]
    assert len(fallback) == int(was_amp)
    if was_amp:
        assert "loss_scale='dynamic'" in fallback[0]

    # and it builds, with the config's optimizer settings, for a small model
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        wrapper = build_optim_wrapper(_tiny_vit_model(), cfg.optim_wrapper)
    assert type(wrapper) is OptimWrapper
    opt_cfg = original.optim_wrapper.optimizer
    assert type(wrapper.optimizer).__name__ == opt_cfg.type
    assert wrapper.optimizer.defaults['lr'] == opt_cfg.lr
    assert wrapper.optimizer.defaults['weight_decay'] == opt_cfg.weight_decay
    assert tuple(wrapper.optimizer.defaults['betas']) == tuple(opt_cfg.betas)
    if 'paramwise_cfg' in original.optim_wrapper:  # paramwise settings applied
        assert {g['weight_decay'] for g in wrapper.optimizer.param_groups} >= {0.0}
        assert len(wrapper.optimizer.param_groups) > 1


def test_documented_optim_wrapper_switch_drops_amp_keys(tmp_path, monkeypatch):
    """The old CPU instruction ``--cfg-options optim_wrapper.type=OptimWrapper`` works."""
    monkeypatch.delenv(ENV, raising=False)
    train = load_tool('tools/train.py')
    config = osp.join(REPO, 'configs/mask3d/vit-b_scannet.py')
    cfg = Config.fromfile(config)
    notes = train.merge_args(cfg, train.parse_args([
        config, '--work-dir', str(tmp_path), '--cfg-options', 'optim_wrapper.type=OptimWrapper']))
    assert cfg.optim_wrapper.type == 'OptimWrapper' and 'loss_scale' not in cfg.optim_wrapper
    assert any("dropped the AMP-only loss_scale='dynamic'" in n for n in notes), notes


@pytest.mark.skipif(torch.cuda.is_available(), reason='about machines without a GPU')
def test_amp_flag_without_gpu_is_a_clear_error(tmp_path):
    with pytest.raises(RuntimeError, match='--amp: mixed precision needs a GPU'):
        run_tool_main('train', TINY, '--work-dir', str(tmp_path / 'w'), '--amp')


def vit_b_shrink(data_root: str) -> str:
    """``MASK3D_MM_CFG_OPTIONS`` that make the ViT-B recipe (an AMP config) a seconds-long run:
    a DeiT-tiny colour ViT, a narrow depth encoder and decoder, 1 epoch of 2 iterations."""
    model = {
        'model.backbone.arch': 'deit-tiny',
        'model.depth_encoder.embed_dims': 32, 'model.depth_encoder.num_layers': 1,
        'model.depth_encoder.num_heads': 2,
        'model.neck.in_channels': 192, 'model.neck.depth_in_channels': 32,
        'model.neck.embed_dims': 32, 'model.neck.num_layers': 1, 'model.neck.num_heads': 2,
    }
    return shrink(data_root, **model)


@pytest.mark.skipif(torch.cuda.is_available(), reason='about machines without a GPU')
@pytest.mark.slow
def test_amp_config_trains_on_cpu(synthetic_scannet, tmp_path):
    work_dir = str(tmp_path / 'work')
    proc = run([sys.executable, TRAIN, osp.join(REPO, 'configs/mask3d/vit-b_scannet.py'),
                '--work-dir', work_dir], **{ENV: vit_b_shrink(synthetic_scannet)})
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    log = log_text(work_dir)
    assert ('no GPU: optim_wrapper AmpOptimWrapper -> OptimWrapper (fp32 on CPU); dropped its '
            "AMP-only loss_scale='dynamic'; optimizer, paramwise_cfg unchanged") in log
    assert 'Epoch(train) [1][2/2]' in log and 'loss: nan' not in log
    assert osp.isfile(osp.join(work_dir, 'epoch_1.pth'))
