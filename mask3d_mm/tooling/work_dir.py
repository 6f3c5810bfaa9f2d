"""The work dir of ``tools/train.py``: a fresh run or a resume (``--resume [FILE]``)."""
import os
from typing import List, Optional

from mmengine.config import Config

__all__ = ['prepare_resume', 'checkpoint_exists']


def checkpoint_exists(path: str) -> bool:
    """A checkpoint file, or a sharded checkpoint folder (``DCPFSDPStrategy``), at ``path``."""
    from mask3d_mm.engine.sharded_checkpoint import is_sharded_checkpoint
    return os.path.isfile(path) or is_sharded_checkpoint(path)


def _checkpoint_files(work_dir: str) -> List[str]:
    """Runner checkpoints (``epoch_N.pth``, ``iter_N.pth``; files, or folders of sharded
    ones) in ``work_dir``, oldest first."""
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
    if '://' not in target and not checkpoint_exists(target):
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
        if '://' not in resume and not checkpoint_exists(resume):
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
