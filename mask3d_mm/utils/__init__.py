"""Helpers shared by the tools (not registered modules)."""
from .tool_runs import ensure_data, read_scalars, run_script

__all__ = ['ensure_data', 'read_scalars', 'run_script']
