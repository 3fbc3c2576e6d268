"""Target spike patterns: Bernoulli rasters and the paper's sparse generative model.

A raster is a ``bool`` tensor of shape ``(M, N, T)``: pattern, neuron, time step.
"""
from __future__ import annotations

import numpy as np
import torch

from hdsnn.config import PatternConfig
from hdsnn.validation import check_allocation

__all__ = ["bernoulli_patterns", "sparse_patterns", "make_patterns", "firing_probability"]

#: Bytes per (pattern, neuron, step) entry while generating: float32 draws and the bool raster
#: (Bernoulli); float32 evidence, probabilities and draws, bool candidates and raster (sparse).
BYTES_PER_ENTRY = {"bernoulli": 4 + 1, "sparse": 4 + 8 + 4 + 1 + 1 + 1}


def _check_size(cfg: PatternConfig) -> None:
    entries = cfg.M * cfg.N * cfg.T
    check_allocation(f"{cfg.kind} patterns of M={cfg.M} x N={cfg.N} x T={cfg.T}",
                     entries * BYTES_PER_ENTRY[cfg.kind],
                     hint="reduce M, N or T")


def bernoulli_patterns(M: int, N: int, T: int, p_A: float = 1e-3, seed: int = 0) -> torch.Tensor:
    """Independent Bernoulli(p_A) spikes for every pattern, neuron and step.

    Parameters
    ----------
    M, N, T : int
        Patterns, neurons, time steps.
    p_A : float
        Firing probability per neuron per step, in (0, 1).
    seed : int
        Seed; the same seed gives the same rasters on every machine.

    Returns
    -------
    torch.Tensor
        ``bool`` raster of shape ``(M, N, T)``.

    Examples
    --------
    >>> r = bernoulli_patterns(2, 100, 1000, p_A=0.01, seed=1)
    >>> r.shape, r.dtype
    (torch.Size([2, 100, 1000]), torch.bool)
    >>> 0.008 < r.float().mean().item() < 0.012
    True
    """
    cfg = PatternConfig(M=M, N=N, T=T, p_A=p_A, seed=seed)
    _check_size(cfg)
    rng = np.random.default_rng(cfg.seed)
    raster = rng.random((cfg.M, cfg.N, cfg.T), dtype=np.float32) < np.float32(cfg.p_A)
    return torch.from_numpy(raster)


def sparse_patterns(
    M: int,
    N: int,
    T: int,
    p_A: float = 1e-3,
    E_S: float = 4.0,
    p_SM: float = 0.005,
    min_isi: int = 4,
    seed: int = 0,
) -> torch.Tensor:
    """The paper's sparse generative model with a refractory period.

    Each (neuron, step) entry gets a logit evidence ``e ~ N(0, E_S)`` (``E_S``
    is the standard deviation) and a firing probability
    ``q = sigmoid(logit(p_A) + e)``. Spikes are Bernoulli(q) draws among the
    entries whose evidence is in the top ``p_SM`` fraction of the pattern; a
    neuron's spikes closer than ``min_isi`` steps to its previous kept spike
    are then removed (refractory period). This is our reading of the paper's
    description; the resulting rate is close to ``p_SM``.

    Examples
    --------
    >>> r = sparse_patterns(2, 200, 500, seed=3)
    >>> isi = [torch.diff(torch.nonzero(r[m, n]).flatten()) for m in range(2) for n in range(200)]
    >>> int(min(int(x.min()) for x in isi if len(x))) >= 4
    True
    """
    cfg = PatternConfig(M=M, N=N, T=T, p_A=p_A, kind="sparse", E_S=E_S, p_SM=p_SM,
                        min_isi=min_isi, seed=seed)
    _check_size(cfg)
    rng = np.random.default_rng(cfg.seed)
    evidence = rng.normal(0.0, cfg.E_S, (cfg.M, cfg.N, cfg.T)).astype(np.float32)
    logit = np.log(cfg.p_A / (1.0 - cfg.p_A))
    q = 1.0 / (1.0 + np.exp(-(logit + evidence)))
    draws = rng.random(q.shape, dtype=np.float32) < q
    flat = evidence.reshape(cfg.M, -1)
    keep = max(1, int(round(cfg.p_SM * cfg.N * cfg.T)))
    cut = np.partition(flat, flat.shape[1] - keep, axis=1)[:, flat.shape[1] - keep]
    candidate = draws & (evidence >= cut[:, None, None])
    raster = np.zeros_like(candidate)
    last = np.full((cfg.M, cfg.N), -cfg.min_isi, dtype=np.int64)
    for t in range(cfg.T):
        fire = candidate[:, :, t] & (t - last >= cfg.min_isi)
        raster[:, :, t] = fire
        last[fire] = t
    return torch.from_numpy(raster)


def make_patterns(config: PatternConfig) -> torch.Tensor:
    """Rasters described by a :class:`~hdsnn.config.PatternConfig`.

    Examples
    --------
    >>> make_patterns(PatternConfig(M=3, N=50, T=200, p_A=0.01)).shape
    torch.Size([3, 50, 200])
    """
    if not isinstance(config, PatternConfig):
        raise ValueError(f"config must be a PatternConfig; got {type(config).__name__}")
    if config.kind == "bernoulli":
        return bernoulli_patterns(config.M, config.N, config.T, config.p_A, config.seed)
    return sparse_patterns(config.M, config.N, config.T, config.p_A, config.E_S, config.p_SM,
                           config.min_isi, config.seed)


def firing_probability(raster: torch.Tensor) -> float:
    """Empirical firing probability per neuron per step of a raster.

    Examples
    --------
    >>> firing_probability(torch.tensor([[[True, False, False, False]]]))
    0.25
    """
    return float(raster.float().mean())
