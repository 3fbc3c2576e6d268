r"""Weights learned in one neuron model carried to another through their efficacy at rest.

The margin learner in continuous time (:func:`hdsnn.learning.neuron_margin_init`)
learns for ``lif_current``, whose membrane is linear in the weights. A model
whose membrane is not (``lif_conductance``: the driving force ``E - v``;
``adex``: the exponential spike initiation; ``izhikevich``: the quadratic
membrane) is given the same synapses with each weight scaled so that a
single synapse moves the model's membrane at rest as far, in units of its
distance from rest to threshold, as it moves ``lif_current``'s:

    w_model = w * [peak_ref(sign w) / theta_ref] / [peak_model(sign w) / theta_model]

where ``peak(sign)`` is the peak deflection of the membrane from rest per unit
weight of a single synapse of that sign (measured by the torch replica at
``dt``, weight 0.01: the linear regime), and ``theta`` the distance from rest
to threshold: ``V_th - E_L`` (LIF), ``V_T - E_L`` (AdEx, the start of the
exponential), and for Izhikevich the distance between the stable and the
unstable fixed point of ``0.04 v^2 + 5 v + 140 - b v = 0`` (mV), 20 mV for
``b = 0.2``. The scale differs by sign in ``lif_conductance`` (excitatory and
inhibitory conductances have their own reversal potentials and time
constants) and is one factor otherwise.

This is the linearisation of the weights, not of the dynamics: it is exact
for ``lif_current`` against itself, close while the membrane stays near rest,
and wrong near threshold, where the driving force of a conductance has fallen
by ``(V_th - E_L) / (E_e - E_L)`` (23 % with the default parameters) and the
exponential or quadratic terms of AdEx and Izhikevich take over, which is
where the learned constraints of the spike steps live.

Examples
--------
>>> round(psp_peak("lif_current", 1.0) / threshold_distance("lif_current"), 3)   # units of V_th - E_L
0.565
>>> scale = rest_scale("lif_conductance")
>>> scale[1.0] > 0 and scale[-1.0] > 0 and scale[1.0] != scale[-1.0]
True
"""
from __future__ import annotations

import math

import numpy as np
import torch

from hdsnn.validation import check_choice, check_real

from .brian2.neurons import NEURON_MODELS, evaluate_parameters
from .export import SynapseList
from .replica import simulate_replica

__all__ = ["psp_peak", "threshold_distance", "rest_scale", "linearised_synapses"]

_PROBE = 0.01          # weight of the probing synapse: small enough for the linear regime at rest
_WINDOW_MS = 30        # the PSP has peaked and decayed well within this (tau_m, tau_s <= 10 ms)


def threshold_distance(neuron: str, beta: float = 0.7) -> float:
    """Distance from rest to threshold of a model, in volt (module docstring).

    Examples
    --------
    >>> round(threshold_distance("adex") * 1e3, 1), round(threshold_distance("izhikevich") * 1e3, 1)
    (20.2, 20.0)
    """
    neuron = check_choice("neuron", neuron, tuple(NEURON_MODELS))
    p = evaluate_parameters(NEURON_MODELS[neuron], beta)
    if neuron in ("lif_current", "lif_conductance"):
        return p["V_th"] - p["E_L"]
    if neuron == "adex":
        return p["V_T"] - p["E_L"]
    disc = (5.0 - p["b"]) ** 2 - 4 * 0.04 * 140.0          # the fixed points of the quadratic membrane (mV)
    if disc <= 0:
        raise ValueError(f"izhikevich with b={p['b']} has no resting state (no fixed point of the membrane)")
    return math.sqrt(disc) / 0.04 * 1e-3


def psp_peak(neuron: str, sign: float = 1.0, *, beta: float = 0.7, dt_ms: float = 0.1) -> float:
    """Peak deflection of the membrane from rest per unit weight, for a synapse of this sign (volt).

    One spike through one synapse of weight ``sign * 0.01`` at efficacy 1, simulated by the torch replica
    (float64) and compared with the same run without the spike, so that a slow drift of the resting state
    cancels. Positive for an excitatory and negative for an inhibitory effect.

    Examples
    --------
    >>> psp_peak("lif_conductance", -1.0) < 0 < psp_peak("lif_conductance", 1.0)
    True
    """
    neuron = check_choice("neuron", neuron, tuple(NEURON_MODELS))
    sign = check_real("sign", sign)
    if sign == 0:
        raise ValueError("sign must be +1 or -1 (the sign of the weight); got 0")
    sign = math.copysign(1.0, sign)
    syn = SynapseList(np.array([1], np.int32), np.array([0], np.int32), np.array([1], np.int32),
                      np.array([sign * _PROBE], np.float32), 2, 1)
    x = torch.zeros(2, 2, _WINDOW_MS, dtype=torch.bool)
    x[1, 0, 1] = True                                           # trial 1 has the spike, trial 0 not
    trace = []
    simulate_replica(neuron, syn, x, efficacy=1.0, beta=beta, delay_shift_ms=0.0, dt_ms=dt_ms, max_rate_hz=None,
                     on_step=lambda n, state: trace.append((state.v[1, 1] - state.v[0, 1]).item()))
    dv = np.asarray(trace)
    k = int(np.argmax(np.abs(dv)))
    return float(dv[k]) / _PROBE


def rest_scale(neuron: str, reference: str = "lif_current", *, beta: float = 0.7, dt_ms: float = 0.1) -> dict:
    """The factor per sign of weight, ``{1.0: s_exc, -1.0: s_inh}``, that maps ``reference`` weights to ``neuron``.

    Examples
    --------
    >>> rest_scale("lif_current")
    {1.0: 1.0, -1.0: 1.0}
    """
    out = {}
    for sign in (1.0, -1.0):
        ref = psp_peak(reference, sign, beta=beta, dt_ms=dt_ms) / threshold_distance(reference, beta)
        own = psp_peak(neuron, sign, beta=beta, dt_ms=dt_ms) / threshold_distance(neuron, beta)
        out[sign] = 1.0 if neuron == reference else float(ref / own)
    return out


def linearised_synapses(synapses: SynapseList, neuron: str, reference: str = "lif_current", *,
                        beta: float = 0.7, dt_ms: float = 0.1) -> SynapseList:
    """The synapses with each weight scaled by :func:`rest_scale` of its sign (delays unchanged).

    Raises
    ------
    ValueError
        ``synapses`` not a SynapseList, or an unknown model.

    Examples
    --------
    >>> syn = SynapseList(np.array([1, 1]), np.array([0, 0]), np.array([1, 2]), np.array([1.0, -1.0], np.float32), 2, 2)
    >>> s = rest_scale("lif_conductance")
    >>> w = linearised_synapses(syn, "lif_conductance").weight
    >>> bool(np.allclose(w, [s[1.0], -s[-1.0]]))
    True
    """
    if not isinstance(synapses, SynapseList):
        raise ValueError(f"synapses must be a SynapseList; got {type(synapses).__name__}")
    scale = rest_scale(neuron, reference, beta=beta, dt_ms=dt_ms)
    w = synapses.weight.astype(np.float64)
    mapped = np.where(w >= 0, w * scale[1.0], w * scale[-1.0]).astype(synapses.weight.dtype)
    return SynapseList(synapses.post, synapses.pre, synapses.delay_steps, mapped, synapses.N, synapses.D,
                       delay_ms=synapses.delay_ms)
