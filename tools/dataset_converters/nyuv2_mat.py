"""Convert the NYUv2 labelled set (.mat files) into PNG folders for mask3d_mm.NYUv2SegDataset.

    python tools/dataset_converters/nyuv2_mat.py \
        nyu_depth_v2_labeled.mat splits.mat data/nyuv2 --mapping classMapping40.mat

Writes ``data/nyuv2/{images,labels40,depth}/{train,test}/NNNN.png`` (795 train, 654 test);
see ``mask3d_mm/converters/nyuv2.py`` for the file formats. Existing output folders are
kept unless ``--force``, which replaces them (all three: no mix of two conversions). The set is
written to a hidden folder in OUT_DIR and moved into place when complete, so a killed run leaves
the previous set (and a ``.nyuv2_mat-*`` folder to delete), never a partial one.
"""
import argparse
import time

import mask3d_mm  # noqa: F401,I001  (first: mask3d_mm/compat.py says why)

from mask3d_mm.converters.nyuv2 import convert_nyuv2_set  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('labeled_mat', help='nyu_depth_v2_labeled.mat (MATLAB v7.3)')
    parser.add_argument('splits_mat', help='splits.mat (trainNdxs / testNdxs, 1-based)')
    parser.add_argument('out_dir', help='output root, e.g. data/nyuv2')
    parser.add_argument('--mapping', required=True,
                        help='classMapping40.mat (field mapClass), or a .npy / .txt with the '
                        '894 NYU40 ids of the raw classes 1..894')
    parser.add_argument('--no-depth', action='store_true', help='do not write depth/')
    parser.add_argument('--force', action='store_true',
                        help='replace existing images/, labels40/, depth/ in OUT_DIR')
    args = parser.parse_args()
    start = time.time()

    def progress(done: int, total: int) -> None:
        if done % 100 == 0 or done == total:
            print(f'{done}/{total} frames ({time.time() - start:.0f} s)', flush=True)

    counts = convert_nyuv2_set(args.labeled_mat, args.splits_mat, args.out_dir, args.mapping,
                               with_depth=not args.no_depth, force=args.force, progress=progress)
    print(f'wrote {counts} to {args.out_dir}')


if __name__ == '__main__':
    main()
