"""The recipe's shared constants agree across a config: pipeline, model and metric.

``max_depth`` (metres; depth beyond it is invalid) and ``patch_size`` (p of the p x p patches)
are read by several components of one config: the depth loader, the mask generator, the
encoders, the decoder, the head and the metric. The shipped configs set each once, as a config
variable (``configs/mask3d/_base_/datasets/scannet_rgbd.py``), but mmengine substitutes
variables when the file is parsed: ``--cfg-options max_depth=5`` changes none of the
components, and ``--cfg-options model.head.max_depth=5`` changes one. Nothing at run time
would notice (a head that drops depth beyond 5 m trains on what a loader kept up to 10 m), so
:func:`check_recipe_consistency` compares them in the finished config, before anything is
built. It runs in the tools (:func:`mask3d_mm.tooling.apply_cfg_options`) and, for any
other Runner, in :class:`mask3d_mm.engine.hooks.RecipeConsistencyHook` (``custom_hooks`` of the
pre-training configs).

In a mixture (a ``ConcatDataset``: ``...dataset.datasets[i].pipeline``) each source's loader may
cut its depth nearer than the recipe's ``max_depth`` (a sensor's usable range); never farther.
"""
import inspect
import re
from collections.abc import Mapping
from typing import Any, Dict, List, Optional, Tuple

__all__ = ['RECIPE_KEYS', 'check_recipe_consistency', 'recipe_values']

# the constants; None values (``LoadDepthFromFile(max_depth=None)``: no limit) are not compared
RECIPE_KEYS = ('max_depth', 'patch_size')
# (top-level section, registry its typed dicts are built from; None: explicit values only).
# Dicts in a ``pipeline`` list are transforms wherever they are.
_SECTIONS = (('train_dataloader', None), ('val_dataloader', None), ('test_dataloader', None),
             ('model', 'MODELS'), ('val_evaluator', 'METRICS'), ('test_evaluator', 'METRICS'))


def _registered(registry_name: Optional[str], type_: Any, scope: Optional[str]) -> Optional[type]:
    """The class ``registry.build(dict(type=type_))`` would build under ``scope``; None when it
    is not found (the build reports that)."""
    if registry_name is None or not isinstance(type_, (str, type)):
        return None
    if isinstance(type_, type):
        return type_
    import mmengine.registry as registries
    from mmengine.registry import DefaultScope
    registry = getattr(registries, registry_name)
    try:
        with DefaultScope.overwrite_default_scope(scope):
            with registry.switch_scope_and_registry(None) as reg:
                cls = reg.get(type_)
    except Exception:  # noqa: BLE001  (an unknown scope: the build will say it)
        return None
    return cls if isinstance(cls, type) else None


def _default(cls: Optional[type], key: str) -> Any:
    """The default of ``cls``'s ``__init__`` argument ``key``, or ``inspect.Parameter.empty``."""
    if cls is None:
        return inspect.Parameter.empty
    try:
        param = inspect.signature(cls.__init__).parameters.get(key)
    except (TypeError, ValueError):
        return inspect.Parameter.empty
    return inspect.Parameter.empty if param is None else param.default


def _normalise(key: str, value: Any) -> Any:
    """Comparable form: max_depth as float, a square (p, p) patch as p."""
    if key == 'patch_size' and isinstance(value, (list, tuple)) and len(set(value)) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return float(value) if key == 'max_depth' else value


