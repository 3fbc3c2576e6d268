"""Joint learning of synaptic weights and real-valued synaptic delays (DelRec-style scheduling).

The learned object is a sparse list of synapses ``(post, pre, weight, delay)``
with real-valued delays ``d`` in steps, bounded to ``[delay_min, delay_max]``
(within ``[1, D]``); a neuron pair may be joined by several synapses. The
network is the discrete contract of DESIGN.md with the recall protocol (the
first ``D`` steps clamped to the target, then a free run)::

    u_j(t) = beta * u_j(t-1) * (1 - s_j(t-1)) + sum_{syn -> j} w_syn * sum_k kappa_k(d_syn) * s_pre(t - k)
    s_j(t) = H(u_j(t) - theta)

**Kernel.** During training a synapse does not deliver its spike at one step:
it spreads it over the taps ``k = 1 .. D`` of the delay buffer around its
real delay with the triangle of half-width ``w = 1 + sigma``::

    kappa_k(d) = max(w - |k - d|, 0) / w**2                          k = 1 .. D

(the kernel of DelRec, Quéant et al., written with the delay itself as the
centre; taps outside ``1 .. D`` are dropped, so near the bounds of a wide
kernel a little mass is lost). At ``sigma = 0`` it is exact two-tap linear
interpolation, ``kappa = 1 - |k - d|`` on the two taps around ``d``. Its
derivative ``d kappa_k / d d = sign(k - d) / w**2`` inside the triangle is
taken, at the kinks (``k = d`` and ``|k - d| = w``), as the mean of the two
one-sided derivatives, so that an integer delay still receives a gradient.

**Schedule.** Epoch ``e`` of ``E`` (1-based) trains with

    sigma_e = sigma_init * sigma_decay ** floor(sigma_steps * (e - 1) / E)

(DelRec: ``sigma_init = 10``, ``sigma_decay = 0.95``, 100 steps, ending near
0.06); ``sigma_e`` below ``sigma_min`` is taken as 0 (two-tap interpolation).
Every evaluation (and the result) **rounds** the delays to the nearest step
(``torch.round``, half to even) and runs the hard-threshold network
:func:`hdsnn.models.simulate` on the dense tensor of the rounded synapses.

**Gradient.** The spread weights form the tap tensor ``P[pre, k-1, post]`` (one
``N x D x N`` tensor, the shape of the dense weights, not a per-step
context); the network and its lean adjoint are those of the BPTT trainer
(:func:`hdsnn.learning.delay_lif_counts`: hard spikes forward, the
surrogate backward, the reset detached, dropout on the currents, the runaway
guard); the adjoint's ``dL/dP`` comes back to the synapses through
:func:`spread_synapses`, whose custom backward gathers each synapse's taps::

    dL/dw_syn = sum_k kappa_k(d_syn) * dL/dP[pre, k-1, post]
    dL/dd_syn = w_syn * sum_k kappa'_k(d_syn) * dL/dP[pre, k-1, post]

After each optimizer step the delays are clipped to their bounds. With ``refit``
(default) the weights are finally re-learned, for the best epoch's rounded
delays, by the teacher-forced margin learner, and kept if they recall at
least as well. With
``learn='weights'`` or ``'delays'`` the other set stays as initialised; with
``axonal=True`` one delay per presynaptic neuron is shared by all its synapses
(``d_syn = d_axon[pre]``, the gradients summed over its synapses).

The loss, the learning-rate schedule (warm-up, cosine; the delays have their
own peak rate ``lr_delay`` on the same schedule), the eval-mode early stop,
the checkpoints and the resumption are those of :func:`hdsnn.learning.train`.
Cost: one epoch costs about what an epoch of the dense trainer costs (the
tap tensor is dense), whatever the number of synapses.
"""
from __future__ import annotations

import hashlib
import math
import resource
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from hdsnn.config import NetworkConfig, TrialConfig, param
from hdsnn.io import folder_lock, write_json
from hdsnn.models.connectivity import random_synapses
from hdsnn.models.export import SynapseList
from hdsnn.models.scores import score
from hdsnn.validation import check_real

from .bptt import TrainConfig, check_trainer_inputs, f1_loss_from_counts, learning_rate, scored_targets
from .checkpoint import check_resumable, epoch_end, load_checkpoint, optimizer_state, save_checkpoint
from .delay_lif import delay_lif_counts
from .hebbian import masked_hebbian_init
from .margin import MarginConfig, margin_init
from .surrogate import Surrogate

