from .depth_reconstruction_vis_hook import DepthReconstructionVisHook

__all__ = ['DepthReconstructionVisHook']
