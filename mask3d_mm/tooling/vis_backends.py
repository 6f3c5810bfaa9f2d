"""``tools/train.py --vis-backend NAME``: log to TensorBoard / MLflow / W&B through mmengine's
visualizer backends (``--cfg-options`` cannot take a list of dicts:
``visualizer.vis_backends=[dict(...)]`` raises a TypeError in mmengine's parser)."""
import importlib.util
from typing import List, Sequence

from mmengine.config import Config

__all__ = ['VIS_BACKENDS', 'add_vis_backends']

# name -> (mmengine backend type, the module it needs, how to install it)
VIS_BACKENDS = {
    'tensorboard': ('TensorboardVisBackend', 'tensorboard', 'pip install -e .[tensorboard]'),
    'mlflow': ('MLflowVisBackend', 'mlflow', 'pip install mlflow'),
    'wandb': ('WandbVisBackend', 'wandb', 'pip install wandb'),
}


def add_vis_backends(cfg: Config, names: Sequence[str]) -> List[str]:
    """Append the backends ``names`` to ``cfg.visualizer.vis_backends`` (kept: the config's,
    e.g. ``LocalVisBackend``; a backend of the same type is not added twice). Their files go
    to ``<work_dir>/<timestamp>/vis_data/`` (TensorBoard's event file), with the losses,
    learning rate, validation metrics and the images the hooks draw (reconstruction panels).

    Returns:
        list[str]: lines for the log.

    Raises:
        KeyError: an unknown name.
        ImportError: the backend's package is not installed (saying how to install it).
    """
    notes = []
    if not names:
        return notes
    if cfg.get('visualizer') is None:
        cfg.visualizer = dict(type='Visualizer', vis_backends=[])
    backends = list(cfg.visualizer.get('vis_backends') or [])
    for name in names:
        if name not in VIS_BACKENDS:
            raise KeyError(f'--vis-backend {name!r}: choose from {sorted(VIS_BACKENDS)}')
        type_name, module, install = VIS_BACKENDS[name]
        if importlib.util.find_spec(module) is None:
            raise ImportError(f'--vis-backend {name}: the {module} package is not installed '
                              f'({install})')
        if any(str(b.get('type', '')).split('.')[-1] == type_name for b in backends):
            notes.append(f'--vis-backend {name}: {type_name} is already in the config')
            continue
        backends.append(dict(type=type_name))
        notes.append(f'--vis-backend {name}: logging through {type_name} '
                     '(<work_dir>/<timestamp>/vis_data/)')
    cfg.visualizer.vis_backends = backends
    return notes
