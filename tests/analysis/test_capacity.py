"""Gardner's bound: against direct quadrature of its integrals and a grid over the threshold."""
import math
import re

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import norm

from hdsnn.analysis import gardner_capacity, load, max_patterns


def inverse_by_quadrature(f, kappa):
    """``min_v f I(kappa+v) + (1-f) I(kappa-v)`` with ``I`` integrated numerically, ``v`` on a fine grid."""
    I = lambda x: quad(lambda z: (z + x) ** 2 * norm.pdf(z), -x, np.inf)[0]
    grid = np.linspace(-1.0, 8.0, 91)
    costs = [f * I(kappa + v) + (1 - f) * I(kappa - v) for v in grid]
    k = int(np.argmin(costs))
    fine = np.linspace(grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)], 41)
    return min(f * I(kappa + v) + (1 - f) * I(kappa - v) for v in fine)


@pytest.mark.parametrize("f, kappa", [(1e-3, 0.0), pytest.param(0.5, 1.0, marks=pytest.mark.slow),
                                      pytest.param(0.1, 2.0, marks=pytest.mark.slow)])
def test_matches_quadrature(f, kappa):
    assert gardner_capacity(f, kappa) == pytest.approx(1 / inverse_by_quadrature(f, kappa), rel=1e-4)


def test_known_values():
    assert gardner_capacity(0.5) == pytest.approx(2.0, abs=1e-9)                   # Cover / Gardner
    # f = 1/2: the optimal threshold is 0 and alpha_c = 1 / I(kappa)
    assert gardner_capacity(0.5, 1.0) == pytest.approx(1 / (2 * norm.cdf(1) + norm.pdf(1)), rel=1e-9)
    assert gardner_capacity(1e-3) == pytest.approx(118.85, abs=0.01)


def test_bound_falls_with_margin_and_coding_level():
    a = [gardner_capacity(1e-3, k) for k in (0.0, 0.5, 1.0, 2.0)]
    assert all(x > y for x, y in zip(a, a[1:]))
    assert gardner_capacity(5e-4) > gardner_capacity(1e-3) > gardner_capacity(2e-3)
    assert gardner_capacity(0.2) == pytest.approx(gardner_capacity(0.8))            # spikes and silences swap


def test_patterns_and_load_are_each_others_inverse():
    M = max_patterns(N=1024, D=41, T=1000, f=1e-3)
    assert load(M=round(M), N=1024, D=41, T=1000) == pytest.approx(gardner_capacity(1e-3), rel=1e-3)
    assert max_patterns(2048, 41, 1000, 1e-3) == pytest.approx(2 * M)


@pytest.mark.parametrize("call, msg", [
    (lambda: gardner_capacity(0.0), "f must be in (0.0, 1.0); got 0.0"),
    (lambda: gardner_capacity(1e-3, kappa=-1), "kappa must be in [0.0, inf]; got -1.0"),
    (lambda: max_patterns(256, 41, 41, 1e-3), "D (41) must be smaller than T (41)"),
    (lambda: load(1.5, 256, 41, 1000), "M must be an integer; got 1.5 (float)"),
])
def test_bad_input(call, msg):
    with pytest.raises(ValueError, match=re.escape(msg)):
        call()
