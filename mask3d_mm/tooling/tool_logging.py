"""Logging of the tools: a paramwise summary line and where a resumed run continues."""
import logging
from typing import Dict, Optional

from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

__all__ = ['install_tool_logging']


class _ParamwiseSummary(logging.Filter):
    """Drops mmengine's ``paramwise_options -- NAME:KEY=VALUE`` lines (one per parameter and
    setting: ~615 for ViT-B pre-training) and counts them for one summary line."""

    PREFIX = 'paramwise_options -- '

    def __init__(self) -> None:
        super().__init__()
        self.params: set = set()
        self.values: Dict[str, Dict[str, int]] = {}  # key -> value -> tensors

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        if not msg.startswith(self.PREFIX):
            return True
        name, _, setting = msg[len(self.PREFIX):].partition(':')
        key, _, value = setting.partition('=')
        self.params.add(name)
        counts = self.values.setdefault(key, {})
        counts[value] = counts.get(value, 0) + 1
        return False

    def summary(self) -> Optional[str]:
        if not self.values:
            return None
        parts = []
        for key, counts in self.values.items():
            common = sorted(counts.items(), key=lambda kv: -kv[1])
            shown = ', '.join(f'{v} x{n}' for v, n in common[:3])
            parts.append(f'{key}={shown}' + (f', ... ({len(common)} values)'
                                             if len(common) > 3 else ''))
        return (f'paramwise_options of {len(self.params)} parameter tensors: '
                f'{"; ".join(parts)} (log_level=DEBUG lists each)')


class _ToolLogHook(Hook):
    """Logs, once training is set up (after resuming), where it resumed and the paramwise
    summary."""

    priority = 'VERY_HIGH'

    def __init__(self, resumed_from: Optional[str],
                 summary: Optional[_ParamwiseSummary]) -> None:
        self.resumed_from = resumed_from
        self.summary = summary

    def before_train(self, runner) -> None:
        if self.summary is not None:
            runner.logger.removeFilter(self.summary)
            line = self.summary.summary()
            if line:
                runner.logger.info(line)
        if self.resumed_from:
            runner.logger.info(f'resumed from {self.resumed_from} at epoch {runner.epoch}, '
                               f'iteration {runner.iter}')


def install_tool_logging(runner: Runner, cfg: Config) -> None:
    """One summary line instead of mmengine's per-parameter ``paramwise_options`` lines (unless
    ``log_level='DEBUG'``), and a line saying where a resumed run continues."""
    summary = None
    if str(cfg.get('log_level', 'INFO')).upper() != 'DEBUG':
        summary = _ParamwiseSummary()
        runner.logger.addFilter(summary)
    resumed_from = cfg.get('load_from') if cfg.get('resume') else None
    runner.register_hook(_ToolLogHook(resumed_from, summary))
