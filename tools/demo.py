"""The end-to-end demo on the embedded synthetic ScanNet-format data, on CPU in minutes.

    python tools/demo.py [--data-root data/synthetic_scannet] [--work-dir work_dirs/demo]

1. generates the synthetic RGB-D scenes if they are absent (ScanNet layout, split files);
2. pre-trains a tiny ViT with Mask3D (configs/mask3d/vit-tiny_synthetic.py) via tools/train.py;
3. exports the color encoder as a plain mmpretrain VisionTransformer checkpoint;
4. writes reconstruction panels and a loss / validation plot;
5. evaluates the model on the validation frames under several mask seeds (``--mask-seeds``,
   tools/test.py): the masked-depth reconstruction against the nearest-visible baselines;
6. fine-tunes UperNet on the synthetic ScanNet-20 labels from that encoder (mmseg), prints the
   results and writes them to WORK_DIR/summary.json and summary.md (the README's table,
   :mod:`mask3d_mm.analysis.demo_summary`).

Training runs use ``--resume``: a second demo continues (or, when complete, reuses) the runs of
the first; delete the work dir to start over.
"""
import argparse
import json
import os.path as osp
import sys
import time

from mask3d_mm.tooling import ensure_data, read_scalars, run_script

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs/mask3d/vit-tiny_synthetic.py')
SEG_CONFIG = osp.join(REPO, 'configs/benchmarks/mmseg/upernet_vit-tiny_synthetic-scannet20.py')
STAGES = 6


def stage(i: int, title: str) -> None:
    print(f'\n==== [{i}/{STAGES}] {title} ====', flush=True)


def plot(records: list, out: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    train = [(r['iter'], r['loss']) for r in records if 'loss' in r]
    val = [(r['step'], r) for r in records if 'depth/masked/abs_rel' in r]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.5))
    a.plot(*zip(*train))
    a.set(xlabel='iteration', ylabel='train loss (L1 of the normalised depth)', yscale='log')
    epochs = [e for e, _ in val]
    for key, label in (('depth/masked/abs_rel', 'Mask3D, masked patches'),
                       ('depth/patch_baseline/abs_rel', 'nearest visible patch'),
                       ('depth/pixel_baseline/abs_rel', 'nearest visible pixel'),
                       ('depth/visible/abs_rel', 'Mask3D, visible patches')):
        b.plot(epochs, [r[key] for _, r in val], marker='o', label=label)
    b.set(xlabel='epoch', ylabel='AbsRel (validation)')
    b.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def val_mask_key(config: str = CONFIG) -> str:
    """The ``--cfg-options`` key of the RGBDMaskGenerator step of ``config``'s validation
    pipeline (its ``seed`` fixes the validation masks)."""
    from mmengine.config import Config
    pipeline = Config.fromfile(config).val_dataloader.dataset.pipeline
    found = [i for i, step in enumerate(pipeline)
             if str(step.get('type', '')).endswith('RGBDMaskGenerator')]
    if len(found) != 1:
        raise ValueError(f'{config}: {len(found)} RGBDMaskGenerator steps in the validation '
                         'pipeline, the demo needs one')
    return f'val_dataloader.dataset.pipeline.{found[0]}'


