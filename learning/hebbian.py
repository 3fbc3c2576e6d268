"""Analytic Hebbian (STDP-equivalent) initialisation of the delay weights.

    W[j, i, d-1] = g / (N * D * p) * sum_mu sum_{t >= D} I*_j(t) * s_i(t-d)
    I*_j(t) = s_j(t) - beta * s_j(t-1)

``p`` is the empirical firing probability of the patterns, so ``N*D*p`` is the
expected number of active entries in a context window: a target spike then
receives an input close to ``g`` whatever the number of patterns M. (Dividing
by a count that grows with M, as the paper's reference notebook does, makes
the input shrink as M grows and silences the network.)

The sum runs over pre/post spike pairs within D steps only: it is the product
of two sparse matrices (:mod:`hdsnn.learning.context`).
"""
from __future__ import annotations

import numpy as np
import torch

from hdsnn.validation import check_allocation, check_real

from .context import check_patterns, context_matrix, deconvolved_target, dense_context

__all__ = ["hebbian_init", "hebbian_init_dense", "masked_hebbian_init", "hebbian_scale", "DEFAULT_GAIN"]

#: Default gain g, measured by ``python -m paper.gain_scan`` on the paper benchmark
#: (N=1024, T=1000, D=41, p_A=1e-3): the gain with the best worst-case pooled F1
#: over M=16 and M=64 (0.9994 and 0.9984; M=64 runs away from g=3.25 on).
#: Results in paper/results/gain_scan.json.
DEFAULT_GAIN = 2.5


def check_float_dtype(name: str, dtype) -> torch.dtype:
    """A floating torch dtype (float16, bfloat16, float32 or float64).

    Examples
    --------
    >>> check_float_dtype("dtype", torch.int32)
    Traceback (most recent call last):
    ...
    ValueError: dtype must be a floating torch dtype (torch.float32, torch.float64, torch.float16, torch.bfloat16); got torch.int32
    """
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ValueError(f"{name} must be a floating torch dtype (torch.float32, torch.float64, torch.float16, "
                         f"torch.bfloat16); got {dtype!r}")
    return dtype


def check_weight_memory(N: int, D: int, dtype: torch.dtype, method: str, extra_bytes: int = 0) -> int:
    """Refuse, before allocating, a rule whose W ``(N, N, D)`` plus ``extra_bytes`` exceed the memory budget."""
    itemsize = torch.empty((), dtype=dtype).element_size()
    return check_allocation(f"{method} weights W of N={N} x N={N} x D={D} ({dtype}) and their work arrays",
                            N * N * D * itemsize + extra_bytes,
                            hint="reduce N or D, or learn on a mask (hdsnn train --p-connect)")


def hebbian_scale(raster, N: int, D: int, gain: float) -> float:
    """The Hebbian normalisation ``g / (N D p)``, ``p`` the patterns' firing probability."""
    p = float(raster.float().mean())
    if p == 0.0:
        raise ValueError("raster has no spikes: the weights are normalised by the firing probability")
    return gain / (N * D * p)


