"""Nothing a user made is overwritten: outputs that are inputs are refused, existing outputs
need --force / --overwrite, writes are atomic, and the export says what a foreign checkpoint is."""
import argparse
import hashlib
import json
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from helpers.fork_server import interpreter
from helpers.seg_data import nyu_frames, write_class_mapping, write_labeled_mat, write_splits_mat
from helpers.sens_writer import write_sens
from helpers.tools import REPO, load_tool, run, run_tool_main

from mask3d_mm.converters.preconvert_frames import MARKER as PRECONVERTED
from mask3d_mm.datasets.scannet_layout import ScanNetLayout
from mask3d_mm.synthetic import generate_scannet_scenes, write_scene_splits
from mask3d_mm.synthetic.output import MARKER as SYNTHETIC_MARKER
from mask3d_mm.tooling import InputPath, config_inputs, ensure_data

GENERATOR = 'dataset_converters/generate_synthetic_scannet'
DET_CONFIG = osp.join(REPO, 'configs/benchmarks/mmdet/mask-rcnn_vit-tiny_synthetic-scannet.py')
TINY = ('--height', '24', '--width', '32')


def _digest(path) -> str:
    return hashlib.sha256(open(path, 'rb').read()).hexdigest()


# ---- export_rgb_encoder.py -------------------------------------------------------------------


@pytest.mark.parametrize('alias', ['same', 'relative', 'symlink'])
def test_export_refuses_to_write_over_its_checkpoint(tiny_pretrain_run, tmp_path, alias,
                                                     monkeypatch):
    _, ckpt = tiny_pretrain_run
    before = _digest(ckpt)
    out = ckpt
    if alias == 'relative':
        monkeypatch.chdir(osp.dirname(ckpt))
        out = osp.join('.', osp.basename(ckpt))
    elif alias == 'symlink':
        out = str(tmp_path / 'link.pth')
        os.symlink(ckpt, out)
    with pytest.raises(ValueError, match='is the input .*would destroy'):
        run_tool_main('model_converters/export_rgb_encoder', ckpt, out, '--force')
    assert _digest(ckpt) == before


def test_export_keeps_an_existing_output_unless_force(tiny_pretrain_run, tmp_path):
    _, ckpt = tiny_pretrain_run
    out = tmp_path / 'encoder.pth'
    out.write_bytes(b'mine')
    with pytest.raises(FileExistsError, match=f'{out} exists; pass --force'):
        run_tool_main('model_converters/export_rgb_encoder', ckpt, str(out))
    assert out.read_bytes() == b'mine'
    run_tool_main('model_converters/export_rgb_encoder', ckpt, str(out), '--force')
    assert 'backbone.' not in ''.join(torch.load(out, weights_only=True)['state_dict'])
    assert [f for f in os.listdir(tmp_path) if f.startswith('.')] == []  # no temp file left


def _save_state_dict(cfg_file: str, path: str) -> str:
    from mask3d_mm.registry import MODELS
    cfg = Config.fromfile(osp.join(REPO, cfg_file))
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


def test_export_says_what_a_foreign_checkpoint_is(tmp_path, capsys):
    """An mmseg UperNet checkpoint has backbone.* keys too: it used to export ("wrote 54
    tensors"). An MMPretrain MAE exports with a note (the comparison tool uses that)."""
    seg = _save_state_dict('configs/benchmarks/mmseg/upernet_vit-tiny_synthetic-scannet20.py',
                           str(tmp_path / 'upernet.pth'))
    with pytest.raises(KeyError, match=r'upernet.pth: not a Mask3D checkpoint: looks like an '
                       r'mmseg EncoderDecoder checkpoint \(decode_head.\*, auxiliary_head.\*\)'):
        run_tool_main('model_converters/export_rgb_encoder', seg, str(tmp_path / 'a.pth'))
    assert not osp.exists(tmp_path / 'a.pth')
    bare = str(tmp_path / 'bare.pth')
    torch.save(dict(state_dict={k[len('backbone.'):]: v for k, v in torch.load(
        seg, weights_only=True)['state_dict'].items() if k.startswith('backbone.')}), bare)
    with pytest.raises(KeyError, match='bare ViT state dict .*use it as it is'):
        run_tool_main('model_converters/export_rgb_encoder', bare, str(tmp_path / 'b.pth'))
    mae = _save_state_dict(
        'configs/benchmarks/pretrain_comparison/mae_vit-tiny_synthetic-112x112.py',
        str(tmp_path / 'mae.pth'))
    run_tool_main('model_converters/export_rgb_encoder', mae, str(tmp_path / 'c.pth'))
    assert 'an mmpretrain MAE checkpoint' in capsys.readouterr().out


