"""Paired comparisons of two arms run with the same seeds (same head init and data order):
the mean difference, its t interval and the paired t-test, for the comparison reports."""
from typing import Dict, Mapping

import numpy as np

__all__ = ['paired_difference']


def paired_difference(a: Mapping[int, float], b: Mapping[int, float],
                      confidence: float = 0.95) -> Dict[str, float]:
    """``a - b`` over the seeds both have.

    Args:
        a, b (Mapping[int, float]): a metric per seed.
        confidence (float): coverage of the interval. Defaults to 0.95.

    Returns:
        dict: ``n``, ``mean``, ``std`` (sample std of the differences), ``low`` / ``high``
        (the t interval of the mean difference) and ``p`` (two-sided paired t-test); the
        last four are NaN with fewer than 2 common seeds, and ``p`` is 1 (0) when the
        differences are all 0 (all equal and not 0).
    """
    from scipy import stats
    seeds = sorted(set(a) & set(b))
    diff = np.array([a[s] - b[s] for s in seeds], dtype=float)
    n = len(diff)
    out = dict(n=n, mean=float(diff.mean()) if n else float('nan'), std=float('nan'),
               low=float('nan'), high=float('nan'), p=float('nan'))
    if n < 2:
        return out
    std = float(diff.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / np.sqrt(n)
    if std == 0:
        p = 1.0 if out['mean'] == 0 else 0.0
    else:
        p = float(stats.ttest_rel(diff, np.zeros(n)).pvalue)
    out.update(std=std, low=out['mean'] - half, high=out['mean'] + half, p=p)
    return out