__all__ = ["DelayConfig", "DelayResult", "learn_delays", "spread_synapses", "tap_kernel", "delay_sigma",
           "rounded_weights", "LEARN_CHOICES"]

LEARN_CHOICES = ("weights", "delays", "both")
INITS = ("margin", "hebbian", "random")


@dataclass(frozen=True)
class DelayConfig(TrainConfig):
    """Settings of the joint learning of weights and delays: those of :class:`~hdsnn.learning.TrainConfig`
    (with the defaults below) and the synapses, the delays and the kernel schedule.

    DelRec's schedule is ``sigma_init=10, sigma_decay=0.95, sigma_steps=100``. The default
    starts at two-tap interpolation (``sigma_init=0``): measured from the margin start (M=2,
    N=64, T=150, D=12, K=4, pooled F1 0.88), a wide kernel makes the training network differ
    from the rounded one and loses F1 (after 60 epochs, ``sigma_init=1``: 0.88 -> 0.40 at the
    last epoch; ``sigma_init=0``: 0.94 to 0.98). A wide kernel is what gives a delay far from the tap it needs a gradient at
    all (at ``sigma=0`` only the two taps around a delay see it): the two-neuron example of the
    tests needs ``sigma_init=2``.

    Parameters
    ----------
    lr, lr_min, dropout, alpha, clip
        As in :class:`~hdsnn.learning.TrainConfig`; defaults 1e-3, 1e-3 (constant), 0, 5, none.
    synapses_per_pair : int
        Synapses per connected pair (>= 1), each with its own delay (when the learner draws them).
    p_connect : float in (0, 1]
        Probability that an ordered pair is connected (when the learner draws the synapses).
    learn : {'weights', 'delays', 'both'}
        What is learned; the rest keeps its initial value.
    axonal : bool
        One delay per presynaptic neuron, shared by its synapses.
    delay_min, delay_max : float
        Bounds of the delays in steps, ``1 <= delay_min < delay_max <= D`` (None: ``D``).
    sigma_init : float
        Kernel width parameter at the start (>= 0): the triangle has half-width ``1 + sigma``.
    sigma_decay : float in (0, 1]
        Factor applied ``sigma_steps`` times over the training.
    sigma_steps : int
        Number of decays of sigma over the epochs (>= 1).
    sigma_min : float
        Sigma below this is taken as 0: two-tap linear interpolation (>= 0).
    lr_delay : float
        Peak learning rate of the delays, in steps (> 0).
    self_connections : bool
        Allow ``post == pre`` when the learner draws the synapses.
    refit : bool
        After the epochs, re-learn the weights by the teacher-forced margin learner
        (:func:`hdsnn.learning.margin_init`, one convex problem per neuron) on the channels of
        the best epoch's rounded delays, and keep them if their eval F1 is not lower (the
        margin learner finds exact weights for given delays where BPTT stalls on a few
        missed spikes). Ignored with ``learn='delays'``.
    init : {'margin', 'hebbian', 'random'}
        Initial weights when none are given: the margin learner on the initial synapses'
        channels (default), the masked Hebbian rule, or random.

    Examples
    --------
    >>> DelayConfig(synapses_per_pair=2, learn="delays").learn
    'delays'
    >>> DelayConfig(learn="all")
    Traceback (most recent call last):
    ...
    ValueError: learn must be one of 'weights', 'delays', 'both'; got 'all'
    """

    # Defaults measured on small storage runs (M=1-2, N=48-96, K=2-4, from the margin start): no dropout,
    # a softer surrogate and a constant rate train; the TrainConfig defaults lose F1 from the start.
    lr: float = param(1e-3, "peak learning rate of the weights", minimum=0.0, open_min=True)
    lr_min: float = param(1e-3, "learning rate at the end of the cosine decay (<= lr)", minimum=0.0)
    dropout: float = param(0.0, "dropout on synaptic currents", minimum=0.0, maximum=1.0, open_max=True)
    alpha: float = param(5.0, "sharpness of the surrogate", minimum=0.0, open_min=True)
    clip: float | None = param(None, "maximum gradient norm (default: no clipping)", minimum=0.0, open_min=True)
    synapses_per_pair: int = param(1, "synapses per connected pair, each with its own delay", minimum=1)
    p_connect: float = param(1.0, "probability that an ordered pair is connected", minimum=0.0, maximum=1.0,
                             open_min=True)
    learn: str = param("both", "what is learned: weights, delays or both", choices=LEARN_CHOICES)
    axonal: bool = param(False, "one delay per presynaptic neuron (axonal), shared by its synapses")
    delay_min: float = param(1.0, "smallest delay (steps)", minimum=1.0)
    delay_max: float | None = param(None, "largest delay (steps; default: D)", minimum=1.0)
    sigma_init: float = param(0.0, "initial kernel width sigma (triangle half-width 1 + sigma; DelRec: 10)",
                              minimum=0.0)
    sigma_decay: float = param(0.95, "factor of sigma per step of its schedule", minimum=0.0, maximum=1.0,
                               open_min=True)
    sigma_steps: int = param(100, "decays of sigma over the training", minimum=1)
    sigma_min: float = param(0.05, "sigma below this is 0: two-tap linear interpolation", minimum=0.0)
    lr_delay: float = param(0.1, "peak learning rate of the delays (steps)", minimum=0.0, open_min=True)
    self_connections: bool = param(True, "allow post == pre when the synapses are drawn")
    refit: bool = param(True, "after training, re-learn the weights by the margin learner on the best "
                              "epoch's rounded delays; kept if its F1 is not lower (not with learn='delays')")
    init: str = param("margin", "initial weights when none are given: margin (the teacher-forced margin "
                                "learner on the initial synapses), hebbian or random", choices=INITS)

    def _check(self):
        super()._check()
        if self.delay_max is not None and self.delay_max <= self.delay_min:
            raise ValueError(f"delay_max must be > delay_min ({self.delay_min}); got {self.delay_max}")

    def bounds(self, D: int) -> tuple[float, float]:
        """``(delay_min, delay_max)`` for ``D`` taps; refuses bounds outside ``[1, D]``.

        Examples
        --------
        >>> DelayConfig().bounds(9)
        (1.0, 9.0)
        >>> DelayConfig(delay_max=12.0).bounds(9)
        Traceback (most recent call last):
        ...
        ValueError: delay_max must be in (delay_min=1.0, D=9]; got 12.0
        """
        high = float(D) if self.delay_max is None else self.delay_max
        if high > D:
            raise ValueError(f"delay_max must be in (delay_min={self.delay_min}, D={D}]; got {high}")
        if self.delay_min >= high:
            raise ValueError(f"delay_min must be in [1, {high}) (delay_max, default D={D}); got {self.delay_min}")
        return self.delay_min, high


