"""A recurrent delayed LIF population with inputs and a leaky readout, for tasks with a decision.

The math, once (1-ms steps ``t``; ``N`` recurrent neurons, ``n_in`` inputs, ``K`` classes)::

    u_i[t] = alpha_i u_i[t-1] + sum_j Win_ij x_j[t] + b_i + sum_d sum_j W_ij^(d) z_j[t-d]
    z_i[t] = H(u_i[t] - theta_i)                        (H(0) = 1)
    u_i[t] <- u_i[t] - theta_i z_i[t]                   (subtract reset)
    y_k[t] = kappa y_k[t-1] + sum_i Wout_ki z_i[t] + c_k
    decision = argmax_k mean_{t in window} y_k[t]

with ``alpha_i = exp(-dt / tau_i)``, ``kappa = exp(-dt / tau_out)``, ``z[t] = 0``
for ``t < 0`` and ``u[-1] = y[-1] = 0``. ``W^(d)`` is the recurrent weight
matrix restricted to the synapses of delay ``d`` (``mask[:, :, d-1]``): the
delay machinery of the package, a boolean mask of shape ``(N, N, D)``.

Delays (:func:`lattice_delays`, DelayNet): the neurons sit on a jittered
cubic lattice (``N = n^3``, coordinates ``i + U(0, 0.5)``); a neuron within
``inner * r_max`` of the lattice centre (``r_max`` the lattice diagonal
``n sqrt(3)``) has delay 1 step, one within ``outer * r_max`` the middle delay
(80 ms), the others the long delay (100 ms). The delay belongs to the neuron:
to every synapse it sends (``side='pre'``, axonal) or receives (``'post'``,
as DelayNet's code assigns it). No self-connections. ``delays='none'`` gives
every synapse 1 step; ``recurrent=False`` removes the recurrent synapses (a
feed-forward control).

The network is pure: :func:`run_task_network` takes the parameters
(:class:`TaskParameters`) and a spike function; the learner
(:mod:`hdsnn.learning.task_training`) passes a surrogate one.

Examples
--------
>>> cfg = TaskNetworkConfig(n_in=2, n_rec=8, n_out=2, delays="none")
>>> p = init_task_parameters(cfg, seed=0)
>>> out = run_task_network(p, torch.ones(3, 2, 20), window=(15, 20))
>>> tuple(out.logits.shape), tuple(out.spikes.shape)
((3, 2), (3, 8, 20))
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np
import torch

from hdsnn.config import Record, param

__all__ = ["TaskNetworkConfig", "TaskParameters", "TaskOutput", "lattice_delays", "delay_mask_of",
           "init_task_parameters", "run_task_network", "readout_trace", "DELAY_MODES", "DELAY_SIDES",
           "save_task_network", "load_task_network",
           "clamp_parameters"]

DELAY_MODES = ("lattice", "none")
DELAY_SIDES = ("pre", "post")


@dataclass(frozen=True)
class TaskNetworkConfig(Record):
    """The task network's structure and the bounds of its learnable constants.

    Examples
    --------
    >>> TaskNetworkConfig().tau_ms, TaskNetworkConfig().tau_max_ms
    (45.0, 50.0)
    >>> TaskNetworkConfig(n_rec=100)
    Traceback (most recent call last):
    ...
    ValueError: n_rec must be a cube (n^3: 8, 27, 64, 125, 216, ...) for delays='lattice'; got 100
    """

    n_in: int = param(40, "input channels", minimum=1)
    n_rec: int = param(125, "recurrent neurons (a cube n^3 for lattice delays)", minimum=1)
    n_out: int = param(2, "readout units (classes)", minimum=2)
    recurrent: bool = param(True, "recurrent synapses (False: a feed-forward control)")
    delays: str = param("lattice", "neuron-level delays from a jittered lattice, or 1 step everywhere",
                        choices=DELAY_MODES)
    delay_side: str = param("pre", "the neuron whose position sets a synapse's delay", choices=DELAY_SIDES)
    mid_delay: int = param(80, "delay of neurons between the inner and outer radius (steps)", minimum=1)
    long_delay: int = param(100, "delay of neurons beyond the outer radius (steps)", minimum=1)
    inner: float = param(0.2, "inner radius, fraction of the lattice diagonal", minimum=0.0)
    outer: float = param(0.3, "outer radius, fraction of the lattice diagonal", minimum=0.0)
    tau_ms: float = param(45.0, "initial membrane time constant (ms)", minimum=0.0, open_min=True, unit="ms")
    tau_min_ms: float = param(0.1, "smallest membrane time constant (ms)", minimum=0.0, open_min=True, unit="ms")
    tau_max_ms: float = param(50.0, "largest membrane time constant (ms)", minimum=0.0, open_min=True, unit="ms")
    tau_out_ms: float = param(45.0, "initial readout time constant (ms)", minimum=0.0, open_min=True, unit="ms")
    theta: float = param(0.5, "initial threshold", minimum=0.0, open_min=True)
    theta_min: float = param(0.1, "smallest threshold", minimum=0.0, open_min=True)
    heterogeneous: bool = param(False, "one time constant and threshold per neuron (else shared)")
    input_scale: float = param(0.3, "initial input weights, in units of sqrt(6 / n_in)", minimum=0.0)
    rec_scale: float = param(0.6, "initial recurrent weights, in units of sqrt(6 / n_rec)", minimum=0.0)
    output_scale: float = param(0.05, "initial readout weights, in units of sqrt(6 / n_rec)", minimum=0.0)
    learn_input: bool = param(False, "learn the input weights (DelayNet keeps them fixed)")
    positive_input: bool = param(True, "input weights kept non-negative (excitatory inputs)")
    dt_ms: float = param(1.0, "time step (ms)", minimum=0.0, open_min=True, unit="ms")

    def _check(self) -> None:
        if self.delays == "lattice" and self.recurrent:
            n = round(self.n_rec ** (1 / 3))
            if n ** 3 != self.n_rec:
                raise ValueError(f"n_rec must be a cube (n^3: 8, 27, 64, 125, 216, ...) for delays='lattice'; "
                                 f"got {self.n_rec}")
        if self.outer < self.inner:
            raise ValueError(f"outer must be at least inner={self.inner}; got {self.outer}")
        if not self.tau_min_ms <= self.tau_ms <= self.tau_max_ms:
            raise ValueError(f"tau_ms must be in [tau_min_ms, tau_max_ms] = [{self.tau_min_ms}, {self.tau_max_ms}]; "
                             f"got {self.tau_ms}")

    @property
    def max_delay(self) -> int:
        if not self.recurrent or self.delays == "none":
            return 1
        return max(1, self.mid_delay, self.long_delay)


class TaskParameters(NamedTuple):
    """The learnable tensors (``tau``, ``tau_out`` in ms) and the fixed delay mask."""

    W_in: torch.Tensor        # (N, n_in)
    W_rec: torch.Tensor       # (N, N, D): [post, pre, delay-1], zero where mask is False
    bias: torch.Tensor        # (N,)
    W_out: torch.Tensor       # (K, N)
    bias_out: torch.Tensor    # (K,)
    tau: torch.Tensor         # (N,) or (1,)
    tau_out: torch.Tensor     # (1,)
    theta: torch.Tensor       # (N,) or (1,)
    mask: torch.Tensor        # bool (N, N, D)

    def arrays(self) -> dict:
        """Every tensor as a numpy array (for files)."""
        return {name: getattr(self, name).detach().cpu().numpy() for name in self._fields}


class TaskOutput(NamedTuple):
    logits: torch.Tensor      # (B, K): readout averaged over the window
    spikes: torch.Tensor      # (B, N, T) float 0/1
    readout: torch.Tensor     # (B, K, stop - start): the readout over the window


def lattice_delays(n_rec: int, *, inner: float = 0.2, outer: float = 0.3, mid: int = 80, long: int = 100,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Neuron-level delays from a jittered cubic lattice (see the module docstring).

    Returns
    -------
    (delays, positions) : int array ``(n_rec,)`` in steps, float array ``(n_rec, 3)``

    Examples
    --------
    >>> d, pos = lattice_delays(125, seed=0)
    >>> sorted(set(d.tolist())) == [1, 80, 100], pos.shape
    (True, (125, 3))
    """
    n = round(n_rec ** (1 / 3))
    if n ** 3 != n_rec:
        raise ValueError(f"n_rec must be a cube (n^3); got {n_rec}")
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(np.arange(n), np.arange(n), np.arange(n), indexing="ij"), -1).reshape(-1, 3)
    positions = grid + rng.uniform(0.0, 0.5, size=grid.shape)
    radius = np.linalg.norm(positions - n / 2.0, axis=1)
    r_max = n * math.sqrt(3.0)
    delays = np.where(radius < inner * r_max, 1, np.where(radius < outer * r_max, mid, long))
    return delays.astype(np.int64), positions


def delay_mask_of(config: TaskNetworkConfig, seed: int = 0) -> torch.Tensor:
    """The boolean synapse mask ``(N, N, D)`` of a configuration (no self-connections)."""
    N, D = config.n_rec, config.max_delay
    mask = torch.zeros((N, N, D), dtype=torch.bool)
    if not config.recurrent:
        return mask
    if config.delays == "none":
        neuron_delay = np.ones(N, dtype=np.int64)
    else:
        neuron_delay, _ = lattice_delays(N, inner=config.inner, outer=config.outer, mid=config.mid_delay,
                                         long=config.long_delay, seed=seed)
    d = torch.from_numpy(neuron_delay - 1)
    post, pre = torch.meshgrid(torch.arange(N), torch.arange(N), indexing="ij")
    mask[post, pre, d[pre] if config.delay_side == "pre" else d[post]] = True
    mask[torch.arange(N), torch.arange(N), :] = False
    return mask


def init_task_parameters(config: TaskNetworkConfig, *, seed: int = 0, dtype=torch.float32) -> TaskParameters:
    """Initial parameters: uniform weights scaled by fan-in, zero biases.

    ``W_in ~ |U(-a, a)|`` (``U(-a, a)`` unless ``positive_input``), ``a = input_scale sqrt(6 / n_in)``; ``W_rec ~ U(-r, r)``,
    ``r = rec_scale sqrt(6 / N)`` on the synapses of the mask; ``W_out ~ U(-o, o)``,
    ``o = output_scale sqrt(6 / N)`` (small: the readout sums about ``tau_out / dt``
    steps of spikes, so that logits start near 0); time constants and threshold from ``config``. The lattice is
    drawn with the same seed. Measured on cue accumulation (125 neurons, 7 cues,
    300-ms wait, 8 epochs): with ``rec_scale`` 0.6 the network starts at about
    210 Hz and trains to 10-30 Hz and 0.73-0.79 validation accuracy; with 0.3 its
    activity dies out during training (0.3 Hz, chance); at 1.0, DelayNet's
    scale, it starts saturated at about 350 Hz.
    """
    g = torch.Generator().manual_seed(int(seed))
    N, K, n_in = config.n_rec, config.n_out, config.n_in
    mask = delay_mask_of(config, seed=seed)

    def uniform(shape, bound):
        return (torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1) * bound

    W_in = uniform((N, n_in), config.input_scale * math.sqrt(6.0 / n_in))
    W_in = W_in.abs() if config.positive_input else W_in
    W_rec = uniform(tuple(mask.shape), config.rec_scale * math.sqrt(6.0 / N)) * mask
    W_out = uniform((K, N), config.output_scale * math.sqrt(6.0 / N))
    shape = (N,) if config.heterogeneous else (1,)
    p = TaskParameters(W_in, W_rec, torch.zeros(N, dtype=torch.float64), W_out, torch.zeros(K, dtype=torch.float64),
                       torch.full(shape, config.tau_ms, dtype=torch.float64),
                       torch.full((1,), config.tau_out_ms, dtype=torch.float64),
                       torch.full(shape, config.theta, dtype=torch.float64), mask)
    return TaskParameters(*[t.to(dtype) if t.is_floating_point() else t for t in p])


def clamp_parameters(p: TaskParameters, config: TaskNetworkConfig) -> None:
    """Project the parameters, in place, back into their bounds (after an optimiser step).

    Time constants into ``[tau_min_ms, tau_max_ms]``, thresholds above
    ``theta_min``, input weights non-negative (if ``positive_input``), no weight outside the mask.
    """
    with torch.no_grad():
        p.tau.clamp_(config.tau_min_ms, config.tau_max_ms)
        p.tau_out.clamp_(config.tau_min_ms, config.tau_max_ms)
        p.theta.clamp_(min=config.theta_min)
        if config.positive_input:
            p.W_in.abs_()
        p.W_rec.mul_(p.mask)


def hard_spike(v: torch.Tensor) -> torch.Tensor:
    """``H(v)``: 1.0 where ``v >= 0``."""
    return (v >= 0).to(v.dtype)


def readout_trace(p: TaskParameters, spikes: torch.Tensor, start: int, stop: int, dt_ms: float = 1.0) -> torch.Tensor:
    """The readout ``y[t]`` for ``start <= t < stop`` from spikes ``(B, N, T)``: ``(B, K, stop - start)``.

    The leaky sum is written as one product with the kernel ``kappa^(t - s)``
    (``s <= t``), so that it is differentiable in ``kappa`` without a loop.
    """
    T = spikes.shape[-1]
    drive = torch.einsum("kn,bnt->bkt", p.W_out, spikes) + p.bias_out[None, :, None]
    kappa = torch.exp(-dt_ms / p.tau_out)
    lag = torch.arange(start, stop, dtype=drive.dtype)[:, None] - torch.arange(T, dtype=drive.dtype)[None, :]
    kernel = torch.where(lag >= 0, kappa ** lag.clamp(min=0), torch.zeros((), dtype=drive.dtype))
    return torch.einsum("bks,ts->bkt", drive, kernel)


def _neuron_delays(mask: torch.Tensor, dim: int) -> torch.Tensor | None:
    """The one delay (0-based) of every neuron along ``dim`` (1: pre, 0: post), or None if some have several."""
    used = mask.any(dim=dim)                                  # (neurons, D)
    if bool((used.sum(1) > 1).any()):
        return None
    return torch.where(used.any(1), used.to(torch.int64).argmax(1), torch.zeros((), dtype=torch.int64))


def _recurrent_input(p: TaskParameters):
    """``current(spikes, t)``: the recurrent input at step ``t`` from the spikes of the earlier steps.

    With neuron-level delays (one delay per presynaptic, or per postsynaptic,
    neuron) the delay classes partition the neurons, and the input is one
    matrix product over the delayed spikes, gathered class by class; any other
    mask is summed delay by delay.
    """
    N = p.mask.shape[0]
    if not bool(p.mask.any()):
        return lambda spikes, t: 0.0
    W = (p.W_rec * p.mask).sum(2)                             # (post, pre): at most one delay per pair below
    pre_delay, post_delay = _neuron_delays(p.mask, 0), _neuron_delays(p.mask, 1)
    if pre_delay is not None:
        classes = [(int(d) + 1, torch.nonzero(pre_delay == d)[:, 0]) for d in torch.unique(pre_delay)]
        order = torch.cat([idx for _, idx in classes])
        Wt = W.T[order]                                       # rows: presynaptic neurons, grouped by delay

        def current(spikes, t):
            if not spikes:
                return 0.0
            B = spikes[0].shape[0]
            parts = [spikes[t - d][:, idx] if t >= d else torch.zeros(B, len(idx), dtype=Wt.dtype)
                     for d, idx in classes]
            return torch.cat(parts, 1).to(Wt.dtype) @ Wt
        return current
    if post_delay is not None:
        classes = [(int(d) + 1, torch.nonzero(post_delay == d)[:, 0]) for d in torch.unique(post_delay)]
        inverse = torch.argsort(torch.cat([idx for _, idx in classes]))
        blocks = [(d, W[idx].T) for d, idx in classes]       # (pre, posts of the class)

        def current(spikes, t):
            if not spikes:
                return 0.0
            B = spikes[0].shape[0]
            parts = [spikes[t - d] @ Wd if t >= d else torch.zeros(B, Wd.shape[1], dtype=Wd.dtype)
                     for d, Wd in blocks]
            return torch.cat(parts, 1)[:, inverse]
        return current
    used = [d for d in range(p.mask.shape[2]) if bool(p.mask[:, :, d].any())]
    blocks = [(d + 1, (p.W_rec[:, :, d] * p.mask[:, :, d]).T) for d in used]

    def current(spikes, t):
        total = 0.0
        for d, Wd in blocks:
            if t >= d:
                total = total + spikes[t - d] @ Wd
        return total
    return current


