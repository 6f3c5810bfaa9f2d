"""One source per recipe constant: the pipeline, the model and the metric of a config agree on
``max_depth`` and ``patch_size``, checked once the config is complete
(mask3d_mm/recipe_consistency.py), in the tools and under any Runner."""
import mask3d_mm  # noqa: F401,I001  (first: compat patches)

import glob
import os.path as osp
import re
import types

import pytest
from mmengine.config import Config

from mask3d_mm.engine.hooks import RecipeConsistencyHook
from mask3d_mm.recipe_consistency import check_recipe_consistency, recipe_values
from mask3d_mm.tooling import apply_cfg_options, parse_cfg_options

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TINY = osp.join(REPO, 'configs/mask3d/vit-tiny_synthetic.py')
RECIPE_CONFIGS = sorted(
    glob.glob(osp.join(REPO, 'configs/mask3d/*.py'))
    + glob.glob(osp.join(REPO, 'configs/benchmarks/pretrain_comparison/*.py')))
OTHER_CONFIGS = sorted(
    p for family in ('depth', 'mmseg', 'mmdet')
    for p in glob.glob(osp.join(REPO, 'configs/benchmarks', family, '*.py')))


def _apply(cfg: Config, *options: str) -> None:
    """The tools' merge of ``--cfg-options`` (tools/train.py, tools/test.py, ...)."""
    apply_cfg_options(cfg, parse_cfg_options(list(options)), {})


@pytest.mark.parametrize('path', RECIPE_CONFIGS, ids=osp.basename)
def test_shipped_recipe_configs_agree(path):
    """Every shipped pre-training config passes, and every reader of the constants takes the
    family's one variable (pipelines, encoders, decoder, head, metric; MAE's three parts)."""
    cfg = Config.fromfile(path)
    check_recipe_consistency(cfg)
    values = recipe_values(cfg)
    # ViT-H/14 (MAE's ViT-H patch) is the one recipe with another patch size
    patch = 14 if osp.basename(path).startswith('vit-h') else 16
    assert {v for _, v, _ in values['patch_size']} == {cfg.patch_size} == {patch}
    assert all(note == '' for places in values.values() for _, _, note in places), values
    if cfg.model.type == 'MAE':
        assert len(values['patch_size']) == 3 and not values['max_depth']
        return
    # a mixture: a loader and a mask generator per source, each source's max_depth <= 10
    sources = len(cfg.train_dataloader.dataset.get('datasets', [None]))
    per_source = [v for p, v, _ in values['max_depth'] if '.datasets[' in p]
    assert len(per_source) == (sources if sources > 1 else 0)
    assert all(v <= cfg.max_depth for v in per_source), per_source
    assert {v for p, v, _ in values['max_depth']
            if '.datasets[' not in p} == {cfg.max_depth} == {10.0}
    # loaders (one per source, val), model (2), metric
    assert len(values['max_depth']) == sources + 4, values['max_depth']
    assert len(values['patch_size']) == sources + 5, values['patch_size']  # + 4 model
    # under any Runner, not only this repository's tools
    assert dict(type='mask3d_mm.RecipeConsistencyHook') in cfg.custom_hooks


def test_nested_cfg_option_that_disagrees_fails_naming_both_keys():
    cfg = Config.fromfile(TINY)
    expected = ('max_depth differs: train_dataloader.dataset.pipeline[1].max_depth=10.0 vs '
                'model.head.max_depth=5.0')
    with pytest.raises(ValueError, match=re.escape(expected)) as e:
        _apply(cfg, 'model.head.max_depth=5.0')
    msg = str(e.value)
    assert 'model.depth_encoder.max_depth' in msg and 'val_evaluator.max_depth' in msg, msg
    cfg = Config.fromfile(TINY)
    expected = ('patch_size differs: train_dataloader.dataset.pipeline[5].patch_size=8 vs '
                'val_dataloader.dataset.pipeline[4].patch_size=16')
    with pytest.raises(ValueError, match=re.escape(expected)):
        _apply(cfg, 'train_dataloader.dataset.pipeline.5.patch_size=8')


def test_every_reader_set_together_passes_and_the_variable_alone_is_refused():
    """Why the check exists: ``max_depth`` is substituted when the file is parsed, so setting
    the variable would reach no component (refused, naming the readers); setting each one
    does."""
    readers = ('train_dataloader.dataset.pipeline.1.max_depth',
               'val_dataloader.dataset.pipeline.1.max_depth', 'model.depth_encoder.max_depth',
               'model.head.max_depth', 'val_evaluator.max_depth')
    cfg = Config.fromfile(TINY)
    assert cfg.model.head.max_depth == 10.0
    with pytest.raises(KeyError, match=r"'max_depth' is a variable .* change nothing; set the "
                       r'keys that hold its value instead, e.g. .*model.head.max_depth=\.\.\.'):
        _apply(cfg, 'max_depth=5.0')
    cfg = Config.fromfile(TINY)
    _apply(cfg, *(f'{key}=5.0' for key in readers))
    assert {v for _, v, _ in recipe_values(cfg)['max_depth']} == {5.0}


