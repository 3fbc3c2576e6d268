"""Biological connectivity: which (post, pre, delay) synapses exist.

A connectivity is a boolean mask of the weight tensor's shape ``(N, N, D)``,
index ``[post, pre, delay-1]``. The paper's network is :func:`dense_mask`:
every pair joined on every delay channel ``1..D``. :func:`random_mask` draws
a sparser, more biological network: each ordered pair is connected with
probability ``p_connect`` by ``synapses_per_pair`` synapses whose delays
(in ms) come from a :class:`DelayDistribution` (uniform, lognormal or
exponential), discretised to the step ``dt`` and clipped to ``1..D`` steps.
Two draws that fall in the same step merge into one synapse.

The same mask drives learning (:func:`hdsnn.learning.hebbian.masked_hebbian_init`) and the export to
Brian2 (``export_synapses(W, mask=mask)``), so both simulators see the same network.
:func:`random_synapses` gives the same draws before discretisation: one synapse
per draw with its real-valued delay in ms, for learners and simulators in
continuous time (:mod:`hdsnn.learning.margin_neurons`, ``delays_ms`` of the
neuron simulators).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hdsnn.config import Record, param
from hdsnn.validation import check_choice, check_int, check_probability, check_real

from .export import SynapseList

__all__ = ["DelayDistribution", "dense_mask", "random_mask", "random_synapses", "delay_histogram",
           "DELAY_KINDS", "SynapseConfig"]

DELAY_KINDS = ("uniform", "lognormal", "exponential")


@dataclass(frozen=True)
class DelayDistribution:
    """A distribution of axonal delays, in ms.

    Parameters
    ----------
    kind : {'uniform', 'lognormal', 'exponential'}
    low_ms, high_ms : float
        Support of ``'uniform'``.
    median_ms, sigma : float
        ``'lognormal'``: ``exp(N(log(median_ms), sigma**2))``.
    mean_ms : float
        ``'exponential'``: ``1 + Exp(mean_ms - 1)`` (at least one step of 1 ms).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = DelayDistribution("lognormal", median_ms=8.0, sigma=0.5).sample(rng, 10_000)
    >>> 7.5 < float(np.median(d)) < 8.5
    True
    """

    kind: str = "uniform"
    low_ms: float = 1.0
    high_ms: float = 41.0
    median_ms: float = 10.0
    sigma: float = 0.5
    mean_ms: float = 10.0

    def __post_init__(self):
        check_choice("kind", self.kind, DELAY_KINDS)
        check_real("low_ms", self.low_ms, 0.0, open_min=True)
        check_real("high_ms", self.high_ms, self.low_ms)
        check_real("median_ms", self.median_ms, 0.0, open_min=True)
        check_real("sigma", self.sigma, 0.0)
        check_real("mean_ms", self.mean_ms, 1.0)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` delays in ms."""
        if self.kind == "uniform":
            return rng.uniform(self.low_ms, self.high_ms, size)
        if self.kind == "lognormal":
            return rng.lognormal(np.log(self.median_ms), self.sigma, size)
        return 1.0 + rng.exponential(self.mean_ms - 1.0, size)


def dense_mask(N: int, D: int) -> torch.Tensor:
    """The paper's connectivity: every pair on every delay ``1..D``.

    Examples
    --------
    >>> int(dense_mask(3, 4).sum())
    36
    """
    N, D = check_int("N", N, minimum=1), check_int("D", D, minimum=1)
    return torch.ones(N, N, D, dtype=torch.bool)


