"""The export's position embedding: an encoder pre-trained on a rectangular grid (96x128: 6x8
patches) fine-tunes at any size in the stock mmseg config, with the position embedding the
pre-trained encoder itself uses there; the export still loads strictly."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpretrain.models import VisionTransformer
from mmpretrain.models.utils import resize_pos_embed

from helpers.tools import REPO, run_tool_main
from mask3d_mm.models import Mask3DViT
from mask3d_mm.models.utils import build_2d_sincos_pos_embed

PRETRAIN = osp.join(REPO, 'configs/mask3d/vit-tiny_synthetic.py')
SEG = osp.join(REPO, 'configs/benchmarks/mmseg/upernet_vit-tiny_synthetic-scannet20.py')
TINY = dict(embed_dims=64, num_layers=2, num_heads=2, feedforward_channels=128)
EXPORT = 'model_converters/export_rgb_encoder'


@pytest.fixture(scope='module')
def tiny_mask3d_checkpoint(tmp_path_factory) -> str:
    """The tiny Mask3D of configs/mask3d/vit-tiny_synthetic.py (96x128), saved as the Runner
    saves it (state_dict + meta.cfg)."""
    from mask3d_mm.registry import MODELS
    cfg = Config.fromfile(PRETRAIN)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    path = str(tmp_path_factory.mktemp('mask3d') / 'epoch_1.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(cfg=cfg.pretty_text)), path)
    return path


def export(checkpoint: str, out: str, *args: str) -> dict:
    run_tool_main(EXPORT, checkpoint, out, *args)
    return torch.load(out, weights_only=True)['state_dict']


def finetune_at_512(encoder: str, whole: bool = False):
    """The stock tiny mmseg config with a 512x512 crop, from ``encoder``: its backbone (or, with
    ``whole``, the UperNet, run once) built and initialised (init_cfg Pretrained, as the
    Runner does)."""
    from mmseg.registry import MODELS
    cfg = Config.fromfile(SEG)
    cfg.merge_from_dict({'model.data_preprocessor.size': (512, 512),
                         'model.backbone.img_size': (512, 512),
                         'model.backbone.init_cfg.checkpoint': encoder})
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MODELS.build(cfg.model if whole else cfg.model.backbone)
    model.init_weights()
    model.eval()
    if whole:
        with torch.no_grad():
            logits = model(torch.randn(1, 3, 512, 512), mode='tensor')
        assert logits.shape[-2:] == (128, 128) and torch.isfinite(logits).all()
        return model.backbone
    return model


def test_rectangular_export_fine_tunes_at_512(tiny_mask3d_checkpoint, tmp_path, capsys):
    # default: the 6x8 fixed sin-cos written for 8x8, which mmpretrain resizes to any size
    state = export(tiny_mask3d_checkpoint, str(tmp_path / 'square.pth'))
    assert 'pos_embed of the 6x8 patch grid written for 8x8 (the fixed sin-cos rebuilt)' \
        in capsys.readouterr().out
    square = build_2d_sincos_pos_embed((8, 8), 128, cls_token=True)
    torch.testing.assert_close(state['pos_embed'], square, rtol=0, atol=0)
    backbone = finetune_at_512(str(tmp_path / 'square.pth'))
    torch.testing.assert_close(backbone.pos_embed.data,
                               resize_pos_embed(square, (8, 8), (32, 32), 'bicubic', 1))
    # --img-size 512: the exact sin-cos of the 32x32 grid, loaded without a resize
    state = export(tiny_mask3d_checkpoint, str(tmp_path / 'at512.pth'), '--img-size', '512')
    exact = build_2d_sincos_pos_embed((32, 32), 128, cls_token=True)
    torch.testing.assert_close(state['pos_embed'], exact, rtol=0, atol=0)
    backbone = finetune_at_512(str(tmp_path / 'at512.pth'))
    torch.testing.assert_close(backbone.pos_embed.data, exact, rtol=0, atol=0)
    src = torch.load(tiny_mask3d_checkpoint, weights_only=True)['state_dict']
    for k, v in backbone.state_dict().items():
        if k != 'pos_embed':
            assert torch.equal(v, src[f'backbone.{k}']), k


@pytest.mark.slow  # an UperNet at 512x512 on the CPU: 10-17 s on the shared 2 cores
def test_whole_upernet_at_512_from_the_rectangular_export(tiny_mask3d_checkpoint, tmp_path):
    export(tiny_mask3d_checkpoint, str(tmp_path / 'square.pth'))
    backbone = finetune_at_512(str(tmp_path / 'square.pth'), whole=True)
    square = build_2d_sincos_pos_embed((8, 8), 128, cls_token=True)
    torch.testing.assert_close(backbone.pos_embed.data,
                               resize_pos_embed(square, (8, 8), (32, 32), 'bicubic', 1))


def test_export_at_the_training_size_is_the_trained_embedding(tiny_mask3d_checkpoint, tmp_path):
    """--img-size 96 128 (the demo's fine-tuning) writes the trained 6x8 sin-cos unchanged."""
    state = export(tiny_mask3d_checkpoint, str(tmp_path / 'e.pth'), '--img-size', '96', '128')
    src = torch.load(tiny_mask3d_checkpoint, weights_only=True)['state_dict']
    assert torch.equal(state['pos_embed'], src['backbone.pos_embed'])


def save_mask3d_like(path: str, encoder: Mask3DViT, cfg_text=None) -> None:
    state = {f'backbone.{k}': v for k, v in encoder.state_dict().items()}
    state['depth_encoder.cls_token'] = torch.zeros(1, 1, 8)  # what marks a Mask3D checkpoint
    meta = {} if cfg_text is None else dict(cfg=cfg_text)
    torch.save(dict(state_dict=state, meta=meta), path)


@pytest.mark.parametrize('learned', [False, True], ids=['sincos', 'learned'])
def test_img_size_export_computes_what_the_pretrained_encoder_computes(learned, tmp_path):
    """mmpretrain's ViT built at 64x80 from ``--img-size 64 80`` gives the pre-trained
    encoder's (all-visible) output at 64x80, loaded with strict=True."""
    torch.manual_seed(0)
    encoder = Mask3DViT(arch=TINY, img_size=(32, 48), learnable_pos_embed=learned)
    encoder.init_weights()
    if learned:  # trained away from the sin-cos: resized, as the encoder resizes it
        encoder.pos_embed.data += 0.1 * torch.randn_like(encoder.pos_embed)
    encoder.eval()
    ckpt = str(tmp_path / 'mask3d.pth')
    save_mask3d_like(ckpt, encoder, 'model = dict(backbone=dict(img_size=(32, 48)))\n')
    state = export(ckpt, str(tmp_path / 'out.pth'), '--img-size', '64', '80')
    vit = VisionTransformer(arch=TINY, img_size=(64, 80), out_type='raw')
    vit.load_state_dict(state, strict=True)
    vit.eval()
    x = torch.randn(2, 3, 64, 80)
    with torch.no_grad():
        latent, _ = encoder(x, torch.zeros(2, 20, dtype=torch.bool))
        torch.testing.assert_close(vit(x)[0], latent)


def test_rectangular_learned_embedding_of_unknown_grid(tmp_path, capsys):
    """Without meta.cfg a learned 2x3 grid cannot be told from 3x2 or 1x6: kept as trained with
    a warning; a re-grid asked for is an error naming the checkpoint."""
    torch.manual_seed(0)
    encoder = Mask3DViT(arch=TINY, img_size=(32, 48), learnable_pos_embed=True)
    encoder.init_weights()
    encoder.pos_embed.data += 0.1
    ckpt = str(tmp_path / 'no_meta.pth')
    save_mask3d_like(ckpt, encoder)
    state = export(ckpt, str(tmp_path / 'a.pth'))
    assert torch.equal(state['pos_embed'], encoder.pos_embed.data)
    assert 'is unknown: written as trained' in capsys.readouterr().out
    with pytest.raises(ValueError, match=r'no_meta.pth: cannot write pos_embed for a 4x5 grid'):
        export(ckpt, str(tmp_path / 'b.pth'), '--img-size', '64', '80')
    with pytest.raises(ValueError, match='not divisible by the patch size 16'):
        export(ckpt, str(tmp_path / 'c.pth'), '--img-size', '100')


def test_square_export_is_unchanged(tmp_path, capsys):
    torch.manual_seed(0)
    encoder = Mask3DViT(arch=TINY, img_size=64)
    encoder.init_weights()
    ckpt = str(tmp_path / 'square.pth')
    save_mask3d_like(ckpt, encoder)
    state = export(ckpt, str(tmp_path / 'out.pth'))
    assert 'pos_embed as trained (4x4 patches)' in capsys.readouterr().out
    for k, v in encoder.state_dict().items():
        assert torch.equal(state[k], v), k
