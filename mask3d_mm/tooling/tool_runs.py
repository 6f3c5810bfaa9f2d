"""Running the repository's tools as child processes and reading their logs: what
``tools/demo.py``, the pre-training comparison, the data pipeline benchmark and the tests
share."""
import glob
import json
import os
import os.path as osp
import shlex
import subprocess
import sys
from typing import Dict, List, Sequence, Tuple

from mask3d_mm.synthetic.output import MARKER

__all__ = ['TIMEOUT_S', 'command_line', 'run_script', 'ensure_data', 'read_scalars']

GENERATOR = 'tools/dataset_converters/generate_synthetic_scannet.py'
# no child run of the demo or the comparison takes an hour on 2 CPU cores: one that runs for
# six has hung, and is killed
TIMEOUT_S = 6 * 3600


def command_line(repo: str, args: Sequence[str]) -> str:
    """``python ARGS`` as a shell line, paths inside ``repo`` relative to it: what a run
    echoes and records."""
    return 'python ' + ' '.join(shlex.quote(a.replace(repo + os.sep, '')) for a in args)


def run_script(repo: str, *args: str, echo: bool = True, quiet: bool = False,
               timeout: float = TIMEOUT_S) -> None:
    """Run ``python ARGS`` with this interpreter in ``repo`` (a checkout), echoing its
    :func:`command_line` (unless not ``echo``); ``quiet`` discards its standard output.

    Raises:
        subprocess.CalledProcessError: the command failed.
        subprocess.TimeoutExpired: it ran longer than ``timeout`` seconds (it is killed).
    """
    if echo:
        print('$ ' + command_line(repo, args), flush=True)
    subprocess.run([sys.executable, *args], cwd=repo, check=True, timeout=timeout,
                   stdout=subprocess.DEVNULL if quiet else None)


def ensure_data(repo: str, data_root: str, num_scenes: int, frames_per_scene: int,
                *options: str) -> None:
    """Generate the synthetic ScanNet-format set in ``data_root`` with ``repo``'s generator
    (``tools/dataset_converters/generate_synthetic_scannet.py``, plus its ``options``, e.g.
    ``'--materials', 'independent'``) unless it is there (its ``scannetv2_train.txt``
    exists).

    Raises:
        ValueError: the set there was written with other ``--seed`` / ``--materials``
            options (its marker file says so) than ``options`` ask for.
    """
    if osp.isfile(osp.join(data_root, 'scannetv2_train.txt')):
        _check_generated_with(data_root, options)
        print(f'{data_root}: found; generate again by deleting the folder', flush=True)
        return
    run_script(repo, osp.join(repo, GENERATOR), data_root, '--num-scenes', str(num_scenes),
               '--frames-per-scene', str(frames_per_scene),
               '--workers', str(min(2, os.cpu_count() or 1)), *options)


def _check_generated_with(data_root: str, options: Sequence[str]) -> None:
    """Refuse a set whose marker records other ``--seed`` / ``--materials`` than asked."""
    marker = osp.join(data_root, MARKER)
    if not osp.isfile(marker):
        return  # not written by the generator (e.g. real data): nothing to compare
    with open(marker) as f:
        recorded = json.load(f).get('args', {})
    defaults = dict(seed='0', materials='class')  # the generator's defaults
    asked = dict(defaults)
    for flag, value in zip(options[::2], options[1::2]):
        asked[flag.lstrip('-').replace('-', '_')] = str(value)
    for key, default in defaults.items():
        have = str(recorded.get(key, default))  # sets from before --materials: 'class'
        if have != asked[key]:
            raise ValueError(f'{data_root}: generated with --{key} {have} ({marker}), but '
                             f'--{key} {asked[key]} is asked for: use another folder or '
                             'delete this one')


def read_scalars(work_dir: str) -> List[dict]:
    """The logged records (one dict a step: training scalars, or validation metrics) of every
    run in ``work_dir`` (``*/vis_data/scalars.json``, oldest run first), for runs that continue
    each other (``--resume``): a later run replaces the records of the steps it logged again
    (training records, which hold ``loss``, apart from the others).

    Raises:
        FileNotFoundError: no run in ``work_dir`` logged scalars.
    """
    logs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not logs:
        raise FileNotFoundError(f'no scalars.json under {work_dir}')
    records: Dict[Tuple[bool, int], dict] = {}
    for log in logs:
        with open(log) as f:
            for line in f:
                if line.strip():
                    record = json.loads(line)
                    records[('loss' in record, record['step'])] = record
    return list(records.values())