@dataclass(frozen=True)
class DelayResult:
    """Outcome of :func:`learn_delays`.

    Attributes
    ----------
    synapses : SynapseList
        The synapses of the epoch with the best eval-mode pooled F1: ``weight``,
        ``delay_ms`` the learned real delays (dt = 1 ms: steps), ``delay_steps`` their rounding.
    last : SynapseList
        The synapses after the last epoch run.
    best_f1 : float
    epochs : int
        Epochs run in total (resumed ones included).
    history : list of dict
        One record per evaluated epoch (epoch 0 is the initialisation).
    seconds : float
    memory : dict
        ``tap_tensor_bytes`` (the ``N x D x N`` tap tensor, one copy), ``saved_bytes``
        (what a batch keeps between the passes), ``peak_rss_bytes`` (the process's
        peak resident memory so far) and, on CUDA, ``peak_cuda_bytes``.
    initial : SynapseList
        The synapses the training started from.
    """

    synapses: SynapseList
    last: SynapseList
    best_f1: float
    epochs: int
    history: list
    seconds: float
    memory: dict
    initial: SynapseList


# ---------------------------------------------------------------------------------------------------
# The functional core: schedule, kernel, spread, rounding.

def delay_sigma(config: DelayConfig, epoch: int) -> float:
    """Kernel width ``sigma`` of ``epoch`` (1-based) under ``config``'s schedule.

    Examples
    --------
    >>> c = DelayConfig(sigma_init=10.0, sigma_decay=0.5, sigma_steps=4, epochs=8, sigma_min=1.0)
    >>> [delay_sigma(c, e) for e in range(1, 9)]
    [10.0, 10.0, 5.0, 5.0, 2.5, 2.5, 1.25, 1.25]
    >>> delay_sigma(replace(c, sigma_min=2.0), 8)
    0.0
    """
    step = math.floor(config.sigma_steps * (epoch - 1) / config.epochs)
    sigma = config.sigma_init * config.sigma_decay ** step
    return 0.0 if sigma < config.sigma_min else float(sigma)


