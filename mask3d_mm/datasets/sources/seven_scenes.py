"""Microsoft 7-Scenes read where its archives unpack (no conversion step)."""
import re
from typing import Dict, List, Optional, Sequence

import mmengine.fileio as fileio

from mask3d_mm.registry import DATASETS
from ..intrinsics import intrinsics_from
from ..rgbd_frames import RGBDFramesDataset
from .native_common import Incomplete, list_dirs, list_files, select_scenes

__all__ = ['SevenScenesDataset', 'SEVEN_SCENES_DEPTH_INTRINSICS', 'read_split']

# the 7-Scenes readme: "default intrinsics for the depth camera: principal point (320, 240),
# focal length (585, 585)" (640x480); (fx, fy, cx, cy)
SEVEN_SCENES_SIZE = (640, 480)  # (W, H) of the default intrinsics
SEVEN_SCENES_DEPTH_INTRINSICS = (585.0, 585.0, 320.0, 240.0)
SPLITS = {'train': 'TrainSplit.txt', 'test': 'TestSplit.txt'}
_SEQUENCE = re.compile(r'^seq-\d+$')
_FRAME = re.compile(r'^(frame-\d+)\.color\.png$')


def read_split(text: str, path: str = '<split>') -> List[str]:
    """Sequence folders of a ``TrainSplit.txt`` / ``TestSplit.txt``: lines ``sequence1`` ->
    ``'seq-01'`` (blank lines and ``#`` comments skipped)."""
    seqs = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        match = re.fullmatch(r'sequence(\d+)', line)
        if match is None:
            raise ValueError(f'split file {path}: line {line!r} is not "sequence<N>"')
        seqs.append(f'seq-{int(match.group(1)):02d}')
    return seqs