def test_atomic_output_survives_kill_9(tmp_path):
    """A writer killed half-way leaves the previous file intact (and a hidden .part file)."""
    out = tmp_path / 'metrics.json'
    out.write_text('{"old": 1}')
    code = ('import os, signal; from mask3d_mm.atomic_write import atomic_output\n'
            f'with atomic_output({str(out)!r}) as tmp:\n'
            '    f = open(tmp, "w"); f.write("{\\"half"); f.flush()\n'
            '    os.kill(os.getpid(), signal.SIGKILL)\n')
    proc = run([sys.executable, '-c', code])
    assert proc.returncode == -signal.SIGKILL
    assert json.loads(out.read_text()) == {'old': 1}
    assert [f for f in os.listdir(tmp_path) if f.endswith('.part.json')]


# ---- tools/test.py --out, scannet_to_coco.py --out, nyuv2_mat.py --------------------------------


def test_test_tool_out_is_checked_before_the_run(tiny_pretrain_run, tmp_path):
    config, ckpt = tiny_pretrain_run
    work = ['--work-dir', str(tmp_path / 'work')]
    before = _digest(ckpt)
    with pytest.raises(ValueError, match='is the input'):
        run_tool_main('test', config, ckpt, *work, '--out', ckpt, '--out-item', 'pred',
                      '--force')
    assert _digest(ckpt) == before
    out = tmp_path / 'metrics.json'
    out.write_text('{"mine": 1}')
    with pytest.raises(FileExistsError, match='pass --force'):
        run_tool_main('test', config, ckpt, *work, '--out', str(out))
    assert not osp.exists(tmp_path / 'work')  # refused before the Runner was built
    metrics = run_tool_main('test', config, ckpt, *work, '--out', str(out), '--force')
    assert json.loads(out.read_text()) == pytest.approx(metrics)


def _det_data(tmp_path) -> dict:
    """Inputs of the tiny mmdet config: a data root with its COCO jsons, the evaluator's ground
    truth outside it (as tests/test_det/ set it up), the encoder and the checkpoint."""
    root = tmp_path / 'data'
    (root / 'annotations').mkdir(parents=True)
    coco = json.dumps(dict(images=[], annotations=[], categories=[]))
    for split in ('train', 'val'):
        (root / 'annotations' / f'instances_{split}.json').write_text(coco)
    (tmp_path / 'gt').mkdir()
    gt = tmp_path / 'gt' / 'instances_val.json'
    gt.write_text(coco)
    for name in ('encoder.pth', 'det.pth'):
        (tmp_path / name).write_bytes(b'weights')
    options = {f'{s}_dataloader.dataset.data_root': f'{root}/' for s in ('train', 'val', 'test')}
    options.update({f'{s}_evaluator.ann_file': str(gt) for s in ('val', 'test')})
    options['model.backbone.init_cfg.checkpoint'] = str(tmp_path / 'encoder.pth')
    return dict(root=str(root), gt=str(gt), encoder=str(tmp_path / 'encoder.pth'),
                ckpt=str(tmp_path / 'det.pth'), options=options)


@pytest.mark.parametrize('target,named', [
    ('gt', r'is the input .*gt/instances_val.json \((val|test)_evaluator.ann_file\)'),
    ('ann', r'is the input .*instances_train.json \(train_dataloader.dataset.ann_file\)'),
    ('new_in_root', r'is inside the input folder .*data/? \((train|val|test)_dataloader'),
    ('encoder', r'is the input .*encoder.pth \(model.backbone.init_cfg.checkpoint\)')])
