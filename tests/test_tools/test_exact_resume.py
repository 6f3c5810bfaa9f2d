"""mask3d_mm.tooling.exact_resume: the seed of a resumed run, model randomness by iteration."""
from types import SimpleNamespace

import torch
from mmengine.config import Config

from mask3d_mm.tooling.exact_resume import StepSeedHook, pin_resume_seed, step_seed


def _checkpoint(tmp_path, seed) -> str:
    path = str(tmp_path / 'iter_4.pth')
    torch.save(dict(meta=dict(seed=seed, iter=4), state_dict=dict(w=torch.ones(3))), path)
    return path


def test_resume_takes_the_checkpoint_seed(tmp_path):
    path = _checkpoint(tmp_path, 1234)
    cfg = Config(dict(resume=True, load_from=path))  # a config without randomness
    notes = pin_resume_seed(cfg)
    assert cfg.randomness.seed == 1234
    assert notes == [f'--resume: randomness.seed=1234, the seed of the run in {path} (the '
                     'config: none), so that data order and augmentations continue that run']
    # a seed given by the config is replaced too, other randomness settings stay
    cfg = Config(dict(resume=True, load_from=path, randomness=dict(seed=0, diff_rank_seed=True)))
    assert '(the config: 0)' in pin_resume_seed(cfg)[0]
    assert cfg.randomness == dict(seed=1234, diff_rank_seed=True)


def test_nothing_to_pin(tmp_path):
    path = _checkpoint(tmp_path, 7)
    for cfg in (dict(resume=False, load_from=path),  # load_from = weights of a fresh run
                dict(resume=True, load_from=None),  # --resume in an empty work dir
                dict(resume=True, load_from=path, randomness=dict(seed=7))):
        cfg = Config(cfg)
        assert pin_resume_seed(cfg) == []
        assert cfg.get('randomness') in (None, dict(seed=7))
    cfg = Config(dict(resume=True, load_from='s3://bucket/iter_4.pth'))
    assert 'randomness.seed=SEED' in pin_resume_seed(cfg)[0] and 'randomness' not in cfg


def test_step_seed():
    seeds = {step_seed(s, i) for s in (0, 1, 2**40) for i in range(100)}
    assert len(seeds) == 300 and all(0 <= s < 2**63 for s in seeds)
    assert step_seed(3, 17) == step_seed(3, 17)


def test_hook_draws_depend_on_the_iteration_only():
    hook = StepSeedHook()

    def dropout_at(iteration: int, draws_before: int) -> torch.Tensor:
        torch.rand(draws_before)  # what the process drew before: differs after a resume
        hook.before_train_iter(SimpleNamespace(seed=5, iter=iteration), 0)
        return torch.nn.functional.dropout(torch.ones(64), 0.5)

    assert torch.equal(dropout_at(4, 0), dropout_at(4, 1000))
    assert not torch.equal(dropout_at(4, 0), dropout_at(5, 0))
