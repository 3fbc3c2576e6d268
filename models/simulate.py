"""Discrete-time simulation of the delay-recurrent LIF network (DESIGN.md contract).

    u_j(t) = beta * u_j(t-1) * (1 - s_j(t-1)) + sum_i sum_d W[j, i, d-1] * s_i(t-d)
    s_j(t) = 1 if u_j(t) >= theta else 0

(reset by subtraction: ``u_j(t) = beta * (u_j(t-1) - theta * s_j(t-1)) + I_j(t)``).

The functional core is :func:`lif_step`. Two simulators share it:

- :func:`simulate` is event-driven: each spike adds its outgoing weights
  ``W[:, i, :]`` (the whole column, or only its non-zero entries when W is
  sparse) to a buffer of future input, so a step costs at most
  ``(spikes) x N x D`` instead of ``N x N x D``. It is batched over trials,
  runs on CPU or CUDA and stops a trial whose activity runs away.
- :func:`simulate_dense` is the plain reference, as in the paper's code: the
  flattened ``N*D`` context times the ``N x (N*D)`` weight matrix every step.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from hdsnn.config import NetworkConfig
from hdsnn.validation import check_raster, check_real, check_weights

__all__ = ["lif_step", "protocol_step", "simulate", "simulate_dense", "Simulation", "RunawayGuard", "Schedule",
           "apply_guard"]

#: Weights with fewer non-zero entries than this fraction are delivered entry by entry
#: (measured break-even near 11 % at N=1024, D=41: an entry costs ~9 column elements).
_SPARSE_FRACTION = 0.08
#: Weight columns gathered at once by the column delivery (bounds its memory).
_COLUMNS_AT_ONCE = 256


def _quiet(progress: bool | None) -> bool | None:
    """tqdm's ``disable``: a bar on a terminal when ``progress`` is None."""
    return None if progress is None else not progress


def lif_step(u: torch.Tensor, s_prev: torch.Tensor, current: torch.Tensor, beta: float,
             theta: float, reset: str = "zero") -> tuple[torch.Tensor, torch.Tensor]:
    """One step of the LIF neuron of the contract.

    Parameters
    ----------
    u : tensor ``(..., N)``
        Membrane potential at ``t-1``.
    s_prev : bool tensor ``(..., N)``
        Spikes at ``t-1``.
    current : tensor ``(..., N)``
        Synaptic input at ``t``.
    beta, theta : float
        Leak per step and threshold.
    reset : {'zero', 'subtract'}

    Returns
    -------
    (u, s) : membrane potential and spikes at ``t``.

    Examples
    --------
    >>> u, s = lif_step(torch.zeros(2), torch.zeros(2, dtype=torch.bool), torch.tensor([0.5, 1.0]), 0.7, 1.0)
    >>> s.tolist()
    [False, True]
    """
    if reset == "zero":
        u = beta * torch.where(s_prev, torch.zeros_like(u), u) + current
    else:
        u = beta * (u - theta * s_prev.to(u.dtype)) + current
    return u, u >= theta


@dataclass(frozen=True)
class Simulation:
    """Result of a simulation.

    Attributes
    ----------
    raster : bool tensor ``(B, N, L)``
        Spikes of every trial.
    runaway : bool tensor ``(B,)``
        Trials stopped by the runaway guard.
    stopped_at : int tensor ``(B,)``
        Step at which each stopped trial was halted (-1 if it ran to the end).
    """

    raster: torch.Tensor
    runaway: torch.Tensor
    stopped_at: torch.Tensor


def _check_inputs(W, inputs, clamp, net):
    if not isinstance(net, NetworkConfig):
        raise ValueError(f"net must be a NetworkConfig; got {type(net).__name__}")
    inputs = check_raster("inputs", inputs)
    B, N, L = inputs.shape
    W = check_weights("W", W, N=N)
    if clamp is None:
        clamp = torch.zeros((B, L), dtype=torch.bool)
    if not isinstance(clamp, torch.Tensor) or clamp.shape != (B, L):
        shape = tuple(clamp.shape) if hasattr(clamp, "shape") else type(clamp).__name__
        raise ValueError(f"clamp must be a bool tensor of shape (B={B}, L={L}); got {shape}")
    return W, inputs, clamp.to(torch.bool)


