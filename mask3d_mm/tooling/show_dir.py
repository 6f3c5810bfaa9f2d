"""``tools/test.py --show-dir DIR``: draw the test set's predictions into DIR, for any config."""
import os.path as osp

from mmengine.config import Config

__all__ = ['enable_show_dir']


def _type_name(t) -> str:
    name = t.get('type', '') if hasattr(t, 'get') else ''
    return name.split('.')[-1] if isinstance(name, str) else getattr(name, '__name__', '')


def enable_show_dir(cfg: Config, show_dir: str) -> str:
    """Make the test run draw its predictions into ``show_dir``; returns a line for the log.

    - Mask3D pre-training configs: ``mask3d_mm.DepthReconstructionVisHook`` (the config's, or
      one added) draws every test sample (``test=True``, ``num_samples=-1``) and writes
      ``show_dir/<scene>_<frame>.png`` (masked RGB | depth input | predicted | ground truth |
      error).
    - mmseg / mmdet configs, as their own ``tools/test.py``: ``default_hooks.visualization``
      gets ``draw=True`` (and ``interval=1``: every test image, not one in 50); mmdet's
      ``DetVisualizationHook`` writes to ``test_out_dir``, mmseg's
      ``SegVisualizationHook`` (as ``mask3d_mm.AlignedSegVisualizationHook``: the colour
      resized to the prediction first) through the visualizer, whose ``save_dir`` becomes
      ``show_dir`` (``show_dir/vis_data/vis_image/``).

    Raises:
        ValueError: a fine-tuning config without ``default_hooks.visualization``.
    """
    show_dir = osp.abspath(show_dir)
    if _type_name(cfg.model) == 'Mask3D':
        hooks = list(cfg.get('custom_hooks') or [])
        for hook in hooks:
            if _type_name(hook) == 'DepthReconstructionVisHook':
                hook.update(test=True, num_samples=-1, out_dir=show_dir, enable=True)
                break
        else:
            hooks.append(dict(type='mask3d_mm.DepthReconstructionVisHook', test=True,
                              num_samples=-1, out_dir=show_dir))
        cfg.custom_hooks = hooks
        return f'--show-dir: the reconstruction panels of every test sample go to {show_dir}'
    vis = (cfg.get('default_hooks') or {}).get('visualization')
    if vis is None:
        raise ValueError('--show-dir needs default_hooks.visualization in the config (mmseg '
                         "SegVisualizationHook, mmdet DetVisualizationHook); it has none")
    vis['draw'] = True
    vis['interval'] = 1
    if _type_name(vis) == 'DetVisualizationHook' or cfg.get('default_scope') == 'mmdet':
        vis['test_out_dir'] = show_dir
        return f'--show-dir: the detections are drawn into {show_dir}'
    if cfg.get('visualizer') is None:
        raise ValueError('--show-dir needs a visualizer in the config; it has none')
    if _type_name(vis) == 'SegVisualizationHook':  # the colour resized to the prediction
        vis['type'] = 'mask3d_mm.AlignedSegVisualizationHook'
    cfg.visualizer['save_dir'] = show_dir
    return f'--show-dir: the predictions are drawn into {show_dir}/vis_data/vis_image'
