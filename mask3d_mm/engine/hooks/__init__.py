from .aligned_seg_visualization_hook import AlignedSegVisualizationHook
from .broadcast_buffers_hook import BroadcastBuffersHook
from .depth_reconstruction_vis_hook import DepthReconstructionVisHook
from .graceful_stop_hook import GracefulStopHook, TrainingStopped
from .nonfinite_check_hook import NonFiniteCheckHook
from .recipe_consistency_hook import RecipeConsistencyHook
from .resume_in_epoch_hook import ResumeInEpochHook
from .source_count_hook import SourceCountHook
from .step_seed_hook import StepSeedHook

__all__ = [
    'AlignedSegVisualizationHook', 'BroadcastBuffersHook', 'DepthReconstructionVisHook',
    'GracefulStopHook', 'NonFiniteCheckHook', 'RecipeConsistencyHook', 'ResumeInEpochHook',
    'SourceCountHook', 'StepSeedHook', 'TrainingStopped'
]
