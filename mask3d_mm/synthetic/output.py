"""Writing a whole synthetic set safely: a non-empty folder is refused unless ``overwrite`` and
it holds a set this package wrote (its marker file names the generator: a real ScanNet export
has the same scene folders and split files, so the layout alone proves nothing); the set is
built beside the target and renamed in, so the target is always a complete set (old or new).
Used by ``tools/dataset_converters/generate_synthetic_scannet.py``."""
import json
import os
import os.path as osp
import re
import shutil
import uuid
from typing import Callable, List, Optional

from mask3d_mm.datasets.scannet_layout import EXTRINSICS_FILES, INTRINSICS_FILES, MODALITIES
from .writer import generate_scannet_scenes, write_scene_splits

__all__ = ['MARKER', 'GENERATOR', 'SPLIT_FILES', 'marker_problem', 'unexpected_entries',
           'check_target', 'replace_dir', 'write_synthetic_set']

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
MARKER = '.mask3d_mm_synthetic.json'
GENERATOR = 'mask3d_mm.synthetic'  # the marker's ``generator`` field
# the marker of sets written before the ``generator`` field: its ``tool`` field
LEGACY_TOOL = 'tools/dataset_converters/generate_synthetic_scannet.py'
SPLIT_FILES = ('scannetv2_train.txt', 'scannetv2_val.txt')
# what a scene folder of either layout holds
SCENE_ENTRIES = ({folder for folder, _, _ in MODALITIES.values()}
                 | {parts[0] for files in INTRINSICS_FILES.values() for parts in files}
                 | {parts[0] for parts in EXTRINSICS_FILES.values()})


def marker_problem(root: str) -> Optional[str]:
    """Why ``root`` is not a set this package wrote by its marker file (None: it is): the
    marker must be a JSON file whose ``generator`` field is :data:`GENERATOR` (sets written
    before that field: whose ``tool`` field is the generator script)."""
    path = osp.join(root, MARKER)
    if not osp.isfile(path) or osp.islink(path):
        return f'it has no {MARKER}, the file the generator writes into every set'
    try:
        with open(path) as f:
            record = json.load(f)
    except (OSError, ValueError) as e:
        return f'its {MARKER} is not readable JSON ({e})'
    if not isinstance(record, dict) or (record.get('generator') != GENERATOR
                                        and record.get('tool') != LEGACY_TOOL):
        return f'its {MARKER} does not name the generator ({GENERATOR!r})'
    return None


def unexpected_entries(root: str) -> List[str]:
    """Entries of ``root`` that a set of this package does not have (empty: only scene
    folders, split files and the marker)."""
    entries = os.listdir(root)
    scenes = [e for e in entries if re.fullmatch(r'scene\d{4}_00', e)
              and osp.isdir(osp.join(root, e)) and not osp.islink(osp.join(root, e))]
    odd = sorted(set(entries) - set(scenes) - {MARKER, *SPLIT_FILES})
    odd += [f'{s}/{e}' for s in scenes for e in os.listdir(osp.join(root, s))
            if e not in SCENE_ENTRIES]
    return odd


def check_target(out_dir: str, overwrite: bool) -> None:
    """Refuse a non-empty ``out_dir`` unless ``overwrite`` and it is a set of ours: its marker
    names the generator (:func:`marker_problem`) and it holds nothing else
    (:func:`unexpected_entries`). Nothing is removed here."""
    if not osp.exists(out_dir) or (osp.isdir(out_dir) and not os.listdir(out_dir)):
        return
    if not osp.isdir(out_dir):
        raise NotADirectoryError(f'{out_dir} exists and is not a folder')
    real = osp.realpath(out_dir)
    protected = {osp.realpath(p) for p in ('/', osp.expanduser('~'), os.getcwd(), REPO)}
    if real in protected or any(p.startswith(real + os.sep) for p in protected):
        raise ValueError(f'{out_dir} is {real}, which holds the repository, the home or the '
                         'working folder: give a folder of its own')
    if not overwrite:
        raise FileExistsError(f'{out_dir} is not empty: pass --overwrite to replace the whole '
                              'set (the old frames are removed), or choose another folder')
    problem = marker_problem(out_dir)
    if problem:
        raise ValueError(f'{out_dir} is not a set written by this tool: {problem}. A real '
                         'ScanNet export looks the same otherwise, so --overwrite removes '
                         'nothing here; delete it yourself or choose another folder')
    odd = unexpected_entries(out_dir)
    if odd:
        raise ValueError(f'{out_dir} holds files a set written by this tool does not have '
                         f'({odd[:5]}), so --overwrite does not remove it; delete it yourself '
                         'or choose another folder')


def replace_dir(part: str, out_dir: str) -> None:
    """Rename the finished ``part`` to ``out_dir`` (the real folder if a symlink), removing
    the old set once the new one is in place."""
    target = osp.realpath(out_dir) if osp.exists(out_dir) else osp.abspath(out_dir)
    old = part[:-len('.part')] + '.old'
    if osp.isdir(target) and os.listdir(target):
        os.rename(target, old)
    elif osp.isdir(target):
        os.rmdir(target)
    os.rename(part, target)
    if osp.isdir(old):
        shutil.rmtree(old)


def write_synthetic_set(out_dir: str, overwrite: bool = False, val_fraction: float = 0.25,
                        record: Optional[dict] = None,
                        progress: Optional[Callable[[str], None]] = None,
                        **kwargs) -> List[str]:
    """Write a synthetic set (scenes, split files when there are 2 scenes or more, the marker
    file holding ``record``) to ``out_dir``, safely (module docstring).

    Args:
        out_dir (str): the set's folder.
        overwrite (bool): replace a set this package wrote (its marker names the
            generator). Defaults to False.
        val_fraction (float): share of scenes listed in ``scannetv2_val.txt``.
        record (dict, optional): what the marker file records (e.g. the command line)
            beside ``generator``.
        progress (callable, optional): called with each finished scene dir.
        **kwargs: arguments of :func:`generate_scannet_scenes` (``num_scenes``, ...).

    Returns:
        list[str]: the scene folders in ``out_dir``.
    """
    check_target(out_dir, overwrite)
    target = osp.realpath(out_dir) if osp.exists(out_dir) else osp.abspath(out_dir)
    part = osp.join(osp.dirname(target),
                    f'.{osp.basename(target)}.{os.getpid()}-{uuid.uuid4().hex[:8]}.part')
    try:
        scene_dirs = generate_scannet_scenes(part, progress=progress, **kwargs)
        if len(scene_dirs) > 1 or val_fraction == 1:  # 1: a held-out set, all in val
            write_scene_splits(part, scene_dirs, val_fraction)
        with open(osp.join(part, MARKER), 'w') as f:
            json.dump(dict(record or {}, generator=GENERATOR), f, indent=1)
    except BaseException:
        shutil.rmtree(part, ignore_errors=True)
        raise
    replace_dir(part, out_dir)
    return [osp.join(out_dir, osp.basename(d)) for d in scene_dirs]
