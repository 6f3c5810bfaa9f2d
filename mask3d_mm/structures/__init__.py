from .depth_contract import (MAX_ASPECT_CHANGE, check_patch_mask, grid_patch_size,
                             patch_to_pixel_mask, sample_name, valid_depth)

__all__ = [
    'valid_depth', 'patch_to_pixel_mask', 'grid_patch_size', 'check_patch_mask', 'sample_name',
    'MAX_ASPECT_CHANGE'
]
