"""``DumpPredictions``: every sample's predictions in a tensors-only file (``--out-item pred``
of ``tools/test.py``)."""
import warnings
from typing import Any, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.structures import BaseDataElement

from mask3d_mm.atomic_write import atomic_output
from mask3d_mm.registry import METRICS

__all__ = ['DumpPredictions']

_DROP = object()


def _tensors_only(obj: Any, dropped: set) -> Any:
    """``obj`` with numpy turned into tensors and anything else that is not plain data dropped
    (its type name goes to ``dropped``), so that the file loads with ``weights_only=True``."""
    if isinstance(obj, BaseDataElement):
        obj = obj.to_dict()
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, np.ndarray) and obj.dtype != object:
        return torch.from_numpy(np.ascontiguousarray(obj))
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            v = _tensors_only(v, dropped)
            if v is not _DROP:
                out[str(k)] = v
        return out
    if isinstance(obj, (list, tuple)):
        items = [_tensors_only(v, dropped) for v in obj]
        if any(v is _DROP for v in items):
            return _DROP
        return tuple(items) if isinstance(obj, tuple) else items
    dropped.add(type(obj).__name__)
    return _DROP


@METRICS.register_module()
class DumpPredictions(BaseMetric):
    """Gather the predictions of all ranks; rank 0 saves them as a tensors-only file.

    mmengine's ``DumpResults`` pickles arbitrary objects; this file holds dicts, lists, tensors
    and plain values only, so it loads with ``torch.load(out_file, weights_only=True)``. The
    file is written atomically; values that are not plain data are left out with a warning.

    Args:
        out_file (str): the file to write (``torch.save`` of a list, one dict a sample).
    """

    def __init__(self, out_file: str) -> None:
        super().__init__(collect_device='cpu')
        self.out_file = out_file
        self.dropped: set = set()

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        self.results.extend(_tensors_only(s, self.dropped) for s in data_samples)

    def compute_metrics(self, results: list) -> dict:
        if self.dropped:
            warnings.warn(f'{self.out_file}: values of type {sorted(self.dropped)} are not '
                          'tensors or plain data and were left out of the predictions file')
        with atomic_output(self.out_file) as tmp:
            torch.save(results, tmp)
        return {}
