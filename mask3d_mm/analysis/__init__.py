"""Analyses that ``tools/analysis_tools/*.py`` run over the repository's tools and configs.

Not registered and not imported by ``import mask3d_mm``; models and datasets never import it.

- :mod:`.pretraining_comparison`: scratch vs MMPretrain MAE vs Mask3D, fine-tuned with several
  seeds (``tools/analysis_tools/compare_pretraining.py``);
- :mod:`.paired_stats`: paired differences of two arms run with the same seeds;
- :mod:`.multiple_testing`: Holm's correction of a family of p-values;
- :mod:`.demo_summary`: the summary table of ``tools/demo.py``;
- :mod:`.provenance`: the code commit a result ran at.
"""
from .multiple_testing import holm
from .paired_stats import paired_difference

__all__ = ['holm', 'paired_difference']
