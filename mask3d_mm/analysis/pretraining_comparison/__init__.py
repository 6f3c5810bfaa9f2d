"""The pre-training comparison of ``tools/analysis_tools/compare_pretraining.py`` (its
docstring has the commands): no pre-training, MMPretrain's MAE and Mask3D, the same tiny
ViT fine-tuned from each. It runs the repository's own tools as child processes:

1. generates the synthetic ScanNet-format sets if they are absent (as tools/demo.py): the
   training set (6 training scenes; its 2 val scenes, all 80 frames, are the *selection*
   split) and a *report* split of 8 other scenes x 10 frames (generator seed 1);
2. pre-trains each pre-training arm once per pre-training seed (``--pretrain-seeds``,
   default 0) with ``tools/train.py``: MAE
   (configs/benchmarks/pretrain_comparison/mae_*.py, RGB only) and Mask3D (mask3d_*.py, RGB-D),
   same ViT (4 x 128), 112x112 input, batch, optimizer, schedule and number of iterations;
   optionally, at twice that compute, MAE for twice the epochs ('mae2x') against Mask3D started
   from the MAE export ('mae+mask3d', the paper's protocol after ImageNet pre-training);
3. exports each colour encoder (tools/model_converters/export_rgb_encoder.py);
4. fine-tunes every arm, pre-training seed and seed with ``tools/train.py`` (``--task seg``:
   UperNet on synthetic ScanNet-20; ``--task depth``: the UperNet depth head, mmseg's
   DepthEstimator), validating on the selection split, then tests the final checkpoint on the
   report split with ``tools/test.py``;
5. writes ``results.md`` (the metric per seed, mean +- std, paired differences with their
   95 % t interval and paired t-test p-value on both splits, the decision of a preset with a
   decision rule, the compute time, the exact commands), ``results.json``, the per-run JSON
   ``<preset>.json`` (:mod:`.study_json`) and ``learning_curves.png`` in the work dir
   (``--task depth``: ``results_depth.*`` and ``learning_curves_depth.png``;
   ``--preset protocol``: ``results_protocol.*``; ``--preset pretrain-seeds``:
   ``results_pretrain-seeds.*``), and prints the tables. With several
   pre-training seeds the fine-tuning seeds are nested in them (:func:`.results.nest`).

``--preset`` fills in what a table of docs/results.md was made with (arms, variants, task,
data, seeds, pre-training seeds, pairs); options given explicitly win. Runs whose outputs
exist are not run again (their commands are still listed, and their recorded wall time still
counted): an interrupted
comparison resumes where it stopped, and seeds or variants can be added later with the same
work dir. Everything is on CPU unless CUDA is available.

``--tables-from PATH`` runs nothing: it rebuilds the tables of docs/results.md and the README
from study JSONs (:mod:`.doc_tables`), with Holm-adjusted p-values.

Modules: :mod:`.settings` (arms, tasks, presets, options), :mod:`.runs` (the tool runs),
:mod:`.results` (statistics, decision), :mod:`.report` (tables, curves), :mod:`.study_json`
(the per-run JSON), :mod:`.doc_tables` (the docs' tables), :mod:`.main`.
"""
from .main import main
from .report import plot, tables, write_report
from .results import decide, nest, summarize
from .runs import Commands, curves, finetune, pretrain, report_metric, run_name
from .settings import (ARMS, LABELS, PRESET_NAMES, PRETRAIN_CONFIGS, TASKS,
                       mask_generator_key, parse_args, presets)

__all__ = [
    'main', 'parse_args', 'presets', 'mask_generator_key', 'summarize', 'nest', 'decide',
    'curves', 'report_metric', 'pretrain', 'finetune', 'run_name', 'Commands', 'plot',
    'tables', 'write_report', 'ARMS', 'LABELS', 'PRESET_NAMES', 'PRETRAIN_CONFIGS', 'TASKS'
]