def test_a_component_left_at_its_default_counts():
    """A metric without ``max_depth`` uses its class default (10 m): it disagrees with a
    pipeline and model set to 5 m. ``LoadDepthFromFile(max_depth=None)`` (no limit) is not
    compared."""
    cfg = Config.fromfile(TINY)
    cfg.val_evaluator = dict(type='mask3d_mm.DepthReconstructionMetric')
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        loader.dataset.pipeline[1].max_depth = 5.0
    cfg.model.depth_encoder.max_depth = cfg.model.head.max_depth = 5.0
    with pytest.raises(ValueError, match=re.escape(
            'vs val_evaluator.max_depth=10.0 (default of DepthReconstructionMetric)')):
        check_recipe_consistency(cfg)
    cfg.val_evaluator.max_depth = 5.0
    cfg.train_dataloader.dataset.pipeline[1].max_depth = None
    check_recipe_consistency(cfg)
    assert len(recipe_values(cfg)['max_depth']) == 4


def test_hook_checks_the_runner_config():
    """RecipeConsistencyHook runs the same check under any Runner (MMPretrain's tools)."""
    cfg = Config.fromfile(TINY)
    cfg.merge_from_dict({'model.head.max_depth': 5.0})
    with pytest.raises(ValueError, match=r'max_depth differs: .* vs model\.head\.max_depth=5\.0'):
        RecipeConsistencyHook().before_run(types.SimpleNamespace(cfg=cfg))
    RecipeConsistencyHook().before_run(types.SimpleNamespace(cfg=Config.fromfile(TINY)))


def test_runner_stops_before_the_first_iteration(synthetic_scannet, tmp_path):
    """A plain mmengine Runner (as MMPretrain's tools/train.py builds it) on the shipped tiny
    config with a disagreeing key: refused at ``before_run``, no iteration, no checkpoint."""
    from mmengine.runner import Runner
    cfg = Config.fromfile(TINY)
    cfg.merge_from_dict({
        'work_dir': str(tmp_path / 'wd'), 'model.depth_encoder.max_depth': 5.0,
        'train_dataloader.dataset.data_root': synthetic_scannet,
        'train_dataloader.dataset.ann_file': '', 'train_dataloader.num_workers': 0,
        'val_dataloader.dataset.data_root': synthetic_scannet,
        'val_dataloader.dataset.ann_file': '', 'val_dataloader.num_workers': 0,
        'val_dataloader.persistent_workers': False})
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match=r'vs model\.depth_encoder\.max_depth=5\.0'):
        runner.train()
    assert runner.iter == 0 and not glob.glob(str(tmp_path / 'wd' / '*.pth'))


@pytest.mark.slow
@pytest.mark.parametrize('path', OTHER_CONFIGS, ids=osp.basename)
def test_other_shipped_configs_pass(path):
    """The tools run the check on every config: the downstream ones (mmseg, mmdet, depth
    estimation) pass too."""
    check_recipe_consistency(Config.fromfile(path))


def test_a_source_of_a_mixture_may_cut_depth_nearer_never_farther():
    """In a mixture each source's loader has its own max_depth (a sensor's range): below the
    recipe's it passes, above it is refused naming the source's key; outside a mixture a loader
    still must agree exactly."""
    mixed = osp.join(REPO, 'configs/mask3d/vit-tiny_synthetic-mixed.py')
    cfg = Config.fromfile(mixed)
    assert cfg.train_dataloader.dataset.datasets[1].pipeline[1].max_depth == 8.0  # tum
    check_recipe_consistency(cfg)
    cfg.train_dataloader.dataset.datasets[2].pipeline[1].max_depth = 12.0
    key = 'train_dataloader.dataset.datasets[2].pipeline[1].max_depth=12.0'
    with pytest.raises(ValueError, match=re.escape(f"max_depth of a source exceeds the recipe's: "
                                                   f'{key} > ')):
        check_recipe_consistency(cfg)
    cfg = Config.fromfile(mixed)  # the model's max_depth still agrees with the metric's
    with pytest.raises(ValueError, match='max_depth differs: val_dataloader'):
        _apply(cfg, 'model.head.max_depth=5.0')
    single = Config.fromfile(TINY)
    single.train_dataloader.dataset.pipeline[1].max_depth = 8.0
    with pytest.raises(ValueError, match='max_depth differs'):
        check_recipe_consistency(single)
