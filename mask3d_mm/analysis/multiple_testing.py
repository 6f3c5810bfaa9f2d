"""Multiplicity correction of a family of p-values (Holm's step-down method), for the
comparison reports: every paired test of a study counts, the primary one included."""
from typing import List, Sequence

__all__ = ['holm']


def holm(pvalues: Sequence[float]) -> List[float]:
    """Holm-adjusted p-values, in the order given.

    The i-th smallest of ``m`` p-values is multiplied by ``m - i + 1`` (i from 1), a running
    maximum keeps the adjusted values in the order of the raw ones, and they are capped at 1.
    A test is rejected at family-wise error ``alpha`` when its adjusted p is <= ``alpha``.

    Args:
        pvalues (Sequence[float]): raw p-values of the family, each in [0, 1].

    Returns:
        list[float]: the adjusted p-values, same length and order as ``pvalues``.
    """
    m = len(pvalues)
    if any(not 0 <= p <= 1 for p in pvalues):  # NaN fails both comparisons
        raise ValueError(f'p-values must lie in [0, 1], got {list(pvalues)}')
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted
