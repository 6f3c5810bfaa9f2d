"""Set-up shared by ``tools/train.py`` and ``tools/test.py``: CPU distributed runs, option checks.

Not exported from :mod:`mask3d_mm.engine`: the tools import it as ``mask3d_mm.engine.runtime``.
"""
import argparse
import datetime
import difflib
import inspect
import logging
import os
import shlex
from typing import Any, Dict, List, Optional, Sequence

import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import MODEL_WRAPPERS
from mmengine.runner import Runner

__all__ = [
    'setup_cpu_distributed', 'teardown_distributed', 'check_cfg_options', 'ENV_CFG_OPTIONS',
    'parse_cfg_options', 'env_cfg_options', 'apply_cfg_options', 'has_amp_device',
    'fit_optim_wrapper_to_device', 'check_component_args', 'prepare_resume',
    'install_tool_logging'
]

# the documented shrink mechanism of the tools (docs/tools.md): more --cfg-options, applied last
ENV_CFG_OPTIONS = 'MASK3D_MM_CFG_OPTIONS'

# top-level keys that mmengine reads besides the Runner's arguments (configs often omit them)
_RUNNER_EXTRA_KEYS = {
    'model_wrapper_cfg', 'find_unused_parameters', 'sync_bn', 'compile', 'runner_type',
    'activation_checkpointing', 'efficient_conv_bn_eval', 'custom_imports', 'strategy',
    'tta_model', 'tta_pipeline'
}


def _sync_bn_to_bn(node: Any) -> int:
    """Turn every ``dict(type='SyncBN' | 'MMSyncBN')`` under ``node`` into 'BN'; the count."""
    count = 0
    if isinstance(node, dict):
        if node.get('type') in ('SyncBN', 'MMSyncBN'):
            node['type'] = 'BN'
            count += 1
        for value in node.values():
            count += _sync_bn_to_bn(value)
    elif isinstance(node, (list, tuple)):
        count += sum(_sync_bn_to_bn(v) for v in node)
    return count


def setup_cpu_distributed(cfg: Config) -> Optional[str]:
    """Make a distributed run work without GPUs: gloo backend, CPU DDP.

    Does nothing when ``cfg.launcher`` is 'none' or CUDA is available. Otherwise sets
    ``cfg.env_cfg.dist_cfg.backend = 'gloo'`` and works around the GPU assumptions of mmengine
    0.10.7 and torch:

    - ``init_dist`` calls ``torch.cuda.set_device`` (an error without CUDA): the gloo process
      group is initialised here from the ``torchrun`` environment, so the Runner skips it;
    - the Runner hands ``device_ids=[LOCAL_RANK]`` to DDP, which DDP refuses for a CPU model:
      ``model_wrapper_cfg`` gets ``device_ids=None``;
    - ``SyncBatchNorm`` only runs on GPUs: SyncBN layers of the model config become BN and
      ``cfg.sync_bn`` is dropped. Each rank then updates the BN running statistics from its own
      samples, so :class:`~mask3d_mm.engine.hooks.broadcast_buffers_hook.BroadcastBuffersHook`
      (added to ``custom_hooks`` of every CPU distributed run) copies rank 0's buffers to all
      ranks after every iteration: validation, checkpoints and the end of training see rank
      0's statistics on every rank. (On GPUs SyncBN computes the statistics over the whole
      batch of all ranks, so every rank updates them identically.)

    Only ``--launcher pytorch`` (``torchrun`` / ``tools/dist_train.sh``) is supported on CPU;
    'slurm' and 'mpi' raise: run ``torchrun`` inside the allocation instead.

    Returns:
        str | None: the log line saying what was changed, or None when nothing was.
    """
    launcher = cfg.get('launcher', 'none')
    if launcher == 'none' or torch.cuda.is_available():
        return None
    if launcher != 'pytorch':
        raise RuntimeError(
            f'--launcher {launcher} without CUDA: mmengine sets a CUDA device per process for '
            'this launcher. On CPU machines launch with torchrun (tools/dist_train.sh, '
            '--launcher pytorch), which uses the gloo backend.')
    env_cfg = cfg.setdefault('env_cfg', dict())
    dist_cfg = env_cfg.setdefault('dist_cfg', dict())
    dist_cfg['backend'] = 'gloo'
    if not torch_dist.is_initialized():
        timeout = dist_cfg.get('timeout')
        kwargs = {} if timeout is None else dict(timeout=datetime.timedelta(seconds=timeout))
        torch_dist.init_process_group(backend='gloo', **kwargs)

    num_sync_bn = _sync_bn_to_bn(cfg.model) + int(cfg.pop('sync_bn', None) is not None)
    if cfg.get('model_wrapper_cfg') is None:  # what the Runner builds when it is None
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel', broadcast_buffers=False,
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper = cfg.model_wrapper_cfg
    wrapper_type = MODEL_WRAPPERS.get(wrapper.get('type', 'MMDistributedDataParallel'))
    if isinstance(wrapper_type, type) and issubclass(wrapper_type,
                                                     torch.nn.parallel.DistributedDataParallel):
        wrapper.setdefault('device_ids', None)
    from mask3d_mm.engine.hooks.broadcast_buffers_hook import BroadcastBuffersHook  # registers
    cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
        dict(type=f'mask3d_mm.{BroadcastBuffersHook.__name__}')]
    msg = (f'CUDA is not available: distributed run on CPU with the gloo backend '
           f'(env_cfg.dist_cfg.backend=gloo), rank {torch_dist.get_rank()} of '
           f'{torch_dist.get_world_size()}')
    if num_sync_bn:
        msg += f'; SyncBN -> BN ({num_sync_bn} config entries)'
    return msg + "; rank 0's buffers (BN statistics) go to all ranks after every iteration"