def simulate(W, inputs, clamp=None, net: NetworkConfig | None = None, *,
             max_rate: float | None = 0.05, device: str | torch.device = "cpu",
             sparse: bool | None = None, progress: bool | None = None) -> Simulation:
    """Event-driven simulation of a batch of trials.

    Parameters
    ----------
    W : float tensor ``(N, N, D)``
        Weights, index ``[post, pre, delay-1]``.
    inputs : bool tensor ``(B, N, L)``
        External spikes (see :mod:`hdsnn.models.trial`).
    clamp : bool tensor ``(B, L)``, optional
        Clamped steps: spikes are exactly ``inputs``, membrane held at 0.
    net : NetworkConfig, optional
        ``beta``, ``theta`` and ``reset`` are read from it (``N`` and ``D`` come from ``W``).
    max_rate : float or None
        Runaway guard: a trial whose mean firing probability per neuron per
        step over the last D free-running steps exceeds ``max_rate`` (and one
        spike per neuron per D steps) is stopped and reported; its raster is
        silent from that step on. None disables the guard.
    device : str or torch.device
        ``'cpu'`` or ``'cuda'``.
    sparse : bool or None
        Deliver spikes entry by entry from the non-zero weights (True), or
        column by column (False); None chooses by the fraction of non-zero weights.
    progress : bool or None
        Show a progress bar (None: only on a terminal).

    Returns
    -------
    Simulation

    Examples
    --------
    A chain 0 -> 1 -> 2 with delays 2 and 3:

    >>> W = torch.zeros(3, 3, 3)
    >>> W[1, 0, 1] = 1.0; W[2, 1, 2] = 1.0
    >>> x = torch.zeros(1, 3, 10, dtype=torch.bool); x[0, 0, 0] = True
    >>> sim = simulate(W, x, net=NetworkConfig(N=3, D=3))
    >>> torch.nonzero(sim.raster[0]).tolist()
    [[0, 0], [1, 2], [2, 5]]
    """
    net = net if net is not None else NetworkConfig()
    W, inputs, clamp = _check_inputs(W, inputs, clamp, net)
    if max_rate is not None:
        max_rate = check_real("max_rate", max_rate, 0.0, 1.0, open_min=True)
    device = torch.device(device)
    if device.type != "cpu":
        return _simulate(W, inputs, clamp, net, max_rate, device, sparse, progress)
    # The steps are many small operations: one thread avoids OpenMP barrier stalls, which
    # made a busy 2-core machine 2-8x slower in our measurements.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _simulate(W, inputs, clamp, net, max_rate, device, sparse, progress)
    finally:
        torch.set_num_threads(threads)


def _simulate(W, inputs, clamp, net, max_rate, device, sparse, progress) -> Simulation:
    B, N, L = inputs.shape
    D = W.shape[2]
    dtype = W.dtype
    deliver = _Delivery(W.to(device), B, sparse)
    schedule = Schedule(inputs, clamp)
    inputs_d, clamp_d = inputs.to(device), clamp.to(device)
    u = torch.zeros(B, N, dtype=dtype, device=device)
    s = torch.zeros(B, N, dtype=torch.bool, device=device)
    guard = RunawayGuard(B, N, D, max_rate, device)
    spikes = []                                     # (t, b_idx, i_idx) of every step with spikes
    for t in tqdm(range(L), desc="recall", unit="step", leave=False, disable=_quiet(progress)):
        current = deliver.take()
        u, s, b_idx, i_idx = protocol_step(t, u, s, current, inputs_d[:, :, t], clamp_d[:, t], schedule, guard,
                                        net.beta, net.theta, net.reset)
        k = b_idx.numel()
        if k:
            spikes.append((t, b_idx, i_idx))
            deliver.send(b_idx, i_idx)
    raster = torch.zeros(B, N, L, dtype=torch.bool)
    if spikes:
        steps = torch.cat([torch.full_like(b, t) for t, b, _ in spikes]).cpu()
        raster[torch.cat([b for _, b, _ in spikes]).cpu(), torch.cat([i for _, _, i in spikes]).cpu(), steps] = True
    stopped_at = guard.stopped_at.cpu()
    return Simulation(raster, stopped_at >= 0, stopped_at)


class Schedule:
    """Host-side plan of a batch of trials: which steps carry input, and which are clamped for all or some."""

    def __init__(self, inputs: torch.Tensor, clamp: torch.Tensor):
        self.has_input = inputs.any(dim=(0, 1)).tolist()
        self.clamp_all, self.clamp_any = clamp.all(dim=0).tolist(), clamp.any(dim=0).tolist()


