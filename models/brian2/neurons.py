"""Richer neurons in continuous time: the learned delays recalled by biophysical models in Brian2.

Four neuron models (:data:`NEURON_MODELS`), each written once as Brian2
equation strings with units (:class:`NeuronModel`) and integrated with
``dt = 0.1 ms`` by the method it states:

- ``'lif_current'``: leaky integrate-and-fire, exponential synaptic current
  (``'exact'``: the equations are linear and their coefficients constant over a step);
- ``'lif_conductance'``: leaky integrate-and-fire, excitatory and inhibitory
  conductances (positive weights excite, negative weights inhibit; ``'euler'``);
- ``'adex'``: adaptive exponential integrate-and-fire (Brette & Gerstner 2005
  parameters, membrane time constant shortened to the discrete model's; ``'euler'``);
- ``'izhikevich'``: Izhikevich (2003) regular spiking, exponential synaptic current (``'euler'``).

The nonlinear models keep forward Euler, the scheme their efficacies were
calibrated with. :mod:`hdsnn.models.replica` runs the same records in torch
(same equations, method, step, delays and protocol, spike for spike).

The membrane time constant of the LIF and AdEx models is that of the discrete
neuron, ``tau_m = -1 ms / log(beta)`` (2.8 ms for beta = 0.7); the LIF
models have a refractory period of 1 ms. Each synapse of the exported list
(:func:`hdsnn.models.export.export_synapses`) keeps its weight ``w`` (from
``W``) and its delay ``d`` ms (or its real-valued delay, ``SynapseList.delay_ms``),
shortened by ``delay_shift_ms`` to absorb the rise time of the postsynaptic
response (or any delays given as they are, ``delays_ms``); Brian2 rounds each
delay to a whole number of steps.
``efficacy`` scales every weight: the jump of synaptic current (or
conductance) of a synapse of weight ``w`` is ``efficacy * w`` times the
model's natural unit (its ``on_pre``). :func:`calibrate_efficacy` scans it.
An optional background input (:mod:`hdsnn.models.noise`: white or
Ornstein-Uhlenbeck, seeded, drawn before the run) enters every membrane.

Trial protocol (the trials of :func:`hdsnn.models.make_trials`, so every
option of :class:`~hdsnn.config.TrialConfig` holds): a ``SpikeGeneratorGroup``
replays the input spikes of the trial (pretime, trigger, posttime; a spike at
step t sent at t ms) through the same synapses as the network; on clamped
steps the network's membrane is held (``free = 0`` multiplies its
derivatives, from ``delay_shift_ms`` before the step) and it runs freely
otherwise. Every trial starts from the same stored state. The recalled spikes
keep their exact times and are also binned to 1 ms; they are scored with a
tolerance of ``±k`` ms (:func:`hdsnn.models.scores.tolerant_score`).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from hdsnn.validation import check_choice, check_int, check_raster, check_real

from ..export import SynapseList
from ..noise import background_noise
from ..scores import tolerant_score
from ..trial import make_trials
from .context import brian2_context, check_target

__all__ = ["NeuronModel", "NEURON_MODELS", "METHODS", "SI_UNITS", "NeuronSimulation", "simulate_neurons",
           "calibrate_efficacy", "evaluate_parameters", "resolve_model", "check_run", "check_trial_inputs", "synapse_delays",
           "trial_steps"]


#: Integration methods a model may name (Brian2's state updaters).
METHODS = ("exact", "euler", "exponential_euler", "rk2", "rk4", "heun", "milstein")

#: Brian2's units as floats in SI (what ``1 * brian2.mV`` holds), to read the parameters without Brian2.
SI_UNITS = {"mV": 1e-3, "ms": 1e-3, "nS": 1e-9, "nA": 1e-9, "pF": 1e-12, "siemens": 1.0, "amp": 1.0, "volt": 1.0}


@dataclass(frozen=True)
class NeuronModel:
    """A Brian2 neuron model, as strings: the one definition both simulators read.

    Attributes
    ----------
    name : str
    equations : str
        Membrane equations. The simulator declares ``free`` (1, or 0 on clamped
        steps: it multiplies the membrane's derivatives) and ``I_noise`` (the
        background input, :mod:`hdsnn.models.noise`, entering as ``I_noise / tau_m``)
        as parameters set at the start of every step; ``I_syn`` / ``g_e`` / ``g_i``
        are the synaptic variables.
    threshold, reset, refractory : str
    on_pre : str
        Synaptic event, in terms of ``w`` (the learned weight) and ``efficacy``.
    parameters : dict
        Names used in the strings, as strings of unit arithmetic (``"-65*mV"``).
    initial : dict
        Initial values (rest state); other variables start at 0.
    method : str
        Brian2 integration method (one of :data:`METHODS`), stated rather than left to
        Brian2's automatic choice; the torch replica integrates with the same one.

    Raises
    ------
    ValueError
        An unknown method.

    Examples
    --------
    >>> NEURON_MODELS["lif_current"].method, NEURON_MODELS["adex"].method
    ('exact', 'euler')
    """

    name: str
    equations: str
    threshold: str
    reset: str
    refractory: str
    on_pre: str
    parameters: dict = field(default_factory=dict)
    initial: dict = field(default_factory=dict)
    method: str = "euler"

    def __post_init__(self):
        check_choice("method", self.method, METHODS)


def evaluate_parameters(model: NeuronModel, beta: float, units: dict | None = None) -> dict:
    """The model's parameters (and ``tau_m``, ``C``, ``refractory``) evaluated from its strings.

    Parameters
    ----------
    model : NeuronModel
    beta : float
        Leak of the discrete model: ``tau_m = -1 ms / log(beta)``.
    units : dict, optional
        Unit names to values: Brian2's units give quantities; None (default)
        gives floats in SI units (:data:`SI_UNITS`), the same numbers Brian2 holds.

    Examples
    --------
    >>> p = evaluate_parameters(NEURON_MODELS["lif_current"], 0.7)
    >>> p["V_th"], round(p["tau_m"] * 1e3, 3), p["refractory"]
    (-0.05, 2.804, 0.001)
    """
    units = SI_UNITS if units is None else units
    beta = check_real("beta", beta, 0.0, 1.0, open_min=True, open_max=True)
    ns = {"tau_m": -1.0 * units["ms"] / math.log(beta), "inf": np.inf}
    for name, text in model.parameters.items():
        ns[name] = eval(text, {"__builtins__": {}}, {**units, **ns})   # unit arithmetic only
    if "g_L" in ns and "C" not in ns:
        ns["C"] = ns["g_L"] * ns["tau_m"]
    ns["refractory"] = eval(model.refractory, {"__builtins__": {}}, dict(units))
    return ns


_LIF_CURRENT = NeuronModel(
    name="lif_current",
    equations="""