def run_task_network(p: TaskParameters, inputs: torch.Tensor, *, window: tuple, spike_fn=hard_spike,
                     dt_ms: float = 1.0) -> TaskOutput:
    """Run the network on a batch of inputs ``(B, n_in, T)``.

    Parameters
    ----------
    p : TaskParameters
    inputs : float tensor ``(B, n_in, T)``
    window : (int, int)
        Steps ``[start, stop)`` averaged for the decision.
    spike_fn : callable
        ``z = spike_fn(u - theta)``; the default is the hard threshold (the
        learner passes a surrogate one, whose forward pass is the same).
    dt_ms : float

    Returns
    -------
    TaskOutput
    """
    B, n_in, T = inputs.shape
    if n_in != p.W_in.shape[1]:
        raise ValueError(f"inputs have {n_in} channels but the network has n_in={p.W_in.shape[1]}")
    start, stop = window
    if not 0 <= start < stop <= T:
        raise ValueError(f"window must satisfy 0 <= start < stop <= T={T}; got {window}")
    N = p.W_in.shape[0]
    dtype = p.W_in.dtype
    drive = (torch.einsum("ni,bit->tbn", p.W_in, inputs.to(dtype)) + p.bias).unbind(0)   # unbind: one backward node
    alpha = torch.exp(-dt_ms / p.tau)
    recurrent = _recurrent_input(p)
    u = torch.zeros(B, N, dtype=dtype)
    spikes = []
    for t in range(T):
        u = alpha * u + drive[t] + recurrent(spikes, t)
        z = spike_fn(u - p.theta)
        u = u - p.theta * z
        spikes.append(z)
    raster = torch.stack(spikes, dim=2)
    readout = readout_trace(p, raster, start, stop, dt_ms)
    return TaskOutput(readout.mean(dim=2), raster, readout)


def save_task_network(path, params: TaskParameters, config: TaskNetworkConfig, **meta):
    """Write a trained task network to ``.npz`` (atomically, no pickle): every parameter and its configuration."""
    from hdsnn.io import save_arrays

    arrays = params.arrays()
    return save_arrays(path, "task-network", arrays, {"network": config.to_dict(), **meta})


def load_task_network(path) -> tuple[TaskParameters, TaskNetworkConfig, dict]:
    """Read a file of :func:`save_task_network`; checks the kind, the arrays and their shapes.

    Examples
    --------
    >>> import tempfile, os
    >>> cfg = TaskNetworkConfig(n_in=2, n_rec=8, delays="none")
    >>> f = os.path.join(tempfile.mkdtemp(), "net.npz")
    >>> _ = save_task_network(f, init_task_parameters(cfg, seed=0), cfg, task="demo")
    >>> p, c, meta = load_task_network(f)
    >>> c == cfg, meta["task"], tuple(p.W_rec.shape)
    (True, 'demo', (8, 8, 1))
    """
    from hdsnn.io import load_arrays

    arrays, meta = load_arrays(path, "task-network", TaskParameters._fields)
    config = TaskNetworkConfig.from_dict(meta["network"])
    params = TaskParameters(*[torch.from_numpy(arrays[name]) for name in TaskParameters._fields])
    N, K = config.n_rec, config.n_out
    expected = {"W_in": (N, config.n_in), "W_out": (K, N), "bias": (N,), "mask": tuple(params.W_rec.shape)}
    for name, shape in expected.items():
        if tuple(getattr(params, name).shape) != shape:
            raise ValueError(f"{str(path)!r}: {name} has shape {tuple(getattr(params, name).shape)} but the "
                             f"network it records needs {shape} (file damaged?)")
    return params, config, meta
