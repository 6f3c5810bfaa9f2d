"""The numbers of the comparison: per arm the metric per seed, mean and std; paired differences;
fine-tuning seeds nested in pre-training seeds; the decision of the preset 'defaults'."""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from mask3d_mm.analysis.paired_stats import paired_difference

__all__ = ['summarize', 'nest', 'decide']


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


def nest(per_run: Dict[str, Dict[Tuple[Optional[int], int], float]]
         ) -> Tuple[Dict[str, Dict[int, float]], str]:
    """The experimental unit of the paired tests, and the metric per unit.

    Args:
        per_run: arm -> {(pre-training seed, fine-tuning seed): metric}; the pre-training
            seed is None for an arm without pre-training ('scratch').

    Returns:
        ``(finals, unit)``. With one pre-training seed, ``finals`` is arm -> {fine-tuning
        seed: metric} and ``unit`` 'seed': the arms share the fine-tuning seeds (head init,
        data order) and pair over them. With several, fine-tuning seeds are nested in
        pre-training runs, which are the independent replicates of a pre-training method:
        ``finals`` is arm -> {pre-training seed: mean over its fine-tuning seeds} and ``unit``
        'pre-training seed' (the two-stage analysis of a balanced nested design: a paired t
        over these means tests the arm difference against the pre-training noise, which a
        test over all runs would take for independent).

    Raises:
        ValueError: several pre-training seeds and an arm without pre-training (its
            fine-tuning noise would not enter a test over pre-training seeds).
    """
    pseeds = sorted({p for runs in per_run.values() for p, _ in runs if p is not None})
    if len(pseeds) <= 1:
        return {arm: {s: v for (_, s), v in sorted(runs.items(), key=lambda kv: kv[0][1])}
                for arm, runs in per_run.items()}, 'seed'
    finals = {}
    for arm, runs in per_run.items():
        if any(p is None for p, _ in runs):
            raise ValueError(f"arm '{arm}' has no pre-training seed to pair over with the "
                             f'pre-training seeds {pseeds} of the other arms')
        finals[arm] = {p: float(np.mean([v for (q, _), v in runs.items() if q == p]))
                       for p in pseeds if any(q == p for q, _ in runs)}
    return finals, 'pre-training seed'


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
