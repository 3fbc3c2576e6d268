r"""The neuron models of :data:`~hdsnn.models.brian2.NEURON_MODELS` as torch step functions (a pure functional core).

Each model is defined once, as Brian2 strings with units
(:class:`~hdsnn.models.brian2.NeuronModel`); this module integrates the same
equations with the same method, in SI units (volt, second, siemens, amp,
farad) and in any float dtype, batched over trials: a state is a tuple of
``(B, N)`` tensors, the parameters a small frozen record read from the same
:class:`NeuronModel` (:func:`model_parameters`), and one call
``step(state, input, p, dt=..., free=..., noise=...) -> (state, spikes)``
advances every neuron by one step ``dt``, in Brian2's order within a step:

1. ``input`` (the synaptic jumps delivered since the last step, one ``(B, N)``
   tensor per synaptic variable) is added to the synaptic variables;
2. refractoriness: ``since`` (steps since the neuron's last spike) grows by one,
   and the neuron is *free of refractoriness* when ``since >= round_down(refractory / dt)``
   (Brian2's ``timestep(t - lastspike, dt) >= timestep(refractory, dt)``);
3. the state is integrated over ``dt`` (``free`` is 1, or 0 on clamped steps,
   where it multiplies the membrane's derivatives; ``I_noise`` is the background
   input of :mod:`hdsnn.models.noise`, 0 when ``noise`` is None); a variable
   marked ``(unless refractory)`` keeps its value while refractory;
4. a spike where the threshold holds and the neuron is not refractory;
5. reset of the spiking neurons (``since = 0``).

The equations, with ``f = free``::

    lif_current      dv/dt = f (E_L - v + I_syn + I_noise) / tau_m        (unless refractory)
                     dI_syn/dt = -I_syn / tau_s
                     'exact': with a_m = exp(-dt/tau_m), a_s = exp(-dt/tau_s), r = E_L + I_noise,
                     v <- r + (v - r) a_m + I_syn tau_s (a_s - a_m) / (tau_s - tau_m),   I_syn <- a_s I_syn
                     spike v > V_th;  v <- V_reset;  refractory 1 ms
    lif_conductance  dv/dt = f (g_L (E_L - v + I_noise) + g_e (E_e - v) + g_i (E_i - v)) / C   (unless refractory)
                     dg_e/dt = -g_e / tau_e,  dg_i/dt = -g_i / tau_i               'euler'
                     spike v > V_th;  v <- V_reset;  refractory 1 ms
    adex             dv/dt = f (g_L (E_L - v + I_noise) + g_L Delta_T exp((v - V_T)/Delta_T) - a_w + I_syn) / C
                     da_w/dt = f (a (v - E_L) - a_w) / tau_w,  dI_syn/dt = -I_syn / tau_s      'euler'
                     spike v > V_T + 5 Delta_T;  v <- V_r, a_w <- a_w + b;  refractory 1 ms (v only)
    izhikevich       dv/dt = f (0.04 v^2/mV + 5 v + 140 mV - u_r + I_syn + I_noise ms/tau_m) / ms
                     du_r/dt = f a (b v - u_r) / ms,  dI_syn/dt = -I_syn / tau_s                'euler'
                     spike v >= 30 mV;  v <- c, u_r <- u_r + d;  no refractoriness

where 'euler' is the forward step ``x <- x + dt * dx/dt`` of every variable
from the values at the start of the step. ``free`` must be 0 or 1 (the exact
solution of ``lif_current`` holds the membrane when it is 0).
:func:`hdsnn.models.replica.simulate_replica` runs a network of these neurons
with the trial protocol of :func:`~hdsnn.models.brian2.simulate_neurons`.

Examples
--------
>>> p = model_parameters("lif_current")
>>> state = initial_state("lif_current", 1, 2, dtype=torch.float64)
>>> kick = torch.tensor([[[0.0, 0.2]]])                          # jump of I_syn, in volt
>>> state, spikes = lif_current_step(state, kick, p, dt=1e-4)
>>> round(float(state.v[0, 1]) * 1e3, 2), spikes.tolist()        # mV, one step after the jump
(-58.33, [[False, False]])
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Callable, NamedTuple

import torch

from .brian2.neurons import NEURON_MODELS, SI_UNITS, NeuronModel, evaluate_parameters, resolve_model

__all__ = ["LIFCurrentParameters", "LIFConductanceParameters", "AdExParameters", "IzhikevichParameters",
           "LIFCurrentState", "LIFConductanceState", "AdExState", "IzhikevichState",
           "lif_current_step", "lif_conductance_step", "adex_step", "izhikevich_step",
           "Replica", "REPLICAS", "replica_of", "model_parameters", "initial_state", "refractory_steps"]

#: ``since`` of a neuron that never spiked.
NEVER = 2 ** 40


@dataclass(frozen=True)
class LIFCurrentParameters:
    E_L: float
    V_th: float
    V_reset: float
    tau_m: float
    tau_s: float
    refractory: float

    def __post_init__(self):
        if abs(self.tau_s - self.tau_m) <= 1e-9 * self.tau_m:
            raise ValueError(f"lif_current's exact solution needs tau_s != tau_m; got both {self.tau_m * 1e3:g} ms "
                             f"(choose another beta or tau_s)")


@dataclass(frozen=True)
class LIFConductanceParameters:
    E_L: float
    V_th: float
    V_reset: float
    E_e: float
    E_i: float
    g_L: float
    C: float
    tau_e: float
    tau_i: float
    refractory: float


@dataclass(frozen=True)
class AdExParameters:
    g_L: float
    C: float
    E_L: float
    V_T: float
    Delta_T: float
    V_r: float
    a: float
    b: float
    tau_w: float
    tau_s: float
    refractory: float


@dataclass(frozen=True)
class IzhikevichParameters:
    a: float
    b: float
    c: float
    d: float
    tau_s: float
    tau_m: float
    refractory: float


class LIFCurrentState(NamedTuple):
    v: torch.Tensor
    I_syn: torch.Tensor
    since: torch.Tensor


class LIFConductanceState(NamedTuple):
    v: torch.Tensor
    g_e: torch.Tensor
    g_i: torch.Tensor
    since: torch.Tensor


class AdExState(NamedTuple):
    v: torch.Tensor
    a_w: torch.Tensor
    I_syn: torch.Tensor
    since: torch.Tensor


class IzhikevichState(NamedTuple):
    v: torch.Tensor
    u_r: torch.Tensor
    I_syn: torch.Tensor
    since: torch.Tensor


def refractory_steps(refractory: float, dt: float) -> int:
    """Brian2's ``timestep(refractory, dt)``: whole steps, robust to rounding.

    Examples
    --------
    >>> refractory_steps(1e-3, 1e-4), refractory_steps(0.0, 1e-4)
    (10, 0)
    """
    return int((refractory + 1e-3 * dt) / dt)


def _refractoriness(since, p, dt):
    since = since + 1
    return since, since >= refractory_steps(p.refractory, dt)


def _fire(x, hard, ok, spike):
    """The spikes of a step: ``hard`` (bool), or with ``spike`` (a learner's surrogate) the float
    ``spike(x, hard, ok)``, equal to ``hard`` in value (``x``: the distance above threshold, volt)."""
    return hard if spike is None else spike(x, hard, ok)


def _spiked(s):
    """Bool spikes of a step (float ones from ``spike`` are 0 or 1)."""
    return s if s.dtype == torch.bool else s != 0


def _reset(value, to, s):
    """``to`` where the neuron spiked: ``torch.where`` on bool spikes, ``value (1 - s) + to s`` on float ones
    (the same numbers for s in {0, 1}, and a path for the gradient)."""
    if s.dtype == torch.bool:
        return torch.where(s, torch.full_like(value, to) if not torch.is_tensor(to) else to, value)
    return value * (1 - s) + to * s


def lif_current_step(state: LIFCurrentState, input, p: LIFCurrentParameters, *, dt: float, free=1.0, noise=None,
                     spike=None):
    """One exact step of the LIF neuron with an exponential synaptic current (see the module docstring).

    Parameters
    ----------
    state : LIFCurrentState
        ``(B, N)`` tensors (``since``: int64 steps since the last spike).
    input : tensor ``(1, B, N)``
        Jumps of the synaptic variable delivered since the last step (volt).
    p : LIFCurrentParameters
    dt : float
        Step (s).
    free : float or tensor broadcastable to ``(B, N)``
        1, or 0 on clamped steps.
    noise : tensor ``(B, N)``, optional
        Background input ``I_noise`` of this step (volt).
    spike : callable, optional
        ``spike(x, hard, ok) -> float tensor``: spikes with a gradient (a learner's surrogate), given the
        distance above threshold ``x`` (volt), the spikes ``hard`` (bool) and the non-refractory ``ok``;
        resets become arithmetic (the same numbers). Equal to ``hard`` in value it runs the model (a
        surrogate gradient); other 0/1 values force the spikes (teacher forcing resets at the targets).

    Returns
    -------
    (state, spikes) : the new state and a bool tensor ``(B, N)`` (float with ``spike``)

    Examples
    --------
    >>> p = model_parameters("lif_current")
    >>> s = initial_state("lif_current", 1, 1)
    >>> s, z = lif_current_step(s, torch.full((1, 1, 1), 1.0), p, dt=1e-4)   # a large kick fires at once
    >>> z.item(), s.v.item() == p.V_reset, s.since.item()
    (True, True, 0)
    """
    v, I_syn, since = state.v, state.I_syn + input[0], state.since
    since, ok = _refractoriness(since, p, dt)
    a_m, a_s = math.exp(-dt / p.tau_m), math.exp(-dt / p.tau_s)
    rest = p.E_L if noise is None else p.E_L + noise
    moved = rest + (v - rest) * a_m + I_syn * (p.tau_s * (a_s - a_m) / (p.tau_s - p.tau_m))
    v = torch.where(ok & (torch.as_tensor(free) != 0), moved, v)
    I_syn = I_syn * a_s
    hard = (v > p.V_th) & ok
    spikes = _fire(v - p.V_th, hard, ok, spike)
    v = _reset(v, p.V_reset, spikes)
    return LIFCurrentState(v, I_syn, torch.where(_spiked(spikes), 0, since)), spikes


def lif_conductance_step(state: LIFConductanceState, input, p: LIFConductanceParameters, *, dt: float, free=1.0,
                         noise=None, spike=None):
    """One forward-Euler step of the conductance-based LIF neuron.

    Same arguments and result as :func:`lif_current_step` (``input``: one ``(B, N)`` jump per synaptic variable).

    Examples
    --------
    >>> p = model_parameters("lif_conductance")
    >>> s, z = lif_conductance_step(initial_state("lif_conductance", 1, 1), torch.zeros(2, 1, 1), p, dt=1e-4)
    >>> s.v.item() == p.E_L, z.item()                           # rest is a fixed point
    (True, False)
    """
    v, g_e, g_i = state.v, state.g_e + input[0], state.g_i + input[1]
    since, ok = _refractoriness(state.since, p, dt)
    leak = p.E_L - v if noise is None else p.E_L - v + noise
    dv = (p.g_L * leak + g_e * (p.E_e - v) + g_i * (p.E_i - v)) / p.C
    v = torch.where(ok, v + dt * free * dv, v)
    g_e, g_i = g_e - (dt / p.tau_e) * g_e, g_i - (dt / p.tau_i) * g_i
    hard = (v > p.V_th) & ok
    spikes = _fire(v - p.V_th, hard, ok, spike)
    v = _reset(v, p.V_reset, spikes)
    return LIFConductanceState(v, g_e, g_i, torch.where(_spiked(spikes), 0, since)), spikes


def adex_step(state: AdExState, input, p: AdExParameters, *, dt: float, free=1.0, noise=None, spike=None):
    """One forward-Euler step of the adaptive exponential integrate-and-fire neuron.

    Same arguments and result as :func:`lif_current_step` (``input``: one ``(B, N)`` jump per synaptic variable).

    Examples
    --------
    >>> s, z = adex_step(initial_state("adex", 1, 1), torch.zeros(1, 1, 1), model_parameters("adex"), dt=1e-4)
    >>> round(s.v.item() * 1e3, 3), z.item()                    # mV
    (-70.6, False)
    """
    v, a_w, I_syn = state.v, state.a_w, state.I_syn + input[0]
    since, ok = _refractoriness(state.since, p, dt)
    leak = p.E_L - v if noise is None else p.E_L - v + noise
    dv = (p.g_L * leak + p.g_L * p.Delta_T * torch.exp((v - p.V_T) / p.Delta_T) - a_w + I_syn) / p.C
    dw = (p.a * (v - p.E_L) - a_w) / p.tau_w
    v, a_w = torch.where(ok, v + dt * free * dv, v), a_w + dt * free * dw
    I_syn = I_syn - (dt / p.tau_s) * I_syn
    hard = (v > p.V_T + 5 * p.Delta_T) & ok
    spikes = _fire(v - (p.V_T + 5 * p.Delta_T), hard, ok, spike)
    v = _reset(v, p.V_r, spikes)
    a_w = _reset(a_w, a_w + p.b, spikes)
    return AdExState(v, a_w, I_syn, torch.where(_spiked(spikes), 0, since)), spikes


def izhikevich_step(state: IzhikevichState, input, p: IzhikevichParameters, *, dt: float, free=1.0, noise=None,
                    spike=None):
    """One forward-Euler step of the Izhikevich neuron (voltages in volt: ``mV = 1e-3``, ``ms = 1e-3``).

    Same arguments and result as :func:`lif_current_step` (``input``: one ``(B, N)`` jump per synaptic variable).

    Examples
    --------
    >>> p = model_parameters("izhikevich")
    >>> s, z = izhikevich_step(initial_state("izhikevich", 1, 1), torch.zeros(1, 1, 1), p, dt=1e-4)
    >>> round(s.v.item() * 1e3, 6), z.item()                    # mV: (-70 mV, -14 mV) is at rest
    (-70.0, False)
    """
    mV = ms = 1e-3
    v, u_r, I_syn = state.v, state.u_r, state.I_syn + input[0]
    since, ok = _refractoriness(state.since, p, dt)
    drive = I_syn if noise is None else I_syn + noise * ms / p.tau_m
    dv = (0.04 * v ** 2 / mV + 5 * v + 140 * mV - u_r + drive) / ms
    du = p.a * (p.b * v - u_r) / ms
    v, u_r = v + dt * free * dv, u_r + dt * free * du
    I_syn = I_syn - (dt / p.tau_s) * I_syn
    hard = (v >= 30 * mV) & ok
    spikes = _fire(v - 30 * mV, hard, ok, spike)
    v = _reset(v, p.c, spikes)
    u_r = _reset(u_r, u_r + p.d, spikes)
    return IzhikevichState(v, u_r, I_syn, torch.where(_spiked(spikes), 0, since)), spikes


@dataclass(frozen=True)
class Replica:
    """The torch replica of one model: its method, records, synaptic variables and step function."""

    name: str
    method: str
    parameters: type
    state: type
    synaptic: tuple
    step: Callable


#: The replicas, by model name.
REPLICAS = {r.name: r for r in (
    Replica("lif_current", "exact", LIFCurrentParameters, LIFCurrentState, ("I_syn",), lif_current_step),
    Replica("lif_conductance", "euler", LIFConductanceParameters, LIFConductanceState, ("g_e", "g_i"),
            lif_conductance_step),
    Replica("adex", "euler", AdExParameters, AdExState, ("I_syn",), adex_step),
    Replica("izhikevich", "euler", IzhikevichParameters, IzhikevichState, ("I_syn",), izhikevich_step),
)}


def replica_of(model) -> tuple[NeuronModel, Replica]:
    """The model record and its replica; refuses a model the replica does not integrate.

    A :class:`NeuronModel` may change the parameters and initial values of one of
    the four models, not its equations, threshold, reset or method.

    Examples
    --------
    >>> from dataclasses import replace
    >>> replica_of(replace(NEURON_MODELS["adex"], method="rk4"))
    Traceback (most recent call last):
    ...
    ValueError: the torch replica of 'adex' integrates its equations, threshold and reset with method 'euler'; got a model with method 'rk4'
    """
    model = resolve_model(model)
    if model.name not in REPLICAS:
        raise ValueError(f"model must be one of {', '.join(map(repr, REPLICAS))} (the models with a torch replica); "
                         f"got a NeuronModel named {model.name!r}")
    replica, reference = REPLICAS[model.name], NEURON_MODELS[model.name]
    for what in ("method", "equations", "threshold", "reset"):
        if getattr(model, what) != getattr(reference, what):
            raise ValueError(f"the torch replica of {model.name!r} integrates its equations, threshold and reset with "
                             f"method {replica.method!r}; got a model with {what} {getattr(model, what)!r}")
    return model, replica


def model_parameters(model, beta: float = 0.7):
    """The frozen parameter record of a model, in SI units, read from its :class:`NeuronModel` strings.

    Examples
    --------
    >>> p = model_parameters("adex")
    >>> type(p).__name__, round(p.g_L * 1e9, 6), p.refractory      # nS, s
    ('AdExParameters', 30.0, 0.001)
    """
    model, replica = replica_of(model)
    values = evaluate_parameters(model, beta)
    return replica.parameters(**{f.name: float(values[f.name]) for f in fields(replica.parameters)})


def initial_state(model, B: int, N: int, *, dtype=torch.float64, device="cpu"):
    """The rest state of ``B x N`` neurons (the model's ``initial`` values, 0 elsewhere, never spiked).

    Examples
    --------
    >>> initial_state("izhikevich", 1, 1).u_r.tolist()
    [[-0.014]]
    """
    model, replica = replica_of(model)
    values = {name: eval(text, {"__builtins__": {}}, dict(SI_UNITS)) for name, text in model.initial.items()}
    tensors = {name: torch.full((B, N), float(values.get(name, 0.0)), dtype=dtype, device=device)
               for name in replica.state._fields if name != "since"}
    return replica.state(**tensors, since=torch.full((B, N), NEVER, dtype=torch.int64, device=device))

