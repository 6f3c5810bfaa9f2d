"""Set-up shared by ``tools/train.py`` and ``tools/test.py``, one module per concept.

Not exported from :mod:`mask3d_mm.engine`: the tools import it as ``mask3d_mm.engine.runtime``.

- :mod:`.cfg_options`: ``--cfg-options`` / ``MASK3D_MM_CFG_OPTIONS`` parsing and key checks;
- :mod:`.component_args`: nested keys of hooks, optimizer wrapper, schedulers, loops;
- :mod:`.devices`: mmengine's GPU assumptions on CPU (gloo DDP, AMP -> fp32);
- :mod:`.work_dir`: fresh run or ``--resume`` in a work dir;
- :mod:`.work_dir_lock`: one training run per work dir;
- :mod:`.tool_logging`: the tools' log summary lines.
"""
from .cfg_options import (ENV_CFG_OPTIONS, apply_cfg_options, check_cfg_options,
                          env_cfg_options, parse_cfg_options)
from .component_args import check_component_args
from .devices import (AMP_ONLY_KEYS, fit_optim_wrapper_to_device, has_amp_device,
                      setup_cpu_distributed, teardown_distributed)
from .tool_logging import install_tool_logging
from .work_dir import prepare_resume
from .work_dir_lock import (LOCK_FILE, WorkDirLock, WorkDirLockedError, launcher_rank,
                            read_lock_holder)

__all__ = [
    'setup_cpu_distributed', 'teardown_distributed', 'check_cfg_options', 'ENV_CFG_OPTIONS',
    'parse_cfg_options', 'env_cfg_options', 'apply_cfg_options', 'has_amp_device',
    'fit_optim_wrapper_to_device', 'check_component_args', 'prepare_resume',
    'install_tool_logging', 'AMP_ONLY_KEYS', 'LOCK_FILE', 'WorkDirLock', 'WorkDirLockedError',
    'launcher_rank', 'read_lock_holder'
]
