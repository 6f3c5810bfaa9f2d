"""``--cfg-options`` and ``MASK3D_MM_CFG_OPTIONS``: parsing, top-level key checks (of the options
and of the config file), merging."""
import difflib
import inspect
import os
import re
import shlex
from typing import Any, Dict, List, Optional, Sequence, Set

from mmengine.config import Config
from mmengine.runner import Runner

from mask3d_mm.recipe_consistency import check_recipe_consistency

__all__ = ['ENV_CFG_OPTIONS', 'check_cfg_options', 'check_config_keys', 'parse_cfg_options',
           'env_cfg_options', 'apply_cfg_options', 'misspelt_runner_key', 'parse_cfg_value',
           'runner_keys']

# the documented shrink mechanism of the tools (docs/tools.md): more --cfg-options, applied last
ENV_CFG_OPTIONS = 'MASK3D_MM_CFG_OPTIONS'

# top-level keys that mmengine reads besides the Runner's arguments (configs often omit them)
_RUNNER_EXTRA_KEYS = {
    'model_wrapper_cfg', 'find_unused_parameters', 'sync_bn', 'compile', 'runner_type',
    'activation_checkpointing', 'efficient_conv_bn_eval', 'custom_imports', 'strategy',
    'tta_model', 'tta_pipeline'
}
# a config-file key within this many edits of a Runner setting of 10+ characters (1 edit below
# 10) is taken for a misspelling of it; settings shorter than _MIN_TARGET_LEN are not matched
# (``cfg``: any 3-letter variable would be one or two edits away)
_MAX_EDITS = 2
_MIN_TARGET_LEN = 5
_SPACE = '\x00'  # stands for a space inside a value while DictAction parses it


def runner_keys() -> Set[str]:
    """Top-level config keys that the Runner (its arguments) or mmengine reads."""
    return (set(inspect.signature(Runner.__init__).parameters) - {'self'}) | _RUNNER_EXTRA_KEYS


def _edit_distance(a: str, b: str) -> int:
    """Edits (insert, delete, substitute, swap two neighbours) that turn ``a`` into ``b``."""
    prev2, prev = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i]
        for j, cb in enumerate(b, 1):
            row.append(min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb)))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return prev[-1]


def misspelt_runner_key(key: str, known: Set[str]) -> Optional[str]:
    """The Runner setting that ``key`` (a top-level key of a config file) misspells, or None.

    Config files hold their own variables at top level too (``data_root``, ``crop_size``,
    ``train_pipeline``, ...), which the Runner ignores by design, so only a near miss of a
    Runner setting counts: not itself known, not private (``_name``), and within
    :data:`_MAX_EDITS` edits of a setting at least :data:`_MIN_TARGET_LEN` long (one edit up
    to 9 characters, two from 10: ``trian_cfg``, ``randomnes``, ``defualt_hooks``,
    ``work_dirs``). ``train_pipeline`` (3 edits from ``tta_pipeline``) is not one.
    """
    if key in known or key.startswith('_'):
        return None
    best = None
    for target in known:
        if len(target) < _MIN_TARGET_LEN:
            continue
        limit = 1 if len(target) < 10 else _MAX_EDITS
        if abs(len(key) - len(target)) > limit:
            continue
        dist = _edit_distance(key, target)
        if dist <= limit and (best is None or dist < best[0]):
            best = (dist, target)
    return best and best[1]


def check_config_keys(cfg: Config) -> None:
    """Refuse a top-level key of the config file that misspells a Runner setting
    (``trian_cfg = dict(...)``): mmengine would keep it as a variable and train with the
    defaults. Other unknown keys are the config's own variables and pass
    (:func:`misspelt_runner_key` says which count).

    Raises:
        KeyError: naming the file, the key and the setting it misspells.
    """
    known = runner_keys()
    for key in cfg.keys():
        target = misspelt_runner_key(key, known)
        if target is not None:
            raise KeyError(
                f'{cfg.filename or "the config"}: top-level key {key!r} is not a setting the '
                f'Runner reads, so it would be silently ignored; did you mean {target}? (a '
                f'variable of your own with this name: rename it, e.g. to _{key}, which this '
                'check skips)')


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
    runner = runner_keys()
    known = set(cfg.keys()) | runner
    for key in options or {}:
        top = key.split('.')[0]
        if top in cfg and top not in runner:
            raise KeyError(_variable_message(cfg, key, top, source))
        if top in known:
            continue
        close = difflib.get_close_matches(top, sorted(known), n=3)
        hint = f'; did you mean {", ".join(close)}?' if close else ''
        raise KeyError(f'{source} {key}: {top!r} is not a key of {cfg.filename} nor a '
                       f'setting the Runner reads, so it would be ignored{hint}')