def _walk(node: Any, path: str, registry: Optional[str], scope: Optional[str],
          found: Dict[str, List[Tuple[str, Any, str]]]) -> None:
    if isinstance(node, (list, tuple)):
        for i, item in enumerate(node):
            _walk(item, f'{path}[{i}]', registry, scope, found)
        return
    if not isinstance(node, Mapping):
        return
    cls = _registered(registry, node['type'], scope) if 'type' in node else None
    for key in RECIPE_KEYS:
        if key in node:
            value, source = node[key], ''
        else:
            value, source = _default(cls, key), f' (default of {cls and cls.__name__})'
        if value is not inspect.Parameter.empty and value is not None:
            found[key].append((f'{path}.{key}', _normalise(key, value), source))
    for key, value in node.items():
        if key in RECIPE_KEYS or str(key).startswith('_'):
            continue
        _walk(value, f'{path}.{key}', 'TRANSFORMS' if key == 'pipeline' else registry, scope,
              found)


def recipe_values(cfg: Mapping) -> Dict[str, List[Tuple[str, Any, str]]]:
    """Every place of the config that sets (or leaves at the class default) a recipe constant.

    Returns:
        dict: ``key -> [(config path, value, note)]`` in the order pipelines, model, metrics;
        the path as ``train_dataloader.dataset.pipeline[1].max_depth``, the note
        ``' (default of LoadDepthFromFile)'`` for a value the config leaves to the class.
    """
    scope = cfg.get('default_scope', None)
    found: Dict[str, List[Tuple[str, Any, str]]] = {key: [] for key in RECIPE_KEYS}
    for section, registry in _SECTIONS:
        if cfg.get(section, None) is not None:
            _walk(cfg[section], section, registry, scope, found)
    return found


# a transform of one source of a mixture (a ConcatDataset member's pipeline)
_SOURCE_PIPELINE = re.compile(r'\.datasets\[\d+\]\.pipeline\[\d+\]\.max_depth$')


def _check_source_limits(limits: List[Tuple[str, Any, str]],
                         places: List[Tuple[str, Any, str]]) -> None:
    """The ``max_depth`` of each source of a mixture is at most the recipe's."""
    if not places:
        return
    path, value, note = places[0]
    over = [p for p in limits if isinstance(p[1], float) and p[1] > value]
    if over:
        raise ValueError(
            f'max_depth of a source exceeds the recipe\'s: {over[0][0]}={over[0][1]!r}'
            f'{over[0][2]} > {path}={value!r}{note}. A source of a mixture may cut its depth '
            'nearer than the recipe\'s max_depth, not farther: the model treats depth beyond '
            f'{value!r} m as invalid')


def check_recipe_consistency(cfg: Mapping) -> None:
    """Refuse a config whose pipeline, model and metric disagree on a recipe constant
    (:data:`RECIPE_KEYS`). The sources of a mixture may set a smaller ``max_depth`` (see the
    module docstring).

    Args:
        cfg (Config | dict): the finished config (after ``--cfg-options``).

    Raises:
        ValueError: naming the first two config paths that differ, e.g. ``max_depth differs:
            train_dataloader.dataset.pipeline[1].max_depth=10.0 vs model.head.max_depth=5.0``,
            then every place with its value; or a source of a mixture whose ``max_depth``
            exceeds the recipe's.
    """
    for key, places in recipe_values(cfg).items():
        limits = [p for p in places if key == 'max_depth' and _SOURCE_PIPELINE.search(p[0])]
        places = [p for p in places if p not in limits]
        if not places:
            continue
        first_path, first_value, first_note = places[0]
        other = next((p for p in places if p[1] != first_value), None)
        if other is None:
            _check_source_limits(limits, places)
            continue
        groups: Dict[str, List[str]] = {}
        for path, value, note in places:
            groups.setdefault(repr(value), []).append(path + note)
        listing = '; '.join(f'{value} at {", ".join(paths)}' for value, paths in groups.items())
        raise ValueError(
            f'{key} differs: {first_path}={first_value!r}{first_note} vs '
            f'{other[0]}={other[1]!r}{other[2]}. The pipeline, the model and the metric must '
            f'agree on it ({listing}). Set every one of them: a config variable such as '
            f'`{key} = ...` is substituted when the file is parsed, so `--cfg-options '
            f'{key}=...` changes none of them (docs/design.md)')
