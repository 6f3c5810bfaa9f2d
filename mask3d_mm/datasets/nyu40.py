"""The class tables: NYU40 classes (NYUv2 40-class labels, ScanNet ``label/*.png`` ids), the
ScanNet-20 benchmark subset and the 18 ScanNet instance classes. The one place they are defined.

NYU40 id ``i`` (1..40) is ``NYU40_CLASSES[i - 1]``; id 0 is unlabelled. The palette is the
one of ScanNet's benchmark scripts (RGB), so renders match the official visualisations.
"""
from typing import Dict, Tuple

__all__ = ['NYU40_CLASSES', 'NYU40_PALETTE', 'SCANNET20_NYU40_IDS', 'SCANNET20_CLASSES',
           'SCANNET20_PALETTE', 'SCANNET_INSTANCE_NYU40_IDS', 'SCANNET_INSTANCE_CLASSES',
           'SCANNET_INSTANCE_PALETTE', 'scannet20_label_map']

NYU40_CLASSES: Tuple[str, ...] = (
    'wall', 'floor', 'cabinet', 'bed', 'chair', 'sofa', 'table', 'door', 'window', 'bookshelf',
    'picture', 'counter', 'blinds', 'desk', 'shelves', 'curtain', 'dresser', 'pillow', 'mirror',
    'floor mat', 'clothes', 'ceiling', 'books', 'refrigerator', 'television', 'paper', 'towel',
    'shower curtain', 'box', 'whiteboard', 'person', 'night stand', 'toilet', 'sink', 'lamp',
    'bathtub', 'bag', 'otherstructure', 'otherfurniture', 'otherprop')

NYU40_PALETTE: Tuple[Tuple[int, int, int], ...] = (
    (174, 199, 232), (152, 223, 138), (31, 119, 180), (255, 187, 120), (188, 189, 34),
    (140, 86, 75), (255, 152, 150), (214, 39, 40), (197, 176, 213), (148, 103, 189),
    (196, 156, 148), (23, 190, 207), (178, 76, 76), (247, 182, 210), (66, 188, 102),
    (219, 219, 141), (140, 57, 197), (202, 185, 52), (51, 176, 203), (200, 54, 131),
    (92, 193, 61), (78, 71, 183), (172, 114, 82), (255, 127, 14), (91, 163, 138),
    (153, 98, 156), (140, 153, 101), (158, 218, 229), (100, 125, 154), (178, 127, 135),
    (120, 185, 128), (146, 111, 194), (44, 160, 44), (112, 128, 144), (96, 207, 209),
    (227, 119, 194), (213, 92, 176), (94, 106, 211), (82, 84, 163), (100, 85, 144))

# the 20 classes of the ScanNet benchmark, as NYU40 ids, in train-id order 0..19
SCANNET20_NYU40_IDS: Tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14, 16, 24, 28, 33,
                                        34, 36, 39)
SCANNET20_CLASSES: Tuple[str, ...] = tuple(NYU40_CLASSES[i - 1] for i in SCANNET20_NYU40_IDS)
SCANNET20_PALETTE = tuple(NYU40_PALETTE[i - 1] for i in SCANNET20_NYU40_IDS)

# ScanNet-20 without wall (1) and floor (2): the 18 classes of Pri3D's 2D instance protocol
SCANNET_INSTANCE_NYU40_IDS: Tuple[int, ...] = tuple(i for i in SCANNET20_NYU40_IDS
                                                    if i not in (1, 2))
SCANNET_INSTANCE_CLASSES: Tuple[str, ...] = tuple(NYU40_CLASSES[i - 1]
                                                  for i in SCANNET_INSTANCE_NYU40_IDS)
SCANNET_INSTANCE_PALETTE = tuple(NYU40_PALETTE[i - 1] for i in SCANNET_INSTANCE_NYU40_IDS)


def scannet20_label_map(ignore_index: int = 255) -> Dict[int, int]:
    """``{nyu40_id: train_id}`` for ids 0..40: the 20 benchmark classes -> 0..19, the rest
    (unlabelled 0 and the other 20 NYU40 classes) -> ``ignore_index``."""
    train_id = {nyu: i for i, nyu in enumerate(SCANNET20_NYU40_IDS)}
    return {nyu: train_id.get(nyu, ignore_index) for nyu in range(41)}

