"""Scores with a timing tolerance (one-to-one matching), as the Brian2 neuron models use them."""
import pytest
import torch

from hdsnn.analysis import score, tolerant_score
from hdsnn.models import bernoulli_patterns


def test_zero_tolerance_equals_exact_scores():
    target = bernoulli_patterns(3, 40, 200, 0.05, seed=1)
    recalled = bernoulli_patterns(3, 40, 200, 0.05, seed=2) | (target & bernoulli_patterns(3, 40, 200, 0.7, seed=3))
    exact, tol = score(target, recalled, D=20), tolerant_score(target, recalled, D=20, k=0)
    assert (exact.tp == tol.tp).all() and (exact.fp == tol.fp).all() and (exact.fn == tol.fn).all()


def test_jittered_spikes_match_within_tolerance_only():
    target = bernoulli_patterns(2, 50, 300, 0.02, seed=4)
    shifted = torch.roll(target, 2, dims=2)
    near = tolerant_score(target, shifted, D=10, k=1).pooled()
    assert near["tp"] < 0.1 * (near["tp"] + near["fn"])     # chance coincidences only
    s = tolerant_score(target, shifted, D=10, k=2)
    assert s.pooled()["f1"] > 0.97           # only the spikes at the window edges are lost


def _train(times, T=30):
    r = torch.zeros(1, 1, T, dtype=torch.bool)
    r[0, 0, times] = True
    return r


def test_matching_is_one_to_one():
    assert int(tolerant_score(_train([11]), _train([10, 11, 12]), D=2, k=1).tp[0]) == 1
    target = torch.zeros(1, 1, 30, dtype=torch.bool); target[0, 0, 15] = True
    burst = torch.zeros_like(target); burst[0, 0, 14:17] = True
    s = tolerant_score(target, burst, D=5, k=1)
    assert (int(s.tp[0]), int(s.fp[0]), int(s.fn[0])) == (1, 2, 0)
    # the matching is maximal where a naive nearest match is not
    assert int(tolerant_score(_train([5, 7]), _train([4, 6]), D=2, k=1).tp[0]) == 2


def test_shapes_and_k_are_validated():
    a = torch.zeros(1, 2, 10, dtype=torch.bool)
    with pytest.raises(ValueError, match="same shape"):
        tolerant_score(torch.zeros(1, 3, 10, dtype=torch.bool), a, D=2)
    with pytest.raises(ValueError, match="k"):
        tolerant_score(a, a, D=2, k=-1)