def tap_kernel(delay: torch.Tensor, sigma: float, D: int):
    """The taps, weights and slopes of the triangle kernel of each delay.

    Parameters
    ----------
    delay : float tensor ``(S,)``
        Real delays in steps.
    sigma : float
        Half-width ``1 + sigma`` of the triangle (>= 0).
    D : int
        Taps ``1 .. D``.

    Returns
    -------
    (taps, kappa, slope) : tensors ``(S, 2r + 1)``, ``r = ceil(1 + sigma)``
        Tap index ``k`` (clamped into ``1 .. D``), ``kappa_k(d)`` (0 outside ``1 .. D``) and
        ``d kappa_k / d d`` (the mean of the one-sided derivatives at the kinks).

    Examples
    --------
    >>> taps, kappa, slope = tap_kernel(torch.tensor([2.25]), 0.0, 5)
    >>> [(int(k), float(v)) for k, v in zip(taps[0], kappa[0]) if v > 0]
    [(2, 0.75), (3, 0.25)]
    >>> _, kappa, slope = tap_kernel(torch.tensor([3.0]), 0.0, 5)
    >>> kappa[0].tolist(), slope[0].tolist()
    ([0.0, 1.0, 0.0], [-0.5, 0.0, 0.5])
    """
    width = 1.0 + float(sigma)
    r = math.ceil(width)
    k = torch.floor(delay).to(torch.long)[:, None] + torch.arange(-r, r + 1, device=delay.device)[None, :]
    inside = (k >= 1) & (k <= D)
    offset = k.to(delay.dtype) - delay[:, None]
    room = width - offset.abs()
    kappa = torch.where(inside, room.clamp(min=0.0), torch.zeros_like(room)) / width ** 2
    part = torch.where(room > 0, 1.0, torch.where(room == 0, 0.5, 0.0)).to(delay.dtype)
    slope = torch.where(inside, torch.sign(offset) * part, torch.zeros_like(room)) / width ** 2
    return k.clamp(1, D), kappa, slope


class _Spread(torch.autograd.Function):
    """Synapses -> tap tensor ``P[pre, k-1, post]``; backward gathers each synapse's taps (recomputing the kernel)."""

    @staticmethod
    def forward(ctx, weight, delay, post, pre, sigma, N, D):
        taps, kappa, _ = tap_kernel(delay, sigma, D)
        flat = ((pre[:, None] * D + taps - 1) * N + post[:, None]).reshape(-1)
        P = torch.zeros(N * D * N, dtype=weight.dtype, device=weight.device)
        P.index_add_(0, flat, (weight[:, None] * kappa).reshape(-1))
        ctx.save_for_backward(weight, delay, post, pre)
        ctx.params = (sigma, N, D)
        return P.view(N, D, N)

    @staticmethod
    def backward(ctx, grad_P):
        weight, delay, post, pre = ctx.saved_tensors
        sigma, N, D = ctx.params
        taps, kappa, slope = tap_kernel(delay, sigma, D)
        flat = (pre[:, None] * D + taps - 1) * N + post[:, None]
        g = grad_P.reshape(-1)[flat]                                   # (S, taps)
        grad_w = (g * kappa).sum(1) if ctx.needs_input_grad[0] else None
        grad_d = weight * (g * slope).sum(1) if ctx.needs_input_grad[1] else None
        return grad_w, grad_d, None, None, None, None, None