def teardown_distributed() -> None:
    """Wait for all ranks, then destroy the default process group (no-op when there is none).

    Called at the end of ``tools/train.py`` and ``tools/test.py``. A process that exits with a
    live gloo process group can abort in the group's destructor ("terminate called without an
    active exception", SIGABRT) while its peer still finishes, so that torchrun reports a failed
    run after every rank did its work. torch asks for an explicit ``destroy_process_group``.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()


def check_cfg_options(cfg: Config, options: Optional[dict],
                      source: str = '--cfg-options') -> None:
    """Refuse ``--cfg-options`` whose top-level key neither is in the config nor is read by
    the Runner.

    mmengine merges any key, so a typo such as ``randomnes.seed=1`` or ``work_dri=x`` would be
    silently ignored. Nested typos are caught by the builders (``model.backbone.archh=b``:
    ``TypeError`` naming the class) or, for arguments that mmengine would only use later
    (hooks, optimizer wrapper, schedulers, loops), by :func:`check_component_args`.

    Args:
        source (str): where the options come from, for the message.

    Raises:
        KeyError: naming the unknown key and the closest known keys.
    """
    runner_args = set(inspect.signature(Runner.__init__).parameters) - {'self'}
    known = set(cfg.keys()) | runner_args | _RUNNER_EXTRA_KEYS
    for key in options or {}:
        top = key.split('.')[0]
        if top in known:
            continue
        close = difflib.get_close_matches(top, sorted(known), n=3)
        hint = f'; did you mean {", ".join(close)}?' if close else ''
        raise KeyError(f'{source} {key}: {top!r} is not a key of {cfg.filename} nor a '
                       f'setting the Runner reads, so it would be ignored{hint}')


def parse_cfg_options(pairs: Optional[Sequence[str]],
                      source: str = '--cfg-options') -> Dict[str, Any]:
    """``['a.b=1', 'c=[1,2]']`` -> ``{'a.b': 1, 'c': [1, 2]}``, values parsed as mmengine's
    ``DictAction`` parses ``--cfg-options`` (numbers, bools, None, lists, tuples).

    Raises:
        ValueError: naming ``source`` and the item that is not ``key=value``.
    """
    from mmengine.config import DictAction
    pairs = list(pairs or [])
    for pair in pairs:
        if '=' not in pair or pair.startswith('='):
            raise ValueError(f'{source}: {pair!r} is not a key=value pair')
    namespace = argparse.Namespace()
    DictAction(option_strings=[], dest='options')(None, namespace, pairs)
    return namespace.options


def env_cfg_options() -> Dict[str, Any]:
    """The options in the environment variable ``MASK3D_MM_CFG_OPTIONS`` (shell-split
    ``key=value`` pairs, as after ``--cfg-options``); empty when it is unset or blank."""
    text = os.environ.get(ENV_CFG_OPTIONS, '')
    try:
        pairs = shlex.split(text)
    except ValueError as e:
        raise ValueError(f'{ENV_CFG_OPTIONS}={text!r}: {e}') from None
    return parse_cfg_options(pairs, source=ENV_CFG_OPTIONS)


def apply_cfg_options(cfg: Config, options: Optional[dict],
                      env_options: Optional[dict] = None) -> List[str]:
    """Merge the command line's ``--cfg-options``, then ``MASK3D_MM_CFG_OPTIONS`` (which thus
    wins), into ``cfg``; each set is checked by :func:`check_cfg_options` first.

    Args:
        options (dict, optional): the parsed ``--cfg-options``.
        env_options (dict, optional): the parsed environment options; read from
            ``MASK3D_MM_CFG_OPTIONS`` when None.

    Returns:
        list[str]: lines for the run's log (the environment options, when there are any).
    """
    if env_options is None:
        env_options = env_cfg_options()
    notes = []
    for source, opts in (('--cfg-options', options), (ENV_CFG_OPTIONS, env_options)):
        if not opts:
            continue
        check_cfg_options(cfg, opts, source)
        cfg.merge_from_dict(opts)
    if env_options:
        notes.append(f'extra --cfg-options from {ENV_CFG_OPTIONS}: '
                     f'{os.environ.get(ENV_CFG_OPTIONS, "").strip()}')
    return notes


# ---- optimizer wrapper on the machine at hand ---------------------------------------------
AMP_ONLY_KEYS = ('loss_scale', 'dtype', 'use_fsdp')  # AmpOptimWrapper's own arguments


def has_amp_device() -> bool:
    """Whether mmengine's ``AmpOptimWrapper`` can run here (it asserts one of these)."""
    from mmengine.device import (is_cuda_available, is_mlu_available, is_musa_available,
                                 is_npu_available)
    return (is_cuda_available() or is_npu_available() or is_mlu_available()
            or is_musa_available())


