"""Does the 3D prior transfer? Fine-tune the same tiny ViT from no pre-training, from
MMPretrain's MAE and from Mask3D, pre-trained with equal compute on the same frames.

    python tools/analysis_tools/compare_pretraining.py --preset defaults   # ~2.5 h, 2 cores
    python tools/analysis_tools/compare_pretraining.py --preset materials  # ~1.2 h
    python tools/analysis_tools/compare_pretraining.py --preset depth      # ~40 min
    python tools/analysis_tools/compare_pretraining.py --preset pretrain-seeds  # ~3.6 h
    python tools/analysis_tools/compare_pretraining.py [--work-dir DIR] [--seeds 0 1 2 3 4]
        [--arms scratch mae mask3d [mae2x mae+mask3d]] [--task seg|depth]
        [--materials class|independent] [--variant NAME KEY=VALUE ...]
        [--pairs ARM:BASE ...] [--pretrain-epochs 50] [--finetune-iters 400]

What it runs and writes, step by step: :mod:`mask3d_mm.analysis.pretraining_comparison`;
the tables it made: docs/results.md.
"""
from mask3d_mm.analysis.pretraining_comparison import main

if __name__ == '__main__':
    main()