def spread_synapses(weight, delay, post, pre, N: int, D: int, sigma: float) -> torch.Tensor:
    """The weight tensor ``(N, N, D)`` ``[post, pre, k-1]`` of synapses spread over the taps by the kernel.

    Differentiable with respect to ``weight`` and ``delay`` (custom backward, see the module's
    docstring); the result is a view of a contiguous ``[pre, k-1, post]`` tensor, the layout of
    :func:`hdsnn.learning.delay_lif_counts`, so the network reads it without a copy.

    Parameters
    ----------
    weight, delay : float tensors ``(S,)``
        Weights and real delays (steps) of the synapses.
    post, pre : int tensors ``(S,)``
    N, D : int
    sigma : float
        Kernel width (>= 0); 0: linear interpolation between the two taps around each delay.

    Returns
    -------
    float tensor ``(N, N, D)``

    Raises
    ------
    ValueError
        Arrays of different lengths, neurons outside ``0 .. N-1``, delays outside ``[1, D]``.

    Examples
    --------
    >>> w = torch.tensor([2.0], requires_grad=True); d = torch.tensor([1.5], requires_grad=True)
    >>> W = spread_synapses(w, d, torch.tensor([1]), torch.tensor([0]), N=2, D=3, sigma=0.0)
    >>> W[1, 0].tolist()
    [1.0, 1.0, 0.0]
    >>> (W[1, 0, 1] * 1.0).backward(); w.grad.item(), d.grad.item()     # d/dd of w * (d - 1)
    (0.5, 2.0)
    """
    post, pre = torch.as_tensor(post).long(), torch.as_tensor(pre).long()
    S = weight.shape[0]
    if not (weight.ndim == delay.ndim == post.ndim == pre.ndim == 1) or {delay.shape[0], post.shape[0],
                                                                           pre.shape[0]} != {S}:
        raise ValueError(f"weight, delay, post and pre must be 1-d of one length; got {tuple(weight.shape)}, "
                         f"{tuple(delay.shape)}, {tuple(post.shape)}, {tuple(pre.shape)}")
    if S and (int(post.min()) < 0 or int(pre.min()) < 0 or int(post.max()) >= N or int(pre.max()) >= N):
        raise ValueError(f"post and pre must be neurons 0 .. {N - 1}")
    low, high = (float(delay.detach().min()), float(delay.detach().max())) if S else (1.0, 1.0)
    if low < 1.0 or high > D:
        raise ValueError(f"delay must be in [1, D={D}] steps; got {low:g} .. {high:g}")
    sigma = check_real("sigma", sigma, 0.0)
    device = weight.device
    return _Spread.apply(weight, delay.to(weight.dtype), post.to(device), pre.to(device), sigma, N, D).permute(2, 0, 1)


def rounded_weights(synapses: SynapseList) -> torch.Tensor:
    """The dense tensor ``(N, N, D)`` of a synapse list at its ``delay_steps`` (duplicates summed), as
    :meth:`hdsnn.models.SynapseList.to_dense`.

    Examples
    --------
    >>> syn = SynapseList(np.array([1, 1]), np.array([0, 0]), np.array([2, 2]), np.array([0.5, 0.25], np.float32),
    ...                   N=2, D=3)
    >>> rounded_weights(syn)[1, 0].tolist()
    [0.0, 0.75, 0.0]
    """
    return synapses.to_dense()


def _synapse_list(post, pre, weight, delay, N, D) -> SynapseList:
    delay = delay.detach().double().cpu()
    return SynapseList(post.numpy().astype(np.int32), pre.numpy().astype(np.int32),
                       torch.round(delay).clamp(1, D).numpy().astype(np.int32),
                       weight.detach().float().cpu().numpy().copy(), int(N), int(D), delay_ms=delay.numpy().copy())


# ---------------------------------------------------------------------------------------------------
# The learner.

def _initial_synapses(targets, synapses, mask, config: DelayConfig, N, D, low, high):
    """``(post, pre, weight or None, delay)`` as tensors: given, from a mask, or drawn."""
    given = [name for name, v in (("synapses", synapses), ("mask", mask)) if v is not None]
    if len(given) > 1:
        raise ValueError("give the initial synapses as synapses or as mask, not both")
    if synapses is not None:
        if not isinstance(synapses, SynapseList):
            raise ValueError(f"synapses must be a SynapseList; got {type(synapses).__name__}")
        if synapses.N != N:
            raise ValueError(f"synapses are for N={synapses.N} neurons; the targets have N={N}")
        delay = synapses.delay_ms if synapses.delay_ms is not None else synapses.delay_steps
        weight = torch.from_numpy(np.asarray(synapses.weight, np.float32)).clone()
        return (torch.from_numpy(np.asarray(synapses.post)).long(), torch.from_numpy(np.asarray(synapses.pre)).long(),
                weight if bool((weight != 0).any()) else None, torch.as_tensor(np.asarray(delay, np.float64)))
    if mask is not None:
        mask = torch.as_tensor(mask).to(torch.bool)
        if tuple(mask.shape) != (N, N, D):
            raise ValueError(f"mask must have shape (N, N, D) = {(N, N, D)}; got {tuple(mask.shape)}")
        post, pre, d = torch.nonzero(mask, as_tuple=True)
        return post, pre, None, (d + 1).double()
    syn, delay_ms = random_synapses(N, D, p_connect=config.p_connect, synapses_per_pair=config.synapses_per_pair,
                                    self_connections=config.self_connections, seed=config.seed)
    return (torch.from_numpy(syn.post).long(), torch.from_numpy(syn.pre).long(), None,
            torch.from_numpy(syn.delay_steps).double().clamp(low, high))


