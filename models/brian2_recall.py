"""Recall in the discrete-equivalent Brian2 network: targets and weights in, raster and scores out.

The Brian2 counterpart of :func:`hdsnn.recall`: the same trials
(:func:`hdsnn.models.make_trials`), simulated by
:func:`hdsnn.models.brian2_exact.simulate_brian2`, scored over the free run.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace

import torch

from hdsnn.config import NetworkConfig, TrialConfig
from hdsnn.validation import check_raster, check_weights

from .brian2_exact import simulate_brian2
from .export import export_synapses
from .trial import make_trials, sequential_trials

__all__ = ["Brian2Recall", "recall_brian2"]


@dataclass(frozen=True)
class Brian2Recall:
    """Outcome of :func:`recall_brian2`.

    Attributes
    ----------
    raster : bool tensor ``(M, N, T)``
        Recalled patterns in 1 ms bins, aligned with the targets.
    full : bool tensor ``(B, N, L)``
        Everything the network did, pretime and posttime included.
    scores : hdsnn.analysis.Scores
        Scores over the free run ``t >= D``.
    n_synapses : int
    target : str
    export_seconds, build_seconds, run_seconds : float
        Wall time of the export (pruning included), of building the Brian2
        objects, and of ``Network.run`` (code generation and compilation included).
    """

    raster: torch.Tensor
    full: torch.Tensor
    scores: object
    n_synapses: int
    target: str
    export_seconds: float
    build_seconds: float
    run_seconds: float

    @property
    def seconds(self) -> float:
        """Export, build and run together."""
        return self.export_seconds + self.build_seconds + self.run_seconds


def recall_brian2(W, targets, net: NetworkConfig | None = None, trial: TrialConfig | None = None, *,
                  target: str = "numpy", sequential: bool = False, threshold: float | None = None,
                  top_k: int | None = None, keep_fraction: float | None = None, mask=None,
                  budget_bytes: float | None = None, build_dir: str | None = None) -> Brian2Recall:
    """Recall every target from its trigger window in the discrete-equivalent Brian2 network.

    Parameters
    ----------
    W : float tensor ``(N, N, D)``
        Weights, index ``[post, pre, delay-1]``.
    targets : bool tensor ``(M, N, T)``
    net, trial : NetworkConfig, TrialConfig, optional
        As for :func:`hdsnn.recall` (``N`` and ``D`` come from ``W``).
    target : {'numpy', 'cython', 'cpp_standalone', 'cuda_standalone'}
        Brian2 runtime target.
    sequential : bool
        All trials chained in one run.
    threshold, top_k, keep_fraction, mask, budget_bytes
        Pruning and memory budget (:func:`hdsnn.models.export.export_synapses`).
    build_dir : str, optional
        Standalone project folder.

    Returns
    -------
    Brian2Recall

    Examples
    --------
    >>> from hdsnn import bernoulli_patterns, hebbian_init
    >>> P = bernoulli_patterns(M=2, N=64, T=120, p_A=0.02, seed=1)
    >>> r = recall_brian2(hebbian_init(P, D=15), P)
    >>> r.raster.shape, r.scores.pooled()["f1"] > 0.9
    (torch.Size([2, 64, 120]), True)
    """
    from hdsnn.analysis.scores import score

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
    trials = (sequential_trials if sequential else make_trials)(targets, D, trial)
    start = time.perf_counter()
    syn = export_synapses(W, threshold=threshold, top_k=top_k, keep_fraction=keep_fraction, mask=mask,
                          budget_bytes=budget_bytes)
    export = time.perf_counter() - start
    sim = simulate_brian2(syn, trials.inputs, trials.clamp, net, target=target, budget_bytes=budget_bytes,
                          build_dir=build_dir)
    raster = trials.extract(sim.raster)
    return Brian2Recall(raster, sim.raster, score(raster, targets, D), sim.n_synapses, target,
                        export, sim.build_seconds, sim.run_seconds)
