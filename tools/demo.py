"""The end-to-end demo on the embedded synthetic ScanNet-format data, on CPU in minutes.

    python tools/demo.py [--data-root data/synthetic_scannet] [--work-dir work_dirs/demo]

1. generates the synthetic RGB-D scenes if they are absent (ScanNet layout, split files);
2. pre-trains a tiny ViT with Mask3D (configs/mask3d/vit-tiny_synthetic.py) via tools/train.py;
3. exports the color encoder as a plain mmpretrain VisionTransformer checkpoint;
4. writes reconstruction panels and a loss / validation plot;
5. fine-tunes UperNet on the synthetic ScanNet-20 labels from that encoder (mmseg), and prints
   the results.

Training runs use ``--resume``: a second demo continues (or, when complete, reuses) the runs of
the first; delete the work dir to start over.
"""
import argparse
import os.path as osp
import time

from mask3d_mm.tooling import ensure_data, read_scalars, run_script

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO, 'configs/mask3d/vit-tiny_synthetic.py')
SEG_CONFIG = osp.join(REPO, 'configs/benchmarks/mmseg/upernet_vit-tiny_synthetic-scannet20.py')
STAGES = 5


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data-root', default=osp.join(REPO, 'data/synthetic_scannet'))
    parser.add_argument('--work-dir', default=osp.join(REPO, 'work_dirs/demo'))
    parser.add_argument('--num-scenes', type=int, default=8)
    parser.add_argument('--frames-per-scene', type=int, default=40)
    parser.add_argument('--epochs', type=int, default=None,
                        help='pre-training epochs (default: the config)')
    parser.add_argument('--skip-finetune', action='store_true',
                        help='stop after pre-training (stages 1-4)')
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
               encoder, '--force')  # the demo's own file: a re-run replaces it

    stage(4, 'reconstruction panels and curves')
    panels = osp.join(args.work_dir, 'reconstructions')
    run_script(REPO, osp.join(REPO, 'tools/analysis_tools/visualize_reconstruction.py'), CONFIG,
               checkpoint, '--out-dir', panels, '--num-samples', '6', '--cfg-options', *options)
    records = read_scalars(pretrain_dir)
    curves = osp.join(args.work_dir, 'pretrain_curves.png')
    plot(records, curves)

    miou = None
    if not args.skip_finetune:
        stage(5, 'fine-tuning UperNet on synthetic ScanNet-20 from the Mask3D encoder (mmseg)')
        seg_dir = osp.join(args.work_dir, 'finetune_seg')
        run_script(REPO, osp.join(REPO, 'tools/train.py'), SEG_CONFIG, '--work-dir', seg_dir,
                   '--resume', '--cfg-options', f'model.backbone.init_cfg.checkpoint={encoder}',
                   f'train_dataloader.dataset.data_root={data_root}',
                   f'val_dataloader.dataset.data_root={data_root}',
                   f'test_dataloader.dataset.data_root={data_root}')
        seg_val = [r for r in read_scalars(seg_dir) if 'mIoU' in r]
        miou = seg_val[-1]['mIoU'] if seg_val else None

    last = [r for r in records if 'depth/masked/abs_rel' in r][-1]
    print(f'\n==== result ({(time.time() - start) / 60:.1f} min) ====')
    print('depth of the masked patches (validation scenes)   AbsRel   RMSE m   delta<1.25')
    for key, label in (('masked', 'Mask3D (visible-depth statistics)'),
                       ('patch_baseline', 'nearest visible patch'),
                       ('pixel_baseline', 'nearest visible pixel')):
        print(f"  {label:<48}{last[f'depth/{key}/abs_rel']:>7.4f}{last[f'depth/{key}/rmse']:>9.3f}"
              f"{last[f'depth/{key}/delta1']:>12.3f}")
    if 'depth/masked/aligned_abs_rel' in last:  # scale and shift fitted on the visible depth
        print(f"  {'Mask3D, scale-and-shift aligned':<48}"
              f"{last['depth/masked/aligned_abs_rel']:>7.4f}"
              f"{last['depth/masked/aligned_rmse']:>9.3f}"
              f"{last['depth/masked/aligned_delta1']:>12.3f}")
    if 'depth/masked/target_l1' in last:
        print(f"  Mask3D error in the target space (L1, what the loss sees): "
              f"{last['depth/masked/target_l1']:.4f}")
    for base in ('patch_baseline', 'pixel_baseline'):
        ratio = last[f'depth/masked/abs_rel_vs_{base}']
        verdict = 'beats' if ratio < 1 else 'does NOT beat'
        print(f"Mask3D {verdict} the {base.replace('_', ' ')} (AbsRel ratio {ratio:.2f})")
    if miou is not None:
        print(f'UperNet fine-tuned from the Mask3D encoder: mIoU {miou:.2f} on the synthetic '
              f'ScanNet-20 validation scenes (tiny model, 200 iterations)')
    print(f'checkpoint:      {checkpoint}\nencoder export:  {encoder}\n'
          f'panels:          {panels}/\ncurves:          {curves}')


if __name__ == '__main__':
    main()
