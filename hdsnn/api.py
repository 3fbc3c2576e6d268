"""High-level recall: targets and weights in, recalled rasters and scores out."""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import torch

from .config import NetworkConfig, TrialConfig
from .validation import check_raster, check_weights

__all__ = ["recall", "Recall"]


@dataclass(frozen=True)
class Recall:
    """Outcome of :func:`recall`.

    Attributes
    ----------
    raster : bool tensor ``(M, N, T)``
        The recalled patterns, aligned with the targets (step 0 = trigger onset).
    full : bool tensor ``(B, N, L)``
        Everything the network did, pretime and posttime included.
    scores : hdsnn.analysis.Scores
        Scores over the free-run window ``t >= D``.
    runaway : bool tensor ``(B,)``
        Trials stopped by the runaway guard.
    seconds : float
        Wall time of the simulation.
    """

    raster: torch.Tensor
    full: torch.Tensor
    scores: object
    runaway: torch.Tensor
    seconds: float


def recall(W, targets, net: NetworkConfig | None = None, trial: TrialConfig | None = None, *,
           sequential: bool = False, max_rate: float | None = 0.05, device: str = "cpu",
           progress: bool | None = None) -> Recall:
    """Recall every target from its trigger window and score it.

    Parameters
    ----------
    W : float tensor ``(N, N, D)``
        Weights, index ``[post, pre, delay-1]``.
    targets : bool tensor ``(M, N, T)``
        Stored patterns.
    net : NetworkConfig, optional
        Neuron parameters (beta, theta, reset); ``N`` and ``D`` are taken from ``W``.
    trial : TrialConfig, optional
        Pretime, posttime, cue semantics, perturbations.
    sequential : bool
        Chain all trials in one run (the paper's sequential retrieval) instead of a batch.
    max_rate : float or None
        Runaway guard of :func:`hdsnn.models.simulate`.
    device : str
        ``'cpu'`` or ``'cuda'``.
    progress : bool or None
        Progress bar (None: on a terminal only).

    Returns
    -------
    Recall

    Examples
    --------
    >>> from hdsnn import bernoulli_patterns, hebbian_init
    >>> P = bernoulli_patterns(M=2, N=64, T=120, p_A=0.02, seed=1)
    >>> r = recall(hebbian_init(P, D=15), P)
    >>> r.raster.shape
    torch.Size([2, 64, 120])
    """
    from .analysis.scores import score
    from .models import make_trials, sequential_trials, simulate

    targets = check_raster("targets", targets)
    M, N, T = targets.shape
    W = check_weights("W", W, N=N)
    D = W.shape[2]
    if D >= T:
        raise ValueError(f"W has D={D} delays, which must be smaller than the patterns' T={T} steps")
    base = net if net is not None else NetworkConfig(N=N, D=D)
    if not isinstance(base, NetworkConfig):
        raise ValueError(f"net must be a NetworkConfig; got {type(base).__name__}")
    net = replace(base, N=N, D=D)
    build = sequential_trials if sequential else make_trials
    trials = build(targets, D, trial)
    start = time.perf_counter()
    sim = simulate(W, trials.inputs, trials.clamp, net, max_rate=max_rate, device=device, progress=progress)
    seconds = time.perf_counter() - start
    raster = trials.extract(sim.raster)
    return Recall(raster, sim.raster, score(raster, targets, D), sim.runaway, seconds)