def protocol_step(t: int, u, s, current, x, c, schedule: Schedule, guard: "RunawayGuard",
                  beta: float, theta: float, reset: str):
    """One step of the recall protocol, shared by :func:`simulate` and the BPTT forward pass.

    Clamped trials take the input spikes with the membrane held at 0; free trials
    integrate ``current`` and OR the input in; stopped trials stay silent. Returns
    ``(u, s, b_idx, i_idx)``: potentials, spikes and the spikes to deliver (none from
    a trial the guard stops at this step).
    """
    if schedule.clamp_all[t]:
        u = torch.zeros_like(u)
        s = x if guard.all_alive else x & guard.alive[:, None]
    else:
        u, s = lif_step(u, s, current, beta, theta, reset)
        if schedule.clamp_any[t]:
            cc = c[:, None]
            s, u = torch.where(cc, x, s | x), torch.where(cc, torch.zeros_like(u), u)
        elif schedule.has_input[t]:
            s = s | x
        if not guard.all_alive:
            s = s & guard.alive[:, None]
    b_idx, i_idx = torch.nonzero(s, as_tuple=True)
    free = 0 if schedule.clamp_all[t] else b_idx.numel()
    if guard.on and guard.update(t, b_idx, free, c if schedule.clamp_any[t] else None):
        keep = guard.alive[b_idx]                       # stopped at this step: silent, nothing delivered
        b_idx, i_idx = b_idx[keep], i_idx[keep]
        s = s & guard.alive[:, None]
    return u, s, b_idx, i_idx


class RunawayGuard:
    """The runaway guard of :func:`simulate` (shared with the BPTT forward pass).

    A trial whose free-run spikes over the last D steps exceed
    ``max(max_rate * N * D, N)`` is stopped: silent from that step on, its spikes of
    that step not delivered.
    """

    def __init__(self, B, N, D, max_rate, device):
        self.on = max_rate is not None
        self.all_alive = True
        self.alive = torch.ones(B, dtype=torch.bool, device=device)
        self.stopped_at = torch.full((B,), -1, dtype=torch.long, device=device)
        if self.on:
            self.B, self.D = B, D
            self.limit = max(max_rate * N * D, N)
            self.window = torch.zeros(B, D, dtype=torch.long, device=device)
            self.total = [0] * D

    def update(self, t, b_idx, free, clamped) -> bool:
        """Count step t's free-run spikes; True if a trial is stopped at this step."""
        self.total[t % self.D] = free
        if free:
            counts = torch.bincount(b_idx, minlength=self.B)
            if clamped is not None:
                counts = torch.where(clamped, 0, counts)
            self.window[:, t % self.D] = counts
        else:
            self.window[:, t % self.D] = 0
        if sum(self.total) > self.limit:
            over = (self.window.sum(1) > self.limit) & self.alive
            if bool(over.any()):
                self.alive &= ~over
                self.all_alive = False
                self.stopped_at[over] = t
                return True
        return False



def apply_guard(raster: torch.Tensor, clamp: torch.Tensor, D: int, max_rate: float | None) -> Simulation:
    """The runaway guard of :func:`simulate`, applied after the fact to a raster run without it.

    A trial evolves identically with or without the guard up to the step at which
    the guard stops it; from that step on a stopped trial is silent and its
    spikes reach no other trial. Replaying the guard on an unguarded raster and
    silencing each stopped trial from its stop step on therefore gives exactly
    the guarded simulation. Used for the simulators that run without a guard
    (:func:`simulate_dense`, the discrete-equivalent Brian2 network).

    Examples
    --------
    >>> r = torch.ones(1, 4, 10, dtype=torch.bool)           # every neuron fires every step
    >>> sim = apply_guard(r, torch.zeros(1, 10, dtype=torch.bool), D=2, max_rate=0.5)
    >>> sim.stopped_at.tolist(), int(sim.raster[0, :, 1:].sum())    # 8 spikes in 2 steps > max(0.5*4*2, 4)
    ([1], 0)
    """
    B, N, L = raster.shape
    raster = raster.clone()
    if max_rate is None:
        return Simulation(raster, torch.zeros(B, dtype=torch.bool), torch.full((B,), -1, dtype=torch.long))
    max_rate = check_real("max_rate", max_rate, 0.0, 1.0, open_min=True)
    guard = RunawayGuard(B, N, D, max_rate, "cpu")
    schedule = Schedule(raster, clamp)
    for t in range(L):
        s = raster[:, :, t] if guard.all_alive else raster[:, :, t] & guard.alive[:, None]
        b_idx, _ = torch.nonzero(s, as_tuple=True)
        free = 0 if schedule.clamp_all[t] else b_idx.numel()
        guard.update(t, b_idx, free, clamp[:, t] if schedule.clamp_any[t] else None)
    for b in torch.nonzero(guard.stopped_at >= 0).flatten().tolist():
        raster[b, :, int(guard.stopped_at[b]):] = False
    return Simulation(raster, guard.stopped_at >= 0, guard.stopped_at)


