"""ScanNet instance maps -> COCO: checked against the PNGs, independently of the converter."""
import mask3d_mm  # noqa: F401,I001  (first: compat patches)

import glob
import json
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pycocotools.mask as mask_utils
import pytest

from helpers.tools import run_tool_main
from mask3d_mm.converters.scannet_to_coco import scannet_to_coco
from mask3d_mm.datasets.nyu40 import SCANNET_INSTANCE_CLASSES, SCANNET_INSTANCE_NYU40_IDS

# pycocotools' RLE decode under numpy 2 (upstream)
pytestmark = pytest.mark.filterwarnings('ignore:__array__ implementation:DeprecationWarning')

NYU40 = {3: 'cabinet', 4: 'bed', 5: 'chair', 6: 'sofa', 7: 'table', 8: 'door', 9: 'window',
         10: 'bookshelf', 11: 'picture', 12: 'counter', 14: 'desk', 16: 'curtain',
         24: 'refrigerator', 28: 'shower curtain', 33: 'toilet', 34: 'sink', 36: 'bathtub',
         39: 'otherfurniture'}


def png_instances(root: str, file_name: str) -> dict:
    """{(nyu40, instance id): bool mask} of the 18 classes, straight from the instance PNG."""
    scene, _, name = file_name.split('/')
    ins = cv2.imread(osp.join(root, scene, 'instance', name.replace('.jpg', '.png')),
                     cv2.IMREAD_UNCHANGED)
    assert ins.dtype == np.uint16
    out = {}
    for v in np.unique(ins):
        cls, inst = divmod(int(v), 1000)
        if cls in NYU40 and inst > 0:
            out[(cls, inst)] = ins == v
    return out


def anns_by_image(coco: dict) -> dict:
    out = {img['id']: {} for img in coco['images']}
    for a in coco['annotations']:
        key = (a['category_id'], a['instance_id'])
        assert key not in out[a['image_id']], 'one annotation per instance and image'
        out[a['image_id']][key] = a
    return out


def test_classes_images_and_sizes(synthetic_scannet):
    coco = scannet_to_coco(synthetic_scannet, min_area=0)
    assert [(c['id'], c['name']) for c in coco['categories']] == list(NYU40.items())
    assert SCANNET_INSTANCE_CLASSES == tuple(NYU40.values())
    assert SCANNET_INSTANCE_NYU40_IDS == tuple(NYU40)
    assert [img['file_name'] for img in coco['images']] == [
        f'scene000{s}_00/color/00000{f}.jpg' for s in range(2) for f in range(4)]
    assert [img['id'] for img in coco['images']] == list(range(1, 9))
    assert [a['id'] for a in coco['annotations']] == list(range(1, len(coco['annotations']) + 1))
    for img in coco['images']:
        color = cv2.imread(osp.join(synthetic_scannet, img['file_name']))
        assert color.shape[:2] == (240, 320)  # raw colour is larger ...
        assert (img['height'], img['width']) == (120, 160)  # ... the json has the label size
    used = {a['category_id'] for a in coco['annotations']}
    assert used <= set(NYU40) and len(used) >= 5  # never wall (1) / floor (2)


@pytest.mark.parametrize('min_area', [0, 800])
def test_instances_masks_boxes_and_area_filter(synthetic_scannet, min_area):
    coco = scannet_to_coco(synthetic_scannet, min_area=min_area)
    anns = anns_by_image(coco)
    num_dropped = 0
    for img in coco['images']:
        expected = png_instances(synthetic_scannet, img['file_name'])
        kept = {k for k, m in expected.items() if m.sum() >= min_area}
        num_dropped += len(expected) - len(kept)
        assert set(anns[img['id']]) == kept, img['file_name']
        for key, ann in anns[img['id']].items():
            mask = expected[key]
            decoded = mask_utils.decode(ann['segmentation'])
            assert decoded.shape == (120, 160)
            np.testing.assert_array_equal(decoded.astype(bool), mask)
            ys, xs = np.nonzero(mask)
            assert ann['bbox'] == [xs.min(), ys.min(), xs.max() - xs.min() + 1,
                                   ys.max() - ys.min() + 1]
            assert ann['area'] == mask.sum() and ann['iscrowd'] == 0
    if min_area:  # the fixture has instances on both sides of 800 px
        assert num_dropped >= 5 and len(coco['annotations']) >= 10
    else:
        assert num_dropped == 0 and len(coco['annotations']) >= 30


def test_scene_list_and_frame_skip(synthetic_scannet, tmp_path):
    scene_list = tmp_path / 'val.txt'
    scene_list.write_text('scene0001_00\n')
    coco = scannet_to_coco(synthetic_scannet, scene_list=str(scene_list), frame_skip=2,
                           min_area=0)
    assert [img['file_name'] for img in coco['images']] == [
        'scene0001_00/color/000000.jpg', 'scene0001_00/color/000002.jpg']
    assert coco['info']['scenes'] == ['scene0001_00']


def test_8bit_instance_maps_take_classes_from_labels(synthetic_scannet, tmp_path):
    """scannet_frames_25k style: 8-bit instance ids + NYU40 label maps give the same json."""
    root = tmp_path / 'frames'
    shutil.copytree(osp.join(synthetic_scannet, 'scene0000_00'), root / 'scene0000_00')
    for path in glob.glob(str(root / 'scene0000_00/instance/*.png')):
        ins = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        cv2.imwrite(path, (ins % 1000).astype(np.uint8))
    ref = scannet_to_coco(synthetic_scannet, scenes=['scene0000_00'], min_area=50)
    got = scannet_to_coco(str(root), min_area=50)
    assert got['annotations'] == ref['annotations'] and len(got['annotations']) > 0
    os.remove(root / 'scene0000_00/label/000001.png')
    with pytest.raises(FileNotFoundError, match='8-bit'):
        scannet_to_coco(str(root), min_area=50)


def test_depth_is_not_needed(synthetic_scannet, tmp_path):
    """The converter reads color names and instance maps only: frames without depth convert."""
    root = tmp_path / 'frames'
    shutil.copytree(osp.join(synthetic_scannet, 'scene0000_00'), root / 'scene0000_00')
    shutil.rmtree(root / 'scene0000_00' / 'depth')
    ref = scannet_to_coco(synthetic_scannet, scenes=['scene0000_00'], min_area=50)
    got = scannet_to_coco(str(root), min_area=50)
    assert got['images'] == ref['images'] and got['annotations'] == ref['annotations']
    os.remove(root / 'scene0000_00' / 'instance' / '000002.png')
    with pytest.raises(FileNotFoundError, match=r'frame 000002 .*instance/000002\.png'):
        scannet_to_coco(str(root), min_area=50)
    assert len(scannet_to_coco(str(root), min_area=50, skip_incomplete=True)['images']) == 3


def test_cli_writes_json(synthetic_scannet, tmp_path, capsys):
    out = tmp_path / 'ann' / 'instances.json'
    run_tool_main('dataset_converters/scannet_to_coco', synthetic_scannet, '--out', str(out),
                  '--frame-skip', '2', '--min-area', '800')
    written = json.loads(out.read_text())
    expected = scannet_to_coco(synthetic_scannet, frame_skip=2, min_area=800)
    assert written == json.loads(json.dumps(expected))
    assert f'4 images, {len(expected["annotations"])} instances' in capsys.readouterr().out
