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
import os
import os.path as osp
import shutil
import sys
import time
import uuid
from typing import Sequence

try:
    import mask3d_mm  # noqa: F401  (first: compat patches)
except ImportError:  # running from a source checkout without installing
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mask3d_mm.converters.nyuv2 import convert_nyuv2  # noqa: E402

OUTPUTS = ('images', 'labels40', 'depth')


def check_outputs(out_dir: str, force: bool, inputs: Sequence[str]) -> None:
    """Refuse existing output folders without ``force``, and always refuse replacing a folder
    that holds an input."""
    existing = [d for d in OUTPUTS if osp.lexists(osp.join(out_dir, d))]
    if existing and not force:
        raise FileExistsError(f'{out_dir} already holds {existing}: pass --force to replace '
                              'them by this conversion')
    for d in existing:
        folder = osp.realpath(osp.join(out_dir, d))
        for path in inputs:
            if osp.realpath(path).startswith(folder + os.sep):
                raise ValueError(f'the input {path} is inside the output folder {folder}, '
                                 'which this conversion would replace; move it first')


def replace_outputs(part: str, out_dir: str) -> None:
    """Move the folders converted into ``part`` to ``out_dir``; old ones are deleted after."""
    old = part[:-len('.part')] + '.old'
    os.makedirs(old)
    for d in OUTPUTS:
        if osp.lexists(osp.join(out_dir, d)):
            os.rename(osp.join(out_dir, d), osp.join(old, d))
    for d in OUTPUTS:
        if osp.isdir(osp.join(part, d)):
            os.rename(osp.join(part, d), osp.join(out_dir, d))
    shutil.rmtree(old)
    os.rmdir(part)


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
    check_outputs(args.out_dir, args.force, [args.labeled_mat, args.splits_mat, args.mapping])

    start = time.time()

    def progress(done: int, total: int) -> None:
        if done % 100 == 0 or done == total:
            print(f'{done}/{total} frames ({time.time() - start:.0f} s)', flush=True)

    part = osp.join(args.out_dir, f'.nyuv2_mat-{os.getpid()}-{uuid.uuid4().hex[:8]}.part')
    os.makedirs(part)
    try:
        counts = convert_nyuv2(args.labeled_mat, args.splits_mat, part, args.mapping,
                               with_depth=not args.no_depth, progress=progress)
    except BaseException:
        shutil.rmtree(part)
        raise
    replace_outputs(part, args.out_dir)
    print(f'wrote {counts} to {args.out_dir}')


if __name__ == '__main__':
    main()
