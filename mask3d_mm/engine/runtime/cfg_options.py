"""``--cfg-options`` and ``MASK3D_MM_CFG_OPTIONS``: parsing, top-level key checks, merging."""
import argparse
import difflib
import inspect
import os
import shlex
from typing import Any, Dict, List, Optional, Sequence

from mmengine.config import Config
from mmengine.runner import Runner

__all__ = ['ENV_CFG_OPTIONS', 'check_cfg_options', 'parse_cfg_options', 'env_cfg_options',
           'apply_cfg_options']

# the documented shrink mechanism of the tools (docs/tools.md): more --cfg-options, applied last
ENV_CFG_OPTIONS = 'MASK3D_MM_CFG_OPTIONS'

# top-level keys that mmengine reads besides the Runner's arguments (configs often omit them)
_RUNNER_EXTRA_KEYS = {
    'model_wrapper_cfg', 'find_unused_parameters', 'sync_bn', 'compile', 'runner_type',
    'activation_checkpointing', 'efficient_conv_bn_eval', 'custom_imports', 'strategy',
    'tta_model', 'tta_pipeline'
}


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