def _registered(registry, type_: Any, scope: Optional[str]) -> Optional[type]:
    """The class that ``registry.build(dict(type=type_))`` would build under the config's
    ``default_scope``; None when it cannot be found (the build then reports it)."""
    if isinstance(type_, type):
        return type_
    if not isinstance(type_, str):
        return None
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope(scope):
        with registry.switch_scope_and_registry(None) as reg:
            try:
                cls = reg.get(type_)
            except Exception:  # noqa: BLE001  (an unknown scope: the build will say it)
                return None
    return cls if isinstance(cls, type) else None


def fit_optim_wrapper_to_device(cfg: Config) -> List[str]:
    """Make the config's optimizer wrapper run on this machine; the log lines of what changed.

    - No GPU (nor NPU / MLU / MUSA) and ``AmpOptimWrapper``: it becomes ``OptimWrapper`` (fp32),
      its AMP-only keys are dropped; optimizer, ``paramwise_cfg``, ``constructor``,
      ``clip_grad``, ``accumulative_counts`` stay as they are.
    - Any wrapper that is not an AMP one: AMP-only keys that it does not take are dropped, so
      that ``--cfg-options optim_wrapper.type=OptimWrapper`` works on an AMP config.
    """
    from mmengine.optim import AmpOptimWrapper
    from mmengine.registry import OPTIM_WRAPPERS
    wrapper = cfg.get('optim_wrapper')
    if not isinstance(wrapper, dict) or 'optimizer' not in wrapper:
        return []  # none (testing), or several wrappers: left to their constructor
    type_ = wrapper.get('type', 'OptimWrapper')
    cls = _registered(OPTIM_WRAPPERS, type_, cfg.get('default_scope'))
    if cls is None:
        return []
    notes = []
    if cls is AmpOptimWrapper and not has_amp_device():
        wrapper['type'] = 'OptimWrapper'
        dropped = {k: wrapper.pop(k) for k in AMP_ONLY_KEYS if k in wrapper}
        kept = [k for k in ('optimizer', 'paramwise_cfg', 'constructor', 'clip_grad',
                            'accumulative_counts') if k in wrapper]
        notes.append(
            f'no GPU: optim_wrapper AmpOptimWrapper -> OptimWrapper (fp32 on CPU); dropped its '
            f'AMP-only {", ".join(f"{k}={v!r}" for k, v in dropped.items()) or "keys (none set)"}'
            f'; {", ".join(kept)} unchanged')
    elif not issubclass(cls, AmpOptimWrapper):
        accepted = _accepted_args(cls)
        stale = [k for k in AMP_ONLY_KEYS if k in wrapper and k not in (accepted or ())]
        if stale:
            dropped = {k: wrapper.pop(k) for k in stale}
            notes.append(f'optim_wrapper.type={cls.__name__}: dropped the AMP-only '
                         f'{", ".join(f"{k}={v!r}" for k, v in dropped.items())}, which '
                         f'{cls.__name__} does not take')
    return notes


