"""Helpers of the analysis tools (not registered modules)."""
from .paired_stats import paired_difference

__all__ = ['paired_difference']