class _Delivery:
    """Spikes in flight: a buffer of the input arriving in the next ``2D`` steps.

    ``send(b_idx, i_idx)`` adds the outgoing weights of the spikes of the
    current step to the input of the D following steps; ``take()`` advances one
    step and returns its input. The buffer holds ``2D`` steps and slides back
    by D every D steps, so delays index it without modulo.

    Dense weights are delivered column by column (the ``(D, N)`` block of each
    presynaptic spike); sparse weights (the Hebbian rule gives about 3 % non-zero
    entries at the paper's size) entry by entry from a per-presynaptic list.
    """

    def __init__(self, W: torch.Tensor, B: int, sparse: bool | None):
        N, _, D = W.shape
        self.B, self.N, self.D, self.now = B, N, D, -1
        self.buf = torch.zeros(B, 2 * D, N, dtype=W.dtype, device=W.device)
        if sparse is None:
            sparse = int(torch.count_nonzero(W)) < _SPARSE_FRACTION * W.numel()
        self.sparse = sparse
        if sparse:
            post, pre, delay = torch.nonzero(W, as_tuple=True)      # one pass, native layout
            order = torch.argsort(pre, stable=True)
            post, pre, delay = post[order], pre[order], delay[order]
            self.values = W[post, pre, delay]
            self.target = (delay + 1) * N + post                     # offset from the current step
            self.count = torch.bincount(pre, minlength=N)
            self.start = torch.cumsum(self.count, 0) - self.count
        else:
            self.W_out = W.permute(1, 2, 0).contiguous()            # [pre, delay-1, post]

    def take(self) -> torch.Tensor:
        self.now += 1
        if self.now == self.D:                      # slide the window back by D steps
            self.buf[:, : self.D] = self.buf[:, self.D:]
            self.buf[:, self.D:] = 0
            self.now = 0
        return self.buf[:, self.now]

    def send(self, b_idx: torch.Tensor, i_idx: torch.Tensor) -> None:
        """Deliver the spikes ``(trial b_idx[k], neuron i_idx[k])`` of the current step."""
        if not self.sparse:
            window = self.buf[:, self.now + 1: self.now + 1 + self.D]       # (B, D, N)
            for k in range(0, b_idx.numel(), _COLUMNS_AT_ONCE):              # bounded memory
                part = slice(k, k + _COLUMNS_AT_ONCE)
                window.index_add_(0, b_idx[part], self.W_out[i_idx[part]])
            return
        count = self.count[i_idx]
        spike = torch.repeat_interleave(count)
        first = self.start[i_idx] - (torch.cumsum(count, 0) - count)
        entry = torch.arange(spike.numel(), device=b_idx.device) + first[spike]
        flat = b_idx[spike] * (2 * self.D * self.N) + self.now * self.N + self.target[entry]
        self.buf.view(-1).scatter_add_(0, flat, self.values[entry])


def simulate_dense(W, inputs, clamp=None, net: NetworkConfig | None = None, *,
                   device: str | torch.device = "cpu", progress: bool | None = None) -> Simulation:
    """Reference simulation: dense context times dense weights every step.

    Same arguments and result as :func:`simulate`, without the runaway guard
    (:func:`apply_guard` adds it exactly).
    Each step multiplies the flattened ``(B, N*D)`` context by the
    ``(N*D, N)`` weight matrix, as the paper's code does.

    Examples
    --------
    >>> W = torch.zeros(3, 3, 3); W[1, 0, 1] = 1.0; W[2, 1, 2] = 1.0
    >>> x = torch.zeros(1, 3, 10, dtype=torch.bool); x[0, 0, 0] = True
    >>> torch.nonzero(simulate_dense(W, x, net=NetworkConfig(N=3, D=3)).raster[0]).tolist()
    [[0, 0], [1, 2], [2, 5]]
    """
    net = net if net is not None else NetworkConfig()
    W, inputs, clamp = _check_inputs(W, inputs, clamp, net)
    device = torch.device(device)
    B, N, L = inputs.shape
    D = W.shape[2]
    W_flat = W.to(device).reshape(N, N * D).T.contiguous()      # [(pre, delay-1), post]
    context = torch.zeros(B, N, D, dtype=W.dtype, device=device)  # [b, pre, d-1] = s_pre(t-d)
    u = torch.zeros(B, N, dtype=W.dtype, device=device)
    s = torch.zeros(B, N, dtype=torch.bool, device=device)
    raster = torch.zeros(B, N, L, dtype=torch.bool, device=device)
    inputs_d, clamp_d = inputs.to(device), clamp.to(device)
    for t in tqdm(range(L), desc="recall (dense)", unit="step", leave=False, disable=_quiet(progress)):
        current = context.reshape(B, N * D) @ W_flat
        u, s_new = lif_step(u, s, current, net.beta, net.theta, net.reset)
        x, c = inputs_d[:, :, t], clamp_d[:, t]
        s = torch.where(c[:, None], x, s_new | x)
        u = torch.where(c[:, None], torch.zeros_like(u), u)
        raster[:, :, t] = s
        context = torch.cat([s[:, :, None].to(W.dtype), context[:, :, :-1]], dim=2)
    none = torch.zeros(B, dtype=torch.bool)
    return Simulation(raster.cpu(), none, torch.full((B,), -1, dtype=torch.long))
