from .depth_contract import (MAX_ASPECT_CHANGE, check_patch_mask, grid_patch_size,
                             patch_to_pixel_mask, valid_depth)

__all__ = [
    'valid_depth', 'patch_to_pixel_mask', 'grid_patch_size', 'check_patch_mask',
    'MAX_ASPECT_CHANGE'
]
