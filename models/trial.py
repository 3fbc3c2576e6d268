"""The recall protocol: what the network receives during one trial.

A trial is described by two arrays that the simulators consume:

- ``inputs``: ``bool`` ``(B, N, L)`` spikes imposed from outside;
- ``clamp``: ``bool`` ``(B, L)`` steps at which the network is clamped
  (its spikes are exactly ``inputs`` and its membrane is held at 0). At the
  other steps the network runs freely and ``inputs`` is OR-ed with its spikes.

:func:`make_trials` builds them from target patterns and a
:class:`~hdsnn.config.TrialConfig`: ``pretime`` steps of spontaneous activity,
the trigger window (the first D steps of the target, possibly perturbed), the
free run up to T, then ``posttime`` steps. :func:`sequential_trials` chains the
trials of all patterns in one long run.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hdsnn.config import TrialConfig
from hdsnn.validation import check_allocation, check_int, check_raster

__all__ = ["Trials", "make_trials", "sequential_trials", "perturb_cue"]


@dataclass(frozen=True)
class Trials:
    """Inputs of a batch of trials and where each target sits in them.

    Attributes
    ----------
    inputs : torch.Tensor
        ``bool`` ``(B, N, L)``.
    clamp : torch.Tensor
        ``bool`` ``(B, L)``.
    onsets : tuple of (int, int)
        For each pattern ``mu``: ``(batch row, step)`` where its step 0 lies.
    T : int
        Steps per pattern.
    D : int
        Length of the trigger window.
    """

    inputs: torch.Tensor
    clamp: torch.Tensor
    onsets: tuple
    T: int
    D: int

    def extract(self, raster: torch.Tensor) -> torch.Tensor:
        """Cut the ``(M, N, T)`` windows of the patterns out of a simulated raster.

        Examples
        --------
        >>> from hdsnn.models import bernoulli_patterns
        >>> tr = make_trials(bernoulli_patterns(2, 8, 30, 0.1), D=5, config=TrialConfig(pretime=3))
        >>> tr.extract(tr.inputs).shape
        torch.Size([2, 8, 30])
        """
        return torch.stack([raster[b, :, s:s + self.T] for b, s in self.onsets])


def _spontaneous(rng: np.random.Generator, shape, p: float) -> torch.Tensor:
    return torch.from_numpy(rng.random(shape, dtype=np.float32) < np.float32(p))


def perturb_cue(cue: torch.Tensor, p_flip: float, noise: str, rng: np.random.Generator) -> torch.Tensor:
    """Perturb every entry of a cue with probability ``p_flip``.

    ``noise='redraw'`` replaces a chosen entry by a fresh Bernoulli draw at the
    cue's mean firing rate (on sparse rasters this mostly deletes spikes);
    ``noise='flip'`` inverts it.

    Examples
    --------
    >>> cue = torch.zeros(1, 4, 5, dtype=torch.bool)
    >>> perturb_cue(cue, 1.0, "flip", np.random.default_rng(0)).all().item()
    True
    """
    if p_flip == 0.0:
        return cue.clone()
    chosen = torch.from_numpy(rng.random(tuple(cue.shape), dtype=np.float32) < np.float32(p_flip))
    if p_flip == 1.0:
        chosen[:] = True
    if noise == "flip":
        return cue ^ chosen
    rate = float(cue.float().mean())
    fresh = _spontaneous(rng, tuple(cue.shape), rate) if rate > 0 else torch.zeros_like(cue)
    return torch.where(chosen, fresh, cue)


def make_trials(targets, D: int, config: TrialConfig | None = None, p_A: float | None = None) -> Trials:
    """One trial per pattern, batched, following the recall protocol.

    Parameters
    ----------
    targets : bool array ``(M, N, T)``
        The stored patterns.
    D : int
        Trigger window length (the number of delays), ``1 <= D < T``.
    config : TrialConfig, optional
        Pretime, posttime, cue semantics and perturbations (defaults: none).
    p_A : float, optional
        Rate of the spontaneous activity; defaults to the targets' firing probability.

    Returns
    -------
    Trials

    Examples
    --------
    >>> from hdsnn.models import bernoulli_patterns
    >>> tr = make_trials(bernoulli_patterns(4, 16, 100, 0.05), D=10)
    >>> tr.inputs.shape, int(tr.clamp[0].sum())
    (torch.Size([4, 16, 100]), 10)
    """
    targets = check_raster("targets", targets)
    M, N, T = targets.shape
    D = check_int("D", D, minimum=1)
    if D >= T:
        raise ValueError(f"D (trigger window, {D} steps) must be smaller than T ({T} steps per pattern)")
    cfg = config if config is not None else TrialConfig()
    if not isinstance(cfg, TrialConfig):
        raise ValueError(f"config must be a TrialConfig; got {type(cfg).__name__}")
    k = D if cfg.trigger_steps is None else cfg.trigger_steps
    if k > D:
        raise ValueError(f"trigger_steps must be in [0, D={D}]; got {k}")
    if cfg.silenced > N:
        raise ValueError(f"silenced must be in [0, N={N}]; got {cfg.silenced}")
    rate = float(targets.float().mean()) if p_A is None else p_A
    rng = np.random.default_rng(cfg.seed)
    pre, post = cfg.pretime, cfg.posttime
    L = pre + T + post
    check_allocation(f"the trials of M={M} patterns x N={N} neurons x L={L} steps (pretime {pre} + T {T} + "
                     f"posttime {post})", M * N * L * 5,
                     hint="reduce pretime or posttime (bool inputs and float32 draws, 5 bytes per entry)")

    cue = torch.cat([_spontaneous(rng, (M, N, pre), rate), targets[:, :, :D]], dim=2)
    cue = perturb_cue(cue, cfg.p_flip, cfg.noise, rng)
    cue[:, : cfg.silenced, pre:] = False
    cue = cue[:, :, : pre + k]

    inputs = torch.zeros((M, N, L), dtype=torch.bool)
    inputs[:, :, : pre + k] = cue
    if post:
        inputs[:, :, pre + T:] = _spontaneous(rng, (M, N, post), rate)
    clamp = torch.zeros((M, L), dtype=torch.bool)
    if cfg.cue == "clamp":
        clamp[:, : pre + k] = True
    return Trials(inputs, clamp, tuple((m, pre) for m in range(M)), T, D)


def sequential_trials(targets, D: int, config: TrialConfig | None = None, p_A: float | None = None) -> Trials:
    """All patterns' trials one after the other in a single long run (batch of 1).

    Each trial is padded by ``config.pretime`` and ``config.posttime`` steps of
    spontaneous activity, as in the paper's sequential retrieval figure.

    Examples
    --------
    >>> from hdsnn.models import bernoulli_patterns
    >>> tr = sequential_trials(bernoulli_patterns(3, 8, 40, 0.1), D=5,
    ...                        config=TrialConfig(pretime=10, posttime=10))
    >>> tr.inputs.shape, tr.onsets
    (torch.Size([1, 8, 180]), ((0, 10), (0, 70), (0, 130)))
    """
    batch = make_trials(targets, D, config, p_A)
    M, N, L = batch.inputs.shape
    inputs = batch.inputs.permute(1, 0, 2).reshape(1, N, M * L)
    clamp = batch.clamp.reshape(1, M * L)
    onsets = tuple((0, m * L + s) for m, (_, s) in enumerate(batch.onsets))
    return Trials(inputs, clamp, onsets, batch.T, batch.D)
