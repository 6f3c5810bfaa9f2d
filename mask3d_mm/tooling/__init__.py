"""What ``tools/*.py`` need to set up and guard a run; models and datasets never import it.

Not imported by ``import mask3d_mm`` (nothing here is registered); one module per concept:

- :mod:`.cfg_options`: ``--cfg-options`` / ``MASK3D_MM_CFG_OPTIONS`` parsing and key checks;
- :mod:`.component_args`: nested keys of hooks, optimizer wrapper, schedulers, loops;
- :mod:`.devices`: mmengine's GPU assumptions on CPU (gloo DDP, AMP -> fp32);
- :mod:`.process_end`: the end of a rank's process (group torn down, no finalization);
- :mod:`.work_dir`: fresh run or ``--resume`` in a work dir;
- :mod:`.work_dir_lock`: one training run per work dir;
- :mod:`.exact_resume`: the seed of a resumed run (``tools/train.py``);
- :mod:`.tool_logging`: the tools' log summary lines;
- :mod:`.output_files`, :mod:`.config_inputs`: an output never replaces an input, nor an
  existing file unless asked;
- :mod:`.tool_runs`: the tools run as child processes, the synthetic data step, a run's
  ``scalars.json`` (``tools/demo.py``, the comparison, the tests).
"""
from .cfg_options import (ENV_CFG_OPTIONS, apply_cfg_options, check_cfg_options,
                          env_cfg_options, parse_cfg_options)
from .component_args import check_component_args
from .config_inputs import config_inputs
from .devices import (AMP_ONLY_KEYS, fit_optim_wrapper_to_device, has_amp_device,
                      setup_cpu_distributed)
from .exact_resume import pin_resume_seed
from .output_files import InputPath, check_output
from .process_end import exit_after_distributed_run, launched_as_rank, teardown_distributed
from .tool_logging import install_tool_logging
from .tool_runs import ensure_data, read_scalars, run_script
from .work_dir import prepare_resume
from .work_dir_lock import (LOCK_FILE, WorkDirLock, WorkDirLockedError, launcher_rank,
                            read_lock_holder)

__all__ = [
    'setup_cpu_distributed', 'teardown_distributed', 'check_cfg_options', 'ENV_CFG_OPTIONS',
    'parse_cfg_options', 'env_cfg_options', 'apply_cfg_options', 'has_amp_device',
    'fit_optim_wrapper_to_device', 'check_component_args', 'prepare_resume',
    'install_tool_logging', 'AMP_ONLY_KEYS', 'LOCK_FILE', 'WorkDirLock', 'WorkDirLockedError',
    'launcher_rank', 'read_lock_holder', 'pin_resume_seed', 'InputPath', 'check_output',
    'config_inputs', 'ensure_data', 'read_scalars', 'run_script', 'exit_after_distributed_run',
    'launched_as_rank'
]
