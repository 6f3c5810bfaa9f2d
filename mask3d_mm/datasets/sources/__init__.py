"""Readers of RGB-D collections, each a :class:`~mask3d_mm.datasets.RGBDFramesDataset`
subclass reading one corpus in its native layout (no conversion step).

One module per corpus; add the import of yours here, one line each, sorted:
``sunrgbd``, ``nyuv2_raw``, ``tum``, ``seven_scenes``, ``redwood``, ``arkitscenes``,
``hypersim``, ``taskonomy``, ``matterport``.
"""
from .frame_list import RGBDFrameListDataset  # noqa: F401
from .sunrgbd import SUNRGBDDataset  # noqa: F401
from .nyuv2_raw import NYUv2RawDataset  # noqa: F401
from .tum import TUMRGBDDataset  # noqa: F401
from .seven_scenes import SevenScenesDataset  # noqa: F401
from .redwood import RedwoodDataset  # noqa: F401
from .arkitscenes import ARKitScenesDataset  # noqa: F401
from .hypersim import HypersimDataset  # noqa: F401
from .taskonomy import TaskonomyDataset  # noqa: F401
from .matterport import Matterport3DDataset  # noqa: F401
