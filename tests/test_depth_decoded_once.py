"""No shipped config decodes a depth file twice: every pipeline that reads depth reads it with
``mask3d_mm.LoadDepthFromFile`` (the source's encoding, the package's checks), never beside or
instead of mmseg's ``LoadDepthAnnotation`` (whose ``depth_rescale_factor`` states one sensor's
scale for every source)."""
import mask3d_mm  # noqa: F401,I001  (first: compat patches)

import glob
import os.path as osp
from collections.abc import Mapping
from typing import Iterator, List, Tuple

import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs/**/*.py'), recursive=True))
SHIPPED = [c for c in CONFIGS if '/_base_/' not in c]


def pipelines(node, path: str = '') -> Iterator[Tuple[str, List[dict]]]:
    """``(config path, transforms)`` of every ``pipeline`` list in ``node``, wherever it is
    (a dataloader's dataset, the datasets of a ``ConcatDataset``, a wrapper's dataset)."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == 'pipeline' and isinstance(value, (list, tuple)):
                yield f'{path}.{key}', [t for t in value if isinstance(t, Mapping)]
            else:
                yield from pipelines(value, f'{path}.{key}' if path else str(key))
    elif isinstance(node, (list, tuple)):
        for i, item in enumerate(node):
            yield from pipelines(item, f'{path}[{i}]')


def _name(transform: Mapping) -> str:
    return str(transform.get('type', '')).split('.')[-1]


def test_the_scan_finds_the_pipelines():
    cfg = Config.fromfile(osp.join(REPO, 'configs/mask3d/vit-b_mixed-rgbd.py'))
    found = dict(pipelines(cfg._cfg_dict.to_dict()))
    assert len([p for p in found if p.startswith('train_dataloader.dataset.datasets[')]) == 6
    assert 'val_dataloader.dataset.pipeline' in found


@pytest.mark.parametrize('path', SHIPPED, ids=lambda p: osp.relpath(p, REPO))
def test_no_config_decodes_depth_twice(path):
    cfg = Config.fromfile(path)
    for where, transforms in pipelines(cfg._cfg_dict.to_dict()):
        names = [_name(t) for t in transforms]
        assert 'LoadDepthAnnotation' not in names, (
            f'{where}: mmseg\'s LoadDepthAnnotation (one scale for every source) instead of '
            'mask3d_mm.LoadDepthFromFile + mask3d_mm.DepthToTarget')
        assert names.count('LoadDepthFromFile') <= 1, f'{where} decodes depth twice: {names}'
        if 'DepthToTarget' in names:  # the target comes from the one decode, after it
            assert names.index('LoadDepthFromFile') < names.index('DepthToTarget'), names
        if cfg.get('model', {}).get('type') == 'DepthEstimator':  # the target's one decode
            assert {'LoadDepthFromFile', 'DepthToTarget'} <= set(names), f'{where}: {names}'
