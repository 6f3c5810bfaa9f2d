"""Refuse a run whose pipeline, model and metric disagree on ``max_depth`` or ``patch_size``,
whatever tool started it."""
from mmengine.hooks import Hook

from mask3d_mm.recipe_consistency import check_recipe_consistency
from mask3d_mm.registry import HOOKS


@HOOKS.register_module()
class RecipeConsistencyHook(Hook):
    """:func:`mask3d_mm.recipe_consistency.check_recipe_consistency` on the runner's config
    before the run starts (``before_run``: after the Runner built the model and the loaders,
    before weights are initialised or loaded and before the first iteration).

    ``tools/train.py`` and ``tools/test.py`` run the same check earlier, when they merge
    ``--cfg-options``; this hook gives it to any other Runner, e.g. MMPretrain's own
    ``tools/train.py`` on ``configs/mask3d/*.py`` (in their ``custom_hooks``).
    """

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        check_recipe_consistency(runner.cfg)
