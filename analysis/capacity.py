r"""Capacity bounds: how many patterns a delayed recurrent network can store.

Each neuron of the network is a perceptron: at every free-run step ``t`` of a
pattern its membrane (a linear function of its ``N D`` incoming weights) must
lie above threshold where the target spikes and below it elsewhere, so a load
of ``M`` patterns is ``M (T - D)`` constraints on ``N D`` weights, a load
``alpha = M (T - D) / (N D)`` with output coding level ``f = p_A`` (the
fraction of steps with a spike).

Gardner (1988, J Phys A 21:257) computed the largest load at which random
constraints of coding level ``f`` can still all be met with a margin
``kappa`` (in units of the field's standard deviation, weights normalised to
``|w|^2 = N D``) when the threshold is free:

    1 / alpha_c(f, kappa) = min_v [ f I(kappa + v) + (1 - f) I(kappa - v) ],
    I(x) = int_{-x}^{inf} Dz (z + x)^2 = (1 + x^2) Phi(x) + x phi(x),

with ``Dz`` the standard Gaussian measure, ``Phi`` and ``phi`` its cumulative
distribution and density, and ``v`` the optimal threshold offset. At
``f = 1/2, kappa = 0`` this is the classic ``alpha_c = 2``; at ``f = 1e-3``,
``alpha_c = 118.8`` (45.96 at ``kappa = 1``, 23.5 at ``kappa = 2``). The most
patterns a network of ``N`` neurons with ``D`` delays can hold is then

    M_max = alpha_c(f, kappa) N D / (T - D).

Examples
--------
>>> round(gardner_capacity(0.5), 6)
2.0
>>> round(gardner_capacity(1e-3), 1), round(gardner_capacity(1e-3, kappa=1.0), 2)
(118.8, 45.96)
>>> round(max_patterns(N=1024, D=41, T=1000, f=1e-3))
5203
"""
from __future__ import annotations

import math

from scipy.optimize import minimize_scalar
from scipy.stats import norm

from hdsnn.validation import check_int, check_real

__all__ = ["gardner_capacity", "max_patterns", "load"]


def _second_moment(x: float) -> float:
    """``I(x) = int_{-x}^inf Dz (z + x)^2``."""
    return (1.0 + x * x) * norm.cdf(x) + x * norm.pdf(x)


def gardner_capacity(f: float, kappa: float = 0.0) -> float:
    """Gardner's critical load ``alpha_c(f, kappa)`` of a perceptron with a free threshold.

    Parameters
    ----------
    f : float
        Output coding level, the fraction of constraints that ask for a spike (0 < f < 1).
    kappa : float
        Margin in Gardner's normalisation (>= 0).

    Returns
    -------
    float
        The largest ``alpha = constraints / weights`` at which the constraints can all be met.

    Raises
    ------
    ValueError
        ``f`` outside (0, 1) or ``kappa`` negative.

    Examples
    --------
    >>> gardner_capacity(1e-3) > gardner_capacity(1e-3, kappa=0.5) > gardner_capacity(1e-2)
    True
    """
    f = check_real("f", f, 0.0, 1.0, open_min=True, open_max=True)
    kappa = check_real("kappa", kappa, 0.0)
    cost = lambda v: f * _second_moment(kappa + v) + (1.0 - f) * _second_moment(kappa - v)
    # the optimal offset lies between 0 (f = 1/2) and a few standard deviations plus the margin
    span = 10.0 + kappa + math.sqrt(2.0 * abs(math.log(min(f, 1 - f))))
    best = minimize_scalar(cost, bounds=(-span, span), method="bounded", options={"xatol": 1e-12})
    return 1.0 / float(best.fun)


def load(M: int, N: int, D: int, T: int) -> float:
    """The load ``alpha = M (T - D) / (N D)``: constraints per weight of one neuron.

    Examples
    --------
    >>> round(load(M=16, N=1024, D=41, T=1000), 4)
    0.3655
    """
    M = check_int("M", M, minimum=0)
    N, D, T = _sizes(N, D, T)
    return M * (T - D) / (N * D)


def max_patterns(N: int, D: int, T: int, f: float, kappa: float = 0.0) -> float:
    """Gardner's bound on the number of stored patterns, ``alpha_c(f, kappa) N D / (T - D)``.

    Raises
    ------
    ValueError
        Sizes that are not positive integers, ``D >= T``, or a bad ``f`` or ``kappa``.

    Examples
    --------
    >>> round(max_patterns(N=256, D=41, T=1000, f=1e-3))
    1301
    """
    N, D, T = _sizes(N, D, T)
    return gardner_capacity(f, kappa) * N * D / (T - D)


def _sizes(N, D, T):
    N, D, T = check_int("N", N, minimum=1), check_int("D", D, minimum=1), check_int("T", T, minimum=2)
    if D >= T:
        raise ValueError(f"D ({D}) must be smaller than T ({T})")
    return N, D, T
