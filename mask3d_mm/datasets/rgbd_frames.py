"""The base of every RGB-D frames reader: single-view colour + depth frames, no poses needed.

A reader (ScanNet, SUN RGB-D, TUM, ARKitScenes, Hypersim, a user's own captures, ...) knows its
corpus's layout and implements :meth:`RGBDFramesDataset.scan`; the base keeps every
``frame_skip``-th frame of each scene, stamps each frame with the depth encoding and the source
name, and runs the pipeline with error notes naming the frame (and, with ``skip_bad_frames``,
replaces unreadable frames in training). Helpers for the readers' layout errors:
:func:`describe_folder`, :func:`layout_error`, :func:`check_layout`.
"""
from typing import Any, Dict, List, Optional, Sequence

import mmengine.fileio as fileio
from mmengine.dataset import BaseDataset
from mmengine.logging import MMLogger

from mask3d_mm.registry import DATASETS
from .scannet_layout import FILE_LOADERS
from .transforms.depth_encoding import get_encoding

__all__ = ['RGBDFramesDataset', 'describe_folder', 'layout_error', 'check_layout',
           'FRAME_KEYS', 'FILE_KEYS']

# keys every frame of scan() has
FRAME_KEYS = ('img_path', 'depth_path', 'scene', 'frame_id')
# the keys of a data info that name files (listed in error notes)
FILE_KEYS = ('img_path', 'depth_path', 'confidence_path', 'seg_map_path')


def describe_folder(path: str, backend_args: Optional[dict] = None, max_entries: int = 8) -> str:
    """What a folder holds, for messages: ``'holds a/, b.txt, c.png, ... (12 entries)'``,
    ``'is empty'``, ``'is a file'`` or ``'does not exist'``."""
    if not fileio.exists(path, backend_args=backend_args):
        return 'does not exist'
    if not fileio.isdir(path, backend_args=backend_args):
        return 'is a file, not a folder'
    entries = []
    for name in fileio.list_dir_or_file(path, backend_args=backend_args):
        full = fileio.join_path(path, name, backend_args=backend_args)
        entries.append(name + '/' if fileio.isdir(full, backend_args=backend_args) else name)
    if not entries:
        return 'is empty'
    entries.sort()
    shown = ', '.join(entries[:max_entries])
    more = f', ... ({len(entries)} entries)' if len(entries) > max_entries else ''
    return f'holds {shown}{more}'


def layout_error(path: str, expected: str, problem: str = 'does not look like the layout',
                 owner: str = '', found_hint: Optional[str] = None,
                 backend_args: Optional[dict] = None,
                 error: type = FileNotFoundError) -> Exception:
    """The error a reader raises for a folder not in its layout: names the path, the problem,
    the layout expected and what the folder holds instead.

    Args:
        path (str): the folder looked at.
        expected (str): the layout, e.g. ``'<video_id>/lowres_wide/*.png and
            <video_id>/lowres_depth/*.png (ARKitScenes raw)'``.
        problem (str): what is wrong, e.g. ``'has no lowres_depth/ folder'``.
        owner (str): the reader, e.g. the dataset's class name.
        found_hint (str, optional): a guess at what the folder is instead (e.g. ``'this looks
            like the ScanNet layout: use ScanNetRGBDDataset'``).
        backend_args (dict, optional): file backend arguments.
        error (type): the exception class. Defaults to ``FileNotFoundError``.

    Returns:
        Exception: to be raised.
    """
    msg = (f'{owner + ": " if owner else ""}{path} {problem}: expected {expected}; the folder '
           f'{describe_folder(path, backend_args)}')
    if found_hint:
        msg += f' ({found_hint})'
    return error(msg)


def check_layout(path: str, expected: str, must_contain: Sequence[str] = (), owner: str = '',
                 found_hint: Optional[str] = None, backend_args: Optional[dict] = None) -> None:
    """Check that ``path`` is a folder holding each of ``must_contain`` (relative names of
    files or folders); raise :func:`layout_error` otherwise.

    Raises:
        FileNotFoundError: ``path`` is no folder, or lacks an entry of ``must_contain``.
    """
    if not fileio.isdir(path, backend_args=backend_args):
        raise layout_error(path, expected, 'is not a folder', owner, found_hint, backend_args)
    missing = [m for m in must_contain
               if not fileio.exists(fileio.join_path(path, m, backend_args=backend_args),
                                    backend_args=backend_args)]
    if missing:
        raise layout_error(path, expected, f'has no {", ".join(missing)}', owner, found_hint,
                           backend_args)


