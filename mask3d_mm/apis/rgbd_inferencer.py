"""Run a pre-trained Mask3D model on RGB-D frames: depth reconstruction and hole filling."""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import mmengine
import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.config import Config, ConfigDict
from mmengine.dataset import pseudo_collate
from mmengine.infer import BaseInferencer
from mmengine.registry import TRANSFORMS, init_default_scope
from rich.progress import track

from mask3d_mm.datasets.transforms import PackRGBDInputs
from mask3d_mm.evaluation.depth_reconstruction_metric import scale_shift_fit
from mask3d_mm.visualization import colorize_depth, labelled_row, mask_overlay
from .depth_output import encode_depth, png_encoding, write_ply
from .frame_inputs import collect_frames, frame_name
from .inference_transforms import FitToPatches, InferenceMasks, KeepFrame

__all__ = ['RGBDInferencer', 'default_checkpoint']

# transforms of a config's pipeline the inferencer keeps (reading and aligning the frame);
# crops, flips, resizes, masks and packing are its own
LOADING_TYPES = ('LoadImageFromFile', 'LoadDepthFromFile', 'AlignColorToDepth', 'AlignImageTo')
META_KEYS = ('img_path', 'depth_path', 'depth_encoding', 'name', 'img_shape', 'ori_img',
             'ori_depth', 'ori_intrinsics', 'intrinsics_known', 'ori_region', 'mode', 'align')
MIN_FILL_DEPTH = 0.1  # metres: the nearest depth a filled hole gets


def default_checkpoint(cfg: Config, config_path: Optional[str] = None) -> str:
    """The checkpoint named by ``last_checkpoint`` in the config's work dir (``work_dir``, else
    ``work_dirs/<config name>``), as ``tools/train.py`` leaves it.

    Raises:
        FileNotFoundError: naming the ``last_checkpoint`` file looked for.
    """
    work_dir = cfg.get('work_dir')
    if work_dir is None:
        if config_path is None:
            raise FileNotFoundError('no checkpoint given and the config has no work_dir')
        work_dir = osp.join('work_dirs', osp.splitext(osp.basename(config_path))[0])
    marker = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(marker):
        raise FileNotFoundError(f'no checkpoint given and {marker} does not exist: train first '
                                '(tools/train.py) or name the checkpoint')
    with open(marker) as f:
        path = f.read().strip()
    if not osp.isfile(path):
        raise FileNotFoundError(f'{marker} names {path}, which does not exist')
    return path


def _type_name(t: dict) -> str:
    name = t.get('type', '')
    return name.split('.')[-1] if isinstance(name, str) else getattr(name, '__name__', '')


def _config_pipeline(cfg: Config) -> List[dict]:
    for key in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
        loader = cfg.get(key)
        if loader is not None and loader.get('dataset', {}).get('pipeline'):
            return list(loader.dataset.pipeline)
    for key in ('test_pipeline', 'val_pipeline', 'train_pipeline'):
        if cfg.get(key):
            return list(cfg[key])
    raise ValueError('the config has no dataset pipeline to take the loading transforms from')


