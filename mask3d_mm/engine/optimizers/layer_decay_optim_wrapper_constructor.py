"""Layer-wise learning-rate decay for a ViT backbone inside any model."""
import re
from typing import Dict, List, Optional, Sequence, Tuple

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor

from mask3d_mm.registry import OPTIM_WRAPPER_CONSTRUCTORS

# parameters before the first block (ViT names of mmpretrain / mmseg)
_EMBED_NAMES = ('patch_embed', 'cls_token', 'pos_embed', 'dist_token', 'mask_token',
                'pre_norm', 'absolute_pos_embed')
_LAYER_RE = re.compile(r'^layers\.(\d+)\.')


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Layer-wise lr decay (BEiT / MAE fine-tuning) for a ViT found anywhere in a model.

    The backbone is the submodule named by ``backbone_prefix`` (``'backbone.'`` in mmseg's
    ``EncoderDecoder`` and mmdet's detectors; ``''`` when the model *is* the ViT). Its parameters
    get a layer id from their names (those of ``mmpretrain.models.VisionTransformer``):

    - ``patch_embed``, ``cls_token``, ``pos_embed``, ``pre_norm`` (and other tokens): 0
    - ``layers.i.*``: ``i + 1``
    - anything else in the backbone (the final ``ln1``, ...): ``num_layers + 1``

    Every parameter outside the backbone (necks, heads) has layer id ``num_layers + 1``.
    A parameter of layer ``i`` trains with
    ``lr = base_lr * layer_decay_rate ** (num_layers + 1 - i)`` (so heads use ``base_lr``).
    1-D parameters (biases, norms) and tokens / position embeddings get no weight decay.

    ``paramwise_cfg`` keys:

    - ``layer_decay_rate`` (float, required): in (0, 1], e.g. 0.65 for ViT-B.
    - ``num_layers`` (int, optional): blocks of the backbone; inferred from it by default.
    - ``backbone_prefix`` (str): name of the ViT in the model, with a trailing dot.
      Defaults to ``'backbone.'``.
    - ``no_decay_1d`` (bool): no weight decay for 1-D parameters. Defaults to True.
    - ``no_decay_names`` (Sequence[str]): parameter names (last component) without weight
      decay. Defaults to ``('cls_token', 'pos_embed', 'dist_token', 'mask_token')``.
    - ``custom_keys`` (dict, optional): as in mmengine, ``{substring: dict(lr_mult=...,
      decay_mult=...)}``, multiplied on top of the layer scale (longest key wins).

    Parameters with ``requires_grad=False`` are left out of the optimizer. The param groups
    are logged once as a table (layer id, lr scale, weight decay, number of tensors).
    """

    _KEYS = {'layer_decay_rate', 'num_layers', 'backbone_prefix', 'no_decay_1d',
             'no_decay_names', 'custom_keys'}

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None) -> None:
        paramwise_cfg = dict(paramwise_cfg or {})
        unknown = set(paramwise_cfg) - self._KEYS
        if unknown:
            raise ValueError(f'{type(self).__name__}: unknown paramwise_cfg keys '
                             f'{sorted(unknown)}; supported: {sorted(self._KEYS)}')
        if 'layer_decay_rate' not in paramwise_cfg:
            raise ValueError(f'{type(self).__name__} needs paramwise_cfg.layer_decay_rate')
        rate = paramwise_cfg['layer_decay_rate']
        if not 0 < rate <= 1:
            raise ValueError(f'layer_decay_rate must be in (0, 1], got {rate}')
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
        if self.base_lr is None:
            raise ValueError(f'{type(self).__name__} needs optimizer.lr')
        self.decay_rate = float(rate)
        self.backbone_prefix: str = paramwise_cfg.get('backbone_prefix', 'backbone.')
        self.no_decay_1d: bool = paramwise_cfg.get('no_decay_1d', True)
        self.no_decay_names: Sequence[str] = tuple(paramwise_cfg.get(
            'no_decay_names', ('cls_token', 'pos_embed', 'dist_token', 'mask_token')))
        self.num_layers: Optional[int] = paramwise_cfg.get('num_layers')

    # ---- helpers -------------------------------------------------------------------------
    def _backbone(self, model: nn.Module) -> nn.Module:
        name = self.backbone_prefix.rstrip('.')
        if not name:
            return model
        try:
            return model.get_submodule(name)
        except AttributeError:
            children = [n for n, _ in model.named_children()]
            raise ValueError(f"backbone_prefix '{self.backbone_prefix}' names no submodule of "
                             f'{type(model).__name__} (children: {children})') from None

    def _infer_num_layers(self, backbone: nn.Module) -> int:
        ids = [int(m.group(1)) for n, _ in backbone.named_parameters()
               if (m := _LAYER_RE.match(n))]
        found = max(ids) + 1 if ids else 0
        if self.num_layers is not None:
            if found > self.num_layers:
                raise ValueError(f'num_layers={self.num_layers} but the backbone has block '
                                 f'layers.{found - 1}')
            return self.num_layers
        num = getattr(backbone, 'num_layers', None)
        if isinstance(num, int) and num >= found:
            return num
        if not ids:
            raise ValueError(f'no "layers.N." parameter under "{self.backbone_prefix}": not a '
                             f'ViT; set paramwise_cfg.num_layers or backbone_prefix')
        return found

    def layer_id(self, name: str, num_layers: int) -> int:
        """Layer id of a parameter from its full name in the model."""
        if not name.startswith(self.backbone_prefix):
            return num_layers + 1
        name = name[len(self.backbone_prefix):]
        m = _LAYER_RE.match(name)
        if m:
            return int(m.group(1)) + 1
        if name.split('.')[0] in _EMBED_NAMES:
            return 0
        return num_layers + 1

    def _custom(self, name: str) -> Tuple[Optional[str], Dict]:
        custom_keys = self.paramwise_cfg.get('custom_keys', {})
        for key in sorted(sorted(custom_keys), key=len, reverse=True):
            if key in name:
                return key, custom_keys[key]
        return None, {}

    # ---- DefaultOptimWrapperConstructor API ------------------------------------------------
    def add_params(self, params: List[dict], module: nn.Module, prefix: str = '',
                   **kwargs) -> None:
        """Add the parameters of ``module`` (the whole model) to ``params``, one group per
        (layer id, decay or not, custom key)."""
        num_layers = self._infer_num_layers(self._backbone(module))
        base_wd = self.base_wd or 0.0
        groups: Dict[tuple, dict] = {}
        frozen = 0
        for name, param in module.named_parameters():
            if not param.requires_grad:
                frozen += 1
                continue
            layer = self.layer_id(name, num_layers)
            no_decay = ((self.no_decay_1d and param.ndim == 1)
                        or name.split('.')[-1] in self.no_decay_names)
            key, custom = self._custom(name)
            gkey = (layer, no_decay, key)
            if gkey not in groups:
                scale = self.decay_rate**(num_layers + 1 - layer) * custom.get('lr_mult', 1.0)
                wd = 0.0 if no_decay else base_wd * custom.get('decay_mult', 1.0)
                groups[gkey] = dict(params=[], lr=self.base_lr * scale, weight_decay=wd,
                                    lr_scale=scale, layer_id=layer)
            groups[gkey]['params'].append(param)
        params.extend(groups[k] for k in sorted(groups, key=lambda k: (k[0], k[1], k[2] or '')))
        self._log(groups, num_layers, frozen)

    def _log(self, groups: Dict[tuple, dict], num_layers: int, frozen: int) -> None:
        lines = [f'layer-wise lr decay: rate {self.decay_rate}, {num_layers} layers under '
                 f"'{self.backbone_prefix}', base lr {self.base_lr}, {len(groups)} groups",
                 f'{"layer":>5} {"decay":>5} {"custom":>12} {"lr_scale":>10} {"lr":>10} '
                 f'{"wd":>8} {"tensors":>7}']
        for (layer, no_decay, key) in sorted(groups, key=lambda k: (k[0], k[1], k[2] or '')):
            g = groups[(layer, no_decay, key)]
            lines.append(f'{layer:>5} {"no" if no_decay else "yes":>5} {key or "-":>12} '
                         f'{g["lr_scale"]:>10.4g} {g["lr"]:>10.3g} {g["weight_decay"]:>8.3g} '
                         f'{len(g["params"]):>7}')
        if frozen:
            lines.append(f'{frozen} parameter tensor(s) with requires_grad=False left out')
        print_log('\n'.join(lines), logger='current')
