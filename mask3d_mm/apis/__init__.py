"""Inference with Mask3D checkpoints (not imported by ``import mask3d_mm``: import
``mask3d_mm.apis`` where it is used)."""
from .frame_inputs import collect_frames
from .rgbd_inferencer import RGBDInferencer, default_checkpoint

__all__ = ['RGBDInferencer', 'collect_frames', 'default_checkpoint']
