"""Activation checkpointing of a stack of transformer blocks (the ``with_cp`` switch)."""
from typing import Iterable

import torch
import torch.nn as nn
from torch.utils.checkpoint import checkpoint

__all__ = ['run_blocks']


def run_blocks(blocks: Iterable[nn.Module], x: torch.Tensor, with_cp: bool) -> torch.Tensor:
    """Apply ``blocks`` in order, each under activation checkpointing when ``with_cp``.

    Checkpointing (``torch.utils.checkpoint.checkpoint``, ``use_reentrant=False``, RNG state
    preserved so dropout / drop path recompute identically) keeps only each block's input and
    recomputes its activations in the backward pass: less memory for one more forward of the
    blocks. It changes neither the result nor the gradients nor the parameters (the state_dict
    keys are those without it). It is skipped where no backward follows (``torch.no_grad``,
    inference).

    Args:
        blocks (Iterable[nn.Module]): Blocks mapping (B, N, C) -> (B, N, C).
        x (torch.Tensor): Tokens (B, N, C).
        with_cp (bool): Checkpoint each block (the caller passes ``with_cp and training``).

    Returns:
        torch.Tensor: Tokens (B, N, C) after the last block.
    """
    use_cp = with_cp and torch.is_grad_enabled()
    for block in blocks:
        x = checkpoint(block, x, use_reentrant=False) if use_cp else block(x)
    return x
