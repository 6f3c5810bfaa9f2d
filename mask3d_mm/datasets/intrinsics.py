"""Camera intrinsics files as RGB-D corpora ship them.

Formats read by :func:`read_intrinsics` (numbers separated by whitespace and / or commas):

- a 3x3 matrix (9 numbers; SUN RGB-D ``intrinsics.txt``, a user's own ``intrinsics.txt``);
- a 4x4 matrix (16 numbers; ScanNet ``intrinsic_depth.txt``): its top-left 3x3;
- an ARKit ``.pincam`` file (ARKitScenes ``lowres_wide_intrinsics/*.pincam``): one line
  ``width height fx fy cx cy``.

The matrices are returned as written, i.e. for the image size of the files they belong to
(``AlignColorToDepth`` scales them to the images read).
"""
from typing import Optional, Tuple

import mmengine.fileio as fileio
import numpy as np

__all__ = ['intrinsics_from', 'parse_intrinsics', 'read_intrinsics', 'read_pincam']


def intrinsics_from(fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    """The (3, 3) float32 matrix ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]``."""
    k = np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1]], dtype=np.float64)
    if not (np.isfinite(k).all() and fx > 0 and fy > 0):
        raise ValueError(f'intrinsics need finite values and positive focal lengths, got '
                         f'fx={fx}, fy={fy}, cx={cx}, cy={cy}')
    return k.astype(np.float32)


def _numbers(text: str, path: str) -> np.ndarray:
    try:
        return np.array(text.replace(',', ' ').split(), dtype=np.float64)
    except ValueError as e:
        raise ValueError(f'intrinsics file {path} does not hold numbers only: {e}') from e


def parse_intrinsics(text: str, path: str = '<text>') -> Tuple[np.ndarray, Optional[tuple]]:
    """Parse the text of an intrinsics file (the formats of the module docstring).

    Args:
        text (str): the file's text.
        path (str): the file, for messages; a ``.pincam`` suffix selects that format.

    Returns:
        tuple: (3, 3) float32 intrinsics and the image size ``(W, H)`` the file states
        (``.pincam``), else None.
    """
    values = _numbers(text, path)
    if path.lower().endswith('.pincam') or values.size == 6:
        if values.size != 6:
            raise ValueError(f'intrinsics file {path} holds {values.size} numbers: an ARKit '
                             '.pincam file is one line "width height fx fy cx cy"')
        w, h, fx, fy, cx, cy = values.tolist()
        return intrinsics_from(fx, fy, cx, cy), (int(round(w)), int(round(h)))
    if values.size == 9:
        k = values.reshape(3, 3)
    elif values.size == 16:
        k = values.reshape(4, 4)[:3, :3]
    else:
        raise ValueError(f'intrinsics file {path} holds {values.size} numbers: expected a 3x3 '
                         '(9) or 4x4 (16) matrix, or an ARKit .pincam line "w h fx fy cx cy" (6)')
    if not (np.isfinite(k).all() and k[0, 0] > 0 and k[1, 1] > 0):
        raise ValueError(f'intrinsics file {path} is not a camera matrix (finite values, '
                         f'positive fx and fy expected): {k.tolist()}')
    return k.astype(np.float32), None


def read_pincam(path: str, backend_args: Optional[dict] = None
                ) -> Tuple[np.ndarray, Optional[tuple]]:
    """:func:`parse_intrinsics` of the file ``path`` (read through :mod:`mmengine.fileio`):
    the intrinsics and the image size a ``.pincam`` states."""
    try:
        text = fileio.get_text(path, backend_args=backend_args)
    except FileNotFoundError as e:
        raise FileNotFoundError(f'intrinsics file not found: {path}') from e
    return parse_intrinsics(text, path)


def read_intrinsics(path: str, backend_args: Optional[dict] = None) -> np.ndarray:
    """Read a 3x3 or 4x4 text matrix or an ARKit ``.pincam`` file.

    Args:
        path (str): the intrinsics file.
        backend_args (dict, optional): file backend arguments (see :mod:`mmengine.fileio`).

    Returns:
        np.ndarray: (3, 3) float32 intrinsics, for the image size of the files they belong to.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is none of the formats (naming it and the count of numbers).
    """
    return read_pincam(path, backend_args)[0]
