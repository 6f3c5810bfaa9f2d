"""The numbers of the comparison: per arm the metric per seed, mean and std; paired differences;
the decision of the preset 'defaults'."""
from typing import Dict, Sequence

import numpy as np

from mask3d_mm.analysis.paired_stats import paired_difference

__all__ = ['summarize', 'decide']


def _mean_std(values: Sequence[float]) -> tuple:
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else float('nan')


def summarize(finals: Dict[str, Dict[int, float]], pairs: Sequence[str]) -> dict:
    """Per arm the metric per seed, its mean and sample std; per pair 'A:B' present, the
    paired difference A - B (:func:`paired_difference`)."""
    arms = {}
    for arm, per_seed in finals.items():
        mean, std = _mean_std(list(per_seed.values()))
        arms[arm] = dict(final=dict(sorted(per_seed.items())), mean=mean, std=std)
    paired = {}
    for pair in pairs:
        a, b = pair.split(':')
        if a in finals and b in finals:
            paired[pair] = paired_difference(finals[a], finals[b])
    return dict(arms=arms, pairs=paired)


def decide(selection: dict) -> dict:
    """The preset 'defaults' decision (:data:`.settings.DECISION_RULE`) from the selection split."""
    kept = {}
    for change in ('complementary', 'standardize'):
        pair = selection['pairs'].get(f'mask3d-spec+{change}:mask3d-spec')
        if pair is None:
            raise RuntimeError(f'the decision needs the arms mask3d-spec+{change} and '
                               'mask3d-spec (--preset defaults)')
        kept[change] = bool(pair['low'] > 0)
    chosen = {(False, False): 'mask3d-spec', (True, False): 'mask3d-spec+complementary',
              (False, True): 'mask3d-spec+standardize', (True, True): 'mask3d'}
    return dict(kept=kept, defaults=chosen[kept['complementary'], kept['standardize']])