# ---- arguments of the components mmengine builds only when it needs them --------------------
def _passes_kwargs_to_base(init: Any, varkw: str) -> bool:
    """Whether ``init`` hands its ``**varkw`` to a base class's ``__init__``
    (``super().__init__(..., **kwargs)`` or ``Base.__init__(self, ..., **kwargs)``)."""
    import ast
    import textwrap
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(init)))
    except (OSError, TypeError, SyntaxError):
        return False
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == '__init__'
                and any(kw.arg is None and isinstance(kw.value, ast.Name)
                        and kw.value.id == varkw for kw in node.keywords)):
            return True
    return False


def _kwargs_of_checkpoint_hook(cfg: dict, scope: Optional[str]) -> set:
    # CheckpointHook keeps **kwargs for Runner.save_checkpoint, but passes every argument of
    # save_checkpoint itself: any other key fails at the first save, after an epoch
    return set()


def _kwargs_of_ema_hook(cfg: dict, scope: Optional[str]) -> Optional[set]:
    # EMAHook builds MODELS dict(type=ema_type, model=..., **kwargs)
    from mmengine.registry import MODELS
    ema = _registered(MODELS, cfg.get('ema_type', 'ExponentialMovingAverage'), scope)
    accepted = None if ema is None else _accepted_args(ema)
    return None if accepted is None else accepted - {'model'}


def _kwargs_targets() -> Dict[type, Any]:
    """Classes that keep their ``**kwargs`` for another callable: what those accept."""
    from mmengine.hooks import CheckpointHook, EMAHook
    return {CheckpointHook: _kwargs_of_checkpoint_hook, EMAHook: _kwargs_of_ema_hook}


def _accepted_args(cls: type, cfg: Optional[dict] = None,
                   scope: Optional[str] = None) -> Optional[set]:
    """Keyword arguments that building ``cls`` accepts; None when that cannot be told (a
    ``**kwargs`` that goes neither to a base class nor to a known target)."""
    names: set = set()
    targets = _kwargs_targets()
    for klass in cls.__mro__:
        if klass is object:
            return names
        init = vars(klass).get('__init__')
        if init is None:
            continue
        try:
            params = list(inspect.signature(init).parameters.values())
        except (TypeError, ValueError):
            return None
        names |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        varkw = next((p.name for p in params if p.kind is p.VAR_KEYWORD), None)
        if varkw is None:
            return names
        if klass in targets:
            extra = targets[klass](cfg or {}, scope)
            return None if extra is None else names | extra
        if not _passes_kwargs_to_base(init, varkw):
            return None
    return names


