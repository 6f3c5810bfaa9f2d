"""Log how many training frames each source of a mixture gave, per logging interval and in
total (configs/mask3d/vit-b_mixed-rgbd.py)."""
from collections import Counter
from typing import Dict, List, Optional, Sequence

from mmengine.dist import all_gather_object, get_world_size
from mmengine.hooks import Hook, LoggerHook

from mask3d_mm.registry import HOOKS

__all__ = ['SourceCountHook', 'format_counts']

_META_KEY = 'source'


def format_counts(counts: Dict[str, int], order: Sequence[str] = ()) -> str:
    """``'scannet 512 (50.0%), sunrgbd 256 (25.0%)'``: the sources of ``order`` first (those
    with no frame too), then the others by name."""
    names = list(order) + sorted(set(counts) - set(order))
    total = sum(counts.values())
    return ', '.join(f'{n} {counts.get(n, 0)} ({100 * counts.get(n, 0) / max(total, 1):.1f}%)'
                     for n in names)


def _sources_of(dataset) -> List[str]:
    """The source name of each dataset of a ``ConcatDataset`` (its frames' ``source``)."""
    names = []
    for i, ds in enumerate(getattr(dataset, 'datasets', [])):
        name = getattr(ds, 'source', None)
        if name is None and len(ds):
            name = ds.get_data_info(0).get(_META_KEY)
        names.append(str(name) if name is not None else f'dataset {i}')
    return names


@HOOKS.register_module()
class SourceCountHook(Hook):
    """Count the training frames of each source (the ``source`` meta key of the data samples,
    which :class:`~mask3d_mm.datasets.RGBDFramesDataset` sets on every frame) and log them
    every ``interval`` iterations and at the end of training::

        frames per source, iterations 41-50: scannet 320 (50.0%), tum 160 (25.0%), ...;
        in total (50 iterations): scannet 1600 (50.0%), ...

    The counts of all ranks are summed (one ``all_gather_object`` of a few names per iteration
    when distributed). The total is stored in the checkpoint's ``meta`` (``source_counts``),
    so it continues after ``--resume``.

    Before training, the sampler of a mixture is checked against its loader:
    ``mmdet.MultiSourceSampler`` composes each batch of ``batch_size`` frames by
    ``source_ratio`` (``int(batch_size * ratio / sum(ratios))`` per source, the rounding left to
    the first source). A loader ``batch_size`` other than the sampler's would split or join
    those batches, and a ratio that rounds to 0 frames per batch would never draw that source:
    both raise ``ValueError``. The composition per batch is logged.

    Args:
        interval (int, optional): log every ``interval`` training iterations. None: the
            ``LoggerHook``'s interval. Defaults to None.
    """

    priority = 'BELOW_NORMAL'  # as LoggerHook

    def __init__(self, interval: Optional[int] = None) -> None:
        if interval is not None and (isinstance(interval, bool) or not isinstance(interval, int)
                                     or interval < 1):
            raise ValueError(f'interval must be a positive int or None, got {interval!r}')
        self.interval = interval
        self.order: List[str] = []
        self.window: Counter = Counter()
        self.total: Counter = Counter()
        self._loaded: Counter = Counter()  # the total of the checkpoint loaded, if any
        self._window_start = 0

    # ---- the mixture's sampler -----------------------------------------------------------------
    def _check_sampler(self, runner) -> None:
        loader = runner.train_dataloader
        sampler, dataset = getattr(loader, 'sampler', None), getattr(loader, 'dataset', None)
        self.order = _sources_of(dataset)
        per_source = getattr(sampler, 'num_per_source', None)
        if per_source is None:
            return
        name = type(sampler).__name__
        if loader.batch_size != sampler.batch_size:
            raise ValueError(
                f'train_dataloader.batch_size={loader.batch_size} but '
                f'train_dataloader.sampler.batch_size={sampler.batch_size}: {name} composes '
                'batches of its own batch_size by source_ratio; set both to the same value')
        never = [n for n, k in zip(self.order, per_source) if k == 0]
        ratios = list(getattr(sampler, 'source_ratio', []))
        if never:
            raise ValueError(
                f'{name}: source_ratio={ratios} gives {", ".join(never)} 0 frames in a batch '
                f'of {sampler.batch_size} (int(batch_size * ratio / sum(ratios)) per source): '
                'that source would never be drawn; raise the batch size or its ratio')
        runner.logger.info(
            f'{name}: each batch of {sampler.batch_size} frames per process draws '
            + format_counts(dict(zip(self.order, per_source)), self.order)
            + f' (source_ratio={ratios})')

    # ---- counting ------------------------------------------------------------------------------
    def before_train(self, runner) -> None:
        if self.interval is None:
            self.interval = next((h.interval for h in runner.hooks if isinstance(h, LoggerHook)),
                                 50)
        self._check_sampler(runner)
        # a resumed run continues the total; a run that only loads weights starts at 0
        self.total = self._loaded if runner.iter > 0 else Counter()
        self.window.clear()
        self._window_start = runner.iter

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        samples = (data_batch or {}).get('data_samples') or []
        sources = [s.metainfo.get(_META_KEY) for s in samples]
        if sources and all(s is None for s in sources):
            raise ValueError(
                "SourceCountHook: the data samples carry no 'source': add 'source' to the "
                'meta_keys of the packing transform (e.g. mask3d_mm.PackRGBDInputs)')
        self.window.update(self._gathered(Counter(str(s) for s in sources)))
        if self.every_n_train_iters(runner, self.interval) or self.is_last_train_iter(runner):
            self._log(runner)

    @staticmethod
    def _gathered(counts: Counter) -> Counter:
        """The sum of ``counts`` over the ranks."""
        if get_world_size() == 1:
            return counts
        out: Counter = Counter()
        for part in all_gather_object(dict(counts)):
            out.update(part)
        return out

    def _log(self, runner) -> None:
        window = Counter(self.window)
        self.total.update(window)
        first, last = self._window_start + 1, runner.iter + 1
        runner.logger.info(
            f'frames per source, iterations {first}-{last}: '
            f'{format_counts(window, self.order)}; in total ({last} iterations): '
            f'{format_counts(self.total, self.order)}')
        self.window.clear()
        self._window_start = last

    # ---- the total across a resume -------------------------------------------------------------
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # rank 0 only (mmengine saves on the main process); the window holds all ranks' counts
        checkpoint.setdefault('meta', {})['source_counts'] = dict(self.total + self.window)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._loaded = Counter((checkpoint.get('meta') or {}).get('source_counts') or {})