def random_mask(N: int, D: int, *, p_connect: float = 1.0, synapses_per_pair: int = 3,
                delays: DelayDistribution | None = None, dt_ms: float = 1.0, self_connections: bool = True,
                seed: int = 0) -> torch.Tensor:
    """A sparse connectivity with a few synapses per connected pair and random delays.

    Parameters
    ----------
    N, D : int
        Neurons and the longest delay, in steps.
    p_connect : float in (0, 1]
        Probability that an ordered pair ``(post, pre)`` is connected.
    synapses_per_pair : int
        Synapses (delay draws) per connected pair.
    delays : DelayDistribution, optional
        Delays in ms (default: uniform over ``[0.5, D + 0.5)`` steps, the
        paper's channels ``1..D`` in equal proportions).
    dt_ms : float
        Step: delays become ``round(delay / dt_ms)`` steps, clipped to ``1..D``.
    self_connections : bool
        Allow ``post == pre``.
    seed : int

    Returns
    -------
    bool tensor ``(N, N, D)``

    Examples
    --------
    >>> m = random_mask(50, 20, p_connect=0.2, synapses_per_pair=2, seed=1)
    >>> m.shape, 0.15 < float(m.any(2).float().mean()) < 0.25, int(m.sum(2).max()) <= 2
    (torch.Size([50, 50, 20]), True, True)
    """
    post, pre, delays_ms, N, D, dt_ms = _draw(N, D, p_connect, synapses_per_pair, delays, dt_ms, self_connections,
                                              seed)
    steps = np.clip(np.rint(delays_ms / dt_ms).astype(np.int64), 1, D)
    mask = np.zeros((N, N, D), dtype=bool)
    mask[post, pre, steps - 1] = True
    return torch.from_numpy(mask)


def _draw(N, D, p_connect, synapses_per_pair, delays, dt_ms, self_connections, seed):
    """The draws of :func:`random_mask`: ``(post, pre, delay_ms)``, one entry per draw, in the draws' order,
    and the checked ``N, D, dt_ms``."""
    N, D = check_int("N", N, minimum=1), check_int("D", D, minimum=1)
    p_connect = check_probability("p_connect", p_connect, open_interval=False)
    if p_connect == 0.0:
        raise ValueError("p_connect must be in (0, 1]; got 0.0")
    k = check_int("synapses_per_pair", synapses_per_pair, minimum=1)
    dt_ms = check_real("dt_ms", dt_ms, 0.0, open_min=True)
    if delays is None:
        delays = DelayDistribution("uniform", low_ms=0.5 * dt_ms, high_ms=(D + 0.5) * dt_ms)
    if not isinstance(delays, DelayDistribution):
        raise ValueError(f"delays must be a DelayDistribution; got {type(delays).__name__}")
    rng = np.random.default_rng(seed)
    connected = rng.random((N, N)) < p_connect
    if not self_connections:
        np.fill_diagonal(connected, False)
    post, pre = np.nonzero(connected)
    drawn = delays.sample(rng, post.size * k)
    return np.repeat(post, k), np.repeat(pre, k), drawn, N, D, dt_ms


def random_synapses(N: int, D: int, *, p_connect: float = 1.0, synapses_per_pair: int = 3,
                    delays: DelayDistribution | None = None, dt_ms: float = 1.0, self_connections: bool = True,
                    seed: int = 0) -> tuple[SynapseList, np.ndarray]:
    """The synapses of :func:`random_mask` (same arguments, same draws) with their real-valued delays.

    One synapse per draw (two draws of a pair in the same step stay two synapses). The delays are
    clipped to ``[dt_ms, D dt_ms]``, so that ``delay_steps = round(delay_ms / dt_ms)`` is exactly the
    channel :func:`random_mask` puts the draw in.

    Returns
    -------
    (SynapseList, delays_ms)
        Synapses sorted by ``(post, pre, delay)`` with zero weights and ``delay_steps`` in ``1..D``;
        float64 delays ``(S,)`` in ms, in the same order.

    Examples
    --------
    >>> syn, delays_ms = random_synapses(20, 15, p_connect=0.5, synapses_per_pair=2, seed=3)
    >>> binned = torch.zeros(20, 20, 15, dtype=torch.bool)
    >>> binned[syn.post, syn.pre, syn.delay_steps - 1] = True
    >>> bool((binned == random_mask(20, 15, p_connect=0.5, synapses_per_pair=2, seed=3)).all())
    True
    >>> bool((np.rint(delays_ms) == syn.delay_steps).all()), len(syn) == delays_ms.size
    (True, True)
    """
    post, pre, drawn, N, D, dt_ms = _draw(N, D, p_connect, synapses_per_pair, delays, dt_ms, self_connections, seed)
    delays_ms = np.clip(drawn, dt_ms, D * dt_ms)          # rint then clip to 1..D: the same channel
    steps = np.clip(np.rint(delays_ms / dt_ms).astype(np.int64), 1, D)
    order = np.lexsort((delays_ms, pre, post))
    syn = SynapseList(post[order].astype(np.int32), pre[order].astype(np.int32), steps[order].astype(np.int32),
                      np.zeros(order.size, np.float32), int(N), D)
    return syn, delays_ms[order].astype(np.float64)