def _component_problems(path: str, cfg: Any, registry, scope: Optional[str],
                        default_type: Any = None, extra: Sequence[str] = ()) -> List[str]:
    """Keys of the component config ``cfg`` that its class does not take, as messages."""
    if not isinstance(cfg, dict):
        return []
    cls = _registered(registry, cfg.get('type', default_type), scope)
    if cls is None:
        return []
    accepted = _accepted_args(cls, cfg, scope)
    if accepted is None:
        return []
    accepted |= {'type', '_scope_', *extra}
    problems = []
    for key in cfg:
        if key in accepted:
            continue
        close = difflib.get_close_matches(key, sorted(accepted - {'_scope_'}), n=3)
        hint = f'; did you mean {", ".join(close)}?' if close else ''
        problems.append(f'{path}.{key}: {cls.__name__} takes no argument {key!r}{hint}')
    return problems


def check_component_args(cfg: Config) -> None:
    """Check the arguments of hooks, the optimizer wrapper, parameter schedulers and loops
    against their classes before anything is built.

    mmengine builds some of them late, and ``CheckpointHook`` passes unknown keys on to
    ``Runner.save_checkpoint``: ``default_hooks.checkpoint.intervall=5`` failed only at the end
    of the first epoch. A class whose ``**kwargs`` goes somewhere unknown is not checked.

    Raises:
        TypeError: naming each key, its class and the closest argument names.
    """
    from mmengine.optim import DefaultOptimWrapperConstructor
    from mmengine.registry import (HOOKS, LOOPS, OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS,
                                   PARAM_SCHEDULERS)
    from mmengine.runner import (EpochBasedTrainLoop, IterBasedTrainLoop, TestLoop,
                                 ValLoop)
    scope = cfg.get('default_scope')
    problems: List[str] = []
    hooks = cfg.get('default_hooks') or {}
    for name, hook in (hooks.items() if isinstance(hooks, dict) else ()):
        problems += _component_problems(f'default_hooks.{name}', hook, HOOKS, scope,
                                        extra=['priority'])
    for i, hook in enumerate(cfg.get('custom_hooks') or []):
        problems += _component_problems(f'custom_hooks.{i}', hook, HOOKS, scope,
                                        extra=['priority'])

    wrapper = cfg.get('optim_wrapper')
    if isinstance(wrapper, dict) and 'optimizer' in wrapper:
        constructor = _registered(OPTIM_WRAPPER_CONSTRUCTORS,
                                  wrapper.get('constructor', 'DefaultOptimWrapperConstructor'),
                                  scope)
        # a custom constructor may read keys of its own from the wrapper's config
        if constructor is not None and issubclass(constructor, DefaultOptimWrapperConstructor):
            problems += _component_problems('optim_wrapper', wrapper, OPTIM_WRAPPERS, scope,
                                            'OptimWrapper', ['constructor', 'paramwise_cfg'])

    schedulers = cfg.get('param_scheduler')
    if isinstance(schedulers, dict) and 'type' in schedulers:
        problems += _component_problems('param_scheduler', schedulers, PARAM_SCHEDULERS, scope,
                                        extra=['convert_to_iter_based'])
    elif isinstance(schedulers, (list, tuple)):
        for i, scheduler in enumerate(schedulers):
            problems += _component_problems(f'param_scheduler.{i}', scheduler,
                                            PARAM_SCHEDULERS, scope,
                                            extra=['convert_to_iter_based'])

    train_cfg = cfg.get('train_cfg')
    if isinstance(train_cfg, dict) and ('type' in train_cfg or 'by_epoch' in train_cfg):
        default = EpochBasedTrainLoop if train_cfg.get('by_epoch') else IterBasedTrainLoop
        problems += _component_problems('train_cfg', train_cfg, LOOPS, scope, default,
                                        [] if 'type' in train_cfg else ['by_epoch'])
    for key, default in (('val_cfg', ValLoop), ('test_cfg', TestLoop)):
        problems += _component_problems(key, cfg.get(key), LOOPS, scope, default)
    if problems:
        raise TypeError(f'{cfg.filename}: unknown argument(s), found before training:\n  '
                        + '\n  '.join(problems))


