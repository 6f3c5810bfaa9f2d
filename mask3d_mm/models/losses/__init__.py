from .valid_depth_loss import ValidDepthLoss

__all__ = ['ValidDepthLoss']
