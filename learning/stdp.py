"""Pair-based STDP on delayed synapses, measured against the analytic rule (torch implementation).

The rule (Izhikevich 2006 style, with traces) pairs the *arrival* of a
presynaptic spike at a synapse ``(post j, pre i, delay d)`` with the spikes of
``j``. Time is counted in steps, in the scheduling of the discrete-equivalent
Brian2 network (:mod:`hdsnn.models.brian2_exact`): a spike of ``i`` at step
``t0`` *arrives* (Brian2 runs ``on_pre``) at the end of step ``r = t0 + d - 1``
and *acts* on ``j``'s membrane at step ``a = t0 + d = r + 1``.

- **Potentiation**, when ``j`` fires at step ``q`` after the arrival
  (``Delta = q - r >= 1``)::

      dw = + a_plus * exp(-(Delta - 1) / tau_plus)

  so that the pair "arrival one step before the spike" (the input acts in the
  step of the spike, the analytic rule's ``+1`` term) has weight ``a_plus``
  whatever ``tau_plus``. ``tau_plus=None`` is the narrow window: ``Delta = 1`` only.
- **Depression**, when the arrival comes at or after a spike of ``j`` at step
  ``q`` (``Delta' = r - q >= 0``; at ``Delta' = 0`` the spike comes first,
  as Brian2 runs thresholds before synapses):

  * ``'exponential'``: ``dw = - a_minus * exp(-Delta' / tau_minus)``
    (``tau_minus=None``: ``Delta' = 0`` only);
  * ``'mirrored'``: ``dw = - beta * a_plus`` for ``Delta' = 0`` only, the
    analytic rule's ``-beta`` term (an input acting one step after a spike of
    ``j``).

- **Updates**: ``'additive'`` adds ``dw`` and clips to ``[w_min, w_max]``;
  ``'multiplicative'`` (soft bounds) scales potentiation by
  ``(w_max - w) / (w_max - w_init)`` and depression by ``(w - w_min) / (w_init - w_min)``,
  so that both equal the additive updates at the initial weight and vanish at
  the bound they move toward (then clips, for safety).

Protocol (``hdsnn.learn(targets, 'stdp')``): every pattern is replayed (clamped) ``n_replays``
times, in epochs (pattern 0, 1, ..., M-1, then again), back to back, with
plasticity on and recurrent transmission off: the spikes are the pattern's,
synaptic events only update traces and weights. Two choices make the rule
comparable with the analytic one term by term:

1. *Pairs counted*: only arrivals whose input acts inside the free-run window
   ``a = D .. T-1`` of their replay (arrival steps ``D-1 .. T-2``) enter the
   traces and the depression, the window over which :func:`hebbian_init`
   sums and recall is scored. The whole pattern is replayed, so the spikes
   of the trigger window still act as presynaptic spikes (and, for the
   exponential depression, as earlier postsynaptic spikes).
2. *Replays are independent*: a pair is counted only within one replay
   (the traces start empty at each replay).

With the narrow window, the mirrored depression, additive updates without
bounds, ``w_init = 0`` and the default amplitude
``a_plus = gain / (N * D * p) / n_replays`` (``p`` the patterns' firing
probability; divided by the mask's density for a mask), the learned weights
are exactly :func:`hdsnn.learning.hebbian_init` (``masked_hebbian_init`` with
a mask): ``tests/test_stdp.py`` checks it.

Two torch implementations, vectorised over ``W``:

- :func:`stdp_closed_form` (additive, no bounds): each pair's contribution is
  independent of the weights, so ``W = w_init + n_replays * (K C)`` with ``C``
  the sparse context matrix of :mod:`hdsnn.learning.context` and ``K`` the
  postsynaptic trains filtered by the two kernels (exact recursions over time);
  seconds at the paper's size.
- :func:`stdp_event_loop` (any update): steps through the replays in Brian2's
  order within a step (thresholds; post pathway: potentiation of the rows of
  the spiking neurons; pre pathway: depression of the columns of the arriving
  ``(pre, delay)`` entries), so that bounds and soft bounds match Brian2
  (:mod:`hdsnn.learning.stdp_brian2`) update for update.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from hdsnn.config import Record, param
from hdsnn.validation import check_int, check_raster

from .context import context_matrix
from .hebbian import DEFAULT_GAIN, hebbian_scale

__all__ = ["STDPConfig", "stdp_closed_form", "stdp_event_loop", "default_amplitude", "check_stdp_inputs",
           "mask_density", "DEPRESSIONS", "UPDATES"]

DEPRESSIONS = ("mirrored", "exponential")
UPDATES = ("additive", "multiplicative")


@dataclass(frozen=True)
class STDPConfig(Record):
    """Parameters of the STDP rule and of the replay protocol.

    Parameters
    ----------
    n_replays : int
        Replays of every pattern (>= 1).
    tau_plus : float or None
        Time constant of the potentiation window, in steps (> 0); None: the
        narrow window (an arrival exactly one step before the spike).
    depression : {'mirrored', 'exponential'}
        ``'mirrored'``: the analytic ``-beta * a_plus`` term (an arrival in the
        step of a postsynaptic spike); ``'exponential'``: ``a_minus * exp(-Delta'/tau_minus)``.
    tau_minus : float or None
        Time constant of the exponential depression, in steps (> 0); None: ``Delta' = 0`` only.
    a_plus : float or None
        Potentiation amplitude (> 0); None: ``gain / (N * D * p * density) / n_replays``
        (:func:`default_amplitude`), the analytic rule's scale.
    a_minus : float or None
        Exponential depression amplitude (>= 0); None: ``beta * a_plus``.
    gain : float
        Gain of the default amplitude (> 0).
    beta : float
        Leak of the neuron model, in [0, 1): the mirrored term is ``-beta * a_plus``.
    update : {'additive', 'multiplicative'}
    w_min, w_max : float or None
        Weight bounds (None: unbounded; multiplicative updates need both).
    w_init : float
        Initial weight of every synapse, in ``[w_min, w_max]`` (strictly inside for multiplicative).

    Examples
    --------
    >>> STDPConfig(tau_plus=5.0).depression
    'mirrored'
    >>> STDPConfig(update="multiplicative")
    Traceback (most recent call last):
    ...
    ValueError: update='multiplicative' needs finite bounds w_min < w_init < w_max; got w_min=None, w_max=None
    """

    n_replays: int = param(1, "replays of every pattern", minimum=1)
    tau_plus: float | None = param(None, "potentiation window time constant in steps (default: narrow, an "
                                         "arrival one step before the spike only)", minimum=0.0, open_min=True)
    depression: str = param("mirrored", "mirrored: the analytic -beta term; exponential: "
                                        "a_minus * exp(-lag / tau_minus)", choices=DEPRESSIONS)
    tau_minus: float | None = param(None, "exponential depression time constant in steps (default: the "
                                          "spike's own step only)", minimum=0.0, open_min=True)
    a_plus: float | None = param(None, "potentiation amplitude (default: gain / (N D p) / replays, the Hebbian "
                                       "rule's scale)", minimum=0.0, open_min=True)
    a_minus: float | None = param(None, "exponential depression amplitude (default: beta * a_plus)", minimum=0.0)
    gain: float = param(DEFAULT_GAIN, "gain of the default amplitude", minimum=0.0, open_min=True)
    beta: float = param(0.7, "membrane leak per step: the mirrored term is -beta * a_plus", minimum=0.0,
                        maximum=1.0, open_max=True)
    update: str = param("additive", "additive (clipped to the bounds) or multiplicative soft bounds",
                        choices=UPDATES)
    w_min: float | None = param(None, "lower weight bound (default: none)")
    w_max: float | None = param(None, "upper weight bound (default: none)")
    w_init: float = param(0.0, "initial weight of every synapse")

    def _check(self):
        lo = -math.inf if self.w_min is None else self.w_min
        hi = math.inf if self.w_max is None else self.w_max
        if self.update == "multiplicative":
            if not (self.w_min is not None and self.w_max is not None and lo < self.w_init < hi):
                raise ValueError(f"update='multiplicative' needs finite bounds w_min < w_init < w_max; got "
                                 f"w_min={self.w_min}, w_max={self.w_max}"
                                 + ("" if self.w_min is None or self.w_max is None else f", w_init={self.w_init}"))
        elif not lo <= self.w_init <= hi:
            raise ValueError(f"w_init must be in [w_min, w_max] = [{lo}, {hi}]; got {self.w_init}")

    @property
    def bounded(self) -> bool:
        """True when some bound is finite (updates are then clipped)."""
        return self.w_min is not None or self.w_max is not None

    @property
    def decay_plus(self) -> float:
        """Per-step decay of the potentiation trace (0 for the narrow window)."""
        return 0.0 if self.tau_plus is None else math.exp(-1.0 / self.tau_plus)

    @property
    def decay_minus(self) -> float:
        """Per-step decay of the depression trace (0: ``Delta' = 0`` only, as the mirrored term)."""
        if self.depression == "mirrored" or self.tau_minus is None:
            return 0.0
        return math.exp(-1.0 / self.tau_minus)

    def amplitudes(self, raster, D: int, density: float = 1.0) -> tuple[float, float]:
        """``(a_plus, a_minus)`` for these patterns (defaults resolved).

        Examples
        --------
        >>> from hdsnn.models import bernoulli_patterns
        >>> P = bernoulli_patterns(2, 20, 100, 0.05, seed=0)
        >>> a, b = STDPConfig(n_replays=2).amplitudes(P, D=5)
        >>> round(b / a, 3)
        0.7
        """
        a_plus = self.a_plus if self.a_plus is not None else default_amplitude(raster, D, self.gain, self.n_replays,
                                                                                density)
        if self.depression == "mirrored":
            return a_plus, self.beta * a_plus
        return a_plus, self.beta * a_plus if self.a_minus is None else self.a_minus


def default_amplitude(raster, D: int, gain: float = DEFAULT_GAIN, n_replays: int = 1, density: float = 1.0) -> float:
    """``gain / (N * D * p * density) / n_replays``: the analytic rule's weight of one pair, spread over the replays.

    Examples
    --------
    Four spikes in 2 neurons x 10 steps (p = 0.2):

    >>> r = torch.zeros(1, 2, 10, dtype=torch.bool); r[0, 0, [0, 5]] = True; r[0, 1, [3, 8]] = True
    >>> round(default_amplitude(r, D=3, gain=1.2), 6)    # 1.2 / (2 * 3 * 0.2)
    1.0
    """
    raster = check_raster("raster", raster)
    return hebbian_scale(raster, raster.shape[1], D, gain) / (density * n_replays)


def check_stdp_inputs(raster, D, config, mask):
    """Check the patterns, D, the STDPConfig and the mask of an STDP run; returns them (config defaulted)."""
    raster = check_raster("raster", raster)
    D = check_int("D", D, minimum=1)
    M, N, T = raster.shape
    if D >= T - 1:
        raise ValueError(f"D ({D} delays) must be smaller than T - 1 ({T - 1}): the free run needs two steps")
    config = config if config is not None else STDPConfig()
    if not isinstance(config, STDPConfig):
        raise ValueError(f"config must be an STDPConfig; got {type(config).__name__}")
    if mask is not None:
        mask = torch.as_tensor(mask).to(torch.bool)
        if tuple(mask.shape) != (N, N, D):
            raise ValueError(f"mask must have shape (N, N, D) = {(N, N, D)}; got {tuple(mask.shape)}")
        if not bool(mask.any()):
            raise ValueError("mask has no synapse")
    return raster, D, config, mask


def mask_density(mask) -> float:
    """Fraction of the ``N x N x D`` entries that a mask keeps (1.0 without a mask)."""
    return 1.0 if mask is None else float(mask.float().mean())


def _kernel_target(raster, D: int, a_plus: float, a_minus: float, decay_plus: float, decay_minus: float):
    """Dense ``(M*(T-D), N)`` float64: the weight change per unit of context at action step ``a = D..T-1``.

    ``a_plus * sum_{q >= a} decay_plus**(q - a) s(q) - a_minus * sum_{q <= a-1} decay_minus**(a-1-q) s(q)``,
    within the pattern (``0 ** 0 = 1``: a zero decay keeps the nearest term only).
    """
    M, N, T = raster.shape
    s = raster.to(torch.float64)
    forward = torch.zeros(M, N, T, dtype=torch.float64)        # sum_{q <= t} decay_minus^(t-q) s(q)
    backward = torch.zeros(M, N, T, dtype=torch.float64)       # sum_{q >= t} decay_plus^(q-t) s(q)
    acc = torch.zeros(M, N, dtype=torch.float64)
    for t in range(T):
        acc = s[:, :, t] + decay_minus * acc
        forward[:, :, t] = acc
    acc = torch.zeros(M, N, dtype=torch.float64)
    for t in range(T - 1, -1, -1):
        acc = s[:, :, t] + decay_plus * acc
        backward[:, :, t] = acc
    target = a_plus * backward[:, :, D:] - a_minus * forward[:, :, D - 1:T - 1]    # (M, N, T-D)
    return target.permute(0, 2, 1).reshape(M * (T - D), N)


def stdp_closed_form(raster, D: int = 41, config: STDPConfig | None = None, mask=None,
                     dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """STDP weights of additive updates without bounds, in closed form.

    Parameters
    ----------
    raster : bool array ``(M, N, T)``
        Target patterns.
    D : int
        Number of delays (``1 <= D < T - 1``).
    config : STDPConfig, optional
        Must have ``update='additive'`` and no bounds.
    mask : bool array ``(N, N, D)``, optional
        Existing synapses (default: all); the others stay 0.
    dtype : torch.dtype

    Returns
    -------
    torch.Tensor ``(N, N, D)``

    Examples
    --------
    The narrow window with the mirrored depression is the analytic rule:

    >>> from hdsnn.models import bernoulli_patterns
    >>> from hdsnn.learning import hebbian_init
    >>> P = bernoulli_patterns(2, 20, 100, 0.05, seed=0)
    >>> torch.allclose(stdp_closed_form(P, D=5), hebbian_init(P, D=5), atol=1e-7)
    True
    """
    raster, D, config, mask = check_stdp_inputs(raster, D, config, mask)
    if config.update != "additive" or config.bounded:
        raise ValueError(f"stdp_closed_form needs update='additive' and no bounds; got update={config.update!r}, "
                         f"w_min={config.w_min}, w_max={config.w_max} (use stdp_event_loop)")
    M, N, T = raster.shape
    a_plus, a_minus = config.amplitudes(raster, D, mask_density(mask))
    target = _kernel_target(raster, D, a_plus, a_minus, config.decay_plus, config.decay_minus).numpy()
    C = context_matrix(raster, D)                                   # (M*(T-D), N*D) sparse
    if np.count_nonzero(target) < 0.05 * target.size:
        # narrow kernels: a sparse target, the pair product of hebbian_init
        pairs = (sp.csr_matrix(target).T @ C).tocoo()
        W = np.zeros((N, N * D))
        W[pairs.row, pairs.col] = pairs.data
    else:
        # (C^T K)^T: sparse x dense, cost ~ number of (spike, delay) entries x N
        W = np.ascontiguousarray((C.T @ target).T)                   # (N, N*D)
    W *= config.n_replays
    W = torch.from_numpy(W).reshape(N, N, D) + config.w_init
    if mask is not None:
        W = W * mask
    return W.to(dtype)


def stdp_event_loop(raster, D: int = 41, config: STDPConfig | None = None, mask=None,
                    dtype: torch.dtype = torch.float64, progress: bool | None = None) -> torch.Tensor:
    """STDP weights step by step, in Brian2's order within a step (any update, bounds).

    Each replay: for every step ``n``, (1) the spiking neurons update their
    postsynaptic trace; (2) potentiation of their rows (post pathway);
    (3) depression of the columns ``(pre, delay)`` whose spike arrives at
    ``n`` (pre pathway) and update of those presynaptic traces. Only the
    entries an event changes are touched: the rows of the spiking neurons at
    the columns with a non-zero trace, the arriving columns at the rows with
    a non-zero postsynaptic trace.

    Parameters
    ----------
    raster, D, config, mask
        As for :func:`stdp_closed_form` (any update and bounds).
    dtype : torch.dtype
        Of the computation and the result (float64 to compare with Brian2).
    progress : bool or None
        Progress bar over replays (None: on a terminal only).

    Returns
    -------
    torch.Tensor ``(N, N, D)``

    Examples
    --------
    >>> from hdsnn.models import bernoulli_patterns
    >>> P = bernoulli_patterns(2, 20, 100, 0.05, seed=0)
    >>> c = STDPConfig(tau_plus=3.0, depression="exponential", tau_minus=3.0)
    >>> torch.allclose(stdp_event_loop(P, 5, c), stdp_closed_form(P, 5, c, dtype=torch.float64))
    True
    """
    from tqdm.auto import tqdm

    raster, D, config, mask = check_stdp_inputs(raster, D, config, mask)
    M, N, T = raster.shape
    a_plus, a_minus = config.amplitudes(raster, D, mask_density(mask))
    dp, dm = config.decay_plus, config.decay_minus
    lo = -math.inf if config.w_min is None else config.w_min
    hi = math.inf if config.w_max is None else config.w_max
    mult = config.update == "multiplicative"
    w0 = config.w_init
    W = torch.full((N, N * D), w0, dtype=dtype)
    keep = None if mask is None else mask.reshape(N, N * D)
    if keep is not None:
        W = W * keep
    spikes, arrivals = [], []
    for m in range(M):
        i, t0 = (v.numpy() for v in torch.nonzero(raster[m], as_tuple=True))
        order = np.argsort(t0, kind="stable")
        i, t0 = i[order], t0[order]
        spikes.append([torch.from_numpy(v) for v in np.split(i, np.searchsorted(t0, np.arange(1, T)))])
        # arrivals: spike (i, t0) on delay d arrives at step t0 + d - 1, column i*D + d-1
        n = (t0[:, None] + np.arange(D)[None, :]).ravel()
        cols = (i[:, None] * D + np.arange(D)[None, :]).ravel()
        order = np.argsort(n, kind="stable")
        order = order[n[order] < T]
        n, cols = n[order], cols[order]
        arrivals.append([torch.from_numpy(v) for v in np.split(cols, np.searchsorted(n, np.arange(1, T)))])
    for _ in tqdm(range(config.n_replays), desc="STDP replays", disable=None if progress is None else not progress):
        for m in range(M):
            # Traces kept up to date every step (Brian2 decays them lazily, from the last event's step:
            # the same numbers up to rounding). A zero decay keeps the nearest step only.
            x = torch.zeros(N * D, dtype=dtype)     # sum over gated arrivals r < n of dp**(n-1-r)
            y = torch.zeros(N, dtype=dtype)         # sum over spikes q <= n of dm**(n-q)
            for n in range(T):
                post = spikes[m][n]
                y *= dm
                if post.numel():
                    # (1) thresholds: postsynaptic traces (the reset code, run after thresholds in Brian2)
                    y[post] += 1.0
                    # (2) post pathway: potentiation by the arrivals of steps < n
                    if n >= D:
                        live = torch.nonzero(x).flatten()           # only these entries change
                        if live.numel():
                            at = (post[:, None], live[None, :])
                            old, k = W[at], x[live]
                            if mult:
                                new = old + a_plus * k * (hi - old) / (hi - w0)
                            else:
                                new = old + a_plus * k
                            new = new.clamp(lo, hi)
                            W[at] = new if keep is None else torch.where(keep[at], new, old)
                if n > D - 1:
                    x *= dp
                if not D - 1 <= n <= T - 2:
                    continue
                # (3) pre pathway: arrivals at n of spikes emitted at n - d + 1
                cols = arrivals[m][n]
                if not cols.numel():
                    continue
                live = torch.nonzero(y).flatten()
                if live.numel() and a_minus != 0.0:
                    at = (live[:, None], cols[None, :])
                    old, k = W[at], y[live][:, None]
                    if mult:
                        new = old - a_minus * k * (old - lo) / (w0 - lo)
                    else:
                        new = old - a_minus * k
                    new = new.clamp(lo, hi)
                    W[at] = new if keep is None else torch.where(keep[at], new, old)
                x[cols] += 1.0
    return W.reshape(N, N, D)