# ---- work dir: fresh run or resume ---------------------------------------------------------
def _checkpoint_files(work_dir: str) -> List[str]:
    """Runner checkpoints (``epoch_N.pth``, ``iter_N.pth``) in ``work_dir``, oldest first."""
    if not os.path.isdir(work_dir):
        return []
    files = [os.path.join(work_dir, f) for f in os.listdir(work_dir)
             if f.endswith('.pth') and f.split('_')[0] in ('epoch', 'iter')]
    return sorted(files, key=os.path.getmtime)


def _read_last_checkpoint(work_dir: str) -> Optional[str]:
    """The file that ``work_dir/last_checkpoint`` names (None: no such pointer file).

    Raises:
        FileNotFoundError: the pointer is empty or names a file that does not exist.
    """
    pointer = os.path.join(work_dir, 'last_checkpoint')
    if not os.path.isfile(pointer):
        return None
    with open(pointer) as f:
        target = f.read().strip()
    if not target:
        raise FileNotFoundError(
            f'{pointer} is empty (work dir {work_dir}): it should name the checkpoint to resume '
            f'from. Pass --resume FILE, or delete {pointer} to start from scratch.')
    if '://' not in target and not os.path.isfile(target):
        raise FileNotFoundError(
            f'{pointer} names {target}, which does not exist (work dir {work_dir}). Pass '
            f'--resume FILE with the checkpoint to continue from, or delete {pointer} to '
            'start from scratch.')
    return target


def prepare_resume(cfg: Config, resume: Optional[str],
                   overwrite_work_dir: bool = False) -> List[str]:
    """Set ``cfg.resume`` / ``cfg.load_from`` for ``tools/train.py --resume [FILE]``; the log
    lines saying what the run will do.

    - ``resume`` None (a fresh run): a work dir that holds checkpoints of an earlier run is
      refused unless ``overwrite_work_dir`` (its ``last_checkpoint`` is then removed), since
      the new run would rewind ``last_checkpoint`` and mix its checkpoints with the old ones.
      A config that sets ``resume = True`` itself counts as ``'auto'``.
    - ``'auto'``: resume from the file that ``WORK_DIR/last_checkpoint`` names, or start from
      scratch when there is no such pointer (and no checkpoint) in the work dir.
    - a path: resume from it; it must exist.

    Raises:
        FileExistsError: a fresh run in a work dir with checkpoints.
        FileNotFoundError: a missing resume file, an empty or dangling ``last_checkpoint``,
            or checkpoints without a ``last_checkpoint`` to choose among them.
    """
    work_dir = os.path.abspath(cfg.work_dir)
    if resume is None and cfg.get('resume', False):
        resume = cfg.get('load_from') or 'auto'
    if resume is None:
        ckpts = _checkpoint_files(work_dir)
        pointer = os.path.join(work_dir, 'last_checkpoint')
        if not ckpts and not os.path.isfile(pointer):
            return []
        newest = ckpts[-1] if ckpts else pointer
        if not overwrite_work_dir:
            raise FileExistsError(
                f'work dir {work_dir} holds checkpoints of an earlier run (newest: {newest}). '
                'A fresh run there would rewind last_checkpoint and mix both runs\' files. '
                'Continue that run with --resume, start elsewhere with --work-dir NEW_DIR, or '
                'start over in this dir with --overwrite-work-dir.')
        if os.environ.get('RANK', '0') == '0' and os.path.isfile(pointer):
            os.remove(pointer)
        return [f'--overwrite-work-dir: fresh run in {work_dir}; removed last_checkpoint; '
                f'{len(ckpts)} checkpoint(s) of the earlier run stay until overwritten by name']

    cfg.resume = True
    if resume != 'auto':
        if '://' not in resume and not os.path.isfile(resume):
            raise FileNotFoundError(f'--resume {resume}: the checkpoint can not be found '
                                    f'(work dir {work_dir})')
        cfg.load_from = resume
        return [f'--resume: resuming from {resume}']
    target = _read_last_checkpoint(work_dir)
    if target is None:
        ckpts = _checkpoint_files(work_dir)
        if ckpts:
            raise FileNotFoundError(
                f'--resume: {work_dir} holds checkpoints ({os.path.basename(ckpts[-1])} is the '
                'newest) but no last_checkpoint file naming the one to continue from: pass '
                '--resume FILE')
        cfg.resume = False  # the config's load_from (e.g. pre-trained weights) still applies
        return [f'--resume: no checkpoint in {work_dir}: starting from scratch']
    cfg.load_from = target
    return [f'--resume: resuming from {target} (named by {work_dir}/last_checkpoint)']