def _initial_weights(targets, post, pre, delay, config: DelayConfig, net: NetworkConfig):
    """Margin or Hebbian weights on each synapse's rounded channel (shared among duplicates), or random ones."""
    N, D, S = net.N, net.D, post.numel()
    if config.init == "random":
        p = float(targets.float().mean())
        fan_in = max(S / N, 1.0)
        g = torch.Generator().manual_seed(config.seed)
        return torch.randn(S, generator=g) * config.init_std * net.theta / math.sqrt(fan_in * max(p, 1e-12))
    channel = torch.round(delay).clamp(1, D).long() - 1
    mask = torch.zeros(N, N, D, dtype=torch.bool)
    mask[post, pre, channel] = True
    if config.init == "margin":
        W = margin_init(targets, D, MarginConfig(seed=config.seed), net=net, mask=mask, progress=False).W
    else:
        W = masked_hebbian_init(targets, mask, beta=net.beta, gain=config.gain)
    count = torch.zeros(N, N, D)
    count.index_put_((post, pre, channel), torch.ones(S), accumulate=True)
    return (W[post, pre, channel] / count[post, pre, channel]).float()


def _evaluate(synapses: SynapseList, trials, targets, net, config):
    from hdsnn.models import simulate

    sim = simulate(rounded_weights(synapses), trials.inputs, trials.clamp, net, max_rate=config.eval_max_rate,
                   device=config.device, progress=False)
    return score(targets, trials.extract(sim.raster), net.D), int(sim.runaway.sum())


