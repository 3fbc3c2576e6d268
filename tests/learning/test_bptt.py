"""BPTT trainer: loss, schedule, learning, determinism, mask, checkpoints, files."""
import json

import numpy as np
import pytest
import torch

from hdsnn.analysis import score
from hdsnn.config import NetworkConfig
from hdsnn.learning import TrainConfig, delay_lif, f1_loss, hebbian_init, learning_rate, train
from hdsnn.learning.checkpoint import load_checkpoint
from hdsnn.models import bernoulli_patterns, make_trials, simulate

NET = NetworkConfig(N=64, D=9)


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one thread avoids thread hand-offs on a busy 2-core machine (restored after)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def patterns():
    """Hebbian init (gain 2) recalls these imperfectly (F1 about 0.5): there is something to learn."""
    return bernoulli_patterns(2, 64, 100, 0.02, seed=4)


def test_f1_loss_is_one_minus_hard_f1(patterns):
    D = NET.D
    W = hebbian_init(patterns, D=D, gain=2.0)
    trials = make_trials(patterns, D)
    spikes = delay_lif(W, trials.inputs, trials.clamp, NET)
    f1 = score(patterns, spikes.bool(), D).pooled()["f1"]
    assert 0.2 < f1 < 0.99
    assert f1_loss(spikes[:, :, D:], patterns[:, :, D:]).item() == pytest.approx(1 - f1, abs=1e-7)


def test_f1_loss_gradient_of_soft_counts():
    s = torch.tensor([1.0, 0.0, 1.0], requires_grad=True)
    y = torch.tensor([True, True, False])
    f1_loss(s, y).backward()          # F1 = 2 (s0 + s1) / (s0 + s1 + s2 + 2)
    assert torch.allclose(s.grad, torch.tensor([-6 / 16, -6 / 16, 2 / 16]))


def test_learning_rate_warmup_then_cosine():
    c = TrainConfig(lr=1e-2, lr_min=1e-4, warmup=4, epochs=40)
    lrs = [learning_rate(c, e) for e in range(1, 41)]
    assert lrs[:4] == pytest.approx([2.5e-3, 5e-3, 7.5e-3, 1e-2])
    assert lrs[4] == pytest.approx(1e-2)
    assert all(a > b for a, b in zip(lrs[4:], lrs[5:]))
    assert 1e-4 < lrs[-1] < 2e-4


def _config(**kw):
    base = dict(epochs=8, lr=5e-3, warmup=1, dropout=0.2, stop_f1=None, checkpoint_every=2, seed=3)
    return TrainConfig(**{**base, **kw})


def test_training_improves_eval_f1(patterns):
    W0 = hebbian_init(patterns, D=NET.D, gain=2.0)
    r = train(patterns, W0, _config(epochs=25, dropout=0.0, lr=1e-2, stop_f1=1.0), NET, progress=False)
    f1_init = r.history[0]["f1"]
    assert f1_init < 0.9
    assert r.best_f1 > f1_init + 0.1
    # best_W really is what the eval measured
    trials = make_trials(patterns, NET.D)
    sim = simulate(r.best_W, trials.inputs, trials.clamp, NET, progress=False)
    assert score(patterns, trials.extract(sim.raster), NET.D).pooled()["f1"] == pytest.approx(r.best_f1)


@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_deterministic_for_a_seed(patterns, optimizer):
    cfg = _config(epochs=3, optimizer=optimizer, lr=1e-3 if optimizer == "sgd" else 5e-3)
    a = train(patterns, None, cfg, NET, progress=False)
    b = train(patterns, None, cfg, NET, progress=False)
    c = train(patterns, None, _config(epochs=3, optimizer=optimizer, seed=4,
                                      lr=1e-3 if optimizer == "sgd" else 5e-3), NET, progress=False)
    assert torch.equal(a.W, b.W)
    assert not torch.equal(a.W, c.W)            # the seed drives the dropout masks
    assert not torch.equal(a.W, hebbian_init(patterns, D=NET.D))


def test_mask_freezes_entries(patterns):
    g = torch.Generator().manual_seed(0)
    mask = torch.rand(64, 64, 9, generator=g) < 0.5
    W0 = hebbian_init(patterns, D=NET.D) + 0.01 * torch.randn(64, 64, 9, generator=g)
    r = train(patterns, W0, _config(epochs=3), NET, mask=mask, progress=False)
    assert torch.equal(r.W[~mask], W0[~mask])
    assert (r.W[mask] != W0[mask]).float().mean() > 0.9
    with pytest.raises(ValueError, match="mask must have the shape of W"):
        train(patterns, W0, _config(epochs=1), NET, mask=mask[:, :, :3], progress=False)


@pytest.mark.slow            # several training runs
def test_files_checkpoint_and_resume_in_process(patterns, tmp_path):
    full = train(patterns, None, _config(), NET, out=tmp_path / "full", progress=False)
    part = train(patterns, None, _config(epochs=8), NET, out=tmp_path / "part", progress=False)
    assert torch.equal(part.W, full.W)
    hist = json.loads((tmp_path / "full" / "history.json").read_text())
    assert [h["epoch"] for h in hist["history"]] == list(range(9))
    assert len(hist["history"][3]["correct_steps"]) == 100 - 9
    assert (tmp_path / "full" / "training.png").stat().st_size > 10_000
    assert (tmp_path / "full" / "training.svg").exists()
    with np.load(tmp_path / "full" / "checkpoint.npz", allow_pickle=False) as data:
        assert {"W", "best_W", "rng_state", "opt.0.exp_avg", "opt.0.exp_avg_sq", "opt.0.step"} <= set(data.files)
    ckpt = load_checkpoint(tmp_path / "full" / "checkpoint.npz")
    assert ckpt["epoch"] == 8 and torch.equal(ckpt["W"], full.W)
    # resuming from a finished run changes nothing; a different config is refused
    again = train(patterns, None, _config(), NET, out=tmp_path / "full", resume=True, progress=False)
    assert torch.equal(again.W, full.W) and again.epochs == 8
    with pytest.raises(ValueError, match="cannot resume"):
        train(patterns, None, _config(lr=1e-3), NET, out=tmp_path / "full", resume=True, progress=False)


def test_config_validation():
    with pytest.raises(ValueError, match="optimizer must be one of"):
        TrainConfig(optimizer="adam")
    with pytest.raises(ValueError, match="dropout must be in"):
        TrainConfig(dropout=1.0)
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        TrainConfig(epochs=0)