dv/dt = free * (E_L - v + I_syn + I_noise) / tau_m : volt (unless refractory)
dI_syn/dt = -I_syn / tau_s : volt
""",
    threshold="v > V_th", reset="v = V_reset", refractory="1*ms",
    on_pre="I_syn_post += efficacy * w * (V_th - E_L) * tau_m / tau_s",
    parameters={"E_L": "-65*mV", "V_th": "-50*mV", "V_reset": "-65*mV", "tau_s": "1*ms"},
    initial={"v": "-65*mV"},
    method="exact",      # linear with coefficients constant over a step: solved exactly
)

_LIF_CONDUCTANCE = NeuronModel(
    name="lif_conductance",
    equations="""
dv/dt = free * (g_L * (E_L - v + I_noise) + g_e * (E_e - v) + g_i * (E_i - v)) / C : volt (unless refractory)
dg_e/dt = -g_e / tau_e : siemens
dg_i/dt = -g_i / tau_i : siemens
""",
    threshold="v > V_th", reset="v = V_reset", refractory="1*ms",
    on_pre="g_e_post += efficacy * g_unit * clip(w, 0, inf)\ng_i_post += efficacy * g_unit * clip(-w, 0, inf)",
    parameters={"E_L": "-65*mV", "V_th": "-50*mV", "V_reset": "-65*mV", "E_e": "0*mV", "E_i": "-80*mV",
                "g_L": "10*nS", "tau_e": "1*ms", "tau_i": "2*ms",
                # the conductance jump that brings the membrane from rest to threshold
                "g_unit": "10*nS * (15/65) * tau_m / tau_e"},
    initial={"v": "-65*mV"},
    method="euler",      # bilinear (g_e * v): not 'exact'; forward Euler, as the efficacies were calibrated
)

_ADEX = NeuronModel(
    name="adex",
    equations="""
