"""Convert ScanNet 2D instance maps (frames layout) to COCO instance segmentation json.

18 classes (ScanNet-20 without wall and floor), masks under ``--min-area`` pixels dropped, RLE
masks, boxes from masks; image sizes are the annotation size (see
``mask3d_mm/converters/scannet_to_coco.py`` for the format and the colour-size handling). An
existing ``--out`` file is kept unless ``--force``; the json is written atomically::

    python tools/dataset_converters/scannet_to_coco.py data/scannet_frames_25k \
        --scene-list scannetv2_train.txt \
        --out data/scannet_frames_25k/annotations/instances_train.json
    python tools/dataset_converters/scannet_to_coco.py data/scannet_frames_25k \
        --scene-list scannetv2_val.txt \
        --out data/scannet_frames_25k/annotations/instances_val.json
"""
import argparse
import os.path as osp
from collections import Counter

import mask3d_mm  # noqa: F401,I001  (first: mask3d_mm/compat.py says why)

from mask3d_mm.atomic_write import atomic_output  # noqa: E402
from mask3d_mm.converters.scannet_to_coco import scannet_to_coco  # noqa: E402
from mask3d_mm.tooling import check_output  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='ScanNet frames -> COCO instances json')
    parser.add_argument('data_root', help='folder of the sceneXXXX_XX folders')
    parser.add_argument('--out', required=True, help='output json')
    parser.add_argument('--force', action='store_true', help='overwrite an existing --out file')
    parser.add_argument('--scene-list', default='',
                        help='scene list file (e.g. scannetv2_val.txt; a path or relative to '
                        'data_root); default: every scene folder')
    parser.add_argument('--frame-skip', type=int, default=1, help='keep every N-th frame')
    parser.add_argument('--min-area', type=int, default=1000,
                        help='drop masks with fewer pixels (annotation resolution)')
    parser.add_argument('--skip-incomplete', action='store_true',
                        help='skip frames lacking color/instance files')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    scene_list = args.scene_list
    if scene_list and not osp.isfile(scene_list):
        scene_list = osp.join(args.data_root, scene_list)
    check_output(args.out, args.force, inputs=[scene_list])
    with atomic_output(args.out) as tmp:
        coco = scannet_to_coco(args.data_root, scene_list=args.scene_list,
                               frame_skip=args.frame_skip, min_area=args.min_area,
                               out_file=tmp, skip_incomplete=args.skip_incomplete,
                               progress=True)
    names = {c['id']: c['name'] for c in coco['categories']}
    per_class = Counter(names[a['category_id']] for a in coco['annotations'])
    print(f'\n{len(coco["images"])} images, {len(coco["annotations"])} instances '
          f'(min area {args.min_area} px) -> {args.out}')
    for name in names.values():
        print(f'  {name:<16} {per_class.get(name, 0)}')


if __name__ == '__main__':
    main()