def hebbian_init(raster, D: int = 41, beta: float = 0.7, gain: float = DEFAULT_GAIN,
                 dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Hebbian weights from spike pairs.

    Parameters
    ----------
    raster : bool array ``(M, N, T)``
        Target patterns.
    D : int
        Number of delays (``1 <= D < T``).
    beta : float
        Leak of the neuron model, used in the deconvolved target.
    gain : float
        Gain ``g`` (> 0): the input a target spike receives when its context is typical.
    dtype : torch.dtype
        Result dtype (float32 by default).

    Returns
    -------
    torch.Tensor
        ``W`` of shape ``(N, N, D)``, index ``[post, pre, delay-1]``.

    Examples
    --------
    >>> from hdsnn.models import bernoulli_patterns
    >>> W = hebbian_init(bernoulli_patterns(2, 20, 100, 0.05, seed=0), D=5)
    >>> W.shape, W.dtype
    (torch.Size([20, 20, 5]), torch.float32)
    """
    raster, D = check_patterns(raster, D)
    beta = check_real("beta", beta, 0.0, 1.0, open_max=True)
    gain = check_real("gain", gain, 0.0, open_min=True)
    dtype = check_float_dtype("dtype", dtype)
    M, N, T = raster.shape
    spikes = int(raster.sum())
    # pre/post pairs: at most N*N*D, and at most (2 spikes per target entry) x (context spikes); 32 bytes each
    n_pairs = min(N * N * D, 2 * spikes * min(N * D, spikes))
    check_weight_memory(N, D, dtype, "Hebbian", 32 * n_pairs)
    pairs = (deconvolved_target(raster, D, beta).T @ context_matrix(raster, D)).tocoo()  # (N, N*D)
    W = torch.zeros(N * N * D, dtype=dtype)
    flat = torch.from_numpy(pairs.row.astype(np.int64) * (N * D) + pairs.col)
    W[flat] = torch.from_numpy(pairs.data * hebbian_scale(raster, N, D, gain)).to(dtype)
    return W.reshape(N, N, D)


def hebbian_init_dense(raster, D: int = 41, beta: float = 0.7, gain: float = DEFAULT_GAIN,
                       dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The same rule from dense unfolded contexts (reference for tests and benchmarks).

    Costs ``M * (T-D) * N * N * D`` multiply-adds.

    Examples
    --------
    >>> from hdsnn.models import bernoulli_patterns
    >>> r = bernoulli_patterns(2, 20, 100, 0.05, seed=0)
    >>> torch.allclose(hebbian_init_dense(r, D=5), hebbian_init(r, D=5))
    True
    """
    raster, D = check_patterns(raster, D)
    beta = check_real("beta", beta, 0.0, 1.0, open_max=True)
    gain = check_real("gain", gain, 0.0, open_min=True)
    dtype = check_float_dtype("dtype", dtype)
    M, N, T = raster.shape
    check_weight_memory(N, D, dtype, "Hebbian (dense)", N * N * D * 8 + (T - D) * N * D * 8)
    acc = torch.zeros(N, N * D, dtype=torch.float64)
    for mu in range(M):
        x = raster[mu].to(torch.float64)
        target = x[:, D:] - beta * x[:, D - 1:T - 1]              # (N, T-D)
        acc += target @ dense_context(raster[mu:mu + 1], D)[0].to(torch.float64)
    return (acc * hebbian_scale(raster, N, D, gain)).to(dtype).reshape(N, N, D)


def masked_hebbian_init(raster, mask, beta: float = 0.7, gain: float | None = None,
                        compensate: bool = True) -> torch.Tensor:
    """Hebbian weights restricted to the synapses of a mask.

    ``hebbian_init`` on all ``N x N x D`` entries, then zero outside the
    mask. With ``compensate`` the kept weights are divided by the fraction of
    entries the mask keeps, so that a target spike still receives an input
    close to the gain (the rule's normalisation assumes every channel exists).

    Parameters
    ----------
    raster : bool array ``(M, N, T)``
    mask : bool tensor ``(N, N, D)``
    beta, gain : float
        As for :func:`hdsnn.learning.hebbian_init` (gain: its default).
    compensate : bool

    Examples
    --------
    >>> from hdsnn.models import bernoulli_patterns, random_mask
    >>> P = bernoulli_patterns(2, 30, 100, 0.05, seed=0)
    >>> m = random_mask(30, 8, p_connect=0.5, seed=0)
    >>> W = masked_hebbian_init(P, m)
    >>> bool((W[~m] == 0).all())
    True
    """
    mask = torch.as_tensor(mask).to(torch.bool)
    if mask.ndim != 3 or mask.shape[0] != mask.shape[1]:
        raise ValueError(f"mask must have shape (N, N, D); got {tuple(mask.shape)}")
    density = float(mask.float().mean())
    if density == 0.0:
        raise ValueError("mask has no synapse")
    W = hebbian_init(raster, D=mask.shape[2], beta=beta, gain=DEFAULT_GAIN if gain is None else gain)
    if W.shape != mask.shape:
        raise ValueError(f"mask has shape {tuple(mask.shape)} but the patterns give W of shape {tuple(W.shape)}")
    W = W * mask
    return W / density if compensate else W