def delay_histogram(mask) -> np.ndarray:
    """Number of synapses on each delay ``1..D`` (index ``d - 1``).

    Examples
    --------
    >>> delay_histogram(dense_mask(2, 3)).tolist()
    [4, 4, 4]
    """
    return torch.as_tensor(mask).to(torch.bool).sum(dim=(0, 1)).numpy()


@dataclass(frozen=True)
class SynapseConfig(Record):
    """Which synapses a learner in continuous time gets: the paper's whole-ms channels, or real-valued draws.

    ``delays=None`` (the default): every pair on every delay ``1..D`` ms. Otherwise
    :func:`random_synapses`: each pair connected with probability ``p_connect`` by
    ``synapses_per_pair`` synapses whose real-valued delays (ms) are drawn from the named
    :class:`DelayDistribution`, kept as they are (``SynapseList.delay_ms``).

    Examples
    --------
    >>> syn = SynapseConfig(delays="lognormal", synapses_per_pair=2).draw(N=4, D=20)
    >>> len(syn), syn.delay_ms.dtype.name, SynapseConfig().draw(4, 20) is None
    (32, 'float64', True)
    >>> SynapseConfig(delays="gamma")
    Traceback (most recent call last):
    ...
    ValueError: delays must be one of 'uniform', 'lognormal', 'exponential'; got 'gamma'
    """

    delays: str | None = param(None, "real-valued delays drawn per synapse (default: every pair on every whole-ms "
                                     "delay 1..D)", choices=DELAY_KINDS)
    p_connect: float = param(1.0, "with --delays: probability that a pair is connected", minimum=0.0, maximum=1.0,
                             open_min=True)
    synapses_per_pair: int = param(20, "with --delays: synapses (delay draws) per connected pair", minimum=1)
    delay_low_ms: float = param(1.0, "uniform delays: lowest", minimum=0.0, open_min=True, unit="ms")
    delay_high_ms: float = param(41.0, "uniform delays: highest (clipped to D ms)", minimum=0.0, open_min=True,
                                 unit="ms")
    delay_median_ms: float = param(10.0, "lognormal delays: median", minimum=0.0, open_min=True, unit="ms")
    delay_sigma: float = param(0.5, "lognormal delays: sigma of log(delay)", minimum=0.0)
    delay_mean_ms: float = param(10.0, "exponential delays: mean (1 ms + an exponential)", minimum=1.0, unit="ms")
    synapse_seed: int = param(0, "with --delays: seed of the connections and delays", minimum=0)

    def _check(self):
        if self.delay_high_ms < self.delay_low_ms:
            raise ValueError(f"delay_high_ms must be >= delay_low_ms = {self.delay_low_ms}; got {self.delay_high_ms}")

    def distribution(self) -> DelayDistribution | None:
        """The :class:`DelayDistribution` of the draws (None: whole-ms channels)."""
        if self.delays is None:
            return None
        return DelayDistribution(self.delays, low_ms=self.delay_low_ms, high_ms=self.delay_high_ms,
                                 median_ms=self.delay_median_ms, sigma=self.delay_sigma, mean_ms=self.delay_mean_ms)

    def draw(self, N: int, D: int) -> SynapseList | None:
        """The synapses of :func:`random_synapses` with their real delays in ``delay_ms`` (None without ``delays``)."""
        if self.delays is None:
            return None
        syn, delays_ms = random_synapses(N, D, p_connect=self.p_connect, synapses_per_pair=self.synapses_per_pair,
                                         delays=self.distribution(), seed=self.synapse_seed)
        return SynapseList(syn.post, syn.pre, syn.delay_steps, syn.weight, syn.N, syn.D, delay_ms=delays_ms)

    def describe(self, D: int) -> dict:
        """What a weights file records of these synapses (``learned_for['delays']``)."""
        if self.delays is None:
            return {"source": "whole_ms", "channels": f"1..{D} ms", "p_connect": 1.0}
        d = self.distribution()
        params = {"uniform": ("low_ms", "high_ms"), "lognormal": ("median_ms", "sigma"),
                  "exponential": ("mean_ms",)}[self.delays]
        return {"source": "random_synapses", "kind": self.delays, **{k: getattr(d, k) for k in params},
                "p_connect": self.p_connect, "synapses_per_pair": self.synapses_per_pair, "seed": self.synapse_seed}
