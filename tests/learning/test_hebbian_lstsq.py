"""Analytic rules: pair-based Hebbian equals the dense formula; least squares is exact."""
import numpy as np
import pytest
import torch

import hdsnn
from hdsnn.learning import (context_matrix, deconvolved_target, dense_context, hebbian_init,
                            hebbian_init_dense, least_squares_init, least_squares_pinv)
from hdsnn.models import bernoulli_patterns


def test_context_matrix_equals_dense_unfolding():
    r = bernoulli_patterns(3, 15, 60, 0.1, seed=4)
    C = context_matrix(r, 6).toarray()
    assert np.array_equal(C, dense_context(r, 6).reshape(-1, 15 * 6).numpy())
    # entry (window t, neuron i, delay d) is s_i(t-d): check one by hand
    mu, i, t0 = [int(x) for x in torch.nonzero(r)[5]]
    for d in range(1, 7):
        t = t0 + d
        if 6 <= t < 60:
            assert C[mu * (60 - 6) + t - 6, i * 6 + d - 1] == 1


@pytest.mark.parametrize("beta", [0.0, 0.7])
def test_hebbian_pairs_equal_dense_formula(beta):
    r = bernoulli_patterns(4, 30, 120, 0.05, seed=2)
    W = hebbian_init(r, D=9, beta=beta, gain=1.7, dtype=torch.float64)
    ref = hebbian_init_dense(r, D=9, beta=beta, gain=1.7, dtype=torch.float64)
    assert (W != 0).sum() > 100
    torch.testing.assert_close(W, ref, rtol=1e-12, atol=1e-12)


def test_hebbian_by_hand():
    # post neuron 1 spikes at t=4, pre neuron 0 at t=2 (delay 2) and t=3 (delay 1)
    r = torch.zeros(1, 2, 8, dtype=torch.bool)
    r[0, 0, 2] = r[0, 0, 3] = r[0, 1, 4] = True
    W = hebbian_init(r, D=3, beta=0.5, gain=1.0, dtype=torch.float64)
    scale = 1.0 / (2 * 3 * (3 / 16))
    expected = torch.zeros(2, 2, 3, dtype=torch.float64)
    expected[1, 0, 1] += scale          # +1 at t=4 for pre at t-2
    expected[1, 0, 0] += scale          # +1 at t=4 for pre at t-1
    expected[1, 0, 2] += -0.5 * scale   # -beta at t=5 for pre at t-3 (t=2)
    expected[1, 0, 1] += -0.5 * scale   # -beta at t=5 for pre at t-2 (t=3)
    expected[1, 1, 0] += -0.5 * scale   # -beta at t=5 for post itself at t-1 (t=4)
    expected[0, 0, 0] += 0.5 * scale    # I*_0(3) = 1 - beta (it also fired at t=2), pre itself at t=2
    expected[0, 0, 0] += -0.5 * scale   # -beta at t=4 after itself at t=3
    expected[0, 0, 1] += -0.5 * scale   # -beta at t=4 after itself at t=2
    torch.testing.assert_close(W, expected)


def test_normalisation_does_not_grow_with_M():
    r = bernoulli_patterns(3, 40, 100, 0.05, seed=9)
    W1 = hebbian_init(r, D=8, dtype=torch.float64)
    W2 = hebbian_init(torch.cat([r, r, r, r]), D=8, dtype=torch.float64)
    # four copies: the same firing probability, four times the pair counts
    torch.testing.assert_close(W2, 4 * W1)


def test_hebbian_recalls_small_benchmark(small_patterns):
    result = hdsnn.recall(hebbian_init(small_patterns, D=21), small_patterns, progress=False)
    assert result.scores.pooled()["f1"] >= 0.99


def test_least_squares_satisfies_normal_equations():
    r = bernoulli_patterns(2, 25, 80, 0.06, seed=5)
    D = 6
    W = least_squares_init(r, D=D, gain=2.0, tol=1e-10, dtype=torch.float64, progress=False)
    C = context_matrix(r, D)
    B = deconvolved_target(r, D, 0.7).toarray() * 2.0
    X = W.reshape(25, 25 * D).numpy().T
    grad = C.T @ (C @ X - B)
    assert np.abs(grad).max() < 1e-7 * max(1.0, np.abs(C.T @ B).max())
    # underdetermined here (N*D = 150 unknowns, 148 windows): the fit is exact
    assert np.abs(C @ X - B).max() < 1e-6


def test_least_squares_is_the_minimum_norm_solution():
    r = bernoulli_patterns(1, 10, 40, 0.12, seed=8)
    W = least_squares_init(r, D=5, tol=1e-12, dtype=torch.float64, progress=False)
    torch.testing.assert_close(W, least_squares_pinv(r, D=5), rtol=1e-6, atol=1e-8)


@pytest.mark.slow            # a CGLS solve and a recall
def test_least_squares_recalls(small_patterns):
    W = least_squares_init(small_patterns, D=21, progress=False)
    assert hdsnn.recall(W, small_patterns, progress=False).scores.pooled()["f1"] >= 0.99
