"""DumpPredictions (``tools/test.py --out-item pred``): a file that plain
``torch.load(weights_only=True)`` reads, with what is not plain data left out and named."""
import mask3d_mm  # noqa: F401,I001  (first: mask3d_mm/compat.py says why)

import pickle

import numpy as np
import pytest
import torch
from mmengine.evaluator import DumpResults
from mmengine.structures import BaseDataElement

from mask3d_mm.registry import METRICS


class _Opaque:
    pass


def _samples():
    element = BaseDataElement(metainfo=dict(img_path='a.jpg'), pred_depth=torch.ones(1, 2, 3))
    return [
        element,
        dict(img_path='b.jpg', pred_depth=np.zeros((1, 2, 3), np.float32), score=np.float32(0.5),
             shape=(2, 3), extra=_Opaque(), boxes=[_Opaque(), torch.zeros(1)]),
    ]


def test_dump_predictions_is_registered_and_loads_weights_only(tmp_path):
    out = str(tmp_path / 'preds.pth')
    metric = METRICS.build(dict(type='mask3d_mm.DumpPredictions', out_file=out))
    metric.process({}, _samples())
    with pytest.warns(UserWarning, match=r"preds.pth: values of type \['_Opaque'\]"):
        assert metric.evaluate(2) == {}
    first, second = torch.load(out, weights_only=True)
    assert first['img_path'] == 'a.jpg' and torch.equal(first['pred_depth'], torch.ones(1, 2, 3))
    assert isinstance(second['pred_depth'], torch.Tensor) and second['score'] == 0.5
    assert second['shape'] == (2, 3)
    assert 'extra' not in second and 'boxes' not in second  # a list holding one: dropped whole


def test_upstream_dump_results_needs_unsafe_loading(tmp_path):
    """Why not mmengine's DumpResults: its pickle does not load with weights_only=True."""
    out = str(tmp_path / 'preds.pkl')
    metric = DumpResults(out_file_path=out)
    metric.process({}, [dict(pred_depth=np.zeros((1, 2, 3), np.float32))])
    metric.evaluate(1)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(out, weights_only=True)
