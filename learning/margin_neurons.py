r"""Teacher-forced margin learning in the neuron's own dynamics: the current-based LIF neuron at ``dt`` resolution.

The discrete learner (:mod:`hdsnn.learning.margin`) writes its constraints for
the model contract (one step of 1 ms, ``u <- beta u + I``). This one writes
them for the ``'lif_current'`` model of :data:`~hdsnn.models.brian2.NEURON_MODELS`
as its torch replica (:mod:`hdsnn.models.replica`) and Brian2 integrate it,
step ``dt`` (0.1 ms), so that zero violations mean exact recall in those
simulators. Every constant is read from the model record
(:func:`~hdsnn.models.neurons.model_parameters`: ``tau_m`` from the network's
beta, ``tau_s``, ``E_L``, ``V_th``, ``V_reset``, refractory period; the jump of a
synapse from its ``on_pre``).

**Membrane.** In units of the threshold, ``u = (v - E_L) / (V_th - E_L)``
(threshold 1, reset ``u_r = (V_reset - E_L) / (V_th - E_L)``), with
``a_m = exp(-dt/tau_m)``, ``a_s = exp(-dt/tau_s)`` and the replica's exact
coefficient ``c = tau_s (a_s - a_m) / (tau_s - tau_m)`` times the jump of a
unit weight, step ``n`` of the replica is

    Y(n) = a_s Y(n-1) + A(n-1)                 synaptic current (in weight units); never reset
    u(n) = a_m u(n-1) + c Y(n)                 on free, non-refractory steps; else u is held

where ``A(a) = sum_syn w_syn [a spike of pre_syn arrives at step a]`` and a
spike at step ``n_pre`` arrives at ``a = n_pre + int(delay_syn / dt + 0.5)``
(Brian2's rounding). So ``u`` is ``sum_syn w_syn K(n - a)`` with the PSP kernel
``K(k) = c (a_m^k - a_s^k) / (a_m - a_s)``, each synapse's arrivals a real
shift of K at ``dt`` resolution, restarted at the neuron's own spikes: a spike
at ``n_k`` resets ``u`` to ``u_r``, held for the refractory steps
``n_k+1 .. n_k+R-1`` (``R = timestep(refractory, dt)``), and the current that
arrived before the reset carries over (``a_s^{n0 - a} K(n - n0)`` after a
restart at ``n0``): still linear in the weights. Teacher forcing puts every
presynaptic spike at its target time: the spike of bin ``t`` (1 ms) at step
``t S`` (``S = 1 ms / dt``), where the trigger's input spikes also lie.

**Delays.** Each synapse's delay (an integer ``d`` ms from a mask, or a real
value from :func:`~hdsnn.models.connectivity.random_synapses`) is shortened by
``delay_shift_ms`` (default one step ``dt``): a spike sent at ``t_pre`` then
first changes the membrane at step ``(t_pre + d) S``, the step of a
postsynaptic target spike at ``t = t_pre + d``, as ``s(t-d)`` enters ``u(t)``
in the contract. Without the shift the earliest change comes one step after
that target step and the constraints below can hardly hold with a margin.

**Window and constraints.** For each neuron, pattern and step ``n`` of the
free run (``n >= n_f``, the first free step of the trial, the clamp read as the
simulators read it, :func:`~hdsnn.models.replica.free_flags`):

- at each target spike step ``n_k = t_k S`` (``t_k >=`` the clamp's length):
  ``u(n_k) >= 1 + kappa_spike``;
- on the ``rise_steps`` steps before it (the rise window ``n_k - rise_steps .. n_k - 1``):
  ``u <= 1 - kappa_rise``;
- on every other free, non-refractory step: ``u <= 1 - kappa``;
- refractory and clamped steps: none (the model cannot spike there).

The tolerance window is therefore one step: the spike of bin ``t`` must occur
at exactly step ``t S``, nothing earlier (an earlier crossing would move the
spike, hence every arrival it causes downstream, and the errors compound).

**Guarantee.** If every constraint holds with ``kappa, kappa_rise >= 0`` and
``kappa_spike > 0`` (and the float rounding between this computation and the
simulator's is below the margins), the closed-loop replica started from the
trigger (the default trial: no pretime, the cue clamped for ``trigger_steps``
ms, no noise; ``efficacy=1``, the same ``delay_shift_ms``, ``dt_ms`` and beta)
reproduces every target spike at its step ``t S``, with no other spike. Proof by induction over the steps ``n >= n_f``: suppose the network's
spikes before ``n`` are the targets' (true at ``n_f``: no neuron can spike
while clamped, and the trigger's spikes are the targets'). Then every arrival
before ``n`` is the teacher-forced one, so every neuron's ``Y(n)``, last
restart and ``u(n)`` equal the teacher-forced values; the neuron spikes at
``n`` iff it is not refractory and ``u(n) > 1``, which by the constraints
holds exactly at the target steps. So the spikes at ``n`` are the targets'.
Each spike lies in its own 1-ms bin, so the exact score (and any ``±k`` ms score) is 1.

**Learning.** One convex problem per postsynaptic neuron (its incoming
weights), solved as in :mod:`hdsnn.learning.margin`: hinge (or squared hinge)
on the deficits, the gradient by the reverse recurrences
``lam(n) = g(n) + [no spike at n] a_m lam(n+1)`` on free steps (0 on held
steps) and ``mu(n) = c lam(n) + a_s mu(n+1)``, ``dL/dA(a) = mu(a+1)``,
``dL/dw = C^T mu`` with the sparse arrival context ``C`` (rows: pattern and
step, columns: presynaptic neuron and delay in steps), the same
:class:`~hdsnn.learning.margin.SparseContext` products and
:class:`~hdsnn.learning.margin.ColumnOptimizer` steps (Adam over minibatches
of ``step_patterns`` patterns by default: the spike constraints hinge on the
small one-step rise ``K(1)`` of the kernel, an ill-conditioned direction in
which plain perceptron steps oscillate); a neuron without violations for a whole epoch stops. Memory per
block: the weights, the contexts (one entry per target spike and outgoing
delay) and ``B x (T S) x n`` arrays of one pattern minibatch, never a
``(M T S) x (#synapses)`` matrix. Synapses sharing ``(post, pre, delay step)`` act
as one: they share the learned weight equally.

**Hard targets.** A target spike at the first integrating step after a
restart (bin ``t`` right after a spike of the same neuron in bin ``t - 1``,
whose refractory period of 1 ms ends exactly there) must be reached in one step
from the held value, ``c Y >= 1 + kappa_spike`` from the current alone, and one
in the first bin after the clamp in two steps from rest: many coincident arrivals. Small networks
(few presynaptic neurons) often cannot; the learner then stops with a few
violations, and a few violations cost much more than their number in the
closed loop (each wrong spike moves every arrival it causes).
Real-valued delays spread the arrivals over the ``S`` steps of a millisecond, so
fewer of them fall in the step of a target spike than with whole-ms delays and
the shift: they need more presynaptic neurons (or draws per pair) and a larger
step (``lr=0.05`` measured).

The discrete contract is the special case handled by :mod:`hdsnn.learning.margin`.

Examples
--------
>>> from hdsnn.models import bernoulli_patterns
>>> P = bernoulli_patterns(1, 40, 50, 0.02, seed=1)
>>> res = neuron_margin_init(P, D=10, progress=False)
>>> res.violations
0
>>> replay(res, P).pooled()["f1"]          # the torch replica, +-1 ms; exact bins too (tolerance=0)
1.0
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
import torch
from scipy.signal import lfilter

from hdsnn.config import NetworkConfig, TrialConfig, param
from hdsnn.models.brian2.neurons import NEURON_MODELS, simulate_neurons, synapse_delays, trial_steps
from hdsnn.models.export import SynapseList
from hdsnn.models.neurons import model_parameters, refractory_steps, replica_of
from hdsnn.models.recall import NeuronOptions
from hdsnn.models.replica import free_flags, simulate_replica, synaptic_jumps
from hdsnn.models.scores import tolerant_score
from hdsnn.models.trial import make_trials
from hdsnn.parallel import Executor, get_executor
from hdsnn.validation import check_choice, check_int, check_raster

from .margin import OPTIMIZERS, MarginConfig, SparseContext, learn_columns

__all__ = ["NeuronMarginConfig", "NeuronMarginResult", "neuron_margin_init", "neuron_membrane", "default_lr",
           "neuron_violations", "replay", "LINEAR_MODELS"]

#: Models whose subthreshold membrane is linear in the weights (the learner's scope).
LINEAR_MODELS = ("lif_current",)
#: The simulators' default step (ms), from their options record: defined once.
_DT_MS = NeuronOptions().dt_ms
#: Kinds of step of one neuron in one pattern.
_CLAMP, _FREE, _RISE, _SPIKE, _REFRACTORY = 0, 1, 2, 3, 4
_TINY = 1e-30
_FLUSH_EVERY = 32


@dataclass(frozen=True)
class NeuronMarginConfig(MarginConfig):
    """Options of :func:`neuron_margin_init`: those of :class:`~hdsnn.learning.MarginConfig` and the neuron's.

    Parameters
    ----------
    neuron : {'lif_current'}
        The model (:data:`LINEAR_MODELS`), read from :data:`~hdsnn.models.brian2.NEURON_MODELS`.
    kappa : float
        Margin below threshold on free steps outside the rise windows (units of ``V_th - E_L``).
    kappa_spike : float
        Margin above threshold at each target spike step (> 0).
    kappa_rise : float
        Margin below threshold in the rise window.
    rise_steps : int
        Steps of the rise window before each target spike step (>= 0).
    delay_shift_ms : float
        Every delay is shortened by this (default one step of 0.1 ms); also the simulators'
        clamp shift. Pass the same value to the simulators (``recall_options``).
    dt_ms : float
        Integration step (ms); ``1 ms / dt_ms`` must be a whole number.
    trigger_steps : int or None
        The clamp in ms (default D): constraints from there on.
    init : {'zero', 'synapses'}
        Zero weights, or the weights of the given synapses (or ``W0``).
    lr : float or None
        Adam's step, about the change of each weight per update. Default (None): ``0.2 / max(n, 20)``
        with ``n = N D p`` the presynaptic target spikes in a window of ``D`` ms (``p`` their rate per
        neuron and ms): an update moves the membrane by about ``lr n K``, so the step shrinks as the
        window fills. Measured: 0.01 (``n`` = 8-21: N=40-512) reaches zero violations in 105-193
        epochs; at the paper's size (``n`` = 42) 0.01 stalls near 500 violations per 64 neurons and
        0.005 (the default there: 0.0048) or 0.003 reach zero in 66-79 epochs, where 0.003 at ``n`` = 21 leaves one.
    Other fields as :class:`~hdsnn.learning.MarginConfig` (defaults: Adam, one update per
    ``step_patterns=8`` patterns, 300 epochs, no L2; measured at N=128, M=2, T=300 ms: zero violations in 126
    epochs, where perceptron steps, ``lr`` 0.05-0.3, still oscillated after 200).

    Examples
    --------
    >>> NeuronMarginConfig().rise_steps, NeuronMarginConfig().kappa
    (5, 0.1)
    >>> NeuronMarginConfig(neuron="adex")
    Traceback (most recent call last):
    ...
    ValueError: neuron must be one of 'lif_current'; got 'adex'
    """

    kappa: float = param(0.1, "margin below threshold on free steps outside the rise windows (units of V_th - E_L)",
                         minimum=0.0, aliases=("margin",))
    epochs: int = param(300, "maximum passes over the patterns (0: only count the warm start's violations)",
                        minimum=0)
    lr: float | None = param(None, "step size in weight units (Adam: about lr per weight and update); default "
                             "0.2 / (presynaptic spikes in a window of D ms, at least 20)", minimum=0.0,
                             open_min=True)
    l2: float = param(0.0, "L2 penalty on the weights of a learning neuron", minimum=0.0)
    optimizer: str = param("adam", "adam, sgd (perceptron steps) or momentum", choices=OPTIMIZERS)
    step_patterns: int | None = param(8, "patterns per weight update (None: all)", minimum=1)
    init: str = param("zero", "warm start when no W0 is given: zero, or the weights of the given synapses",
                      choices=("zero", "synapses"))
    neuron: str = param("lif_current", "neuron model, linear in the weights below threshold", choices=LINEAR_MODELS)
    kappa_spike: float = param(0.02, "margin above threshold at each target spike step", minimum=0.0,
                               open_min=True)
    kappa_rise: float = param(0.02, "margin below threshold in the rise window before each target spike",
                              minimum=0.0)
    rise_steps: int = param(5, "steps of the rise window before each target spike step", minimum=0)
    delay_shift_ms: float = param(_DT_MS, "every delay shortened by this (default one step; also the clamp shift)",
                                  minimum=0.0, maximum=1.0, open_max=True, unit="ms")
    dt_ms: float = param(_DT_MS, "integration step (1 ms must be a whole number of steps)", minimum=0.0,
                         maximum=1.0, open_min=True, unit="ms")

    def _check(self):
        if self.device != "cpu":
            raise ValueError(f"device must be 'cpu' for the neuron margin learner (its recurrences run in scipy); "
                             f"got {self.device!r}")
        steps = 1.0 / self.dt_ms
        if abs(steps - round(steps)) > 1e-6:
            raise ValueError(f"dt_ms must divide 1 ms into whole steps (0.1, 0.05, 0.25, ...); got {self.dt_ms}")


@dataclass(frozen=True)
class NeuronMarginResult:
    """Result of :func:`neuron_margin_init`.

    Attributes
    ----------
    synapses : SynapseList
        The synapses with their learned weights (units of the model's ``on_pre`` at ``efficacy = 1``) and,
        where they were real-valued, their given delays (``delay_ms``, before the shift): the simulators
        shorten them by ``delay_shift_ms`` (:func:`~hdsnn.models.brian2.synapse_delays`), so
        ``recall(result.synapses, targets, simulator='torch_neurons', **result.recall_options)`` replays them.
    delays_ms : float64 array ``(S,)``
        The delay of each synapse as the simulators get it: the given delay minus ``delay_shift_ms``.
    W : float tensor ``(N, N, D)`` or None
        The same weights as a tensor when the delays are whole ms (a mask, ``W0`` or a
        SynapseList without ``delays_ms``): ``recall(W, targets, simulator='torch_neurons',
        **recall_options)``; None with real-valued delays (use :func:`replay`).
    recall_options : dict
        ``neuron``, ``efficacy`` (1.0), ``delay_shift_ms`` and ``dt_ms`` for :func:`hdsnn.models.recall`.
    violations : int
        Constraints still violated (0: the replica reproduces every target, see the module docstring).
    violations_per_neuron : torch.Tensor
        int64 ``(N,)``.
    history : list of dict
        Per epoch: ``epoch``, ``violations``, ``neurons_violating``, ``loss``.
    seconds : float
    config : NeuronMarginConfig
    epochs_run : int
    D : int
        The trigger window (ms) the constraints were written for (with ``config.trigger_steps``).
    """

    synapses: SynapseList
    delays_ms: np.ndarray
    W: torch.Tensor | None
    recall_options: dict
    violations: int
    violations_per_neuron: torch.Tensor
    history: list
    seconds: float
    config: NeuronMarginConfig
    epochs_run: int
    D: int


# --------------------------------------------------------------------------------------------
# The problem: target spikes, the neuron's constants, the (pre, delay step) columns


@dataclass
class _Problem:
    mu: np.ndarray
    i: np.ndarray
    t: np.ndarray
    M: int
    N: int
    T: int
    S: int                     # steps per ms
    steps: int                 # steps per pattern
    first_free: int            # first free step
    start: int                 # first bin of the free run (the clamp's length, ms)
    R: int                     # refractory steps
    a_m: float
    a_s: float
    c: float                   # increment of u per unit weight of current
    u_r: float
    kappa: float
    kappa_spike: float
    kappa_rise: float
    rise: int
    col_lag: np.ndarray        # (n_cols,) delay of each column, in steps
    pre_first: np.ndarray      # (N+1,) columns of presynaptic neuron i: pre_first[i] .. pre_first[i+1]-1
    syn_col: np.ndarray        # (S,) column of each synapse
    post: np.ndarray           # (S,) postsynaptic neuron of each synapse

    @property
    def n_cols(self) -> int:
        return int(self.col_lag.size)

    def context(self, lo: int, hi: int, dtype) -> sp.csr_matrix:
        """Arrivals of patterns ``lo .. hi-1``: CSR ``((hi-lo) steps, n_cols)``, one row per step, an arrival at
        step ``a`` in row ``a + 1``, the step whose current it enters (:func:`_membrane`)."""
        sel = (self.mu >= lo) & (self.mu < hi)
        mu, i, t = self.mu[sel], self.i[sel], self.t[sel]
        count = self.pre_first[i + 1] - self.pre_first[i]
        spike = np.repeat(np.arange(i.size), count)
        within = np.arange(spike.size) - np.repeat(np.cumsum(count) - count, count)
        cols = self.pre_first[i][spike] + within
        acts = self.S * t[spike] + self.col_lag[cols] + 1     # an arrival acts from the next step on
        keep = acts < self.steps
        rows = (mu[spike] - lo) * self.steps + acts
        C = sp.csr_matrix((np.ones(int(keep.sum()), dtype=dtype), (rows[keep], cols[keep])),
                          shape=((hi - lo) * self.steps, self.n_cols))
        C.sum_duplicates()
        return C

    def kinds(self, lo: int, hi: int, rows: np.ndarray) -> torch.Tensor:
        """int8 ``(hi-lo, len(rows), steps)``: clamp, free, rise window, target spike or refractory."""
        where = np.full(self.N, -1, dtype=np.int64)
        where[rows] = np.arange(rows.size)
        sel = (self.mu >= lo) & (self.mu < hi) & (where[self.i] >= 0) & (self.t >= self.start)
        b, j, n0 = self.mu[sel] - lo, where[self.i[sel]], self.S * self.t[sel]
        kind = np.full((hi - lo, rows.size, self.steps), _FREE, dtype=np.int8)
        kind[..., :self.first_free] = _CLAMP
        for r in range(1, self.rise + 1):
            ok = n0 - r >= self.first_free
            kind[b[ok], j[ok], n0[ok] - r] = _RISE
        for r in range(1, self.R):
            ok = n0 + r < self.steps
            kind[b[ok], j[ok], n0[ok] + r] = _REFRACTORY
        if (kind[b, j, n0] == _REFRACTORY).any():
            raise ValueError(f"targets of one neuron closer than its refractory period ({self.R} steps) cannot be "
                             f"produced by the model; got two spikes of a neuron less than {self.R} steps apart")
        kind[b, j, n0] = _SPIKE
        return kind


def _model_constants(neuron: str, beta: float, dt_ms: float) -> dict:
    """The step's constants of the model in units of ``V_th - E_L`` (read from its record and on_pre)."""
    model, _ = replica_of(NEURON_MODELS[neuron])
    p = model_parameters(model, beta)
    dt = dt_ms * 1e-3
    a_m, a_s = math.exp(-dt / p.tau_m), math.exp(-dt / p.tau_s)
    coef = p.tau_s * (a_s - a_m) / (p.tau_s - p.tau_m)          # the replica's exact coefficient
    unit = SynapseList(np.zeros(2, np.int32), np.zeros(2, np.int32), np.ones(2, np.int32),
                       np.array([1.0, -2.0], np.float32), 1, 1)
    _, jump = synaptic_jumps(model, unit, 1.0, beta)
    if not math.isclose(jump[1], -2.0 * jump[0], rel_tol=1e-12):
        raise ValueError(f"neuron {neuron!r}: the synaptic jump is not linear in the weight")
    scale = p.V_th - p.E_L
    return {"a_m": a_m, "a_s": a_s, "c": coef * jump[0] / scale, "u_r": (p.V_reset - p.E_L) / scale,
            "R": refractory_steps(p.refractory, dt)}


def _first_free(k: int, T: int, steps: int, dt_ms: float, shift_ms: float) -> int:
    clamp = np.zeros((1, T), dtype=bool)
    clamp[0, :k] = True
    free = free_flags(clamp, steps, dt_ms * 1e-3, shift_ms * 1e-3)[0]
    n = int(np.argmax(free > 0))
    if not (free[n:] > 0).all() or free[n] == 0:
        raise ValueError(f"the clamp of {k} ms must end before the pattern's end ({T} ms)")
    return n


def _problem(targets, syn: SynapseList, delays_ms, cfg: NeuronMarginConfig, beta: float, k: int) -> _Problem:
    M, N, T = targets.shape
    S = int(round(1.0 / cfg.dt_ms))
    steps = trial_steps(T, cfg.dt_ms)
    dt = cfg.dt_ms * 1e-3
    lag = (synapse_delays(syn, cfg.delay_shift_ms, delays_ms) / dt + 0.5).astype(np.int64)   # Brian2's rounding
    span = int(lag.max()) + 1 if lag.size else 1
    key = syn.pre.astype(np.int64) * span + lag
    uniq, syn_col = np.unique(key, return_inverse=True)
    col_pre, col_lag = uniq // span, uniq % span
    const = _model_constants(cfg.neuron, beta, cfg.dt_ms)
    mu, i, t = (x.numpy() for x in torch.nonzero(targets, as_tuple=True))
    return _Problem(mu, i, t, M, N, T, S, steps, _first_free(k, T, steps, cfg.dt_ms, cfg.delay_shift_ms), k,
                    const["R"], const["a_m"], const["a_s"], const["c"], const["u_r"], cfg.kappa, cfg.kappa_spike,
                    cfg.kappa_rise, cfg.rise_steps, col_lag, np.searchsorted(col_pre, np.arange(N + 1)),
                    syn_col.reshape(-1), syn.post.astype(np.int64))


# --------------------------------------------------------------------------------------------
# Forward recurrence, constraints, adjoint


def _np(x, like):
    return np.asarray(x, dtype=like.dtype)


def _membrane(A: np.ndarray, kind: np.ndarray, p: _Problem) -> np.ndarray:
    """Teacher-forced ``u`` ``(B, n, steps)`` from the input ``A`` (same shape; ``A[..., k]``: the jumps that
    enter the current of step ``k``, i.e. arrived at step ``k - 1``) and the step kinds.

    Vectorised over time: the current ``Y`` and the membrane without resets ``P`` are linear filters
    (``scipy.signal.lfilter``, one of order 2 for ``P``); after the last restart ``r < n`` (a clamped, refractory or spike step, from
    which the membrane carries on from its held value ``h_r``: 0 while clamped, ``u_r`` after a spike)
    ``u(n) = P(n) + a_m^(n-r) (h_r - P(r))``, the step recurrence of the replica restarted at ``r``.
    """
    L = A.shape[-1]
    # Y(n) = a_s Y(n-1) + A(n), P(n) = a_m P(n-1) + c Y(n): one filter of order 2
    P = lfilter(_np([p.c], A), _np([1.0, -(p.a_m + p.a_s), p.a_m * p.a_s], A), A, axis=-1)
    steps = np.arange(L, dtype=np.int32)
    held = (kind == _CLAMP) | (kind == _REFRACTORY)
    last = np.where(held | (kind == _SPIKE), steps, np.int32(0))
    np.maximum.accumulate(last, axis=-1, out=last)
    r = np.zeros_like(last)
    r[..., 1:] = last[..., :-1]                       # the last restart strictly before n (step 0 is clamped)
    del last
    restart = np.take_along_axis(P, r, axis=-1)
    if p.u_r != 0:
        h = np.where(np.take_along_axis(kind, r, axis=-1) == _CLAMP, 0.0, p.u_r).astype(P.dtype)
        restart = h - restart
    else:
        np.negative(restart, out=restart)
    np.subtract(steps, r, out=r)                      # steps since the restart
    restart *= _powers(p.a_m, L, P.dtype)[r]          # a_m^(n - r) from a table (np.power is 25x slower)
    del r
    u = P
    u += restart
    u[held] = 0.0
    if p.u_r != 0:
        u[kind == _REFRACTORY] = p.u_r
    return u


def _powers(a: float, L: int, dtype) -> np.ndarray:
    """``a^k`` for ``k = 0 .. L``."""
    return np.power(np.float64(a), np.arange(L + 1, dtype=np.float64)).astype(dtype)


def _constraints(u: np.ndarray, kind: np.ndarray, p: _Problem, loss: str, need_grad: bool):
    """Violations and hinge sums per neuron (``(n,)`` tensors), and ``dh/du`` (module docstring)."""
    spike = kind == _SPIKE
    active = (kind >= _FREE) & (kind <= _SPIKE)
    low = np.where(kind == _RISE, 1.0 - p.kappa_rise, 1.0 - p.kappa).astype(u.dtype)
    v = np.where(spike, (1.0 + p.kappa_spike) - u, u - low)
    v[~active] = -1.0
    bad = v > 0
    h = np.maximum(v, 0)
    if loss == "squared_hinge":
        h = h * h
    hsum = torch.from_numpy(h.sum(axis=(0, 2), dtype=np.float64))
    g = None
    if need_grad:
        g = bad.astype(u.dtype) if loss == "hinge" else 2 * np.maximum(v, 0)
        g[spike] *= -1
    return torch.from_numpy(bad.sum(axis=(0, 2)).astype(np.int64)), hsum, g


def _adjoint_rows(g: np.ndarray, kind: np.ndarray, p: _Problem) -> np.ndarray:
    """``dL/dA`` ``(B, steps, n)`` (the layout of the sparse products) from :func:`_adjoint` of the
    ``(pattern, neuron)`` rows with a violation; the others are 0."""
    B, n, L = g.shape
    busy = g.any(axis=-1)
    out = np.zeros((B, L, n), dtype=g.dtype)
    if busy.any():
        b, j = np.nonzero(busy)
        mu = _adjoint(g[b, j][None], kind[b, j][None], p)[0]           # (K, L)
        out[b, :, j] = mu
    return out


def _adjoint(g: np.ndarray, kind: np.ndarray, p: _Problem) -> np.ndarray:
    """``dL/dA`` ``(B, n, steps)`` by the reverse recurrences of :func:`_membrane`: ``dL/dA[..., k] = mu(k)``.

    ``lam(n) = g(n) + [no spike at n] a_m lam(n+1)`` on free steps (0 on held ones) is, with the filter
    ``G(n) = g(n) + a_m G(n+1)`` and the first cut ``s > n`` of the chain (a held step, or the step after a
    spike), ``lam(n) = G(n) - a_m^(s-n) G(s)``; then ``mu(n) = c lam(n) + a_s mu(n+1)``.
    """
    L = g.shape[-1]
    G = np.zeros(g.shape[:-1] + (L + 1,), dtype=g.dtype)
    G[..., :L] = lfilter(_np([1.0], g), _np([1.0, -p.a_m], g), g[..., ::-1], axis=-1)[..., ::-1]
    held = (kind == _CLAMP) | (kind == _REFRACTORY)
    cut = np.ones(g.shape[:-1] + (L + 1,), dtype=bool)           # cut[m]: lam(m) does not reach lam(m-1)
    cut[..., 1:L] = held[..., 1:] | (kind[..., :-1] == _SPIKE)
    steps = np.arange(L + 1, dtype=np.int32)
    first = np.where(cut, steps, np.int32(L))
    first = np.minimum.accumulate(first[..., ::-1], axis=-1)[..., ::-1]
    s = np.ascontiguousarray(first[..., 1:])                      # the first cut after n
    del first, cut
    later = np.take_along_axis(G, s, axis=-1)
    np.subtract(s, steps[:L], out=s)
    later *= _powers(p.a_m, L + 1, g.dtype)[s]
    del s
    lam = G[..., :L] - later
    del G, later
    lam[held] = 0.0
    mu = lfilter(_np([p.c], g), _np([1.0, -p.a_s], g), lam[..., ::-1], axis=-1)[..., ::-1]
    return mu


class _Block:
    """Contexts and step kinds of one block of postsynaptic neurons, per pattern minibatch."""

    def __init__(self, p: _Problem, start: int, stop: int, step: int, batch: int, dtype, device):
        self.p, self.device = p, device
        rows = np.arange(start, stop)
        np_dtype = {torch.float32: np.float32, torch.float64: np.float64}[dtype]
        self.steps = []
        for first in range(0, p.M, step):
            last = min(first + step, p.M)
            self.steps.append([(lo, min(lo + batch, last),
                                SparseContext(p.context(lo, min(lo + batch, last), np_dtype), device),
                                p.kinds(lo, min(lo + batch, last), rows))
                               for lo in range(first, last, batch)])

    def _forward(self, part, X, R):
        """Membrane ``(B, n, steps)`` and step kinds of the columns ``X`` (rows ``R``) on one minibatch."""
        p = self.p
        lo, hi, ctx, kind_all = part
        n = X.shape[1]
        kind = kind_all if n == kind_all.shape[1] else kind_all[:, R.numpy()]
        A = ctx.current(X).numpy().reshape(hi - lo, p.steps, n)
        return _membrane(np.ascontiguousarray(A.transpose(0, 2, 1)), kind, p), kind

    def _backward(self, part, u, kind, loss: str, acc) -> None:
        """``acc += C^T dL/dA`` on one minibatch."""
        g = _constraints(u, kind, self.p, loss, True)[2]
        dA = _adjoint_rows(g, kind, self.p).reshape(-1, u.shape[1])
        part[2].accumulate(acc, torch.from_numpy(dA))

    def evaluate(self, Wt, R, loss: str, grad: bool, keep_u: bool = False, steps=None):
        p = self.p
        n = R.numel()
        X = Wt if n == Wt.shape[1] else Wt[:, R].contiguous()
        counts = torch.zeros(n, dtype=torch.int64)
        hsum = torch.zeros(n, dtype=torch.float64)
        acc = torch.zeros(p.n_cols, n, dtype=Wt.dtype) if grad else None
        us = []
        for k in (range(len(self.steps)) if steps is None else steps):
            for part in self.steps[k]:
                u, kind = self._forward(part, X, R)
                c, h, _ = _constraints(u, kind, p, loss, False)
                counts += c
                hsum += h
                if keep_u:
                    us.append(torch.from_numpy(u))
                if grad:
                    self._backward(part, u, kind, loss, acc)
                del u
        return counts, hsum, acc, us

    def train_step(self, Wt, R, k: int, loss: str):
        """Violations and hinge sums ``(n,)`` of the rows ``R`` (the columns of ``Wt``) on step ``k``, the
        rows that violate (bool ``(n,)``) and their summed products ``(n_cols, busy)`` (None if none):
        the gradient of the violating columns only, as :meth:`hdsnn.learning.margin` does."""
        p = self.p
        n = R.numel()
        parts = self.steps[k]
        counts = torch.zeros(n, dtype=torch.int64)
        hsum = torch.zeros(n, dtype=torch.float64)
        kept = None
        for part in parts:
            u, kind = self._forward(part, Wt, R)
            c, h, _ = _constraints(u, kind, p, loss, False)
            counts += c
            hsum += h
            kept = (u, kind) if len(parts) == 1 else None
            del u
        busy = counts > 0
        cols = torch.nonzero(busy).flatten()
        if cols.numel() == 0:
            return counts, hsum, busy, None
        acc = torch.zeros(p.n_cols, cols.numel(), dtype=Wt.dtype)
        whole = cols.numel() == n
        if kept is not None:
            u, kind = kept
            if not whole:
                u, kind = np.ascontiguousarray(u[:, cols.numpy()]), np.ascontiguousarray(kind[:, cols.numpy()])
            self._backward(parts[0], u, kind, loss, acc)
        else:
            Xb, Rb = (Wt, R) if whole else (Wt[:, cols].contiguous(), R[cols])
            for part in parts:
                u, kind = self._forward(part, Xb, Rb)
                self._backward(part, u, kind, loss, acc)
        return counts, hsum, busy, acc


# --------------------------------------------------------------------------------------------
# Learning one block


@dataclass
class _BlockTask:
    problem: _Problem
    config: NeuronMarginConfig
    start: int
    stop: int
    W0: torch.Tensor                  # (n_cols, nb), transposed
    mask: torch.Tensor | None         # (n_cols, nb) bool
    batch: int
    progress: bool | None = None


def _learn_block(task: _BlockTask) -> dict:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _learn(task)
    finally:
        torch.set_num_threads(threads)


def _learn(task: _BlockTask) -> dict:
    t0 = time.perf_counter()
    cfg, p = task.config, task.problem
    device = torch.device(cfg.device)
    W = task.W0.to(device).contiguous()
    mask = None if task.mask is None else task.mask.to(device)
    step = min(cfg.step_patterns or p.M, p.M)
    block = _Block(p, task.start, task.stop, step, min(task.batch, step), W.dtype, device)
    sizes = [parts[-1][1] - parts[0][0] for parts in block.steps]
    out = learn_columns(W, mask, cfg, sizes, lambda Wt, R, k: block.train_step(Wt, R, k, cfg.loss),
                        lambda Wt, R: block.evaluate(Wt, R, cfg.loss, grad=False)[:2], patterns=p.M,
                        desc=f"margin_neurons rows {task.start}-{task.stop - 1}", progress=task.progress)
    if mask is not None:
        W = torch.where(mask, W, torch.zeros_like(W))
    return {"Wt": W.cpu(), **out, "seconds": time.perf_counter() - t0}


# --------------------------------------------------------------------------------------------
# Inputs


def _synapses(targets, synapses, D, delays_ms, mask, W0):
    """The synapse list (from a SynapseList, a mask, W0 or the dense connectivity), its delays and D."""
    M, N, T = targets.shape
    whole_ms = delays_ms is None
    if synapses is not None and not isinstance(synapses, SynapseList):
        raise ValueError(f"synapses must be a SynapseList (export_synapses, random_synapses) or None; "
                         f"got {type(synapses).__name__}")
    if synapses is not None and (mask is not None or W0 is not None):
        raise ValueError("give the synapses either as a SynapseList or as mask/W0, not both")
    if synapses is None and delays_ms is not None:
        raise ValueError("delays_ms (one delay per synapse) needs synapses (a SynapseList)")
    if synapses is not None:
        if synapses.N != N:
            raise ValueError(f"synapses are for N={synapses.N} neurons but targets have N={N}")
        if synapses.delay_ms is not None:
            if delays_ms is not None:
                raise ValueError("give the real-valued delays once: as synapses.delay_ms or as delays_ms, not both")
            delays_ms = synapses.delay_ms
        return synapses, delays_ms, synapses.D
    if mask is not None:
        mask = torch.as_tensor(mask)
        if mask.dtype != torch.bool or mask.ndim != 3 or tuple(mask.shape[:2]) != (N, N):
            raise ValueError(f"mask must be a bool tensor of shape (N, N, D) with N={N}, indexed "
                             f"[post, pre, delay-1]; got {mask.dtype} of shape {tuple(mask.shape)}")
    if W0 is not None:
        W0 = torch.as_tensor(W0)
        if W0.ndim != 3 or tuple(W0.shape[:2]) != (N, N) or (mask is not None and W0.shape != mask.shape):
            raise ValueError(f"W0 must have shape (N, N, D) with N={N} (and the mask's shape); "
                             f"got {tuple(W0.shape)}")
    D = mask.shape[2] if mask is not None else W0.shape[2] if W0 is not None else check_int("D", D, minimum=1)
    where = mask if mask is not None else torch.ones(N, N, D, dtype=torch.bool)
    post, pre, d = torch.nonzero(where, as_tuple=True)
    weight = (W0[post, pre, d] if W0 is not None else torch.zeros(post.numel())).to(torch.float32).numpy()
    syn = SynapseList(post.numpy().astype(np.int32), pre.numpy().astype(np.int32),
                      (d + 1).numpy().astype(np.int32), weight, N, int(D))
    return syn, None if whole_ms else delays_ms, int(D)


def _setup(targets, synapses, D, cfg, net, delays_ms, mask=None, W0=None):
    targets = check_raster("targets", targets)
    M, N, T = targets.shape
    net = net if net is not None else NetworkConfig(N=N)
    if not isinstance(net, NetworkConfig):
        raise ValueError(f"net must be a NetworkConfig; got {type(net).__name__}")
    syn, delays_ms, D = _synapses(targets, synapses, D, delays_ms, mask, W0)
    if D >= T:
        raise ValueError(f"D ({D} ms of trigger) must be smaller than T ({T} ms per pattern)")
    k = D if cfg.trigger_steps is None else cfg.trigger_steps
    if k > D:
        raise ValueError(f"trigger_steps must be in [1, D={D}]; got {k}")
    if delays_ms is not None:
        delays_ms = np.asarray(delays_ms, dtype=np.float64)
        if delays_ms.shape != (len(syn),) or not np.isfinite(delays_ms).all():
            raise ValueError(f"delays_ms must hold one finite delay per synapse, shape ({len(syn)},); "
                             f"got shape {delays_ms.shape}")
        if len(syn) and delays_ms.min() < cfg.delay_shift_ms:
            raise ValueError(f"delays_ms must be >= delay_shift_ms = {cfg.delay_shift_ms} ms (they are shortened "
                             f"by it); got a delay of {delays_ms.min():g} ms")
        delays_ms = delays_ms - cfg.delay_shift_ms                 # what the simulators get
    problem = _problem(targets, syn, delays_ms, cfg, net.beta, k)
    return targets, syn, delays_ms, D, net, problem


def _config(config) -> NeuronMarginConfig:
    cfg = config if config is not None else NeuronMarginConfig()
    if not isinstance(cfg, NeuronMarginConfig):
        raise ValueError(f"config must be a NeuronMarginConfig; got {type(cfg).__name__}")
    return cfg


def _plan(p: _Problem, cfg, nb: int, itemsize: int) -> int:
    """Patterns per minibatch under ``cfg.memory_gb`` (ValueError if one pattern does not fit)."""
    fixed = p.n_cols * nb * (itemsize * (4 + 2 * (cfg.optimizer == "adam")) + 2)
    nnz = p.mu.size * (p.n_cols / max(p.N, 1))
    fixed += int(2 * nnz * (itemsize + 8)) + p.M * p.steps * (nb + 16)
    per = p.steps * nb * (10 * itemsize + 12)          # A, Y, P, u, decay, v, h, g, lam, mu; int32 indices
    budget = cfg.memory_gb * 1e9
    if fixed + per > budget:
        raise ValueError(f"memory_gb={cfg.memory_gb} is too small: a block of {nb} postsynaptic neurons with one "
                         f"pattern per minibatch needs {(fixed + per) / 1e9:.3g} GB (lower block_size or raise "
                         f"memory_gb)")
    return max(1, min(p.M, 1 + int((budget - fixed - per) // per), cfg.batch_patterns or p.M))


def _columns(p: _Problem, syn: SynapseList, a: int, b: int, dtype):
    """Block ``a .. b-1``: initial weights ``(n_cols, nb)`` (sums of its synapses), mask and multiplicity."""
    sel = (p.post >= a) & (p.post < b)
    col, j = p.syn_col[sel], p.post[sel] - a
    count = torch.zeros(p.n_cols, b - a, dtype=torch.int32)
    count.index_put_((torch.from_numpy(col), torch.from_numpy(j)), torch.ones(col.size, dtype=torch.int32),
                     accumulate=True)
    W = torch.zeros(p.n_cols, b - a, dtype=dtype)
    W.index_put_((torch.from_numpy(col), torch.from_numpy(j)), torch.from_numpy(syn.weight[sel]).to(dtype),
                 accumulate=True)
    return W, count


def _dense(syn: SynapseList, weight: np.ndarray) -> torch.Tensor:
    W = torch.zeros(syn.N, syn.N, syn.D, dtype=torch.float32)
    W.index_put_((torch.from_numpy(syn.post).long(), torch.from_numpy(syn.pre).long(),
                  torch.from_numpy(syn.delay_steps).long() - 1), torch.from_numpy(weight), accumulate=True)
    return W


# --------------------------------------------------------------------------------------------
# Front functions


def neuron_margin_init(targets, synapses: SynapseList | None = None, config: NeuronMarginConfig | None = None, *,
                       D: int = 41, delays_ms=None, mask=None, W0=None, net: NetworkConfig | None = None,
                       executor=None, progress: bool | None = None) -> NeuronMarginResult:
    """Learn synaptic weights whose teacher-forced LIF membrane meets every constraint of the window.

    Parameters
    ----------
    targets : bool array ``(M, N, T)``
        Patterns in 1-ms bins.
    synapses : SynapseList, optional
        The synapses that exist (their weights are the warm start with ``init='synapses'``). Without it:
        ``mask`` (bool ``(N, N, D)``, delays ``d`` ms), else every pair on every delay ``1..D`` ms.
    config : NeuronMarginConfig, optional
    D : int
        Trigger window in ms and number of delays, when neither synapses, mask nor W0 gives it.
    delays_ms : array ``(S,)``, optional
        Real-valued delay of each synapse in ms (instead of ``synapses.delay_steps``), >= ``delay_shift_ms``;
        or give them as ``synapses.delay_ms`` (not both).
    mask : bool array ``(N, N, D)``, optional
    W0 : float array ``(N, N, D)``, optional
        Warm start with ``init='synapses'`` (on the mask's entries, or all).
    net : NetworkConfig, optional
        Its ``beta`` sets ``tau_m = -1 ms / log(beta)`` (pass the same net to the simulators).
    executor : None, str, int or Executor
        Where the blocks of postsynaptic neurons run (:func:`hdsnn.parallel.get_executor`).
    progress : bool or None

    Returns
    -------
    NeuronMarginResult

    Raises
    ------
    ValueError
        Bad targets, synapses, delays, mask, W0, config or net, naming the argument and the value given.

    Examples
    --------
    >>> from hdsnn.models import bernoulli_patterns, random_synapses, DelayDistribution
    >>> P = bernoulli_patterns(1, 40, 50, 0.02, seed=1)
    >>> syn, d = random_synapses(40, 10, synapses_per_pair=10, delays=DelayDistribution("uniform", 1.0, 10.0))
    >>> res = neuron_margin_init(P, syn, NeuronMarginConfig(lr=0.05), delays_ms=d, progress=False)
    >>> res.violations, res.W is None, replay(res, P, tolerance=0).pooled()["f1"]     # real-valued delays
    (0, True, 1.0)
    """
    t0 = time.perf_counter()
    cfg = _config(config)
    targets, syn, eff_delays, D, net, problem = _setup(targets, synapses, D, cfg, net, delays_ms, mask, W0)
    M, N, T = targets.shape
    if cfg.lr is None:
        cfg = replace(cfg, lr=default_lr(targets, D))
    nb = min(cfg.block_size or N, N)
    batch = _plan(problem, cfg, nb, 4)
    tasks = []
    for a in range(0, N, nb):
        b = min(a + nb, N)
        W, count = _columns(problem, syn, a, b, torch.float32)
        if cfg.init == "zero":
            W.zero_()
        exists = count > 0
        tasks.append(_BlockTask(problem, cfg, a, b, W, None if bool(exists.all()) else exists, batch, progress))
    ex = get_executor(executor)
    try:
        parts = ex.map(_learn_block, tasks)
    finally:
        if not isinstance(executor, Executor):
            ex.close()
    weight = np.zeros(len(syn), dtype=np.float32)
    for (a, b), part in zip(((t.start, t.stop) for t in tasks), parts):
        sel = np.nonzero((problem.post >= a) & (problem.post < b))[0]
        col, j = problem.syn_col[sel], problem.post[sel] - a
        _, count = _columns(problem, syn, a, b, torch.float32)
        share = part["Wt"][torch.from_numpy(col), torch.from_numpy(j)] / count[torch.from_numpy(col),
                                                                                 torch.from_numpy(j)]
        weight[sel] = share.numpy()
    given = None if eff_delays is None else np.asarray(delays_ms if delays_ms is not None else syn.delay_ms,
                                                        dtype=np.float64)
    learned = SynapseList(syn.post, syn.pre, syn.delay_steps, weight, syn.N, syn.D, delay_ms=given)
    simulated = synapse_delays(learned, cfg.delay_shift_ms) * 1e3
    per_neuron = torch.cat([r["violations"] for r in parts])
    options = {"neuron": cfg.neuron, "efficacy": 1.0, "delay_shift_ms": cfg.delay_shift_ms, "dt_ms": cfg.dt_ms}
    return NeuronMarginResult(learned, simulated, _dense(learned, weight) if eff_delays is None else None, options,
                              int(per_neuron.sum()), per_neuron, _history(parts), time.perf_counter() - t0, cfg,
                              max(r["epochs_run"] for r in parts), D)


def default_lr(targets, D: int) -> float:
    """The default step of :class:`NeuronMarginConfig`: ``0.2 / max(N D p, 20)`` (its ``lr``).

    Examples
    --------
    >>> from hdsnn.models import bernoulli_patterns
    >>> round(default_lr(bernoulli_patterns(16, 1024, 1000, 1e-3, seed=0), 41), 4)     # the paper's size
    0.0048
    """
    targets = torch.as_tensor(targets)
    M, N, T = targets.shape
    rate = float(targets.sum()) / max(M * N * T, 1)
    return 0.2 / max(N * D * rate, 20.0)


def _history(parts) -> list:
    epochs = max(len(r["history_violations"]) for r in parts)
    out = []
    for e in range(epochs):
        v = torch.cat([r["history_violations"][min(e, len(r["history_violations"]) - 1)] for r in parts])
        loss = torch.cat([r["history_loss"][min(e, len(r["history_loss"]) - 1)] for r in parts])
        out.append({"epoch": e, "violations": int(v.sum()), "neurons_violating": int((v > 0).sum()),
                    "loss": float(loss.numpy().mean())})
    return out


def _whole(synapses, targets, config, delays_ms, net, D, dtype):
    cfg = _config(config)
    targets, syn, eff, D, net, p = _setup(targets, synapses, D, cfg, net, delays_ms)
    W, _ = _columns(p, syn, 0, p.N, dtype)
    return p, _Block(p, 0, p.N, p.M, p.M, dtype, torch.device("cpu")), W, cfg


def neuron_membrane(synapses: SynapseList, targets, config: NeuronMarginConfig | None = None, *, delays_ms=None,
                    net: NetworkConfig | None = None, dtype=torch.float64) -> torch.Tensor:
    """The teacher-forced membrane ``u`` ``(M, N, T S)`` of the synapses' weights, in units of ``V_th - E_L``.

    ``u = (v - E_L) / (V_th - E_L)`` at every step ``dt`` (before the reset of a spike step; 0 while
    clamped, ``u_r`` while refractory), the presynaptic spikes at the targets' times and each neuron reset at
    its own target spikes: what the replica's membrane is when its spikes are the targets.

    Examples
    --------
    >>> syn = SynapseList(np.array([1]), np.array([0]), np.array([2]), np.array([1.0], np.float32), N=2, D=3)
    >>> s = torch.zeros(1, 2, 8, dtype=torch.bool); s[0, 0, 4] = True
    >>> u = neuron_membrane(syn, s, NeuronMarginConfig(trigger_steps=1))[0, 1]
    >>> int(u.nonzero()[0]), round(float(u.max()), 3)          # first change at (4 + 2) ms, peak of the PSP
    (60, 0.565)
    """
    p, block, W, _ = _whole(synapses, targets, config, delays_ms, net, 41, dtype)
    *_, us = block.evaluate(W, torch.arange(p.N), "hinge", grad=False, keep_u=True)
    return torch.cat(us)


def neuron_violations(synapses: SynapseList, targets, config: NeuronMarginConfig | None = None, *, delays_ms=None,
                      net: NetworkConfig | None = None, per_neuron: bool = False):
    """Constraints of the window (module docstring) that the synapses' weights violate (int, or ``(N,)``).

    Examples
    --------
    >>> syn = SynapseList(np.array([1]), np.array([0]), np.array([2]), np.array([5.0], np.float32), N=2, D=3)
    >>> s = torch.zeros(1, 2, 10, dtype=torch.bool); s[0, 0, 0] = True; s[0, 1, 2] = True
    >>> neuron_violations(syn, s, NeuronMarginConfig(trigger_steps=1), per_neuron=True).tolist()
    [0, 19]

    Neuron 1 misses its spike step (``u = 5 K(1) = 0.47``) and, reset there, the current carried over the
    reset lifts it above ``1 - kappa`` on 18 steps after its refractory period.
    """
    p, block, W, _ = _whole(synapses, targets, config, delays_ms, net, 41, torch.float64)
    counts, *_ = block.evaluate(W, torch.arange(p.N), "hinge", grad=False)
    return counts if per_neuron else int(counts.sum())


def replay(result: NeuronMarginResult, targets, *, simulator: str = "torch_neurons", tolerance: int = 1,
           net: NetworkConfig | None = None, target: str = "numpy", simulation: bool = False, **kwargs):
    """Recall ``targets`` from their triggers with the learned synapses and delays; returns the Scores.

    Runs :func:`~hdsnn.models.replica.simulate_replica` (``'torch_neurons'``) or
    :func:`~hdsnn.models.brian2.simulate_neurons` (``'brian2'``, Brian2 ``target``) with
    ``efficacy=1``, the learned synapses with their delays shortened by ``delay_shift_ms`` (as
    :func:`hdsnn.models.recall` runs them from a synapse file) and the clamp the constraints were written for, and scores
    the free run ``t >= D`` at ``±tolerance`` ms (0: exact 1-ms bins). With ``simulation=True`` it returns
    ``(scores, sim)``, ``sim`` the simulator's :class:`~hdsnn.models.brian2.NeuronSimulation` (its 1-ms raster
    and exact spike times; trial ``m`` is pattern ``m``, times from its trigger onset). Other keyword
    arguments go to the simulator.

    Examples
    --------
    >>> replay(None, None, simulator="dense")
    Traceback (most recent call last):
    ...
    ValueError: simulator must be one of 'torch_neurons', 'brian2'; got 'dense'
    """
    simulator = check_choice("simulator", simulator, ("torch_neurons", "brian2"))
    if not isinstance(result, NeuronMarginResult):
        raise ValueError(f"result must be a NeuronMarginResult; got {type(result).__name__}")
    targets = check_raster("targets", targets)
    tolerance = check_int("tolerance", tolerance, minimum=0)
    cfg = result.config
    beta = (net if net is not None else NetworkConfig()).beta
    trials = make_trials(targets, result.D, TrialConfig(trigger_steps=cfg.trigger_steps))
    where = {"target": target} if simulator == "brian2" else {}
    run = simulate_neurons if simulator == "brian2" else simulate_replica
    sim = run(cfg.neuron, result.synapses, trials.inputs, trials.clamp, efficacy=1.0, beta=beta,
              delay_shift_ms=cfg.delay_shift_ms, dt_ms=cfg.dt_ms, **where, **kwargs)
    scores = tolerant_score(targets, trials.extract(sim.raster), result.D, tolerance)
    return (scores, sim) if simulation else scores