class RGBDInferencer(BaseInferencer):
    """Depth reconstruction and hole filling with a Mask3D pre-training checkpoint.

    The pipeline is built from the config's transforms by type: its loading and alignment
    transforms (``LoadImageFromFile``, ``LoadDepthFromFile`` with its ``max_depth``,
    ``AlignColorToDepth``) are kept, with the frame's depth encoding; crops, flips, resizes
    and masks are replaced by the inferencer's (no ``--cfg-options`` by pipeline index).

    **Size.** The frame is read at its own size (the depth map's, colour aligned to it); the
    model sees it resized to ``size`` (:func:`~.inference_transforms.fit_size`: by default
    ``'config'``, the frame's aspect ratio at the pixel count of the config's training crop,
    each side rounded to whole patches; ``'native'``: its own size rounded to whole patches;
    or an (H, W)); no padding. Every output is at the frame's own size: the prediction is
    resized back (bilinear).

    **Modes.**

    - ``'reconstruct'``: depth from masked RGB and masked depth, masks drawn at
      ``rgb_mask_ratio`` / ``depth_mask_ratio`` (``complementary`` as in pre-training, seeded
      by the frame) or the depth patches a ``mask`` image touches. Output: the prediction at
      every pixel; ground truth and error are the measured depth.
    - ``'fill'``: the sensor's holes (patches with less than ``min_valid_fraction`` valid
      pixels) and the patches a ``mask`` image touches are the masked depth patches, every
      other depth patch is visible. The RGB is visible everywhere (``rgb_visible='all'``) or in
      the holes only (``'holes'``: the complementary masks the model was pre-trained with).
      Output: the measured depth where valid (outside the mask), the prediction elsewhere (at
      least :data:`MIN_FILL_DEPTH`), so measured pixels are kept exactly. ``align=True``
      first fits the prediction to the measured depth by a least-squares scale and shift over
      the kept pixels (the metres of 'standardize' models come from the visible depth's
      statistics; the fit removes what is left of that conversion's error).

    **Outputs** (``out_dir``): ``depth/NAME.png`` (16-bit, in the frame's encoding when it is a
    uint16 scale, else millimetres; :func:`~.depth_output.png_encoding`), ``depth/NAME.npy``
    (float32 metres, 0 = invalid), ``vis/NAME.png`` (panel: colour with masked RGB patches
    grey | depth input | prediction | output | ground truth | error, the last two where measured
    depth is hidden from the model), ``ply/NAME.ply`` (binary PLY of the output's valid pixels,
    coloured, with the frame's depth intrinsics, else
    :func:`~.depth_output.default_intrinsics`).

    Batches: frames are grouped by input size and mask counts (the model needs equal counts
    per batch), so any mix of frames runs at any ``batch_size``.

    Args:
        model (str | Config): a Mask3D pre-training config (file or object).
        weights (str, optional): checkpoint; None: the work dir's ``last_checkpoint``
            (:func:`default_checkpoint`).
        device (str, optional): Defaults to CUDA when available, else CPU.
        scope (str, optional): default scope; None: the config's (``mmpretrain``).
        show_progress (bool): a progress bar over the batches. Defaults to True.

    Example:
        >>> from mask3d_mm.apis import RGBDInferencer
        >>> inferencer = RGBDInferencer('configs/mask3d/vit-tiny_synthetic.py')
        >>> out = inferencer('scene/color/0.jpg,scene/depth/0.png', mode='fill',
        ...                  out_dir='outputs/')
        >>> out['predictions'][0]['depth'].shape   # (H, W) metres, holes filled
    """

    preprocess_kwargs: set = {'mode', 'mask', 'rgb_mask_ratio', 'depth_mask_ratio',
                              'complementary', 'rgb_visible', 'size', 'encoding', 'align'}
    forward_kwargs: set = set()
    visualize_kwargs: set = {'show', 'out_dir', 'draw_panels'}
    postprocess_kwargs: set = {'pred_out_dir', 'save_ply', 'return_arrays'}

    def __init__(self,
                 model: Union[str, Config],
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 scope: Optional[str] = None,
                 show_progress: bool = True) -> None:
        import mask3d_mm  # noqa: F401  (registers the plugin's classes)
        cfg = Config.fromfile(model) if isinstance(model, str) else Config(
            model._cfg_dict.to_dict() if isinstance(model, Config) else dict(model))
        if _type_name(cfg.model) != 'Mask3D':
            raise ValueError(f'{model if isinstance(model, str) else "the config"}: '
                             f'RGBDInferencer needs a Mask3D pre-training config, got model '
                             f'type {cfg.model.get("type")!r}')
        if weights is None:
            weights = default_checkpoint(cfg, model if isinstance(model, str) else None)
        scope = scope or cfg.get('default_scope', 'mmpretrain')
        init_default_scope(scope)
        self.weights = weights
        super().__init__(model=cfg, weights=weights, device=device, scope=scope,
                         show_progress=show_progress)
        self.patch_size = int(self.model.patch_size)
        self.crop_size = self._crop_size(self.cfg)
        self.max_depth = float(getattr(self.model.head, 'max_depth', 10.0))
        self.mask_defaults = self._mask_defaults(self.cfg)

    # ---- set-up --------------------------------------------------------------------------------
    def _load_weights_to_model(self, model: torch.nn.Module, checkpoint: Optional[dict],
                               cfg: Optional[ConfigDict]) -> None:
        if checkpoint is None:
            raise FileNotFoundError('RGBDInferencer needs a checkpoint (weights=...)')
        super()._load_weights_to_model(model, checkpoint, cfg)
        # a fixed sin-cos position embedding is rebuilt exactly for other grids (as after
        # init_weights in training) instead of being resized
        backbone = model.backbone
        if hasattr(backbone, 'exact_sincos') and not backbone.pos_embed.requires_grad:
            from mask3d_mm.models.utils import build_2d_sincos_pos_embed
            ref = build_2d_sincos_pos_embed(backbone.patch_resolution, backbone.embed_dims,
                                            cls_token=True)
            backbone.exact_sincos = bool(torch.allclose(
                ref.to(backbone.pos_embed.dtype), backbone.pos_embed.detach().cpu(),
                atol=1e-5))

    def _init_collate(self, cfg: ConfigDict):
        return pseudo_collate

    def _init_visualizer(self, cfg: ConfigDict) -> None:
        return None  # the panels are drawn by :meth:`visualize`

    @staticmethod
    def _crop_size(cfg: Config) -> Tuple[int, int]:
        for t in _config_pipeline(cfg):
            if _type_name(t) in ('RGBDResize', 'RGBDRandomResizedCrop') and 'scale' in t:
                s = t['scale']
                return (int(s), int(s)) if isinstance(s, int) else (int(s[0]), int(s[1]))
        size = cfg.model.backbone.get('img_size', 224)
        return (size, size) if isinstance(size, int) else tuple(size)

    @staticmethod
    def _mask_defaults(cfg: Config) -> dict:
        for t in _config_pipeline(cfg):
            if _type_name(t) == 'RGBDMaskGenerator':
                return dict(rgb_mask_ratio=t.get('rgb_mask_ratio', 0.75),
                            depth_mask_ratio=t.get('depth_mask_ratio', 0.75),
                            complementary=t.get('complementary', False))
        return dict(rgb_mask_ratio=0.75, depth_mask_ratio=0.75, complementary=False)

    def _init_pipeline(self, cfg: ConfigDict) -> Compose:
        """The config's loading and alignment transforms (by type, in its order)."""
        kept = []
        for t in _config_pipeline(cfg):
            name = _type_name(t)
            if name not in LOADING_TYPES:
                continue
            t = dict(t)
            if name == 'LoadDepthFromFile':
                # the frame states its encoding; a preset of the config would contradict it
                for key in ('encoding', 'depth_scale', 'invalid_values', 'bit_rotation',
                            'swap_bytes', 'kinect_disparity', 'file_dtype'):
                    t.pop(key, None)
            kept.append(TRANSFORMS.build(t))
        names = [type(t).__name__ for t in kept]
        for need in ('LoadImageFromFile', 'LoadDepthFromFile'):
            if need not in names:
                raise ValueError(f'the config pipeline has no {need}: cannot read frames')
        return Compose(kept)

    # ---- inputs --------------------------------------------------------------------------------
    def _inputs_to_list(self, inputs, encoding: Optional[str] = None) -> List[dict]:
        frames = collect_frames(inputs, encoding=encoding)
        names: Dict[str, int] = {}
        for f in frames:
            name = frame_name(f)
            n = names.get(name, 0)
            names[name] = n + 1
            f['name'] = name if n == 0 else f'{name}_{n}'
        return frames

    def _frame_pipeline(self, mode: str, mask, rgb_mask_ratio: Optional[float],
                        depth_mask_ratio: Optional[float], complementary: Optional[bool],
                        rgb_visible: str, size) -> Compose:
        d = self.mask_defaults
        return Compose([
            self.pipeline,
            KeepFrame(region=mask),
            FitToPatches(size, self.patch_size, self.crop_size),
            InferenceMasks(
                mode, self.patch_size,
                rgb_mask_ratio=d['rgb_mask_ratio'] if rgb_mask_ratio is None else rgb_mask_ratio,
                depth_mask_ratio=(d['depth_mask_ratio'] if depth_mask_ratio is None
                                  else depth_mask_ratio),
                complementary=d['complementary'] if complementary is None else complementary,
                rgb_visible=rgb_visible),
            PackRGBDInputs(algorithm_keys=('depth', 'rgb_mask', 'depth_mask'),
                           meta_keys=META_KEYS),
        ])

    def preprocess(self, inputs: List[dict], batch_size: int = 1, mode: str = 'reconstruct',
                   mask=None, rgb_mask_ratio: Optional[float] = None,
                   depth_mask_ratio: Optional[float] = None,
                   complementary: Optional[bool] = None, rgb_visible: str = 'all',
                   size: Union[str, Sequence[int]] = 'config', encoding: Optional[str] = None,
                   align: bool = False):
        """Yield collated batches of ``batch_size`` frames (see the class docstring for the
        arguments)."""
        pipeline = self._frame_pipeline(mode, mask, rgb_mask_ratio, depth_mask_ratio,
                                        complementary, rgb_visible, size)
        frames = (dict(f, align=bool(align)) for f in inputs)
        chunked = self._get_chunk_data(map(pipeline, frames), batch_size)
        yield from map(self.collate_fn, chunked)

    # ---- model ---------------------------------------------------------------------------------
    @torch.no_grad()
    def forward(self, inputs: dict, **kwargs) -> list:
        """``model.test_step`` on groups of equal input size and mask counts; order kept."""
        samples = inputs['data_samples']
        groups: Dict[tuple, List[int]] = {}
        for i, (img, ds) in enumerate(zip(inputs['inputs'], samples)):
            key = (tuple(img.shape), int(ds.rgb_mask.sum()), int(ds.depth_mask.sum()))
            groups.setdefault(key, []).append(i)
        out: List = [None] * len(samples)
        for idx in groups.values():
            batch = dict(inputs=[inputs['inputs'][i] for i in idx],
                         data_samples=[samples[i] for i in idx])
            for i, pred in zip(idx, self.model.test_step(batch)):
                out[i] = pred
        return out

    # ---- outputs -------------------------------------------------------------------------------
    def _result(self, ds) -> dict:
        """The frame's output at its own size (see the class docstring)."""
        meta = ds.metainfo
        depth = meta['ori_depth']
        h, w = depth.shape
        pred_small = ds.pred_depth[0].cpu().numpy()
        pred = cv2.resize(pred_small, (w, h), interpolation=cv2.INTER_LINEAR)
        gh, gw = ds.depth_mask.shape
        up = lambda m: cv2.resize(m.cpu().numpy().astype(np.uint8), (w, h),  # noqa: E731
                                  interpolation=cv2.INTER_NEAREST) > 0
        depth_masked, rgb_masked = up(ds.depth_mask), up(ds.rgb_mask)
        valid = depth > 0
        region = meta['ori_region']
        if meta['mode'] == 'fill':
            keep = valid & ~region
            if meta.get('align') and keep.sum() >= 2:
                scale, shift = scale_shift_fit(pred[keep], depth[keep])
                if scale > 0:
                    pred = (scale * pred + shift).clip(0, self.max_depth).astype(np.float32)
            out = np.where(keep, depth, np.maximum(pred, MIN_FILL_DEPTH)).astype(np.float32)
            scored = valid & region  # measured depth hidden from the model
        else:
            out = pred.astype(np.float32)
            scored = valid & depth_masked
        return dict(name=meta['name'], mode=meta['mode'], depth=out, pred_depth=pred,
                    input_depth=depth, depth_mask=depth_masked, rgb_mask=rgb_masked,
                    scored=scored, img=meta['ori_img'], intrinsics=meta['ori_intrinsics'],
                    intrinsics_known=bool(meta['intrinsics_known']),
                    encoding=meta.get('depth_encoding'), img_path=meta['img_path'],
                    depth_path=meta['depth_path'], model_input_size=(gh * self.patch_size,
                                                                     gw * self.patch_size))

    def _panel(self, r: dict) -> np.ndarray:
        depth, scored = r['input_depth'], r['scored']
        ref = depth[depth > 0]
        vmax = float(np.percentile(ref, 98)) if ref.size else self.max_depth
        views = [mask_overlay(r['img'], r['rgb_mask']),
                 colorize_depth(depth * ~r['depth_mask'], vmax),
                 colorize_depth(r['pred_depth'], vmax)]
        titles = ['RGB (masked grey)', 'depth input', 'predicted']
        if r['mode'] == 'fill':
            views.append(colorize_depth(r['depth'], vmax))
            titles.append('holes filled')
        if scored.any():
            views += [colorize_depth(depth * scored, vmax),
                      colorize_depth(np.abs(r['pred_depth'] - depth) * scored, vmax / 4)]
            titles += ['ground truth (hidden)', '|error|']
        return labelled_row(views, titles)

    def visualize(self, inputs: list, preds: list, show: bool = False,
                  out_dir: str = '', draw_panels: bool = True) -> List[np.ndarray]:
        """Panels (H + title, n W, 3) uint8 BGR, written to ``out_dir/vis/NAME.png``."""
        if not draw_panels and not show:
            return []
        panels = []
        for ds in preds:
            r = self._result(ds)
            panel = self._panel(r)
            panels.append(panel)
            if out_dir:
                mmengine.mkdir_or_exist(osp.join(out_dir, 'vis'))
                cv2.imwrite(osp.join(out_dir, 'vis', f"{r['name']}.png"), panel)
            if show:
                cv2.imshow(r['name'], panel)
                cv2.waitKey(0)
        return panels

    def postprocess(self, preds: list, visualization: List[np.ndarray],
                    return_datasamples: bool = False, pred_out_dir: str = '',
                    save_ply: bool = True, return_arrays: bool = True) -> dict:
        """``dict(predictions=[...], visualization=[...])``; each prediction a dict with
        ``name``, ``depth`` (H, W) float32 metres (the output), ``pred_depth`` (the model's
        prediction at every pixel), ``depth_mask`` / ``rgb_mask`` (H, W) bool, ``files`` (what
        was written), ``abs_rel`` / ``rmse`` on the hidden measured depth (None without);
        ``return_arrays=False`` leaves the arrays out (many frames)."""
        results = []
        for ds in preds:
            r = self._result(ds)
            files = {}
            if pred_out_dir:
                mmengine.mkdir_or_exist(osp.join(pred_out_dir, 'depth'))
                values, written = encode_depth(r['depth'], r['encoding'])
                files['png'] = osp.join(pred_out_dir, 'depth', f"{r['name']}.png")
                cv2.imwrite(files['png'], values)
                files['npy'] = osp.join(pred_out_dir, 'depth', f"{r['name']}.npy")
                np.save(files['npy'], r['depth'])
                if save_ply:
                    mmengine.mkdir_or_exist(osp.join(pred_out_dir, 'ply'))
                    files['ply'] = osp.join(pred_out_dir, 'ply', f"{r['name']}.ply")
                    r['ply_vertices'] = write_ply(files['ply'], r['depth'], r['img'],
                                                  r['intrinsics'])
                r['png_encoding'] = written
            else:
                r['png_encoding'] = png_encoding(r['encoding'])
            sel = r['scored']
            if sel.any():
                gt, p = r['input_depth'][sel], r['pred_depth'][sel]
                r['abs_rel'] = float(np.mean(np.abs(p - gt) / gt))
                r['rmse'] = float(np.sqrt(np.mean((p - gt) ** 2)))
            else:
                r['abs_rel'] = r['rmse'] = None
            r['files'] = files
            if return_datasamples:
                r['data_sample'] = ds
            if not return_arrays:
                for key in ('depth', 'pred_depth', 'input_depth', 'depth_mask', 'rgb_mask',
                            'scored', 'img'):
                    r.pop(key)
            results.append(r)
        return dict(predictions=results, visualization=visualization)

    # ---- call ----------------------------------------------------------------------------------
    def __call__(self, inputs, return_datasamples: bool = False, batch_size: int = 1,
                 out_dir: str = '', **kwargs) -> dict:
        """Run on ``inputs`` (see :func:`~.frame_inputs.collect_frames`), a batch at a time:
        each batch is predicted, drawn and written before the next one is read.

        Args:
            inputs: a colour/depth pair, a folder, a list file, a config or a list of them.
            return_datasamples (bool): add each ``DataSample`` to its prediction.
            batch_size (int): frames per forward. Defaults to 1.
            out_dir (str): write ``depth/``, ``vis/`` and ``ply/`` there. Defaults to ''.
            **kwargs: ``mode``, ``mask``, ``rgb_mask_ratio``, ``depth_mask_ratio``,
                ``complementary``, ``rgb_visible``, ``size``, ``encoding``, ``align``
                (preprocessing);
                ``show``, ``draw_panels``; ``save_ply``, ``return_arrays``.

        Returns:
            dict: ``predictions`` (one dict per frame) and ``visualization`` (the panels).
        """
        if out_dir:
            kwargs.setdefault('pred_out_dir', out_dir)
            os.makedirs(out_dir, exist_ok=True)
        pre, fwd, vis, post = self._dispatch_kwargs(out_dir=out_dir, **kwargs)
        frames = self._inputs_to_list(inputs, encoding=pre.get('encoding'))
        batches = self.preprocess(frames, batch_size=batch_size, **pre)
        total = (len(frames) + batch_size - 1) // batch_size
        results = dict(predictions=[], visualization=[])
        it = (track(batches, description=f'RGBDInferencer ({len(frames)} frames)', total=total)
              if self.show_progress else batches)
        for data in it:
            preds = self.forward(data, **fwd)
            panels = self.visualize(frames, preds, **vis)
            out = self.postprocess(preds, panels, return_datasamples, **post)
            results['predictions'] += out['predictions']
            if vis.get('draw_panels', True) and post.get('return_arrays', True):
                results['visualization'] += panels
        return results