def test_test_tool_out_never_replaces_what_the_config_reads(tmp_path, target, named):
    """--out onto the evaluator's COCO ground truth with --force replaced it with metrics;
    every input of the config is refused like the checkpoint, before the Runner is built."""
    data = _det_data(tmp_path)
    out = dict(gt=data['gt'], encoder=data['encoder'],
               ann=osp.join(data['root'], 'annotations', 'instances_train.json'),
               new_in_root=osp.join(data['root'], 'metrics.json'))[target]
    before = _tree(tmp_path)
    options = [f'{k}={v}' for k, v in data['options'].items()]
    with pytest.raises(ValueError, match=named):
        run_tool_main('test', DET_CONFIG, data['ckpt'], '--work-dir', str(tmp_path / 'work'),
                      '--out', out, '--out-item', 'pred' if target == 'encoder' else 'metrics',
                      '--force', '--cfg-options', *options)
    assert _tree(tmp_path) == before  # nothing written, no work dir: refused before the run


def test_test_tool_out_elsewhere_passes_the_input_check(tmp_path):
    data = _det_data(tmp_path)
    test_tool = load_tool('tools/test.py')
    args = test_tool.parse_args([DET_CONFIG, data['ckpt'], '--out', str(tmp_path / 'metrics.json'),
                                 '--cfg-options', *(f'{k}={v}' for k, v in data['options'].items())])
    cfg = test_tool.merge_args(Config.fromfile(DET_CONFIG), args)
    inputs = {i.name: i for i in config_inputs(cfg)}
    assert inputs['test_evaluator.ann_file'] == InputPath(data['gt'], 'test_evaluator.ann_file')
    assert inputs['test_dataloader.dataset.ann_file'].path == osp.join(
        data['root'], 'annotations', 'instances_val.json')
    assert inputs['load_from'].path == data['ckpt']
    assert inputs['test_dataloader.dataset.data_root'].kind == 'folder'
    assert not any(k.startswith('default_hooks') for k in inputs)  # a hook is no path


def test_scannet_to_coco_keeps_an_existing_json_unless_force(synthetic_scannet, tmp_path):
    out = tmp_path / 'instances.json'
    out.write_text('{"mine": 1}')
    args = [synthetic_scannet, '--out', str(out), '--frame-skip', '4']
    with pytest.raises(FileExistsError, match='pass --force'):
        run_tool_main('dataset_converters/scannet_to_coco', *args)
    assert out.read_text() == '{"mine": 1}'
    run_tool_main('dataset_converters/scannet_to_coco', *args, '--force')
    assert len(json.loads(out.read_text())['images']) == 2


def test_nyuv2_converter_replaces_a_set_only_with_force(tmp_path):
    mats = dict(labeled=str(tmp_path / 'labeled.mat'), splits=str(tmp_path / 'splits.mat'),
                mapping=str(tmp_path / 'map.mat'))
    frames = nyu_frames()
    write_labeled_mat(mats['labeled'], frames)
    write_splits_mat(mats['splits'])
    write_class_mapping(mats['mapping'], frames['map_class'])
    out = tmp_path / 'nyuv2'
    args = [mats['labeled'], mats['splits'], str(out), '--mapping', mats['mapping']]
    run_tool_main('dataset_converters/nyuv2_mat', *args)
    assert sorted(os.listdir(out)) == ['depth', 'images', 'labels40']
    with pytest.raises(FileExistsError, match=r"holds \['images', 'labels40', 'depth'\]"):
        run_tool_main('dataset_converters/nyuv2_mat', *args, '--no-depth')
    assert len(os.listdir(out / 'depth' / 'train')) == 3
    run_tool_main('dataset_converters/nyuv2_mat', *args, '--no-depth', '--force')
    assert sorted(os.listdir(out)) == ['images', 'labels40']  # the whole set replaced
    os.replace(mats['mapping'], out / 'labels40' / 'map.mat')
    with pytest.raises(ValueError, match='inside the output folder'):
        run_tool_main('dataset_converters/nyuv2_mat', *args[:-1], str(out / 'labels40' /
                                                                      'map.mat'), '--force')
    assert osp.isfile(out / 'labels40' / 'map.mat')


# ---- generate_synthetic_scannet.py ---------------------------------------------------------


def _frames(root) -> list:
    return sorted(os.listdir(osp.join(root, 'scene0000_00', 'color')))