@DATASETS.register_module()
class SevenScenesDataset(RGBDFramesDataset):
    """Microsoft's RGB-D 7-Scenes, with each scene's ``seq-XX.zip`` unpacked in place.

    ::

        data_root/
            chess/ fire/ heads/ office/ pumpkin/ redkitchen/ stairs/   (scenes; data_root may
                                                                       be one scene folder)
                TrainSplit.txt, TestSplit.txt     ("sequence1" lines)
                seq-01/                           (unpacked from seq-01.zip)
                    frame-000000.color.png        (colour, 640x480, 24-bit PNG)
                    frame-000000.depth.png        (uint16 millimetres, 65535 = invalid)
                    frame-000000.pose.txt         (4x4 camera-to-world, not read)

    Upstream: the dataset's readme (https://www.microsoft.com/en-us/research/project/rgb-d-
    dataset-7-scenes/): frames ``frame-XXXXXX.{color,depth,pose}``, "depth in millimeters,
    16-bit, PNG, invalid depth is set to 65535", the splits and the default depth intrinsics.

    - **Frame:** a ``frame-NNNNNN.color.png`` with its ``frame-NNNNNN.depth.png``, in frame
      order within each sequence; ``scene`` is ``'<scene>/seq-XX'`` (``frame_skip`` counts per
      sequence), ``frame_id`` ``'frame-NNNNNN'``.
    - **Encoding:** ``'7scenes'``: uint16 / 1000 = metres; 0 and 65535 invalid.
    - **Intrinsics:** the readme's defaults of the depth camera (fx = fy = 585, cx = 320,
      cy = 240, 640x480) as ``depth_intrinsics``. The readme states that the colour and depth
      cameras are not calibrated (the frames are the raw, unregistered Kinect images): no
      ``color_intrinsics`` are given, so ``AlignColorToDepth`` resizes (both are 640x480: the
      image stays as it is) and colour and depth pixels correspond only approximately.
    - **Licence:** Microsoft Research licence, non-commercial use only: cite Shotton et al.,
      CVPR 2013.

    Args:
        data_root (str): a folder of scene folders, or one scene folder.
        ann_file (str): optional scene list, one scene name per line; ``#`` comments.
            Defaults to ''.
        scenes (Sequence[str], optional): scene names, instead of ``ann_file``.
        split (str, optional): ``'train'`` (the sequences of each scene's ``TrainSplit.txt``),
            ``'test'`` (``TestSplit.txt``) or None (every ``seq-XX`` folder). Defaults to None.
        **kwargs: arguments of :class:`~mask3d_mm.datasets.RGBDFramesDataset` (``frame_skip``,
            ``encoding``, ``skip_incomplete``: skip frames whose depth file is missing,
            ``skip_bad_frames``, ``backend_args``, ``pipeline``, ...).
    """

    DEPTH_ENCODING = '7scenes'
    SOURCE = '7scenes'
    LAYOUT = ('7-Scenes: scene folders (chess/, ...) holding seq-XX/ folders (seq-XX.zip '
              'unpacked) of frame-NNNNNN.color.png and frame-NNNNNN.depth.png')
    METAINFO = dict(dataset_name='7-Scenes')

    def __init__(self,
                 data_root: str,
                 ann_file: str = '',
                 scenes: Optional[Sequence[str]] = None,
                 split: Optional[str] = None,
                 **kwargs) -> None:
        if split is not None and split not in SPLITS:
            raise ValueError(f"split must be 'train', 'test' or None, got {split!r}")
        self.scenes = scenes
        self.split = split
        super().__init__(data_root=data_root, ann_file=ann_file, **kwargs)

    def _sequences(self, folder: str) -> List[str]:
        return [d for d in list_dirs(folder, self.backend_args) if _SEQUENCE.match(d)]

    def _zipped(self, folder: str) -> List[str]:
        return [f for f in list_files(folder, self.backend_args)
                if re.match(r'^seq-\d+\.zip$', f)]

    def _find_scenes(self) -> Dict[str, str]:
        """Scene name -> folder."""
        root = self.data_root.rstrip('/')
        if not self.isdir(root):
            raise self.layout_error(root, 'is not a folder')
        if self._sequences(root) or self._zipped(root):
            return {root.rsplit('/', 1)[-1]: root}
        found = {}
        for d in list_dirs(root, self.backend_args):
            folder = self.join(root, d)
            if self._sequences(folder) or self._zipped(folder):
                found[d] = folder
        if not found:
            zips = [f for f in list_files(root, self.backend_args) if f.endswith('.zip')]
            hint = f'unzip {", ".join(zips[:3])} first' if zips else None
            raise self.layout_error(root, 'holds no scene folder with seq-XX/ folders', hint)
        return found

    def scan(self) -> List[dict]:
        """The frames of each scene (sorted by name), sequence by sequence, in frame order."""
        owner = type(self).__name__
        folders = self._find_scenes()
        names = select_scenes(sorted(folders), self.ann_file, self.scenes, owner,
                              self.backend_args)
        k_depth = intrinsics_from(*SEVEN_SCENES_DEPTH_INTRINSICS)
        incomplete = Incomplete(owner, self.skip_incomplete)
        frames = []
        for scene in names:
            folder = folders[scene]
            present = self._sequences(folder)
            if self.split is None:
                seqs = present
            else:
                split_file = self.join(folder, SPLITS[self.split])
                if not self.exists(split_file):
                    raise self.layout_error(folder, f'has no {SPLITS[self.split]} '
                                            f'(split={self.split!r})')
                seqs = read_split(fileio.get_text(split_file, backend_args=self.backend_args),
                                  split_file)
            zipped = set(self._zipped(folder))
            for seq in seqs:
                if seq not in present:
                    problem = (f'has {seq}.zip but no {seq}/ folder: unzip it in place'
                               if f'{seq}.zip' in zipped else f'has no {seq}/ folder')
                    raise self.layout_error(folder, problem)
                seq_dir = self.join(folder, seq)
                files = set(list_files(seq_dir, self.backend_args))
                ids = [m.group(1) for m in map(_FRAME.match, sorted(files)) if m]
                if not ids:
                    raise self.layout_error(seq_dir, 'holds no frame-NNNNNN.color.png')
                for fid in ids:
                    depth = f'{fid}.depth.png'
                    if depth not in files:
                        incomplete.add(f'frame {self.join(seq_dir, fid + ".color.png")} has no '
                                       f'{depth}')
                        continue
                    frames.append(dict(img_path=self.join(seq_dir, f'{fid}.color.png'),
                                       depth_path=self.join(seq_dir, depth),
                                       scene=f'{scene}/{seq}', frame_id=fid,
                                       depth_intrinsics=k_depth,
                                       depth_intrinsics_wh=SEVEN_SCENES_SIZE))
        incomplete.log()
        return frames
