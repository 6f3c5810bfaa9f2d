"""Head of Mask3D: dense depth target, valid-pixel loss and metric depth prediction."""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from mask3d_mm.registry import MODELS
from mask3d_mm.structures import valid_depth
from .depth_normals import depth_to_normals

__all__ = ['DenseDepthHead', 'truncated_mean_std']

NORM_TARGETS = ('metric', 'log', 'standardize')


class _KSmallest:
    """The ``k`` smallest of each row of ``vals`` (B, K), exactly with ties, without a sort:
    with v the k-th smallest value they are the values below v plus ``k - #(values < v)``
    copies of v. v is one ``kthvalue`` at a fixed rank (each row prefixed with ``K - k``
    entries of -inf and k of +inf), so nothing waits on the host.

    Args:
        vals (torch.Tensor): (B, K) float32, in any order.
        k (torch.Tensor): (B,) int64 in [0, K].
    """

    def __init__(self, vals: torch.Tensor, k: torch.Tensor) -> None:
        K = vals.shape[1]
        inf = vals.new_tensor(float('inf'))
        pad = torch.where(torch.arange(K, device=vals.device)[None] < (K - k)[:, None], -inf,
                          inf)
        self.v = torch.kthvalue(torch.cat([pad, vals], dim=1), K, dim=1).values[:, None]
        self.vals = vals
        self.below = vals < self.v
        self.rest = (k - self.below.sum(1)).double()
        self.some = k > 0  # k = 0: v = -inf, nothing to add

    def sum(self, c: Optional[torch.Tensor] = None) -> torch.Tensor:
        """(B,) float64 sum of the k smallest values, or of their ``(v - c)^2`` (c: (B, 1))."""
        vals, v = (self.vals, self.v) if c is None else ((self.vals - c).square(),
                                                         (self.v - c).square())
        s = (torch.where(self.below, vals, vals.new_zeros(())).sum(1, dtype=torch.float64)
             + self.rest * v[:, 0].double())
        return torch.where(self.some, s, s.new_zeros(()))