dv/dt = free * (g_L * (E_L - v + I_noise) + g_L * Delta_T * exp((v - V_T) / Delta_T) - a_w + I_syn) / C : volt (unless refractory)
da_w/dt = free * (a * (v - E_L) - a_w) / tau_w : amp
dI_syn/dt = -I_syn / tau_s : amp
""",
    threshold="v > V_T + 5 * Delta_T", reset="v = V_r\na_w += b", refractory="1*ms",
    on_pre="I_syn_post += efficacy * w * g_L * (V_T - E_L) * tau_m / tau_s",
    parameters={"g_L": "30*nS", "E_L": "-70.6*mV", "V_T": "-50.4*mV", "Delta_T": "2*mV", "V_r": "-70.6*mV",
                "a": "4*nS", "b": "0.0805*nA", "tau_w": "144*ms", "tau_s": "1*ms"},
    initial={"v": "-70.6*mV"},
    method="euler",      # exponential in v: forward Euler
)

_IZHIKEVICH = NeuronModel(
    name="izhikevich",
    equations="""
dv/dt = free * (0.04 * v**2 / mV + 5 * v + 140 * mV - u_r + I_syn + I_noise * ms / tau_m) / ms : volt
du_r/dt = free * a * (b * v - u_r) / ms : volt
dI_syn/dt = -I_syn / tau_s : volt
""",
    threshold="v >= 30*mV", reset="v = c\nu_r += d", refractory="0*ms",
    on_pre="I_syn_post += efficacy * w * 20 * mV * ms / tau_s",
    parameters={"a": "0.02", "b": "0.2", "c": "-65*mV", "d": "8*mV", "tau_s": "1*ms"},
    initial={"v": "-70*mV", "u_r": "-14*mV"},
    method="euler",      # quadratic in v: forward Euler (Izhikevich's own scheme, at dt = 0.1 ms)
)

#: The four models, by name.
NEURON_MODELS = {m.name: m for m in (_LIF_CURRENT, _LIF_CONDUCTANCE, _ADEX, _IZHIKEVICH)}


@dataclass(frozen=True)
class NeuronSimulation:
    """Result of :func:`simulate_neurons`.

    Attributes
    ----------
    raster : bool tensor ``(B, N, L)``
        Spikes in 1-ms bins (a spike at ``t`` ms falls in step ``floor(t)``).
    spikes : tuple of numpy arrays ``(trial, neuron, time_ms)``
        Every spike with its exact time in ms from the start of its trial.
    stopped : list of int
        Trials stopped by the runaway guard.
    seconds : float
        Wall time of the Brian2 runs.
    network : brian2.Network
        The network (groups ``'neurons'``, ``'cue'``, pathways ``'recurrent'`` and
        ``'trigger'``, monitor ``'spikes'``, and whatever ``on_build`` added), in the
        state of the last trial.
    """

    raster: torch.Tensor
    spikes: tuple
    stopped: list
    seconds: float
    network: object = None


def resolve_model(model) -> NeuronModel:
    """A model given by name (a key of :data:`NEURON_MODELS`) or as a :class:`NeuronModel`.

    Examples
    --------
    >>> resolve_model("hodgkin_huxley")
    Traceback (most recent call last):
    ...
    ValueError: model must be one of 'lif_current', 'lif_conductance', 'adex', 'izhikevich'; got 'hodgkin_huxley'
    """
    if isinstance(model, NeuronModel):
        return model
    if not isinstance(model, str):
        raise ValueError(f"model must be a NeuronModel or one of {', '.join(map(repr, NEURON_MODELS))}; "
                         f"got {type(model).__name__}")
    return NEURON_MODELS[check_choice("model", model, tuple(NEURON_MODELS))]


def check_trial_inputs(synapses, inputs, clamp) -> tuple[torch.Tensor, torch.Tensor]:
    """Check the synapses and a batch of trials; returns ``(inputs, clamp)`` (clamp: all False if None)."""
    if not isinstance(synapses, SynapseList):
        raise ValueError(f"synapses must be a SynapseList (from export_synapses); got {type(synapses).__name__}")
    inputs = check_raster("inputs", inputs)
    B, N, L = inputs.shape
    if synapses.N != N:
        raise ValueError(f"synapses are for N={synapses.N} neurons but inputs have N={N}")
    clamp = torch.zeros((B, L), dtype=torch.bool) if clamp is None else clamp
    if not isinstance(clamp, torch.Tensor) or tuple(clamp.shape) != (B, L):
        raise ValueError(f"clamp must be a bool tensor of shape (B={B}, L={L}); "
                         f"got {tuple(getattr(clamp, 'shape', ())) or type(clamp).__name__}")
    return inputs, clamp.to(torch.bool)


def check_run(synapses, inputs, clamp, efficacy, delay_shift_ms, delays_ms, dt_ms, noise_mV, noise_tau_ms,
              max_rate_hz) -> tuple:
    """The checks shared by the Brian2 run and its torch replica, before any work.

    Returns ``(inputs, clamp, efficacy, delay_shift_ms, delays_s, dt_ms, noise_mV, noise_tau_ms, max_rate_hz)``
    with the delays in seconds (:func:`synapse_delays`).
    """
    inputs, clamp = check_trial_inputs(synapses, inputs, clamp)
    efficacy = check_real("efficacy", efficacy, 0.0, open_min=True)
    delay_shift_ms = check_real("delay_shift_ms", delay_shift_ms, 0.0, 1.0, open_max=True)
    delays = synapse_delays(synapses, delay_shift_ms, delays_ms)
    dt_ms = check_real("dt_ms", dt_ms, 0.0, 1.0, open_min=True)
    noise_mV = check_real("noise_mV", noise_mV, 0.0)
    noise_tau_ms = check_real("noise_tau_ms", noise_tau_ms, 0.0)
    if max_rate_hz is not None:
        max_rate_hz = check_real("max_rate_hz", max_rate_hz, 0.0, open_min=True)
    return inputs, clamp, efficacy, delay_shift_ms, delays, dt_ms, noise_mV, noise_tau_ms, max_rate_hz


def synapse_delays(synapses: SynapseList, delay_shift_ms: float, delays_ms=None) -> np.ndarray:
    """Each synapse's delay in seconds (float64, as Brian2 stores it).

    By default each synapse's own delay shortened by the shift: ``delay_ms - delay_shift_ms``
    when the synapses carry real-valued delays (:attr:`SynapseList.delay_ms`), else
    ``delay_steps - delay_shift_ms``. ``delays_ms`` (one real value >= 0 per synapse, the
    simulated delays themselves) replaces both.

    Examples
    --------
    >>> syn = SynapseList(np.array([1]), np.array([0]), np.array([3]), np.array([2.0], np.float32), N=2, D=4)
    >>> synapse_delays(syn, 0.5).tolist(), synapse_delays(syn, 0.5, [1.25]).tolist()
    ([0.0025], [0.00125])
    >>> real = SynapseList(syn.post, syn.pre, syn.delay_steps, syn.weight, 2, 4, delay_ms=np.array([2.5]))
    >>> synapse_delays(real, 0.5).tolist()
    [0.002]
    """
    if delays_ms is None:
        if synapses.delay_ms is not None:
            if len(synapses) and synapses.delay_ms.min() < delay_shift_ms:
                raise ValueError(f"delay_ms of the synapses must be >= delay_shift_ms = {delay_shift_ms} ms (they "
                                 f"are shortened by it); got a delay of {synapses.delay_ms.min():g} ms")
            return (synapses.delay_ms - delay_shift_ms) * 1e-3
        return (synapses.delay_steps.astype(np.float64) - delay_shift_ms) * 1e-3
    delays = np.asarray(delays_ms, dtype=np.float64)
    if delays.shape != (len(synapses),):
        raise ValueError(f"delays_ms must hold one delay per synapse, shape ({len(synapses)},); "
                         f"got shape {delays.shape}")
    if not np.isfinite(delays).all() or (delays < 0).any():
        raise ValueError(f"delays_ms must be finite and >= 0 ms; got values in [{delays.min()}, {delays.max()}]")
    return delays * 1e-3


def trial_steps(L: int, dt_ms: float) -> int:
    """Steps of ``dt_ms`` in a run of ``L`` ms, as Brian2's clock counts them (rounded when within
    ``1e-4`` steps of a whole number, else rounded up).

    Examples
    --------
    >>> trial_steps(30, 0.1), trial_steps(1, 0.3)
    (300, 4)
    """
    t_end, dt = L * 1e-3, dt_ms * 1e-3
    steps = int(np.round(t_end / dt))
    return steps if steps * dt == t_end or abs(steps * dt - t_end) / dt <= 1e-4 else int(np.ceil(t_end / dt))


def simulate_neurons(model: str | NeuronModel, synapses: SynapseList, inputs, clamp=None, *,
                     efficacy: float = 1.0, beta: float = 0.7, delay_shift_ms: float = 0.5, delays_ms=None,
                     noise_mV: float = 0.0, noise_tau_ms: float = 0.0, dt_ms: float = 0.1,
                     max_rate_hz: float | None = 100.0, target: str = "numpy", seed: int = 0,
                     on_build=None) -> NeuronSimulation:
    """Simulate a batch of trials in a continuous-time Brian2 network of a richer neuron model.

    Parameters
    ----------
    model : str or NeuronModel
        One of :data:`NEURON_MODELS` (``'lif_current'``, ``'lif_conductance'``, ``'adex'``, ``'izhikevich'``).
    synapses : SynapseList
        Weights and delays: ``delay_ms`` where the list has real-valued delays, else
        ``delay_steps`` ms (steps of 1 ms); each shortened by ``delay_shift_ms``.
    inputs, clamp : bool tensors ``(B, N, L)`` and ``(B, L)``
        The trials of :func:`hdsnn.models.make_trials` (steps of 1 ms): every input
        spike at step ``t`` is sent at ``t`` ms through the network's synapses; on
        clamped steps the membrane is held (``free = 0``, shifted earlier by
        ``delay_shift_ms``).
    efficacy : float
        Scale of every synaptic weight (> 0).
    beta : float
        Leak of the discrete model: sets ``tau_m = -1 ms / log(beta)``.
    delay_shift_ms : float
        Every delay is shortened by this (``0 <= shift < 1`` ms).
    delays_ms : array ``(S,)``, optional
        Real-valued delay of each synapse in ms, used as it is instead of the synapses' own
        delays shortened by ``delay_shift_ms`` (``synapses.delay_ms`` if they have them, else
        ``delay_steps``; :func:`synapse_delays`); the shift then moves the clamp window only.
        Brian2 rounds every delay to a whole number of steps ``dt``.
    noise_mV, noise_tau_ms : float
        Background input (:func:`hdsnn.models.noise.background_noise`): amplitude
        (0: none) and correlation time (0: white noise).
    dt_ms : float
        Integration step (ms).
    max_rate_hz : float or None
        Runaway guard: a trial stops when the mean rate over the last 10 ms exceeds it (None: no guard).
    target : {'numpy', 'cython'}
    seed : int
        Seed of the noise.
    on_build : callable, optional
        ``on_build(network)`` before the first trial runs: add your own monitors.

    Returns
    -------
    NeuronSimulation

    Examples
    --------
    >>> x = torch.zeros(1, 2, 20, dtype=torch.bool); x[0, 0, 2] = True
    >>> syn = SynapseList(np.array([1]), np.array([0]), np.array([3]), np.array([2.0], np.float32), N=2, D=4)
    >>> sim = simulate_neurons("lif_current", syn, x)
    >>> sim.raster[0].nonzero().tolist()          # neuron 1 answers the input about 3 ms later
    [[1, 5]]
    """
    import brian2  # noqa: F401  (a clear ImportError before any work)

    model = resolve_model(model)
    inputs, clamp, efficacy, delay_shift_ms, delays, dt_ms, noise_mV, noise_tau_ms, max_rate_hz = check_run(
        synapses, inputs, clamp, efficacy, delay_shift_ms, delays_ms, dt_ms, noise_mV, noise_tau_ms, max_rate_hz)
    B, N, L = inputs.shape
    target = check_target(target, ("numpy", "cython"))
    if noise_mV > 0 and "I_noise" not in model.equations:
        raise ValueError(f"noise_mV needs a model whose equations use I_noise; {model.name!r} does not "
                         f"(got noise_mV={noise_mV})")
    tau_m_ms = evaluate_parameters(model, beta)["tau_m"] * 1e3
    steps = trial_steps(L, dt_ms)
    noise = background_noise(B, N, steps, noise_mV=noise_mV, tau_ms=noise_tau_ms, dt_ms=dt_ms,
                             tau_m_ms=tau_m_ms, seed=seed) if noise_mV > 0 else None
    with brian2_context(target, seed=seed) as b2:
        ms = b2.ms
        clock = b2.Clock(dt=dt_ms * ms, name="continuous")
        free_steps = np.ones((B, L + 1))                 # each trial's steps and one free step after it
        free_steps[:, :L] = 1.0 - clamp.numpy()
        units = {name: getattr(b2, name) for name in SI_UNITS}
        ns = evaluate_parameters(model, beta, units)
        refractory = ns.pop("refractory")
        ns.update(efficacy=efficacy, shift=delay_shift_ms * ms, trial_free=b2.TimedArray(free_steps.reshape(-1),
                                                                                          dt=1 * ms))
        every_step = "free = trial_free(t + shift + offset)"
        if noise is not None:
            ns["background"] = b2.TimedArray(noise.reshape(B * steps, N) * b2.mV, dt=dt_ms * ms)
            every_step += "\nI_noise = background(t + noise_offset, i)"
        equations = model.equations + ("free : 1 (shared)\nI_noise : volt\noffset : second (shared)\n"
                                       "noise_offset : second (shared)\n")
        group = b2.NeuronGroup(N, equations, threshold=model.threshold, reset=model.reset,
                               refractory=refractory, method=model.method, clock=clock,
                               namespace=ns, name="neurons")
        group.run_regularly(every_step, when="start", name="protocol")
        for name, value in model.initial.items():
            setattr(group, name, eval(value, {"__builtins__": {}}, units))
        cue = b2.SpikeGeneratorGroup(N, [0], [0] * ms, clock=clock, name="cue")
        pathways = []
        for source, name in ((group, "recurrent"), (cue, "trigger")):
            s = b2.Synapses(source, group, "w : 1", on_pre=model.on_pre, clock=clock, namespace=ns, name=name)
            s.connect(i=synapses.pre, j=synapses.post)
            s.w, s.delay = synapses.weight.astype(np.float64), delays * b2.second
            pathways.append(s)
        spikes = b2.SpikeMonitor(group, name="spikes")
        objects = [group, cue, *pathways, spikes]
        last = [0]
        if max_rate_hz is not None:
            limit = max_rate_hz * N * 0.010

            @b2.network_operation(dt=10 * ms, name="runaway_guard")
            def guard():
                count = spikes.num_spikes
                if count - last[0] > limit:
                    b2.stop()
                last[0] = count
            objects.append(guard)
        network = b2.Network(*objects)
        if on_build is not None:
            on_build(network)
        network.store("rest")
        raster = np.zeros((B, N, L), dtype=bool)
        events, stopped = [], []
        start = time.perf_counter()
        for b in range(B):
            network.restore("rest")
            last[0] = 0
            group.offset = b * (L + 1) * ms           # this trial's steps in trial_free
            group.noise_offset = b * steps * clock.dt  # and in background
            i, t = np.nonzero(inputs[b].numpy())
            if i.size:
                cue.set_spikes(i, t * ms)
            else:                                   # no input: one spike after the end of the trial
                cue.set_spikes([0], [2 * L] * ms)
            network.run(L * ms, namespace=ns)
            st, si = np.asarray(spikes.t / ms), np.asarray(spikes.i)
            if float(network.t / ms) < L - 1e-9:
                stopped.append(b)
            ok = st < L
            step = np.floor(st[ok] + 1e-9).astype(np.int64)
            raster[b, si[ok], step] = True
            events.append((np.full(int(ok.sum()), b), si[ok].astype(np.int64), st[ok]))
        seconds = time.perf_counter() - start
    trial, neuron, t_ms = (np.concatenate(x) for x in zip(*events)) if events else (np.zeros(0),) * 3
    return NeuronSimulation(torch.from_numpy(raster), (trial, neuron, t_ms), stopped, seconds, network)


def calibrate_efficacy(model, synapses: SynapseList, targets, D: int, *,
                       efficacies=(1.0, 1.4, 2.0, 2.8, 4.0), delay_shifts_ms=(0.5,), k: int = 1,
                       trial=None, simulate=None, **kwargs) -> tuple[float, float, dict]:
    """The efficacy (and delay shift) with the best pooled F1 at ``±k`` ms on ``targets``.

    Use a few calibration patterns, then recall the others with the result.
    ``trial`` is the :class:`~hdsnn.config.TrialConfig` of the trials; ``simulate``
    runs them (default :func:`simulate_neurons`; or the torch replica
    :func:`hdsnn.models.replica.simulate_replica`) and gets the other keyword arguments.

    Returns
    -------
    (efficacy, delay_shift_ms, {(efficacy, delay_shift_ms): pooled F1})

    Examples
    --------
    >>> from hdsnn.models import bernoulli_patterns, export_synapses
    >>> from hdsnn.models.brian2 import calibrate_efficacy as calibrate
    >>> P = bernoulli_patterns(1, 40, 60, 0.05, seed=0)
    >>> W = torch.zeros(40, 40, 8); W[torch.randperm(40)[:10], 0, 2] = 1.0
    >>> e, shift, table = calibrate("lif_current", export_synapses(W), P, 8, efficacies=(1.0, 2.0))
    >>> (e, shift) in table
    True
    """
    targets = check_raster("targets", targets)
    D = check_int("D", D, minimum=1, maximum=targets.shape[2] - 1)
    trials = make_trials(targets, D, trial)
    simulate = simulate_neurons if simulate is None else simulate
    table = {}
    for shift in delay_shifts_ms:
        for e in efficacies:
            sim = simulate(model, synapses, trials.inputs, trials.clamp, efficacy=e,
                                   delay_shift_ms=shift, **kwargs)
            table[(float(e), float(shift))] = tolerant_score(targets, trials.extract(sim.raster), D, k).pooled()["f1"]
    best = max(table, key=lambda key: (table[key], -abs(math.log(key[0]))))
    return best[0], best[1], table