# ---- logging of the tools -----------------------------------------------------------------
class _ParamwiseSummary(logging.Filter):
    """Drops mmengine's ``paramwise_options -- NAME:KEY=VALUE`` lines (one per parameter and
    setting: ~615 for ViT-B pre-training) and counts them for one summary line."""

    PREFIX = 'paramwise_options -- '

    def __init__(self) -> None:
        super().__init__()
        self.params: set = set()
        self.values: Dict[str, Dict[str, int]] = {}  # key -> value -> tensors

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if not msg.startswith(self.PREFIX):
            return True
        name, _, setting = msg[len(self.PREFIX):].partition(':')
        key, _, value = setting.partition('=')
        self.params.add(name)
        counts = self.values.setdefault(key, {})
        counts[value] = counts.get(value, 0) + 1
        return False

    def summary(self) -> Optional[str]:
        if not self.values:
            return None
        parts = []
        for key, counts in self.values.items():
            common = sorted(counts.items(), key=lambda kv: -kv[1])
            shown = ', '.join(f'{v} x{n}' for v, n in common[:3])
            parts.append(f'{key}={shown}' + (f', ... ({len(common)} values)'
                                             if len(common) > 3 else ''))
        return (f'paramwise_options of {len(self.params)} parameter tensors: '
                f'{"; ".join(parts)} (log_level=DEBUG lists each)')


class _ToolLogHook(Hook):
    """Logs, once training is set up (after resuming), where it resumed and the paramwise
    summary."""

    priority = 'VERY_HIGH'

    def __init__(self, resumed_from: Optional[str],
                 summary: Optional[_ParamwiseSummary]) -> None:
        self.resumed_from = resumed_from
        self.summary = summary

    def before_train(self, runner) -> None:
        if self.summary is not None:
            runner.logger.removeFilter(self.summary)
            line = self.summary.summary()
            if line:
                runner.logger.info(line)
        if self.resumed_from:
            runner.logger.info(f'resumed from {self.resumed_from} at epoch {runner.epoch}, '
                               f'iteration {runner.iter}')


def install_tool_logging(runner: Runner, cfg: Config) -> None:
    """One summary line instead of mmengine's per-parameter ``paramwise_options`` lines (unless
    ``log_level='DEBUG'``), and a line saying where a resumed run continues."""
    summary = None
    if str(cfg.get('log_level', 'INFO')).upper() != 'DEBUG':
        summary = _ParamwiseSummary()
        runner.logger.addFilter(summary)
    resumed_from = cfg.get('load_from') if cfg.get('resume') else None
    runner.register_hook(_ToolLogHook(resumed_from, summary))
