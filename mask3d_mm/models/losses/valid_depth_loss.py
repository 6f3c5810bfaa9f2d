"""L1 / L2 regression loss restricted to valid pixels."""
from typing import Optional

import torch
from mmengine.model import BaseModule

from mask3d_mm.registry import MODELS

__all__ = ['ValidDepthLoss']


@MODELS.register_module()
class ValidDepthLoss(BaseModule):
    """Mean L1 or L2 error over the valid elements only.

    Invalid elements are selected out with ``torch.where`` before the penalty, so whatever
    their prediction or target (even NaN or inf) they contribute nothing and get zero gradient.
    With no valid element the loss is exactly 0 (still attached to ``pred``, zero gradient).

    Args:
        criterion (str): 'L1' or 'L2' (squared error). Defaults to 'L1'.
        loss_weight (float): Multiplier. Defaults to 1.0.
    """

    def __init__(self, criterion: str = 'L1', loss_weight: float = 1.0) -> None:
        super().__init__()
        if criterion not in ('L1', 'L2'):
            raise ValueError(f"criterion must be 'L1' or 'L2', got {criterion!r}")
        self.criterion = criterion
        self.loss_weight = loss_weight

    def forward(self,
                pred: torch.Tensor,
                target: torch.Tensor,
                valid: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            pred (torch.Tensor): Prediction, any shape.
            target (torch.Tensor): Target, same shape.
            valid (torch.Tensor, optional): Bool, broadcastable to ``pred``; None = all valid.

        Returns:
            torch.Tensor: Scalar loss.
        """
        if pred.shape != target.shape:
            raise ValueError(f'pred {tuple(pred.shape)} and target {tuple(target.shape)} differ')
        if valid is None:
            valid = torch.ones_like(pred, dtype=torch.bool)
        valid = valid.to(torch.bool).expand_as(pred)
        zero = pred.new_zeros(())
        diff = torch.where(valid, pred - torch.where(valid, target, zero), zero)
        err = diff.abs() if self.criterion == 'L1' else diff.pow(2)
        return self.loss_weight * err.sum() / valid.sum().clamp(min=1).to(err.dtype)