def _uses_of(node: Any, name: str, path: str = '') -> List[str]:
    """Dotted paths of the keys called ``name`` under ``node`` (dicts and lists)."""
    found = []
    items = node.items() if isinstance(node, dict) else (
        enumerate(node) if isinstance(node, (list, tuple)) else ())
    for k, v in items:
        here = f'{path}.{k}' if path else str(k)
        if k == name:
            found.append(here)
        found += _uses_of(v, name, here)
    return found


def _variable_message(cfg: Config, key: str, top: str, source: str) -> str:
    """Why setting a config-file variable (``with_cp``, ``max_depth``, ``data_root``) is refused:
    mmengine substituted its value where the file uses it when the file was read."""
    uses = [u for k, v in cfg.items() if k in runner_keys() for u in _uses_of(v, top, k)]
    hint = (f'; set the keys that hold its value instead, e.g. '
            f'{", ".join(u + "=..." for u in uses[:6])}' if uses else
            '; set the keys of the model / pipeline / dataloaders that use it instead')
    return (f'{source} {key}: {top!r} is a variable of {cfg.filename}, not a setting the Runner '
            f'reads: mmengine substituted its value where the file uses it when the file was '
            f'read, so setting it now would change nothing{hint}')


def _keep_spaces(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace(_SPACE, ' ')
    if isinstance(value, (list, tuple)):
        return type(value)(_keep_spaces(v) for v in value)
    return value


def parse_cfg_value(text: str) -> Any:
    """One ``--cfg-options`` value, parsed as mmengine's ``DictAction`` parses it (numbers,
    bools, None, lists, tuples, surrounding quotes stripped), except that spaces inside a
    value are kept: ``DictAction`` deletes every space (``work_dir=/tmp/a b`` ->
    ``/tmp/ab``). Spaces around the value and around ``[ ] ( ) ,`` still separate:
    ``[1, 2]`` -> ``[1, 2]``, ``/x/my file.pth`` -> ``'/x/my file.pth'``."""
    from mmengine.config import DictAction
    if ' ' not in text:
        return DictAction._parse_iterable(text)
    text = re.sub(r'\s*([\[\](),])\s*', r'\1', text.strip())
    return _keep_spaces(DictAction._parse_iterable(text.replace(' ', _SPACE)))


def parse_cfg_options(pairs: Optional[Sequence[str]],
                      source: str = '--cfg-options') -> Dict[str, Any]:
    """``['a.b=1', 'c=[1,2]', 'd=/x/my file']`` -> ``{'a.b': 1, 'c': [1, 2], 'd': '/x/my
    file'}``: values as :func:`parse_cfg_value` parses them (mmengine's ``DictAction``, with
    spaces inside values kept).

    Raises:
        ValueError: naming ``source`` and the item that is not ``key=value``.
    """
    options = {}
    for pair in pairs or []:
        if '=' not in pair or pair.startswith('='):
            raise ValueError(f'{source}: {pair!r} is not a key=value pair')
        key, text = pair.split('=', maxsplit=1)
        options[key] = parse_cfg_value(text)
    return options


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
    """Check the config file's own top-level keys (:func:`check_config_keys`), then merge the
    command line's ``--cfg-options``, then ``MASK3D_MM_CFG_OPTIONS`` (which thus wins), into
    ``cfg``; each set is checked by :func:`check_cfg_options` first. Then the pipeline, model and
    metric must agree on ``max_depth`` and ``patch_size``
    (:func:`mask3d_mm.recipe_consistency.check_recipe_consistency`).

    Args:
        options (dict, optional): the parsed ``--cfg-options``.
        env_options (dict, optional): the parsed environment options; read from
            ``MASK3D_MM_CFG_OPTIONS`` when None.

    Returns:
        list[str]: lines for the run's log (the environment options, when there are any).
    """
    check_config_keys(cfg)
    if env_options is None:
        env_options = env_cfg_options()
    notes = []
    for source, opts in (('--cfg-options', options), (ENV_CFG_OPTIONS, env_options)):
        if not opts:
            continue
        check_cfg_options(cfg, opts, source)
        cfg.merge_from_dict(opts)
    check_recipe_consistency(cfg)
    if env_options:
        notes.append(f'extra --cfg-options from {ENV_CFG_OPTIONS}: '
                     f'{os.environ.get(ENV_CFG_OPTIONS, "").strip()}')
    return notes
