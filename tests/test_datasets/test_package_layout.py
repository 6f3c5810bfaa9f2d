"""Where things live: short modules, each public name exported by the module defining it, one
definition of each class table."""
import glob
import importlib
import os.path as osp

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PACKAGES = ('mask3d_mm/datasets', 'mask3d_mm/synthetic', 'mask3d_mm/converters')


@pytest.mark.parametrize('package', PACKAGES)
def test_modules_are_short(package):
    files = glob.glob(osp.join(REPO, package, '**', '*.py'), recursive=True)
    assert files
    long = {osp.relpath(f, REPO): n for f in files
            if (n := sum(1 for _ in open(f))) > 400}
    assert not long, f'modules over 400 lines: {long}'


@pytest.mark.parametrize('module', [
    'mask3d_mm.datasets.transforms.geometric', 'mask3d_mm.datasets.transforms.align',
    'mask3d_mm.datasets.scannet_layout', 'mask3d_mm.datasets.nyu40',
    'mask3d_mm.synthetic.scene', 'mask3d_mm.synthetic.writer',
    'mask3d_mm.converters.scannet_to_coco', 'mask3d_mm.converters.export_sens'
])
def test_all_lists_what_the_module_defines(module):
    mod = importlib.import_module(module)
    for name in mod.__all__:
        obj = getattr(mod, name)
        assert getattr(obj, '__module__', module) == module, (
            f'{module}.__all__ lists {name}, defined in {obj.__module__}')


def test_class_tables_are_defined_once():
    from mask3d_mm.datasets import nyu40
    from mask3d_mm.synthetic import SYNTHETIC_NYU40_IDS, primitives
    assert primitives.SCANNET20_NYU40_IDS is nyu40.SCANNET20_NYU40_IDS
    assert SYNTHETIC_NYU40_IDS == nyu40.SCANNET20_NYU40_IDS + (22, )
    assert nyu40.NYU40_CLASSES[22 - 1] == 'ceiling'
    assert len(nyu40.SCANNET_INSTANCE_NYU40_IDS) == 18
    assert not {1, 2} & set(nyu40.SCANNET_INSTANCE_NYU40_IDS)
