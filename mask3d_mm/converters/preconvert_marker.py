"""The marker ``preconverted.json`` of a pre-converted frames root: where its frames come from
and how they were made, so that a run continues only its own output
(:mod:`mask3d_mm.converters.preconvert_frames`)."""
import json
import os
import os.path as osp
from typing import Dict, Optional, Sequence

from mask3d_mm.atomic_write import write_file_atomic
from mask3d_mm.datasets.scannet_layout import INTRINSICS_FILES, MODALITIES

__all__ = ['MARKER', 'TOOL', 'SETTINGS', 'run_settings', 'read_marker', 'check_resume',
           'clear_scene', 'write_marker']

MARKER = 'preconverted.json'
TOOL = 'mask3d_mm.converters.preconvert_frames'  # the marker's ``tool`` field
# the marker fields that decide the output's files: a run continues an output only when all match
SETTINGS = ('source', 'jpeg_quality', 'interpolation', 'encoding', 'depth_suffix')
# the converter's files per modality folder (what ``clear_scene`` removes)
FRAME_SUFFIXES = {'color': '.jpg', 'depth': '.npy', 'pose': MODALITIES['pose'][1]}


def run_settings(src_root: str, quality: int, interpolation: str, encoding: Optional[str],
                 depth_suffix: str) -> Dict[str, object]:
    """The :data:`SETTINGS` of a run, as the marker records them (the source's real path)."""
    return dict(source=osp.realpath(src_root), jpeg_quality=int(quality),
                interpolation=interpolation, encoding=encoding or 'scannet',
                depth_suffix=depth_suffix)


def read_marker(dst_root: str) -> Optional[dict]:
    """The marker of ``dst_root``; None when the folder is absent or empty.

    Raises:
        FileExistsError: ``dst_root`` is not empty and has no marker (not an output of the
            converter: refused whatever the options).
        ValueError: the marker is unreadable or was not written by the converter.
    """
    if not osp.exists(dst_root) or (osp.isdir(dst_root) and not os.listdir(dst_root)):
        return None
    if not osp.isdir(dst_root):
        raise NotADirectoryError(f'the output root {dst_root} exists and is not a folder')
    path = osp.join(dst_root, MARKER)
    if not osp.isfile(path):
        raise FileExistsError(
            f'the output root {dst_root} is not empty and has no {MARKER}, so it is not an '
            'output of this converter; nothing is written there (not even with --overwrite): '
            'choose a new or empty folder')
    try:
        with open(path) as f:
            record = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(f'{path} is not readable JSON ({e}); nothing is written to '
                         f'{dst_root}: choose a new or empty folder') from e
    # markers of earlier versions have no ``tool`` but the settings' fields
    if not isinstance(record, dict) or (record.get('tool') != TOOL
                                        and 'jpeg_quality' not in record):
        raise ValueError(f'{path} was not written by this converter; nothing is written to '
                         f'{dst_root}: choose a new or empty folder')
    return record


def _scene_folders(dst_root: str) -> list:
    return sorted(d for d in os.listdir(dst_root)
                  if any(osp.isdir(osp.join(dst_root, d, MODALITIES[m][0]))
                         for m in FRAME_SUFFIXES))


def check_resume(dst_root: str, settings: Dict[str, object], scenes: Sequence[str],
                 overwrite: bool) -> Dict[str, int]:
    """Check that a run of ``settings`` over ``scenes`` may write into ``dst_root`` (before
    anything is written); returns the frames per scene of the output that the run keeps.

    A run continues an output whose marker records the same :data:`SETTINGS`; other settings
    need ``overwrite``, and then every scene of the output must be among ``scenes`` (the
    others would keep frames made otherwise).

    Raises:
        ValueError: other settings without ``overwrite``, or scenes left out with it (the
            error names the differences / the scenes); see also :func:`read_marker`.
    """
    record = read_marker(dst_root)
    if record is None:
        return {}
    diffs = [f'{key} {record.get(key, "(not recorded)")!r} there, {value!r} now'
             for key, value in settings.items() if record.get(key) != value]
    if not diffs:
        return dict(record.get('scene_frames') or {})
    marker = osp.join(dst_root, MARKER)
    if not overwrite:
        raise ValueError(
            f'{dst_root} holds frames pre-converted otherwise ({"; ".join(diffs)}; see '
            f'{marker}): a run continues only the same source and settings, so nothing is '
            'written. Pass --overwrite to rewrite its frames, or choose another output folder')
    others = sorted(set(_scene_folders(dst_root)) - set(scenes))
    if others:
        raise ValueError(
            f'{dst_root} holds scenes that this run does not convert ({others[:5]}): with '
            f'other settings ({"; ".join(diffs)}) they would keep frames made otherwise, so '
            '--overwrite writes nothing; convert them too (--scenes), delete them, or choose '
            'another output folder')
    return {}


def clear_scene(dst_root: str, scene: str) -> None:
    """Remove the converter's files of ``scene`` in ``dst_root`` (frames, leftovers of an
    interrupted write, intrinsics); other files stay."""
    scene_dir = osp.join(dst_root, scene)
    for modality, suffix in FRAME_SUFFIXES.items():
        folder = osp.join(scene_dir, MODALITIES[modality][0])
        if osp.isdir(folder):
            for name in os.listdir(folder):
                if name.endswith((suffix, suffix + '.tmp')):
                    os.remove(osp.join(folder, name))
    for files in INTRINSICS_FILES.values():
        path = osp.join(scene_dir, *files[0])
        if osp.isfile(path):
            os.remove(path)


def write_marker(dst_root: str, settings: Dict[str, object], scene_frames: Dict[str, int],
                 complete: bool) -> None:
    """Write the marker (atomically): ``settings``, the frames per scene, ``complete``."""
    record = dict(tool=TOOL, **settings, complete=complete, scenes=len(scene_frames),
                  frames=sum(scene_frames.values()),
                  scene_frames=dict(sorted(scene_frames.items())),
                  depth="the source files' values, .npy", suffixes=dict(depth='.npy'))
    write_file_atomic(osp.join(dst_root, MARKER), json.dumps(record, indent=1).encode())