def test_generator_refuses_a_non_empty_root_and_overwrite_replaces_the_set(tmp_path):
    root = str(tmp_path / 'synthetic')
    run_tool_main(GENERATOR, root, '--num-scenes', '2', '--frames-per-scene', '3', *TINY)
    assert _frames(root) == ['000000.jpg', '000001.jpg', '000002.jpg']
    assert osp.isfile(osp.join(root, '.mask3d_mm_synthetic.json'))
    with pytest.raises(FileExistsError, match='not empty: pass --overwrite'):
        run_tool_main(GENERATOR, root, '--num-scenes', '2', '--frames-per-scene', '2', *TINY)
    assert len(_frames(root)) == 3
    run_tool_main(GENERATOR, root, '--num-scenes', '2', '--frames-per-scene', '2', '--overwrite',
                  '--frame-step', '5', *TINY)
    assert _frames(root) == ['000000.jpg', '000005.jpg']  # no frame of the old set is left
    assert [f for f in os.listdir(tmp_path) if f != 'synthetic'] == []  # no temp folder left


def test_generator_overwrite_removes_only_its_own_sets(tmp_path):
    mine = tmp_path / 'mine'
    mine.mkdir()
    (mine / 'notes.txt').write_text('keep me')
    with pytest.raises(ValueError, match=r'not a set written by this tool: it has no '
                       r'\.mask3d_mm_synthetic\.json'):
        run_tool_main(GENERATOR, str(mine), '--overwrite', *TINY)
    assert (mine / 'notes.txt').read_text() == 'keep me'
    root = str(tmp_path / 'synthetic')
    run_tool_main(GENERATOR, root, '--num-scenes', '2', '--frames-per-scene', '1', *TINY)
    with open(osp.join(root, SYNTHETIC_MARKER)) as f:
        assert json.load(f)['generator'] == 'mask3d_mm.synthetic'
    open(osp.join(root, 'scene0000_00', 'my_labels.txt'), 'w').close()
    with pytest.raises(ValueError, match='holds files .*scene0000_00/my_labels.txt'):
        run_tool_main(GENERATOR, root, '--overwrite', *TINY)
    assert osp.isfile(osp.join(root, 'scene0000_00', 'my_labels.txt'))
    for protected in (REPO, '/', osp.expanduser('~')):
        with pytest.raises(ValueError, match='give a folder of its own'):
            run_tool_main(GENERATOR, protected, '--overwrite', *TINY)
    assert osp.isfile(osp.join(REPO, 'README.md'))


def _tree(root) -> dict:
    """Relative path -> sha256 of every file under ``root``."""
    return {osp.relpath(osp.join(d, f), root): _digest(osp.join(d, f))
            for d, _, files in os.walk(root) for f in files}


def _write_scans(scans, scenes=('scene0000_00', 'scene0001_00'), frames=3) -> None:
    """ScanNet ``scans/sceneXXXX_XX/sceneXXXX_XX.sens`` files of ``frames`` tiny frames."""
    rng = np.random.default_rng(0)
    for scene in scenes:
        os.makedirs(osp.join(scans, scene))
        colors = [cv2.imencode('.jpg', rng.integers(0, 256, (12, 16, 3), dtype=np.uint8))[1]
                  .tobytes() for _ in range(frames)]
        depths = [rng.integers(500, 5000, (6, 8), dtype=np.uint16) for _ in range(frames)]
        poses = [np.eye(4) + rng.normal(size=(4, 4)) * [[1], [1], [1], [0]]
                 for _ in range(frames)]
        write_sens(osp.join(scans, scene, scene + '.sens'), colors, depths, poses,
                   color_size=(16, 12))


def _exported_scannet(tmp_path) -> str:
    """A real-layout ScanNet set: frames exported by tools/dataset_converters/export_sens.py,
    plus ScanNet's split files."""
    scans, root = str(tmp_path / 'scans'), str(tmp_path / 'scannet_frames')
    _write_scans(scans)
    run_tool_main('dataset_converters/export_sens', scans, '--out-dir', root, '--frame-skip',
                  '1')
    (tmp_path / 'scannet_frames' / 'scannetv2_train.txt').write_text('scene0000_00\n')
    (tmp_path / 'scannet_frames' / 'scannetv2_val.txt').write_text('scene0001_00\n')
    return root


