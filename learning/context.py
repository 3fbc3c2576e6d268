"""Sparse building blocks of the analytic rules: context windows and regression targets.

For pattern ``mu`` and step ``t >= D`` the *context* is the binary vector of
the ``N*D`` entries ``s_i(t-d)`` (column ``i*D + d-1``), and the regression
target is the deconvolved spike train ``I*_j(t) = s_j(t) - beta * s_j(t-1)``.
Both are built directly from the list of spikes, so their size follows the
number of spikes, never ``N x N x D x T``.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from hdsnn.validation import check_int, check_raster, check_real

__all__ = ["context_matrix", "deconvolved_target", "dense_context", "check_patterns"]


def check_patterns(raster, D):
    """Check target patterns ``(M, N, T)`` and a number of delays ``1 <= D < T``; returns them."""
    raster = check_raster("raster", raster)
    D = check_int("D", D, minimum=1)
    M, N, T = raster.shape
    if D >= T:
        raise ValueError(f"D ({D} delays) must be smaller than T ({T} steps per pattern)")
    return raster, D


def context_matrix(raster, D: int) -> sp.csr_matrix:
    """Sparse context matrix ``C`` of shape ``(M*(T-D), N*D)``.

    Row ``mu*(T-D) + (t-D)`` holds the context of step ``t`` of pattern ``mu``;
    column ``i*D + d-1`` is 1 when neuron ``i`` spiked at ``t-d``.

    Examples
    --------
    >>> r = torch.zeros(1, 2, 5, dtype=torch.bool); r[0, 1, 1] = True
    >>> context_matrix(r, D=2).toarray().astype(int).tolist()   # t=2: (1, d=1); t=3: (1, d=2)
    [[0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]]
    """
    raster, D = check_patterns(raster, D)
    M, N, T = raster.shape
    mu, i, t0 = (x.numpy() for x in torch.nonzero(raster, as_tuple=True))
    d = np.arange(1, D + 1)
    t = t0[:, None] + d[None, :]                       # steps whose context holds the spike
    keep = (t >= D) & (t < T)
    rows = (mu[:, None] * (T - D) + t - D)[keep]
    cols = (i[:, None] * D + d[None, :] - 1)[keep]
    data = np.ones(rows.size, dtype=np.float64)
    return sp.csr_matrix((data, (rows, cols)), shape=(M * (T - D), N * D))


def deconvolved_target(raster, D: int, beta: float = 0.7) -> sp.csr_matrix:
    """Sparse regression target ``I*`` of shape ``(M*(T-D), N)``.

    ``I*_j(t) = s_j(t) - beta * s_j(t-1)`` for ``t = D .. T-1``, rows ordered as
    in :func:`context_matrix`.

    Examples
    --------
    >>> r = torch.zeros(1, 1, 5, dtype=torch.bool); r[0, 0, 2] = True
    >>> deconvolved_target(r, D=2, beta=0.5).toarray().ravel().tolist()
    [1.0, -0.5, 0.0]
    """
    raster, D = check_patterns(raster, D)
    beta = check_real("beta", beta, 0.0, 1.0, open_max=True)
    M, N, T = raster.shape
    mu, j, t = (x.numpy() for x in torch.nonzero(raster, as_tuple=True))
    rows, cols, vals = [], [], []
    for shift, value in ((0, 1.0), (1, -beta)):
        tt = t + shift
        keep = (tt >= D) & (tt < T)
        rows.append(mu[keep] * (T - D) + tt[keep] - D)
        cols.append(j[keep])
        vals.append(np.full(int(keep.sum()), value))
    rows, cols, vals = map(np.concatenate, (rows, cols, vals))
    return sp.csr_matrix((vals, (rows, cols)), shape=(M * (T - D), N))


def dense_context(raster, D: int) -> torch.Tensor:
    """Dense context ``(M, T-D, N*D)`` float tensor, the unfolded reference (tests, benchmarks).

    Examples
    --------
    >>> r = torch.zeros(1, 2, 5, dtype=torch.bool); r[0, 1, 1] = True
    >>> dense_context(r, 2)[0].int().tolist()
    [[0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]]
    """
    raster, D = check_patterns(raster, D)
    M, N, T = raster.shape
    x = raster.float()
    # window starting at t-D: x[..., t-D : t]; reversed so index d-1 is step t-d
    win = x.unfold(2, D, 1)[:, :, : T - D].flip(-1)      # (M, N, T-D, D)
    return win.permute(0, 2, 1, 3).reshape(M, T - D, N * D)
