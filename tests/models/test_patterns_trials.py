"""Patterns, the trial protocol and the paper's trigger perturbations."""
import numpy as np
import torch

import hdsnn
from hdsnn.config import PatternConfig, TrialConfig
from hdsnn.models import (bernoulli_patterns, make_patterns, make_trials, perturb_cue,
                          sequential_trials, sparse_patterns)


def test_bernoulli_rate_and_seed():
    a = bernoulli_patterns(4, 200, 500, 0.01, seed=3)
    assert a.dtype == torch.bool and a.shape == (4, 200, 500)
    assert abs(a.float().mean().item() - 0.01) < 0.001
    assert torch.equal(a, bernoulli_patterns(4, 200, 500, 0.01, seed=3))
    assert not torch.equal(a, bernoulli_patterns(4, 200, 500, 0.01, seed=4))


def test_sparse_model_rate_and_refractory_period():
    r = sparse_patterns(3, 300, 1000, p_A=1e-3, E_S=4.0, p_SM=0.005, min_isi=4, seed=1)
    rate = r.float().mean().item()
    assert 0.003 < rate <= 0.005
    m, n, t = torch.nonzero(r, as_tuple=True)
    key = (m * 300 + n) * 1000 + t
    order = torch.argsort(key)
    same = (m[order][1:] == m[order][:-1]) & (n[order][1:] == n[order][:-1])
    gaps = (t[order][1:] - t[order][:-1])[same]
    assert gaps.numel() > 100 and int(gaps.min()) >= 4
    assert torch.equal(make_patterns(PatternConfig(M=3, N=300, T=1000, kind="sparse", seed=1)), r)


def test_trial_layout_clamp_mode():
    P = bernoulli_patterns(3, 20, 60, 0.1, seed=0)
    tr = make_trials(P, D=8, config=TrialConfig(pretime=5, posttime=7, seed=2))
    assert tr.inputs.shape == (3, 20, 72)
    assert tr.clamp[:, :13].all() and not tr.clamp[:, 13:].any()
    assert torch.equal(tr.inputs[:, :, 5:13], P[:, :, :8])            # the trigger window
    assert not tr.inputs[:, :, 13:65].any()                            # free run: no input
    assert torch.equal(tr.extract(tr.inputs)[:, :, :8], P[:, :, :8])


def test_or_mode_does_not_clamp():
    P = bernoulli_patterns(2, 10, 40, 0.1)
    tr = make_trials(P, D=5, config=TrialConfig(cue="or"))
    assert not tr.clamp.any() and torch.equal(tr.inputs[:, :, :5], P[:, :, :5])


def test_truncated_trigger_and_silenced_neurons():
    P = bernoulli_patterns(2, 30, 50, 0.3, seed=1)
    tr = make_trials(P, D=10, config=TrialConfig(trigger_steps=4))
    assert torch.equal(tr.inputs[:, :, :4], P[:, :, :4]) and not tr.inputs[:, :, 4:].any()
    assert tr.clamp[:, :4].all() and not tr.clamp[:, 4:].any()
    tr = make_trials(P, D=10, config=TrialConfig(silenced=12))
    assert not tr.inputs[:, :12, :10].any()
    assert torch.equal(tr.inputs[:, 12:, :10], P[:, 12:, :10])


def test_noise_redraw_keeps_rate_and_flip_inverts():
    cue = bernoulli_patterns(8, 200, 100, 0.02, seed=5)
    rng = np.random.default_rng(0)
    redrawn = perturb_cue(cue, 0.5, "redraw", rng)
    changed = (redrawn != cue).float().mean().item()
    assert 0.01 < changed < 0.03                                       # mostly deletions
    assert abs(redrawn.float().mean().item() - 0.02) < 0.002           # the rate is kept
    flipped = perturb_cue(cue, 0.25, "flip", np.random.default_rng(0))
    assert abs((flipped != cue).float().mean().item() - 0.25) < 0.01
    assert torch.equal(perturb_cue(cue, 0.0, "flip", rng), cue)


def test_noise_degrades_recall_monotonically(small_patterns):
    W = hdsnn.hebbian_init(small_patterns, D=21)
    f1 = [hdsnn.recall(W, small_patterns, trial=TrialConfig(p_flip=p, noise="flip", seed=1),
                       progress=False).scores.pooled()["f1"] for p in (0.0, 0.02, 0.5)]
    assert f1[0] > 0.99 and f1[2] < 0.2 and f1[0] >= f1[1] >= f1[2]


def test_sequential_trials_chain_patterns(small_patterns):
    W = hdsnn.hebbian_init(small_patterns, D=21)
    seq = hdsnn.recall(W, small_patterns, trial=TrialConfig(pretime=50, posttime=50),
                       sequential=True, progress=False)
    batch = hdsnn.recall(W, small_patterns, progress=False)
    assert seq.full.shape == (1, 512, 4 * 400)
    assert seq.scores.pooled()["f1"] > 0.98
    assert abs(seq.scores.pooled()["f1"] - batch.scores.pooled()["f1"]) < 0.01
    tr = sequential_trials(small_patterns, 21, TrialConfig(pretime=50, posttime=50))
    assert [s for _, s in tr.onsets] == [50, 450, 850, 1250]
