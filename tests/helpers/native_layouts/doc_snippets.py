"""The config snippets of docs/data_preparation.md, as the reader tests build them."""
import os.path as osp
import re

from helpers.tools import REPO


def snippet_dataset_cfg(type_name: str) -> dict:
    """The ``train_dataloader.dataset`` of the one ```python block of
    docs/data_preparation.md that uses ``type='mask3d_mm.<type_name>'`` (executed as written)."""
    with open(osp.join(REPO, 'docs/data_preparation.md')) as f:
        doc = f.read()
    blocks = [b for b in re.findall(r'```python\n(.*?)```', doc, re.S)
              if f"type='mask3d_mm.{type_name}'" in b]
    assert len(blocks) == 1, f'{type_name}: {len(blocks)} snippets in docs/data_preparation.md'
    scope: dict = {}
    exec(blocks[0], scope)
    return dict(scope['train_dataloader']['dataset'])