def truncated_mean_std(depth: torch.Tensor, valid: torch.Tensor,
                       trunc_ratio: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-sample mean and (biased) std of the valid values between truncation quantiles.

    For a sample with n valid values sorted ascending, k = floor(n * trunc_ratio) are cut at
    each end and the statistics are those of the n - 2k values left (MultiMAE). Batched, with
    no host sync and no sort: two unsorted ``topk`` selections take the K = floor(L *
    trunc_ratio) >= k smallest and largest values of each row, and the sums over the kept
    values are those over all valid values minus those over the k smallest and the k largest
    (:class:`_KSmallest`; float64 sums).

    Args:
        depth (torch.Tensor): (B, ...) values; the valid ones > 0 (valid depth, metres).
        valid (torch.Tensor): (B, ...) bool, False values are ignored (may hold NaN).
        trunc_ratio (float): Fraction cut at each end, in [0, 0.5).

    Returns:
        tuple: mean and std, (B,) in ``depth``'s dtype; 0 and 1 for a sample with no valid
        value.
    """
    B = depth.shape[0]
    x = depth.reshape(B, -1).float()
    m = valid.reshape(B, -1)
    L = x.shape[1]
    n = m.sum(dim=1, dtype=torch.int32).long()
    k = torch.floor(n.double() * trunc_ratio).long()
    K = int(L * trunc_ratio)  # static bound of k: no host sync
    zero = x.new_zeros(())
    xs = torch.where(m, x, zero)  # invalid 0 sorts below every valid value
    count = (n - 2 * k).clamp(min=1).double()
    # the full-row sum in float32 (a float64 sum copies the batch to float64 first; the mean
    # keeps >= 10 % of it, so its rounding stays ~1e-6 relative), the tails in float64
    total = xs.sum(1).double()
    if K:  # the k smallest / largest valid values are among the K smallest / largest
        low = torch.topk(torch.where(m, x, x.new_tensor(float('inf'))), K, dim=1,
                         largest=False, sorted=False).values
        high = torch.topk(xs, K, dim=1, largest=True, sorted=False).values
        low, high = _KSmallest(low, k), _KSmallest(-high, k)  # high: its k largest
        total = total - low.sum() + high.sum()
    mean = total / count
    # squares about c (float32) summed in float64 (with 2k of n values cut, float32 sums
    # would cancel): the terms of the invalid pixels (c^2) and of the tails are bitwise those
    # of the full sum, so subtracting them is exact
    c = mean.float()[:, None]
    sq = (xs - c).square().sum(1, dtype=torch.float64) - (L - n) * c[:, 0].square().double()
    if K:
        sq = sq - low.sum(c) - high.sum(-c)
    var = (sq / count - (mean - c[:, 0].double()).square()).clamp(min=0)
    nonempty = n > 0
    mean = torch.where(nonempty, mean, mean.new_zeros(()))
    std = torch.where(nonempty, var.sqrt(), var.new_ones(()))
    return mean.to(depth.dtype), std.to(depth.dtype)


@MODELS.register_module()
class DenseDepthHead(BaseModule):
    """Builds the dense depth target and computes the loss over valid pixels.

    The decoder predicts p*p values per patch for all h*w patches (MAE layout). Valid pixels
    are 0 < d <= ``max_depth``; invalid pixels never reach the loss. Target normalisation:

    - ``'metric'``: d / max_depth.
    - ``'log'``: ln(d), d in metres.
    - ``'standardize'``: per image (d - mean) / (max(std, std_floor) + 1e-6), mean and std
      over the valid pixels between the ``trunc_ratio`` and ``1 - trunc_ratio`` quantiles
      (MultiMAE). The floor keeps sensor noise on a near-flat frame (a wall seen head-on:
      std ~1 cm) from being blown up to unit-scale targets; views of a room are not
      affected (std >= 0.08 m on every synthetic training crop, docs/results.md).

    Prediction (:meth:`predict`) brings the target back to metres with the statistics of the
    visible depth (all inference knows); the training target of the full frame, for the
    target-space metric, is :meth:`dense_target`.

    Optional auxiliary target: unit surface normals computed from the depth and the
    ``depth_intrinsics`` (3x3) of each data sample; the decoder then predicts 4 values per
    pixel (depth, nx, ny, nz; ``out_channels=4``) and the normal loss (``normal_loss``,
    L1 on the normalised predicted vector) counts pixels whose normal is valid.

    Args:
        patch_size (int): Patch size p. Defaults to 16.
        max_depth (float): Largest valid depth in metres. Defaults to 10.
        norm_target (str): 'metric', 'log' or 'standardize'. Defaults to 'metric'.
        loss_on (str): 'all' patches or only the depth-'masked' ones. Defaults to 'all'.
        trunc_ratio (float): Fraction cut at each end for 'standardize'. Defaults to 0.1.
        std_floor (float): Smallest std, metres, 'standardize' divides by (0: none). Defaults
            to 0.05: a few times the Kinect noise at 2-3 m (0.6-1.4 cm), far below the std of a
            room view (docs/results.md measures both).
        loss (dict): Depth loss config. Defaults to ``ValidDepthLoss`` L1.
        normal_loss (dict, optional): Normal loss config; None disables normals.
            Defaults to None.
        init_cfg (dict, optional): Defaults to None.
    """

    def __init__(self,
                 patch_size: int = 16,
                 max_depth: float = 10.,
                 norm_target: str = 'metric',
                 loss_on: str = 'all',
                 trunc_ratio: float = 0.1,
                 std_floor: float = 0.05,
                 loss: dict = dict(type='mask3d_mm.ValidDepthLoss', criterion='L1'),
                 normal_loss: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if norm_target not in NORM_TARGETS:
            raise ValueError(f'norm_target must be one of {NORM_TARGETS}, got {norm_target!r}')
        if loss_on not in ('all', 'masked'):
            raise ValueError(f"loss_on must be 'all' or 'masked', got {loss_on!r}")
        if not 0 <= trunc_ratio < 0.5:
            raise ValueError(f'trunc_ratio must be in [0, 0.5), got {trunc_ratio}')
        if not std_floor >= 0:
            raise ValueError(f'std_floor must be >= 0 (metres), got {std_floor}')
        if not max_depth > 0:
            raise ValueError(f'max_depth must be > 0, got {max_depth}')
        self.patch_size = patch_size
        self.max_depth = float(max_depth)
        self.norm_target = norm_target
        self.loss_on = loss_on
        self.trunc_ratio = trunc_ratio
        self.std_floor = float(std_floor)
        self.loss_module = loss if isinstance(loss, torch.nn.Module) else MODELS.build(loss)
        self.with_normals = normal_loss is not None
        if self.with_normals:
            self.normal_loss_module = normal_loss if isinstance(
                normal_loss, torch.nn.Module) else MODELS.build(normal_loss)

    @property
    def out_channels(self) -> int:
        """Values per pixel the decoder must predict: 1, or 4 with normals."""
        return 4 if self.with_normals else 1

    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, h * w, p * p * C), row-major patches, channel last."""
        B, C, H, W = x.shape
        p = self.patch_size
        if H % p or W % p:
            raise ValueError(f'input {H}x{W} is not divisible by the patch size {p}')
        x = x.reshape(B, C, H // p, p, W // p, p)
        return torch.einsum('nchpwq->nhwpqc', x).reshape(B, (H // p) * (W // p), p * p * C)

    def unpatchify(self, x: torch.Tensor, patch_resolution: Sequence[int]) -> torch.Tensor:
        """(B, h * w, p * p * C) -> (B, C, h * p, w * p)."""
        h, w = int(patch_resolution[0]), int(patch_resolution[1])
        p = self.patch_size
        B, L, D = x.shape
        if L != h * w or D % (p * p):
            raise ValueError(f'cannot unpatchify {tuple(x.shape)} to a {h}x{w} grid of {p}x{p}')
        C = D // (p * p)
        x = torch.einsum('nhwpqc->nchpwq', x.reshape(B, h, w, p, p, C))
        return x.reshape(B, C, h * p, w * p)

    def valid_depth(self, depth: torch.Tensor) -> torch.Tensor:
        """Bool map of 0 < d <= max_depth (finite)."""
        return valid_depth(depth, self.max_depth)

    def truncated_stats(self, depth: torch.Tensor,
                        valid: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Per-image mean and std (B,) of the valid depth between the truncation quantiles,
        the std raised to ``std_floor``: the statistics 'standardize' uses.

        Images with no valid pixel get mean 0, std 1 (see :func:`truncated_mean_std`).
        """
        mean, std = truncated_mean_std(depth, valid, self.trunc_ratio)
        return mean, std.clamp(min=self.std_floor)

    def normalize(self, depth: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Metric depth (B, ...) -> normalised target, 0 at invalid pixels."""
        safe = torch.where(valid, depth, torch.ones_like(depth))
        if self.norm_target == 'metric':
            t = safe / self.max_depth
        elif self.norm_target == 'log':
            t = torch.log(safe)
        else:
            mean, std = self.truncated_stats(depth, valid)
            shape = (-1, ) + (1, ) * (depth.dim() - 1)
            t = (safe - mean.view(shape)) / (std.view(shape) + 1e-6)
        return torch.where(valid, t, torch.zeros_like(t))

    def construct_target(self, depth: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(B, 1, H, W) metres -> target and valid, both (B, h * w, p * p)."""
        depth = self.patchify(depth.float())
        valid = self.valid_depth(depth)
        return self.normalize(depth, valid), valid

    def dense_target(self, depth: torch.Tensor) -> torch.Tensor:
        """(B, 1, H, W) metres -> the loss target (B, 1, H, W) of the full frame, 0 = invalid.

        What :meth:`loss` compares the prediction to ('standardize': full-frame statistics).
        """
        valid = self.valid_depth(depth.float())
        return self.normalize(depth.float(), valid)

    def predict_target(self, pred: torch.Tensor,
                       patch_resolution: Sequence[int]) -> torch.Tensor:
        """Decoder output (B, h * w, p * p * out_channels) -> depth channel in the target space
        (B, 1, H, W) float32, as the loss sees it."""
        p2 = self.patch_size**2
        pred = pred.float().reshape(*pred.shape[:2], p2, -1)[..., 0]
        return self.unpatchify(pred, patch_resolution)

    def _intrinsics(self, data_samples: Optional[List], batch_size: int) -> torch.Tensor:
        if not data_samples or len(data_samples) != batch_size:
            raise ValueError('surface normal targets need one data sample per image')
        ks = []
        for i, ds in enumerate(data_samples):
            k = ds.get('depth_intrinsics', None)
            if k is None:
                raise KeyError(f'data sample {i} has no depth_intrinsics (3x3), needed for '
                               'the surface normal target')
            k = torch.as_tensor(np.asarray(k, dtype=np.float32) if not isinstance(
                k, torch.Tensor) else k, dtype=torch.float32)
            if k.shape != (3, 3):
                raise ValueError(f'depth_intrinsics of data sample {i} must be 3x3, '
                                 f'got {tuple(k.shape)}')
            ks.append(k)
        return torch.stack(ks)

    def loss(self,
             pred: torch.Tensor,
             depth: torch.Tensor,
             depth_mask: torch.Tensor,
             data_samples: Optional[List] = None) -> Dict[str, torch.Tensor]:
        """Depth (and normal) loss.

        Args:
            pred (torch.Tensor): (B, h * w, p * p * out_channels) decoder output.
            depth (torch.Tensor): (B, 1, H, W) dense depth, metres, 0 = invalid.
            depth_mask (torch.Tensor): (B, h * w) bool, True = depth patch masked.
            data_samples (list, optional): Carry ``depth_intrinsics`` for normals.

        Returns:
            dict: ``loss`` (depth) and, with normals, ``loss_normal``.
        """
        p2 = self.patch_size**2
        if pred.shape[-1] != p2 * self.out_channels:
            raise ValueError(f'prediction has {pred.shape[-1]} values per patch, expected '
                             f'{p2 * self.out_channels} (p*p*out_channels); set the neck '
                             f'out_channels={self.out_channels}')
        pred = pred.reshape(*pred.shape[:2], p2, self.out_channels)
        target, valid = self.construct_target(depth)
        if self.loss_on == 'masked':
            valid = valid & depth_mask.to(valid.device, non_blocking=True).reshape(
                *valid.shape[:2], 1)
        losses = dict(loss=self.loss_module(pred[..., 0], target, valid))
        if self.with_normals:
            k = self._intrinsics(data_samples, depth.shape[0]).to(depth.device,
                                                                   non_blocking=True)
            normals, n_valid = depth_to_normals(depth, k, self.max_depth)
            normals = self.patchify(normals).reshape(*pred.shape[:2], p2, 3)
            n_valid = self.patchify(n_valid.to(depth.dtype)).bool()[..., None]
            if self.loss_on == 'masked':
                n_valid = n_valid & depth_mask.to(depth.device, non_blocking=True).reshape(
                    *pred.shape[:2], 1, 1)
            pred_n = F.normalize(pred[..., 1:].float(), dim=-1, eps=1e-6)
            losses['loss_normal'] = self.normal_loss_module(pred_n, normals, n_valid)
        return losses

    def predict(self,
                pred: torch.Tensor,
                patch_resolution: Sequence[int],
                ref_depth: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Decoder output -> dense depth in metres (B, 1, H, W) float32, clamped to [0, max_depth].

        Args:
            pred (torch.Tensor): (B, h * w, p * p * out_channels).
            patch_resolution (Sequence[int]): Grid (h, w).
            ref_depth (torch.Tensor, optional): (B, 1, H, W) depth the model was given
                (visible patches only); for 'standardize' its truncated mean / std undo the
                normalisation (images without valid depth get mean 0, std 1). These are not
                the full-frame statistics of the target, so even a perfect target-space
                prediction is off in metres by their difference.
        """
        d = self.predict_target(pred, patch_resolution)
        if self.norm_target == 'metric':
            d = d * self.max_depth
        elif self.norm_target == 'log':
            d = torch.exp(d.clamp(max=float(np.log(self.max_depth)) + 1.))
        else:
            if ref_depth is None:
                raise ValueError("norm_target='standardize' needs ref_depth to recover metres")
            mean, std = self.truncated_stats(ref_depth, self.valid_depth(ref_depth))
            d = d * (std.view(-1, 1, 1, 1) + 1e-6) + mean.view(-1, 1, 1, 1)
        return d.clamp(0., self.max_depth)
