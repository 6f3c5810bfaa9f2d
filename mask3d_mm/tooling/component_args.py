"""Arguments of the components mmengine builds only when it needs them (hooks, optimizer
wrapper, schedulers, loops): checked against their classes before anything is built."""
import difflib
import inspect
from typing import Any, Dict, List, Optional, Sequence

from mmengine.config import Config

__all__ = ['check_component_args']


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
