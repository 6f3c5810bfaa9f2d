from .broadcast_buffers_hook import BroadcastBuffersHook
from .depth_reconstruction_vis_hook import DepthReconstructionVisHook
from .nonfinite_check_hook import NonFiniteCheckHook
from .step_seed_hook import StepSeedHook

__all__ = [
    'BroadcastBuffersHook', 'DepthReconstructionVisHook', 'NonFiniteCheckHook', 'StepSeedHook'
]