def trained_iters(checkpoint: str) -> int:
    """The iterations a Runner checkpoint was trained for (its ``meta``)."""
    from mmengine.runner import CheckpointLoader
    return int(CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')['meta']['iter'])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data-root', default=osp.join(REPO, 'data/synthetic_scannet'))
    parser.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs/demo'))
    parser.add_argument('--num-scenes', type=int, default=8)
    parser.add_argument('--frames-per-scene', type=int, default=40)
    parser.add_argument('--epochs', type=int, default=None,
                        help='pre-training epochs (default: the config)')
    parser.add_argument('--seed', type=int, default=0,
                        help="fine-tuning seed (randomness.seed; the mmseg config has none, "
                        'so without one every run draws its own)')
    parser.add_argument('--mask-seeds', type=int, nargs='+', default=[0, 1, 2, 3, 4],
                        help='validation mask seeds the model is evaluated under (stage 5)')
    parser.add_argument('--skip-finetune', action='store_true',
                        help='stop before the fine-tuning (stages 1-5)')
    args = parser.parse_args()
    start = time.time()
    data_root = osp.abspath(args.data_root)
    pretrain_dir = osp.join(args.work_dir, 'pretrain')

    stage(1, f'synthetic ScanNet-format RGB-D data in {data_root}')
    ensure_data(REPO, data_root, args.num_scenes, args.frames_per_scene)

    stage(2, 'Mask3D pre-training of a tiny ViT (CPU)')
    options = [f'train_dataloader.dataset.data_root={data_root}',
               f'val_dataloader.dataset.data_root={data_root}']
    if args.epochs:
        options.append(f'train_cfg.max_epochs={args.epochs}')
    run_script(REPO, osp.join(REPO, 'tools/train.py'), CONFIG, '--work-dir', pretrain_dir,
               '--resume', '--cfg-options', *options)
    with open(osp.join(pretrain_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()

    stage(3, 'export of the color encoder')
    encoder = osp.join(args.work_dir, 'mask3d_vit-tiny_rgb-encoder.pth')
    run_script(REPO, osp.join(REPO, 'tools/model_converters/export_rgb_encoder.py'), checkpoint,
               encoder, '--force',  # the demo's own file: a re-run replaces it
               '--img-size', '96', '128')  # SEG_CONFIG's crop: pos_embed as pre-trained

    stage(4, 'reconstruction panels and curves')
    panels = osp.join(args.work_dir, 'reconstructions')
    run_script(REPO, osp.join(REPO, 'tools/analysis_tools/visualize_reconstruction.py'), CONFIG,
               checkpoint, '--out-dir', panels, '--num-samples', '6', '--cfg-options', *options)
    records = read_scalars(pretrain_dir)
    curves = osp.join(args.work_dir, 'pretrain_curves.png')
    plot(records, curves)

    stage(5, f'the model under {len(args.mask_seeds)} validation mask seeds (tools/test.py)')
    seed_dir = osp.join(args.work_dir, 'mask_seeds')
    key = val_mask_key()
    outs = {}
    for seed in args.mask_seeds:
        outs[seed] = osp.join(seed_dir, f'seed{seed}.json')
        if osp.isfile(outs[seed]) and osp.getmtime(outs[seed]) >= osp.getmtime(checkpoint):
            print(f'{outs[seed]}: done, not run again', flush=True)
            continue
        run_script(REPO, osp.join(REPO, 'tools/test.py'), CONFIG, checkpoint, '--work-dir',
                   osp.join(seed_dir, f'seed{seed}'), '--out', outs[seed], '--force',
                   '--cfg-options', *options, f'{key}.seed={seed}', quiet=True)

    miou = finetune_iters = None
    if not args.skip_finetune:
        stage(6, 'fine-tuning UperNet on synthetic ScanNet-20 from the Mask3D encoder (mmseg)')
        seg_dir = osp.join(args.work_dir, 'finetune_seg')
        run_script(REPO, osp.join(REPO, 'tools/train.py'), SEG_CONFIG, '--work-dir', seg_dir,
                   '--resume', '--cfg-options', f'model.backbone.init_cfg.checkpoint={encoder}',
                   f'randomness.seed={args.seed}',
                   f'train_dataloader.dataset.data_root={data_root}',
                   f'val_dataloader.dataset.data_root={data_root}',
                   f'test_dataloader.dataset.data_root={data_root}')
        seg_records = read_scalars(seg_dir)
        seg_val = [r for r in seg_records if 'mIoU' in r]
        miou = seg_val[-1]['mIoU'] if seg_val else None
        with open(osp.join(seg_dir, 'last_checkpoint')) as f:
            finetune_iters = trained_iters(f.read().strip())

    from mask3d_mm.analysis.demo_summary import demo_summary, demo_tables, per_seed_from_files
    from mask3d_mm.analysis.provenance import code_commit
    from mask3d_mm.analysis.pretraining_comparison.report import split_frames
    from mmengine.config import Config
    frame_skip = Config.fromfile(CONFIG).val_dataloader.dataset.get('frame_skip', 1)
    summary = demo_summary(
        per_seed_from_files(outs), miou,
        command=' '.join(['python', 'tools/demo.py', *sys.argv[1:]]),
        code_commit=code_commit(REPO),
        wall_minutes=round((time.time() - start) / 60, 2), mask_seeds=list(args.mask_seeds),
        val_frames=split_frames(data_root, frame_skip),
        pretrain_iters=trained_iters(checkpoint), finetune_seed=args.seed,
        finetune_iters=finetune_iters, checkpoint=osp.relpath(checkpoint, REPO))
    text = demo_tables(summary)
    with open(osp.join(args.work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    with open(osp.join(args.work_dir, 'summary.md'), 'w') as f:
        f.write(text + '\n')
    print(f'\n==== result ({(time.time() - start) / 60:.1f} min) ====\n{text}\n')
    print(f'summary:         {osp.join(args.work_dir, "summary.json")} (and summary.md)\n'
          f'checkpoint:      {checkpoint}\nencoder export:  {encoder}\n'
          f'panels:          {panels}/\ncurves:          {curves}')


if __name__ == '__main__':
    main()