def test_generator_overwrite_refuses_a_real_scannet_export(tmp_path):
    """The same layout as a generated set (scene folders of color/depth/pose/intrinsics, split
    files) but no marker of the generator: --overwrite used to delete it."""
    root = _exported_scannet(tmp_path)
    before = _tree(root)
    assert len(before) == 2 * (3 * 3 + 2) + 2
    with pytest.raises(ValueError, match=f'{root} is not a set written by this tool: it has no '
                       r'\.mask3d_mm_synthetic\.json.*removes nothing'):
        run_tool_main(GENERATOR, root, '--overwrite', '--num-scenes', '2', *TINY)
    for foreign in ({}, {'generator': 'someone else'}, ['mask3d_mm.synthetic']):
        with open(osp.join(root, SYNTHETIC_MARKER), 'w') as f:  # a marker not naming it
            json.dump(foreign, f)
        with pytest.raises(ValueError, match='does not name the generator'):
            run_tool_main(GENERATOR, root, '--overwrite', '--num-scenes', '2', *TINY)
    os.remove(osp.join(root, SYNTHETIC_MARKER))
    assert _tree(root) == before  # every file intact
    assert sorted(os.listdir(tmp_path)) == ['scannet_frames', 'scans']  # no temp folder


def test_generator_killed_leaves_the_old_set_whole(tmp_path):
    root = str(tmp_path / 'synthetic')
    run_tool_main(GENERATOR, root, '--num-scenes', '2', '--frames-per-scene', '1', *TINY)
    before = sorted(os.walk(root))
    proc = subprocess.Popen(
        [interpreter(), osp.join(REPO, 'tools', GENERATOR + '.py'), root, '--overwrite',
         '--num-scenes', '2', '--frames-per-scene', '400', *TINY],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and not any(
            osp.isdir(osp.join(tmp_path, d, 'scene0000_00', 'color')) and os.listdir(
                osp.join(tmp_path, d, 'scene0000_00', 'color'))
            for d in os.listdir(tmp_path) if d.endswith('.part')):
        time.sleep(0.05)
    assert proc.poll() is None, 'the generator ended before it could be killed'
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert sorted(os.walk(root)) == before  # the old set, complete and alone


def test_demo_data_step_accepts_a_complete_set(tmp_path, capsys):
    """tools/demo.py and compare_pretraining.py generate the set when it is absent, and use a
    complete one as it is."""
    root = str(tmp_path / 'synthetic')
    ensure_data(REPO, root, 2, 1)
    assert len(_frames(root)) == 1 and osp.isfile(osp.join(root, 'scannetv2_train.txt'))
    stamp = os.stat(osp.join(root, 'scene0000_00', 'color', '000000.jpg')).st_mtime_ns
    ensure_data(REPO, root, 2, 1)
    assert 'found' in capsys.readouterr().out
    assert os.stat(osp.join(root, 'scene0000_00', 'color', '000000.jpg')).st_mtime_ns == stamp
    # the set they wrote is the generator's: --overwrite replaces it
    run_tool_main(GENERATOR, root, '--overwrite', '--num-scenes', '2', '--frames-per-scene', '2',
                  *TINY)
    assert len(_frames(root)) == 2


def test_generator_overwrite_accepts_a_marker_of_before_the_generator_field(tmp_path):
    """Sets written before the marker named the generator: its ``tool`` field is the
    generator script."""
    root = str(tmp_path / 'synthetic')
    run_tool_main(GENERATOR, root, '--num-scenes', '2', '--frames-per-scene', '1', *TINY)
    with open(osp.join(root, SYNTHETIC_MARKER), 'w') as f:
        json.dump({'tool': 'tools/dataset_converters/generate_synthetic_scannet.py',
                   'args': {}}, f)
    run_tool_main(GENERATOR, root, '--overwrite', '--num-scenes', '2', '--frames-per-scene',
                  '2', *TINY)
    assert len(_frames(root)) == 2


# ---- preconvert_frames.py ------------------------------------------------------------------

PRECONVERT = 'dataset_converters/preconvert_frames'


@pytest.fixture
def two_sources(tmp_path):
    """Two frames roots of the same scene and frame names but other frames (seeds 0 and 1)."""
    roots = []
    for seed in (0, 1):
        src = str(tmp_path / f'src_{"ab"[seed]}')
        scenes = generate_scannet_scenes(src, num_scenes=2, frames_per_scene=2, height=24,
                                         width=32, seed=seed)
        write_scene_splits(src, scenes)
        roots.append(src)
    return roots


def _marker(dst) -> dict:
    with open(osp.join(dst, PRECONVERTED)) as f:
        return json.load(f)


@pytest.mark.parametrize('other', ['source', 'quality', 'encoding'])
def test_preconvert_refuses_an_output_of_another_source_or_settings(two_sources, tmp_path,
                                                                    other):
    """It kept the old frames, printed 'pre-converted 4 frames from src_b' and rewrote the
    marker to say src_b; now the marker's source and settings must match, and nothing is
    written when they do not."""
    src_a, src_b = two_sources
    dst = str(tmp_path / 'dst')
    run_tool_main(PRECONVERT, src_a, dst)
    before = _tree(dst)
    argv, named = dict(
        source=([src_b, dst], f"source '{src_a}' there, '{src_b}' now"),
        quality=([src_a, dst, '--quality', '80'], 'jpeg_quality 95 there, 80 now'),
        encoding=([src_a, dst, '--encoding', 'tum'], "encoding 'scannet' there, 'tum' now"),
    )[other]
    with pytest.raises(ValueError, match=re.escape(named) + '.*Pass --overwrite'):
        run_tool_main(PRECONVERT, *argv)
    assert _tree(dst) == before
    assert _marker(dst)['source'] == src_a and _marker(dst)['complete']


def test_preconvert_overwrite_rewrites_every_frame(two_sources, tmp_path):
    src_a, src_b = two_sources
    dst, fresh = str(tmp_path / 'dst'), str(tmp_path / 'fresh_b')
    run_tool_main(PRECONVERT, src_a, dst, '--quality', '80')
    run_tool_main(PRECONVERT, src_b, fresh)
    run_tool_main(PRECONVERT, src_b, dst, '--overwrite')
    assert _tree(dst) == _tree(fresh)  # src_b's frames at quality 95, marker included
    assert _marker(dst)['source'] == src_b and _marker(dst)['jpeg_quality'] == 95
    # scenes of the old output that the run does not convert would stay src_a's: refused
    run_tool_main(PRECONVERT, src_a, dst, '--overwrite')
    before = _tree(dst)
    with pytest.raises(ValueError, match=r"does not convert \(\['scene0001_00'\]\)"):
        run_tool_main(PRECONVERT, src_b, dst, '--scenes', 'scene0000_00', '--overwrite')
    assert _tree(dst) == before


def test_preconvert_refuses_a_folder_without_its_marker(two_sources, tmp_path):
    src_a, _ = two_sources
    dst = tmp_path / 'mine'
    (dst / 'scene0000_00' / 'color').mkdir(parents=True)
    (dst / 'scene0000_00' / 'color' / '000000.jpg').write_bytes(b'my photo')
    for extra in ([], ['--overwrite']):
        with pytest.raises(FileExistsError, match=f'{dst} is not empty and has no '
                           'preconverted.json.*not even with --overwrite'):
            run_tool_main(PRECONVERT, src_a, str(dst), *extra)
    assert _tree(dst) == {'scene0000_00/color/000000.jpg': _digest(
        dst / 'scene0000_00' / 'color' / '000000.jpg')}


def test_preconvert_resumes_the_same_source_and_settings(two_sources, tmp_path):
    """The marker is written first: an interrupted run is recognised and continued."""
    src_a, _ = two_sources
    dst = str(tmp_path / 'dst')
    bad = osp.join(src_a, 'scene0001_00', 'color', '000001.jpg')
    good = open(bad, 'rb').read()
    with open(bad, 'wb') as f:
        f.write(b'not a jpeg')
    with pytest.raises(ValueError, match='cannot decode colour file'):
        run_tool_main(PRECONVERT, src_a, dst, '--quality', '90')
    assert not _marker(dst)['complete'] and _marker(dst)['jpeg_quality'] == 90
    kept = osp.join(dst, 'scene0000_00', 'depth', '000001.npy')
    os.utime(kept, (1, 1))
    with open(bad, 'wb') as f:
        f.write(good)
    run_tool_main(PRECONVERT, src_a, dst, '--quality', '90')
    assert os.stat(kept).st_mtime == 1  # continued, not redone
    assert _marker(dst)['complete'] and _marker(dst)['frames'] == 4
    assert osp.isfile(osp.join(dst, 'scene0001_00', 'color', '000001.jpg'))


# ---- export_sens.py ------------------------------------------------------------------------


def test_export_sens_rerun_redoes_what_a_kill_left_half_written(tmp_path):
    """A kill while writing a pose left a truncated pose that the rerun kept and counted. Now
    each file is written whole (a kill leaves a ``.tmp`` leftover, no frame of the layout);
    a truncated pose in place (what the exporter left before) is redone too."""
    scans, out = str(tmp_path / 'scans'), str(tmp_path / 'frames')
    _write_scans(scans, scenes=('scene0000_00', ), frames=4)
    export = ['dataset_converters/export_sens', scans, '--out-dir', out, '--frame-skip', '1']
    run_tool_main(*export)
    whole = _tree(out)
    scene = osp.join(out, 'scene0000_00')
    pose = osp.join(scene, 'pose', '000001.txt')  # killed in place during the pose (before)
    with open(pose, 'r+') as f:
        f.truncate(len(f.read()) // 2)
    depth = osp.join(scene, 'depth', '000002.png')  # killed during the depth write (now)
    with open(depth, 'rb') as f:
        half = f.read()[:40]
    os.remove(depth)
    os.remove(osp.join(scene, 'pose', '000002.txt'))
    with open(depth + '.tmp', 'wb') as f:
        f.write(half)
    frames, _ = ScanNetLayout(out).scan_scene('scene0000_00', ('color', 'depth'),
                                              skip_incomplete=True)
    assert [f['frame_id'] for f in frames] == ['000000', '000001', '000003']  # no .tmp frame
    run_tool_main(*export)
    assert {k: v for k, v in _tree(out).items() if not k.endswith('.tmp')} == whole


@pytest.mark.slow
def test_export_sens_killed_during_a_pose_write(tmp_path):
    """The exporter killed (SIGKILL) half-way through writing a pose file, then run again:
    every file is whole."""
    scans, out = str(tmp_path / 'scans'), str(tmp_path / 'frames')
    _write_scans(scans, scenes=('scene0000_00', ), frames=4)
    run_tool_main('dataset_converters/export_sens', scans, '--out-dir', str(tmp_path / 'ref'),
                  '--frame-skip', '1')
    code = ('import builtins, os, signal, sys\n'
            'real_open = builtins.open\n'
            'class Half:\n'
            '    def __init__(self, f): self.f = f\n'
            '    def __getattr__(self, name): return getattr(self.f, name)\n'
            '    def __enter__(self): return self\n'
            '    def __exit__(self, *a): self.f.close()\n'
            '    def write(self, data):\n'
            '        self.f.write(data[:len(data) // 2]); self.f.flush()\n'
            '        os.kill(os.getpid(), signal.SIGKILL)\n'
            'def killing_open(file, mode="r", *a, **k):\n'
            '    f = real_open(file, mode, *a, **k)\n'
            '    hit = "w" in mode and os.path.join("pose", "000002.txt") in str(file)\n'
            '    return Half(f) if hit else f\n'
            'builtins.open = killing_open\n'
            'from mask3d_mm.converters.export_sens import export_scene\n'
            f'export_scene({osp.join(scans, "scene0000_00", "scene0000_00.sens")!r}, '
            f'{out!r}, frame_skip=1, show_progress=False)\n')
    proc = run([sys.executable, '-c', code], timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert not osp.exists(osp.join(out, 'scene0000_00', 'pose', '000003.txt'))  # killed there
    run_tool_main('dataset_converters/export_sens', scans, '--out-dir', out, '--frame-skip', '1')
    done = {k: v for k, v in _tree(out).items() if not k.endswith('.tmp')}
    assert done == _tree(str(tmp_path / 'ref'))