@DATASETS.register_module()
class RGBDFramesDataset(BaseDataset):
    """Base of the RGB-D frames readers: colour + depth frames of scenes (sequences, videos).

    A subclass implements :meth:`scan` (its corpus's layout) and sets :attr:`DEPTH_ENCODING`
    (a :data:`~mask3d_mm.datasets.transforms.depth_encoding.DEPTH_ENCODINGS` key or
    ``'scale:<s>'``), :attr:`SOURCE` (a short name, e.g. ``'tum'``) and :attr:`LAYOUT` (the
    layout in words, for the error when no frame is found).

    Each data info holds what :meth:`scan` returns: ``img_path``, ``depth_path``, ``scene``
    (the scene / sequence / video), ``frame_id`` (str) and, when the corpus ships them,
    ``depth_intrinsics`` / ``color_intrinsics`` ((3, 3) float32) with the (W, H) they are
    given for in ``depth_intrinsics_wh`` / ``color_intrinsics_wh`` where the corpus states it
    (``AlignColorToDepth`` scales them to the files as read; without it the size is inferred
    from the principal point), ``confidence_path``, ``timestamp`` (float, seconds); plus ``depth_encoding`` (how
    the depth files are encoded, read by ``LoadDepthFromFile``) and ``source`` (which corpus:
    mixtures and ``tools/misc/verify_dataset.py`` count per source).

    Args:
        data_root (str): the corpus's root folder.
        ann_file (str): a list file, as the subclass defines it (relative paths are joined to
            ``data_root``). Defaults to ''.
        frame_skip (int): keep every ``frame_skip``-th frame of each scene (in :meth:`scan`'s
            order). Defaults to 1.
        encoding (str, optional): the depth encoding of every frame, overriding the class's
            :attr:`DEPTH_ENCODING` and any encoding :meth:`scan` sets per frame. Defaults to
            None.
        source (str, optional): the source name of every frame. None: :attr:`SOURCE`.
        skip_incomplete (bool): readers skip frames lacking a file (logged with a count)
            instead of raising ``FileNotFoundError``. Defaults to False.
        skip_bad_frames (bool): training only. A frame whose files a loading transform
            (``LoadImageFromFile``, ``LoadAnnotations``, ``LoadDepthFromFile``) rejects
            (missing, corrupt, 8-bit depth, colour/depth aspect mismatch, no valid depth, ...)
            is replaced by another random frame (mmengine's refetch) and logged as a warning
            naming the file, the reason and the running count of this process, instead of
            stopping the run. Defaults to False (fail fast).
        backend_args (dict, optional): file backend arguments (see :mod:`mmengine.fileio`).
        **kwargs: other arguments of :class:`mmengine.dataset.BaseDataset` (``metainfo``,
            ``pipeline``, ``test_mode``, ``lazy_init``, ``indices``, ...).
    """

    DEPTH_ENCODING: str = 'scannet'
    SOURCE: str = 'rgbd'
    LAYOUT: str = 'scene folders of colour and depth frames'
    METAINFO: dict = dict(dataset_name='RGB-D frames')
    # scan() already keeps every frame_skip-th frame (ScanNetLayout does, before checking files)
    _SCAN_APPLIES_FRAME_SKIP: bool = False

    def __init__(self,
                 data_root: str,
                 ann_file: str = '',
                 frame_skip: int = 1,
                 encoding: Optional[str] = None,
                 source: Optional[str] = None,
                 skip_incomplete: bool = False,
                 skip_bad_frames: bool = False,
                 backend_args: Optional[dict] = None,
                 **kwargs) -> None:
        name = type(self).__name__
        if not data_root:
            raise ValueError(f'{name} needs a data_root')
        if isinstance(frame_skip, bool) or not isinstance(frame_skip, int) or frame_skip < 1:
            raise ValueError(f'frame_skip must be a positive int, got {frame_skip!r}')
        if encoding is not None:
            get_encoding(encoding)  # an unknown name fails at build, naming the choices
        if source is not None and (not isinstance(source, str) or not source):
            raise ValueError(f'source must be a non-empty str, got {source!r}')
        if skip_bad_frames and kwargs.get('test_mode', False):
            raise ValueError('skip_bad_frames is for training only: an evaluation must see every '
                             'frame (test_mode=True)')
        self.frame_skip = frame_skip
        self.encoding = encoding
        self.depth_encoding = encoding or self.DEPTH_ENCODING
        self.source = source or self.SOURCE
        self.skip_incomplete = skip_incomplete
        self.skip_bad_frames = skip_bad_frames
        self.num_bad_frames = 0  # skipped by this process (each data loader worker counts its own)
        self.backend_args = backend_args
        super().__init__(ann_file=ann_file, data_root=data_root, **kwargs)

    # ---- file helpers for readers --------------------------------------------------------------
    def join(self, *parts: str) -> str:
        return fileio.join_path(*parts, backend_args=self.backend_args)

    def isdir(self, path: str) -> bool:
        return fileio.isdir(path, backend_args=self.backend_args)

    def exists(self, path: str) -> bool:
        return fileio.exists(path, backend_args=self.backend_args)

    def layout_error(self, path: str, problem: str = 'does not look like the layout',
                     found_hint: Optional[str] = None, error: type = FileNotFoundError
                     ) -> Exception:
        """:func:`layout_error` for this reader (its :attr:`LAYOUT`, its name)."""
        return layout_error(path, self.LAYOUT, problem, type(self).__name__, found_hint,
                            self.backend_args, error)

    def check_layout(self, path: str, must_contain: Sequence[str] = (),
                     found_hint: Optional[str] = None) -> None:
        """:func:`check_layout` for this reader (its :attr:`LAYOUT`, its name)."""
        check_layout(path, self.LAYOUT, must_contain, type(self).__name__, found_hint,
                     self.backend_args)

    # ---- the reader's part ---------------------------------------------------------------------
    def scan(self) -> List[dict]:
        """The frames of the corpus, in order (scene by scene, then by time / frame number).

        Returns:
            list[dict]: each with ``img_path``, ``depth_path``, ``scene`` (str), ``frame_id``
            (str) and optionally ``depth_intrinsics`` / ``color_intrinsics`` ((3, 3) float32),
            ``depth_intrinsics_wh`` / ``color_intrinsics_wh`` (the (W, H) they are for),
            ``confidence_path``, ``timestamp`` (float),
            ``depth_encoding`` (when frames of one corpus differ) and other keys for the
            pipeline.
        """
        raise NotImplementedError(f'{type(self).__name__} must implement scan()')

    # ---- BaseDataset API -----------------------------------------------------------------------
    def load_data_list(self) -> List[dict]:
        """:meth:`scan`, every ``frame_skip``-th frame of each scene kept, each stamped with
        ``depth_encoding`` and ``source``.

        Raises:
            FileNotFoundError: no frame found (naming ``data_root`` and the layout expected).
            ValueError: a frame of :meth:`scan` lacks a key of :data:`FRAME_KEYS`.
        """
        name = type(self).__name__
        frames = self.scan()
        if not frames:
            raise FileNotFoundError(
                f'{name}: no frame found under {self.data_root}: expected {self.LAYOUT}; the '
                f'folder {describe_folder(self.data_root, self.backend_args)}')
        seen: Dict[str, int] = {}
        data_list = []
        for frame in frames:
            missing = [k for k in FRAME_KEYS if k not in frame]
            if missing:
                raise ValueError(f'{name}.scan() returned a frame without {missing}: {frame}')
            n = seen.get(frame['scene'], 0)
            seen[frame['scene']] = n + 1
            if not self._SCAN_APPLIES_FRAME_SKIP and n % self.frame_skip:
                continue
            info = dict(frame)
            if self.encoding is not None or 'depth_encoding' not in info:
                info['depth_encoding'] = self.depth_encoding
            info['source'] = self.source
            data_list.append(info)
        return data_list

    def _frame_files(self, data: dict) -> str:
        return ', '.join(f'{k}={data[k]}' for k in FILE_KEYS if k in data)

    def prepare_data(self, idx: int) -> Any:
        """Run the pipeline on frame ``idx``.

        An error gets a note naming the frame and its files (some upstream errors, e.g. cv2's
        on an empty colour file, name none); with ``skip_bad_frames`` a file-loading error skips
        the frame instead (see the class docstring).
        """
        data = self.get_data_info(idx)
        frame = f"{data['scene']}/{data['frame_id']}"
        files = self._frame_files(data)
        for t in self.pipeline.transforms:
            try:
                data = t(data)
            except Exception as e:
                if self.skip_bad_frames and isinstance(t, FILE_LOADERS):
                    self.num_bad_frames += 1
                    MMLogger.get_current_instance().warning(
                        f'{self.__class__.__name__}: skipped bad frame {frame} '
                        f'({type(e).__name__}: {e}); {self.num_bad_frames} bad frame(s) skipped '
                        'so far by this process (skip_bad_frames=True)')
                    return None  # BaseDataset.__getitem__ fetches another frame
                if hasattr(e, 'add_note'):  # Python >= 3.11
                    e.add_note(f'{self.__class__.__name__}: in {type(t).__name__} on frame '
                               f'{frame} ({files})')
                raise
            if data is None:
                return None
        return data

    def _repr_fields(self) -> List[str]:
        """The ``Name: value`` lines of :meth:`__repr__` after the data root (subclasses add
        theirs)."""
        return [f'Source: {self.source}', f'Depth encoding: {self.depth_encoding}',
                f'Frame skip: {self.frame_skip}']

    def __repr__(self) -> str:
        size = len(self) if self._fully_initialized else 'not yet loaded (lazy_init)'
        fields = [f'Number of frames: {size}', f'Data root: {self.data_root}',
                  *self._repr_fields(), f'Pipeline: {self.pipeline}']
        return '\n'.join([f'Dataset {self.__class__.__name__}', *('    ' + f for f in fields)])
