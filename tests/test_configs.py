"""Every shipped pre-training config parses, builds its model and its pipelines."""
import mask3d_mm  # noqa: F401  (first: compat patches)

import glob
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import DefaultScope

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs/mask3d/*.py')))


def test_configs_exist():
    names = {osp.basename(c) for c in CONFIGS}
    assert {'vit-b_scannet.py', 'vit-tiny_synthetic.py'} <= names


# ViT-H (660 M parameters, 7-13 s to build on 2 CPU cores) in the slow tier; the fast tier
# builds it once, in tests/test_vit_lh_recipes.py
@pytest.mark.parametrize('path', [
    pytest.param(c, marks=pytest.mark.slow) if osp.basename(c).startswith('vit-h') else c
    for c in CONFIGS], ids=osp.basename)
def test_config_builds(path):
    from mmpretrain.registry import MODELS, TRANSFORMS
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmpretrain'
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
        for loader in ('train_dataloader', 'val_dataloader'):
            dataset = cfg[loader].dataset  # a mixture: the pipeline of each source
            for d in dataset.get('datasets', [dataset]):
                for t in d.pipeline:
                    TRANSFORMS.build(t)
    assert type(model).__name__ == 'Mask3D'
    if 'normals' in path:
        assert model.head.with_normals and model.neck.out_channels == 4
    if 'fusion-concat' in path:
        assert model.neck.fusion == 'concat'


def test_readme_backbone_swap_builds(tmp_path):
    """The README's 'swap the backbone into any mmseg config' snippet builds as written."""
    import re
    import mmseg.models  # noqa: F401
    from mmseg.registry import MODELS
    readme = open(osp.join(REPO, 'README.md')).read()
    snippet = re.search(r"```python\n(_base_ = 'mmseg::.*?)```", readme, re.S).group(1)
    snippet = snippet.replace("checkpoint='checkpoints/mask3d_vit-b_scannet.pth'", "checkpoint=None")
    cfg_file = tmp_path / 'swap.py'
    cfg_file.write_text(snippet)
    cfg = Config.fromfile(str(cfg_file))
    cfg.model.backbone.init_cfg = None
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model)
    assert type(model.backbone).__name__ == 'VisionTransformer'
    assert len(model.backbone.layers) == 12