def _digest(*tensors) -> str:
    h = hashlib.sha256()
    for t in tensors:
        h.update(torch.as_tensor(t).detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def _peak_rss() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def learn_delays(targets, synapses: SynapseList | None = None, config: DelayConfig | None = None,
                 net: NetworkConfig | None = None, *, trial: TrialConfig | None = None, mask=None, out=None,
                 resume: bool = False, progress: bool | None = None) -> DelayResult:
    """Learn the weights and real-valued delays of a sparse synapse list by closed-loop BPTT.

    Parameters
    ----------
    targets : bool array ``(M, N, T)``
        Patterns to store.
    synapses : SynapseList, optional
        Initial synapses: their delays (``delay_ms`` if set, else ``delay_steps``; dt = 1 ms)
        and, unless all zero, their weights. Default: drawn by
        :func:`hdsnn.models.random_synapses` (``p_connect``, ``synapses_per_pair``, ``seed``;
        delays uniform, clipped to the bounds), weights by ``config.init``.
    config : DelayConfig, optional
    net : NetworkConfig, optional
        Neuron and ``D``, the number of taps (``N`` from the targets).
    trial : TrialConfig, optional
        Recall protocol of the training and eval trials (default: clamped trigger window).
    mask : bool array ``(N, N, D)``, optional
        Initial synapses as a mask instead: one synapse per entry, at its delay.
    out : str or Path, optional
        Folder for ``checkpoint.npz`` and ``history.json`` (locked while the run lasts).
    resume : bool
        Continue from ``out/checkpoint.npz`` (same targets, synapses and configuration required).
    progress : bool or None
        Progress bar (None: on a terminal only).

    Returns
    -------
    DelayResult

    Raises
    ------
    ValueError
        Bad targets or configuration, delay bounds outside ``[1, D]``, initial synapses that do not
        fit, before any work starts.

    Examples
    --------
    >>> from hdsnn.models import bernoulli_patterns
    >>> P = bernoulli_patterns(M=1, N=16, T=40, p_A=0.05, seed=0)
    >>> r = learn_delays(P, config=DelayConfig(epochs=2, dropout=0.0, stop_f1=None), net=NetworkConfig(D=6),
    ...                  progress=False)
    >>> len(r.synapses) == 16 * 16, r.synapses.delay_ms is not None, r.epochs
    (True, True, 2)
    """
    if out is None:
        return _learn(targets, synapses, config, net, trial, mask, None, resume, progress)
    with folder_lock(out):
        return _learn(targets, synapses, config, net, trial, mask, Path(out), resume, progress)


def _learn(targets, synapses, config, net, trial, mask, out, resume, progress) -> DelayResult:
    from hdsnn.models import make_trials

    start_time = time.perf_counter()
    targets, config, base = check_trainer_inputs(targets, config, DelayConfig, net)
    M, N, T = targets.shape
    net = replace(base, N=N)
    D = net.D
    if D >= T:
        raise ValueError(f"D ({D} delays) must be smaller than T ({T} steps per pattern)")
    if trial is not None and not isinstance(trial, TrialConfig):
        raise ValueError(f"trial must be a TrialConfig; got {type(trial).__name__}")
    low, high = config.bounds(D)
    post, pre, weight, delay = _initial_synapses(targets, synapses, mask, config, N, D, low, high)
    if post.numel() == 0:
        raise ValueError("there are no synapses to learn (empty synapse list or mask)")
    if float(delay.min()) < low or float(delay.max()) > high:
        raise ValueError(f"initial delays must be in [delay_min, delay_max] = [{low:g}, {high:g}]; got "
                         f"{float(delay.min()):g} .. {float(delay.max()):g}")
    if weight is None:
        weight = _initial_weights(targets, post, pre, delay, config, net)
    device = torch.device(config.device)
    dtype = torch.float32
    if config.axonal:
        axon = torch.full((N,), low, dtype=torch.float64)
        total = torch.zeros(N, dtype=torch.float64).index_add_(0, pre, delay)
        count = torch.bincount(pre, minlength=N).double()
        axon = torch.where(count > 0, total / count.clamp(min=1), axon)
        d_param = axon.to(dtype).to(device).requires_grad_(config.learn != "weights")
    else:
        d_param = delay.to(dtype).to(device).requires_grad_(config.learn != "weights")
    w_param = weight.to(dtype).to(device).requires_grad_(config.learn != "delays")
    post_d, pre_d = post.to(device), pre.to(device)

    def synapse_delays():
        return d_param[pre_d] if config.axonal else d_param

    def current():
        return _synapse_list(post, pre, w_param.cpu(), synapse_delays().cpu(), N, D)

    groups = []
    if config.learn != "delays":
        groups.append({"params": [w_param], "lr": config.lr, "weight_decay": config.weight_decay, "peak": config.lr})
    if config.learn != "weights":
        groups.append({"params": [d_param], "lr": config.lr_delay, "weight_decay": 0.0, "peak": config.lr_delay})
    if config.optimizer == "adamw":
        optimizer = torch.optim.AdamW(groups, lr=config.lr)
    else:
        optimizer = torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum)
    params = [p for g in groups for p in g["params"]]
    generator = torch.Generator().manual_seed(config.seed)
    surrogate = Surrogate(config.surrogate, config.alpha)
    batch = M if config.batch_size is None else min(config.batch_size, M)
    trials = make_trials(targets, D, trial)
    initial = current()
    settings = {k: v for k, v in config.to_dict().items() if k != "max_seconds"}
    identity = {"config": settings, "network": net.to_dict(), "trial": (trial or TrialConfig()).to_dict(),
                "targets_sha256": _digest(targets), "synapses_sha256": _digest(post, pre, weight, delay),
                "layout": "parameters [weights (S), delays (S or N)]"}

    def packed():
        return torch.cat([w_param.detach().cpu(), d_param.detach().cpu()])

    history: list = []
    best_f1, best, epoch = -1.0, initial, 0
    ckpt = None if out is None else out / "checkpoint.npz"
    if resume and ckpt is not None and ckpt.exists():
        state = load_checkpoint(ckpt)
        check_resumable(state, identity, ckpt)
        S = w_param.numel()
        with torch.no_grad():
            w_param.copy_(state["W"][:S].to(device))
            d_param.copy_(state["W"][S:].to(device))
        optimizer.load_state_dict(optimizer_state(optimizer, state["optimizer"], device))
        generator.set_state(state["rng_state"])
        best_packed = state["best_W"]
        best = _synapse_list(post, pre, best_packed[:S], best_packed[S:][pre] if config.axonal else best_packed[S:],
                             N, D)
        best_f1 = float(state["meta"]["best_f1"])
        history, epoch = state["meta"]["history"], state["epoch"]
    else:
        scores, runaway = _evaluate(initial, trials, targets, net, config)
        history.append(_record(0, None, 0.0, None, scores, runaway, 0.0))
        best_f1 = scores.pooled()["f1"]
    best_params = packed() if not (resume and ckpt is not None and ckpt.exists()) else state["best_W"]

    def checkpoint():
        if ckpt is not None:
            save_checkpoint(ckpt, W=packed(), best_W=best_params, optimizer=optimizer, generator=generator,
                            epoch=epoch, meta={**identity, "history": history, "best_f1": best_f1})

    inputs, clamp = trials.inputs.to(device), trials.clamp.to(device)
    aligned, scored = scored_targets(trials, targets, D)
    aligned, scored = aligned.to(device), scored.to(device)
    n_target = targets[:, :, D:].sum(dim=(1, 2))
    L = inputs.shape[2]
    memory = {"synapses": int(post.numel()), "tap_tensor_bytes": N * D * N * 4,
              "saved_bytes": batch * L * N * (4 + 1 + (1 if config.dropout > 0 else 0))}
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    done = config.stop_f1 is not None and history[-1]["f1"] >= config.stop_f1
    bar = tqdm(total=config.epochs, initial=epoch, desc="delays", unit="epoch",
               disable=None if progress is None else not progress)
    while not done and epoch < config.epochs:
        epoch += 1
        t0 = time.perf_counter()
        factor = learning_rate(config, epoch) / config.lr
        for group in optimizer.param_groups:
            group["lr"] = group["peak"] * factor
        sigma = delay_sigma(config, epoch)
        order = torch.randperm(M, generator=generator) if batch < M else torch.arange(M)
        losses = []
        for first in range(0, M, batch):
            rows = order[first: first + batch]
            keep = None
            if config.dropout > 0:
                keep = (torch.rand(len(rows), N, L, generator=generator) >= config.dropout).to(device)
            optimizer.zero_grad(set_to_none=True)
            W = spread_synapses(w_param, synapse_delays(), post_d, pre_d, N, D, sigma)
            dev_rows = rows.to(device)
            counts = delay_lif_counts(W, inputs[dev_rows], aligned[dev_rows], scored[dev_rows], clamp[dev_rows], net,
                                      surrogate, keep=keep, dropout=config.dropout, block=config.block,
                                      max_rate=config.train_max_rate)
            loss = f1_loss_from_counts(counts, n_target[rows].sum())
            if loss.requires_grad:
                loss.backward()
                if config.clip is not None:
                    torch.nn.utils.clip_grad_norm_(params, config.clip)
                optimizer.step()
            with torch.no_grad():
                d_param.clamp_(low, high)
            losses.append(float(loss.detach()))
            del W, counts, loss
        now = current()
        scores, runaway = _evaluate(now, trials, targets, net, config)
        history.append(_record(epoch, float(np.mean(losses)), learning_rate(config, epoch), sigma, scores, runaway,
                               time.perf_counter() - t0))
        f1 = history[-1]["f1"]
        if f1 > best_f1:
            best_f1, best, best_params = f1, now, packed()
        done = config.stop_f1 is not None and f1 >= config.stop_f1
        bar.update(1)
        bar.set_postfix(loss=f"{history[-1]['loss']:.4f}", f1=f"{f1:.4f}", sigma=f"{sigma:.2f}")
        save_now, out_of_time = epoch_end(config, epoch, done, start_time)
        if save_now:
            checkpoint()
        if out_of_time:
            break
    bar.close()
    if config.refit and config.learn != "delays" and not (resume and history and history[-1].get("refit")):
        t0 = time.perf_counter()
        delay_best = torch.from_numpy(best.delay_ms)
        weight = _initial_weights(targets, post, pre, delay_best, replace(config, init="margin"), net)
        refitted = _synapse_list(post, pre, weight, delay_best, N, D)
        scores, runaway = _evaluate(refitted, trials, targets, net, config)
        history.append({**_record(epoch, None, 0.0, None, scores, runaway, time.perf_counter() - t0),
                        "refit": True})
        if history[-1]["f1"] >= best_f1:
            best_f1, best = history[-1]["f1"], refitted
    memory["peak_rss_bytes"] = _peak_rss()
    if device.type == "cuda":
        memory["peak_cuda_bytes"] = int(torch.cuda.max_memory_allocated(device))
    if out is not None:
        write_json(out / "history.json", {**identity, "history": history, "best_f1": best_f1, "epochs": epoch,
                                          "memory": memory})
    return DelayResult(best, current(), best_f1, epoch, history, time.perf_counter() - start_time, memory, initial)


def _record(epoch, loss, lr, sigma, scores, runaway, seconds) -> dict:
    return {"epoch": epoch, "loss": loss, "lr": lr, "sigma": sigma, **scores.pooled(), "runaway": runaway,
            "seconds": seconds}
