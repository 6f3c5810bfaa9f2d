"""Shared pytest fixtures of mask3d_mm."""
import pytest


@pytest.fixture(scope='session')
def synthetic_scannet(tmp_path_factory) -> str:
    """Root of a tiny synthetic ScanNet frames dataset (``sceneXXXX_00/color|depth|...``).

    2 scenes x 4 frames (``000000`` .. ``000003``), depth/label/instance 120x160, color 240x320
    (sizes differ, as in raw ScanNet, to exercise color-to-depth alignment), seed 0.
    """
    from mask3d_mm.synthetic import generate_scannet_scenes
    root = tmp_path_factory.mktemp('synthetic_scannet')
    generate_scannet_scenes(
        str(root), num_scenes=2, frames_per_scene=4, height=120, width=160,
        color_size=(240, 320), seed=0)
    return str(root)


def pytest_configure(config) -> None:
    """Under pytest-xdist (pytest.ini: ``-n 2``) each worker computes with one thread, and so
    do the processes it starts: two workers on two cores, not four threads."""
    import os
    if os.environ.get('PYTEST_XDIST_WORKER'):
        import torch
        os.environ['OMP_NUM_THREADS'] = '1'
        torch.set_num_threads(1)
