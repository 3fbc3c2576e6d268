"""Exact least-squares weights: the minimum-norm solution of ``W C = g I*``.

Every context window of every pattern gives one equation per postsynaptic
neuron: the input ``sum_{i,d} W[j, i, d-1] s_i(t-d)`` should equal the
deconvolved target ``g * I*_j(t)``. With ``N*D`` unknowns per neuron and
``M*(T-D)`` windows the system is usually underdetermined and then has exact
solutions; CGLS started from zero converges to the one of minimum norm (and
to the minimum-norm least-squares solution when no exact one exists).

All N postsynaptic neurons share the context matrix, so they are solved
together: a block CGLS with one step size per column, on the sparse context.
"""
from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from hdsnn.validation import check_int, check_real

from .hebbian import check_float_dtype, check_weight_memory
from .context import check_patterns, context_matrix, deconvolved_target, dense_context

__all__ = ["least_squares_init", "least_squares_pinv", "LSTSQ_GAIN"]

#: Default target gain: input ``g`` at a target spike, 0 elsewhere, so the
#: threshold theta = 1 sits half-way between the two.
LSTSQ_GAIN = 2.0


def least_squares_init(raster, D: int = 41, beta: float = 0.7, gain: float = LSTSQ_GAIN, *,
                       tol: float = 1e-8, max_iter: int = 500, dtype: torch.dtype = torch.float32,
                       progress: bool | None = None) -> torch.Tensor:
    """Minimum-norm least-squares weights by block CGLS on the sparse contexts.

    Parameters
    ----------
    raster : bool array ``(M, N, T)``
        Target patterns.
    D, beta, gain :
        Delays, leak used in the deconvolved target, target gain.
    tol : float
        Stop when every column's normal-equation residual ``||C^T (C x - b)||``
        falls below ``tol * ||C^T b||``.
    max_iter : int
        Iteration limit.
    dtype : torch.dtype
        Result dtype (the solve runs in float64).
    progress : bool or None
        Progress bar (None: only on a terminal).

    Returns
    -------
    torch.Tensor
        ``W`` of shape ``(N, N, D)``.

    Examples
    --------
    >>> from hdsnn.models import bernoulli_patterns
    >>> r = bernoulli_patterns(1, 12, 40, 0.1, seed=2)
    >>> W = least_squares_init(r, D=4, progress=False)
    >>> torch.allclose(W.double(), least_squares_pinv(r, D=4), atol=1e-5)
    True
    """
    raster, D = check_patterns(raster, D)
    beta = check_real("beta", beta, 0.0, 1.0, open_max=True)
    gain = check_real("gain", gain, 0.0, open_min=True)
    tol = check_real("tol", tol, 0.0, open_min=True)
    max_iter = check_int("max_iter", max_iter, minimum=1)
    dtype = check_float_dtype("dtype", dtype)
    M, N, T = raster.shape
    # float64 X, S and P of (N*D, N); B, residual and Q of (M*(T-D), N)
    check_weight_memory(N, D, dtype, "least-squares", 3 * N * N * D * 8 + 3 * M * (T - D) * N * 8)
    C = context_matrix(raster, D)                      # (R, N*D)
    Ct = C.T.tocsr()
    B = (deconvolved_target(raster, D, beta) * gain).toarray()   # (R, N)
    X = np.zeros((N * D, N))
    residual = B
    S = Ct @ residual
    P = S.copy()
    gamma = np.einsum("ij,ij->j", S, S)
    stop = (tol * np.sqrt(gamma)) ** 2
    bar = tqdm(range(max_iter), desc="least squares (CGLS)", leave=False,
               disable=None if progress is None else not progress)
    for _ in bar:
        active = gamma > stop
        if not active.any():
            break
        Q = C @ P
        qq = np.einsum("ij,ij->j", Q, Q)
        alpha = np.where(active & (qq > 0), gamma / np.where(qq > 0, qq, 1.0), 0.0)
        X += P * alpha
        residual = residual - Q * alpha
        S = Ct @ residual
        gamma_new = np.einsum("ij,ij->j", S, S)
        P = S + P * np.where(gamma > 0, gamma_new / np.where(gamma > 0, gamma, 1.0), 0.0)
        gamma = gamma_new
        bar.set_postfix(residual=float(np.sqrt(gamma.max())))
    return torch.from_numpy(X.T.copy()).to(dtype).reshape(N, N, D)


def least_squares_pinv(raster, D: int = 41, beta: float = 0.7, gain: float = LSTSQ_GAIN) -> torch.Tensor:
    """Dense pseudo-inverse solution (float64), a test oracle for tiny problems only.

    Examples
    --------
    >>> from hdsnn.models import bernoulli_patterns
    >>> least_squares_pinv(bernoulli_patterns(1, 6, 30, 0.1), D=3).shape
    torch.Size([6, 6, 3])
    """
    raster, D = check_patterns(raster, D)
    M, N, T = raster.shape
    if N * D > 4096 or M * (T - D) > 4096:
        raise ValueError(f"least_squares_pinv is for tiny problems (N*D and M*(T-D) <= 4096); "
                         f"got N*D={N * D}, M*(T-D)={M * (T - D)}")
    C = dense_context(raster, D).reshape(M * (T - D), N * D).double()
    B = torch.from_numpy(deconvolved_target(raster, D, beta).toarray()) * gain
    return (torch.linalg.pinv(C) @ B).T.reshape(N, N, D)
