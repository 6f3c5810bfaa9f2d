"""tools/analysis_tools/scale_table.py on the tiny arch (64x64, about a second): measured
columns against the built model, computed columns against their formulas."""
import json

import pytest

from helpers.tools import load_tool


def test_scale_table_columns_are_consistent(tmp_path):
    import torch
    tool = load_tool('tools/analysis_tools/scale_table.py')
    out, md = tmp_path / 'scale.json', tmp_path / 'scale.md'
    threads = torch.get_num_threads()
    try:
        (r, ) = tool.main(['--archs', 'tiny', '--img-size', '64', '--threads', '1', '--json',
                           str(out), '--markdown', str(md)])
    finally:
        torch.set_num_threads(threads)  # main() sets it for the process
    model = tool.build_model('tiny', 64, False)
    p = r['params']
    assert p['total'] == sum(q.numel() for q in model.parameters())
    assert p['colour_vit'] == sum(q.numel() for q in model.backbone.parameters())
    assert p['colour_vit'] + p['depth_encoder'] + p['decoder'] == p['total']
    assert r['largest_unit_params'] == max(
        sum(q.numel() for q in model.get_submodule(n).parameters())
        for n in tool.block_names(model))
    # checkpointing: far less kept, one more forward of the blocks
    assert 0 < r['fp32_ckpt_per_sample'] < r['fp32_per_sample']
    assert r['flops_per_sample'] < r['ckpt_flops'] < 2 * r['flops_per_sample']
    assert r['bf16_per_sample'] == r['fp32_per_sample'] / 2
    args = tool.parse_args([])
    P, a, over = p['total'], r['bf16_per_sample'], args.overhead_gib * 2**30
    for n, m in r['memory_per_gpu'].items():
        b = args.global_batch / n
        assert m['batch_per_gpu'] == b
        assert m['ddp'] == pytest.approx(20 * P + over + b * a)
        assert m['fsdp'] == pytest.approx(16 * P / n + 16 * r['largest_unit_params'] + over
                                          + b * a)
        assert m['fsdp'] < m['ddp'] and m['ddp_ckpt'] < m['ddp']
    usable = args.usable * args.gpu_gib * 2**30
    assert r['max_batch_ddp'] == int((usable - 20 * P - over) // a)
    wall = r['wall_time_min']
    assert wall[8]['plain'] == pytest.approx(
        r['flops_per_sample'] * args.frames / (8 * args.peak_tflops * 1e12 * args.utilisation)
        / 60)
    assert wall[64]['plain'] == pytest.approx(wall[8]['plain'] / 8)
    saved = json.loads(out.read_text())['results'][0]
    assert saved['params'] == p
    table = md.read_text()
    assert '| | ViT-TINY |' in table and '[m] parameters, total (M)' in table
    assert all(line.startswith(('| [m]', '| [c]')) for line in table.splitlines()
               if line.startswith('| [') or line.startswith('| ') and 'GiB' in line)
