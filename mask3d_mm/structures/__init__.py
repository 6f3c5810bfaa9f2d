from .depth_contract import (check_patch_mask, grid_patch_size, patch_to_pixel_mask,
                             valid_depth)

__all__ = ['valid_depth', 'patch_to_pixel_mask', 'grid_patch_size', 'check_patch_mask']
