"""Richer neurons in continuous time: the learned delays recalled by biophysical models in Brian2.

Four neuron models (:data:`NEURON_MODELS`), integrated with ``dt = 0.1 ms``:

- ``'lif_current'``: leaky integrate-and-fire, exponential synaptic current;
- ``'lif_conductance'``: leaky integrate-and-fire, excitatory and inhibitory
  conductances (positive weights excite, negative weights inhibit);
- ``'adex'``: adaptive exponential integrate-and-fire (Brette & Gerstner 2005
  parameters, membrane time constant shortened to the discrete model's);
- ``'izhikevich'``: Izhikevich (2003) regular spiking, exponential synaptic current.

The membrane time constant of the LIF and AdEx models is that of the discrete
neuron, ``tau_m = -1 ms / log(beta)`` (2.8 ms for beta = 0.7); the LIF
models have a refractory period of 1 ms. Each synapse of the exported list
(:func:`hdsnn.models.export.export_synapses`) keeps its weight ``w`` (from
``W``) and its delay ``d`` ms, shortened by ``delay_shift_ms`` to absorb the
rise time of the postsynaptic response. ``efficacy`` scales every weight: the
jump of synaptic current (or conductance) of a synapse of weight ``w`` is
``efficacy * w`` times the model's natural unit (:attr:`NeuronModel.unit`).
:func:`calibrate_efficacy` scans it.

Trial protocol: a ``SpikeGeneratorGroup`` replays the trigger (the first D
steps of the target, spike at step t sent at t ms) through the same synapses
as the network; the network's membrane is held at rest (``free = 0``) until
``D ms - delay_shift_ms`` and runs freely afterwards. Every trial starts from
the same stored state. The recalled spikes are binned to 1 ms and scored with
a tolerance of ``±k`` ms (:func:`hdsnn.analysis.tolerant_score`).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from hdsnn.validation import check_choice, check_int, check_raster, check_real

from .export import SynapseList, export_synapses

__all__ = ["NeuronModel", "NEURON_MODELS", "NeuronRecall", "recall_neurons", "calibrate_efficacy",
           "benchmark_neurons"]


@dataclass(frozen=True)
class NeuronModel:
    """A Brian2 neuron model, as strings.

    Attributes
    ----------
    name : str
    equations : str
        Membrane equations; ``free`` (0 or 1) multiplies the membrane's derivative
        and ``I_syn`` / ``g_e`` / ``g_i`` are the synaptic variables.
    threshold, reset, refractory : str
    on_pre : str
        Synaptic event, in terms of ``w`` (the learned weight) and ``efficacy``.
    parameters : dict
        Names used in the strings, as Brian2 quantities (strings evaluated with brian2's units).
    initial : dict
        Initial values (rest state).
    """

    name: str
    equations: str
    threshold: str
    reset: str
    refractory: str
    on_pre: str
    parameters: dict = field(default_factory=dict)
    initial: dict = field(default_factory=dict)


_LIF_CURRENT = NeuronModel(
    name="lif_current",
    equations="""
dv/dt = free * (E_L - v + I_syn) / tau_m : volt (unless refractory)
dI_syn/dt = -I_syn / tau_s : volt
""",
    threshold="v > V_th", reset="v = V_reset", refractory="1*ms",
    on_pre="I_syn_post += efficacy * w * (V_th - E_L) * tau_m / tau_s",
    parameters={"E_L": "-65*mV", "V_th": "-50*mV", "V_reset": "-65*mV", "tau_s": "1*ms"},
    initial={"v": "-65*mV"},
)

_LIF_CONDUCTANCE = NeuronModel(
    name="lif_conductance",
    equations="""
dv/dt = free * (g_L * (E_L - v) + g_e * (E_e - v) + g_i * (E_i - v)) / C : volt (unless refractory)
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
)

_ADEX = NeuronModel(
    name="adex",
    equations="""
dv/dt = free * (g_L * (E_L - v) + g_L * Delta_T * exp((v - V_T) / Delta_T) - a_w + I_syn) / C : volt (unless refractory)
da_w/dt = free * (a * (v - E_L) - a_w) / tau_w : amp
dI_syn/dt = -I_syn / tau_s : amp
""",
    threshold="v > V_T + 5 * Delta_T", reset="v = V_r\na_w += b", refractory="1*ms",
    on_pre="I_syn_post += efficacy * w * g_L * (V_T - E_L) * tau_m / tau_s",
    parameters={"g_L": "30*nS", "E_L": "-70.6*mV", "V_T": "-50.4*mV", "Delta_T": "2*mV", "V_r": "-70.6*mV",
                "a": "4*nS", "b": "0.0805*nA", "tau_w": "144*ms", "tau_s": "1*ms"},
    initial={"v": "-70.6*mV"},
)

_IZHIKEVICH = NeuronModel(
    name="izhikevich",
    equations="""
dv/dt = free * (0.04 * v**2 / mV + 5 * v + 140 * mV - u_r + I_syn) / ms : volt
du_r/dt = free * a * (b * v - u_r) / ms : volt
dI_syn/dt = -I_syn / tau_s : volt
""",
    threshold="v >= 30*mV", reset="v = c\nu_r += d", refractory="0*ms",
    on_pre="I_syn_post += efficacy * w * 20 * mV * ms / tau_s",
    parameters={"a": "0.02", "b": "0.2", "c": "-65*mV", "d": "8*mV", "tau_s": "1*ms"},
    initial={"v": "-70*mV", "u_r": "-14*mV"},
)

#: The four models, by name.
NEURON_MODELS = {m.name: m for m in (_LIF_CURRENT, _LIF_CONDUCTANCE, _ADEX, _IZHIKEVICH)}


@dataclass(frozen=True)
class NeuronRecall:
    """Result of :func:`recall_neurons`.

    Attributes
    ----------
    raster : bool tensor ``(M, N, T)``
        Recalled spikes in 1 ms bins.
    scores : hdsnn.analysis.Scores
        Tolerant scores (``±k`` ms) over the free run ``t >= D``.
    stopped : list of int
        Patterns whose trial was stopped by the runaway guard.
    seconds : float
        Wall time of the Brian2 runs.
    """

    raster: torch.Tensor
    scores: object
    stopped: list
    seconds: float


def _namespace(b2, model: NeuronModel, beta: float) -> dict:
    units = {name: getattr(b2, name) for name in ("mV", "ms", "nS", "nA", "pF", "siemens", "amp", "volt")}
    ns = {"tau_m": -1.0 * b2.ms / math.log(beta), "inf": np.inf}
    for name, text in model.parameters.items():
        ns[name] = eval(text, {"__builtins__": {}}, {**units, **ns})   # unit arithmetic only
    if "g_L" in ns and "C" not in ns:
        ns["C"] = ns["g_L"] * ns["tau_m"]
    return ns


def recall_neurons(model: str | NeuronModel, synapses: SynapseList, targets, D: int, *, efficacy: float = 1.0,
                   beta: float = 0.7, k: int = 1, delay_shift_ms: float = 0.5, noise_mV: float = 0.0,
                   dt_ms: float = 0.1, max_rate_hz: float = 100.0, target: str = "numpy",
                   seed: int = 0) -> NeuronRecall:
    """Recall every target in a continuous-time Brian2 network of a richer neuron model.

    Parameters
    ----------
    model : str or NeuronModel
        One of :data:`NEURON_MODELS` (``'lif_current'``, ``'lif_conductance'``, ``'adex'``, ``'izhikevich'``).
    synapses : SynapseList
        Exported weights and delays (delays in ms = steps of 1 ms).
    targets : bool array ``(M, N, T)``
    D : int
        Trigger window (ms).
    efficacy : float
        Scale of every synaptic weight (> 0).
    beta : float
        Leak of the discrete model: sets ``tau_m = -1 ms / log(beta)``.
    k : int
        Tolerance of the scores, in ms.
    delay_shift_ms : float
        Every delay is shortened by this (``0 <= shift < 1`` ms).
    noise_mV : float
        Standard deviation of background membrane noise (0: none).
    dt_ms : float
        Integration step.
    max_rate_hz : float
        Runaway guard: a trial stops when the mean rate over the last 10 ms exceeds it.
    target : {'numpy', 'cython'}
    seed : int
        Seed of the noise.

    Returns
    -------
    NeuronRecall

    Examples
    --------
    >>> from hdsnn.models import bernoulli_patterns
    >>> from hdsnn.learning import hebbian_init
    >>> P = bernoulli_patterns(1, 40, 60, 0.05, seed=0)
    >>> r = recall_neurons("lif_current", export_synapses(hebbian_init(P, D=8)), P, D=8, efficacy=2.0)
    >>> r.raster.shape
    torch.Size([1, 40, 60])
    """
    import brian2 as b2

    from hdsnn.analysis.timing import tolerant_score

    model = NEURON_MODELS[check_choice("model", model, tuple(NEURON_MODELS))] if isinstance(model, str) else model
    if not isinstance(synapses, SynapseList):
        raise ValueError(f"synapses must be a SynapseList (from export_synapses); got {type(synapses).__name__}")
    targets = check_raster("targets", targets)
    M, N, T = targets.shape
    if synapses.N != N:
        raise ValueError(f"synapses are for N={synapses.N} neurons but targets have N={N}")
    D = check_int("D", D, minimum=1, maximum=T - 1)
    efficacy = check_real("efficacy", efficacy, 0.0, open_min=True)
    delay_shift_ms = check_real("delay_shift_ms", delay_shift_ms, 0.0, 1.0, open_max=True)
    dt_ms = check_real("dt_ms", dt_ms, 0.0, 1.0, open_min=True)
    noise_mV = check_real("noise_mV", noise_mV, 0.0)
    target = check_choice("target", target, ("numpy", "cython"))
    saved = b2.prefs.codegen.target
    b2.prefs.codegen.target = target
    try:
        b2.seed(seed)
        ms = b2.ms
        clock = b2.Clock(dt=dt_ms * ms, name="continuous")
        ns = _namespace(b2, model, beta)
        ns.update(efficacy=efficacy, t_free=(D - delay_shift_ms) * ms, sigma=noise_mV * b2.mV)
        equations = model.equations + "free = int(t >= t_free) : 1\n"
        if noise_mV > 0:
            first, rest = equations.split(" : volt", 1)
            equations = first + " + sigma * sqrt(2 / tau_m) * xi : volt" + rest
        group = b2.NeuronGroup(N, equations, threshold=model.threshold, reset=model.reset,
                               refractory=eval(model.refractory, {"ms": ms}), method="euler", clock=clock,
                               namespace=ns, name="neurons")
        for name, value in model.initial.items():
            setattr(group, name, eval(value, {"mV": b2.mV}))
        cue = b2.SpikeGeneratorGroup(N, [0], [0] * ms, clock=clock, name="cue")
        delays = (synapses.delay_steps.astype(np.float64) - delay_shift_ms) * ms
        pathways = []
        for source, name in ((group, "recurrent"), (cue, "trigger")):
            s = b2.Synapses(source, group, "w : 1", on_pre=model.on_pre, clock=clock, namespace=ns, name=name)
            s.connect(i=synapses.pre, j=synapses.post)
            s.w, s.delay = synapses.weight.astype(np.float64), delays
            pathways.append(s)
        spikes = b2.SpikeMonitor(group, name="spikes")
        limit = max_rate_hz * N * 0.010
        last = [0]

        @b2.network_operation(dt=10 * ms, name="runaway_guard")
        def guard():
            count = spikes.num_spikes
            if count - last[0] > limit:
                b2.stop()
            last[0] = count

        network = b2.Network(group, cue, *pathways, spikes, guard)
        network.store("rest")
        raster = np.zeros((M, N, T), dtype=bool)
        stopped = []
        start = time.perf_counter()
        for m in range(M):
            network.restore("rest")
            last[0] = 0
            i, t = np.nonzero(targets[m, :, :D].numpy())
            if i.size:
                cue.set_spikes(i, t * ms)
            else:                                   # an empty cue: one spike after the end of the trial
                cue.set_spikes([0], [2 * T] * ms)
            network.run(T * ms, namespace=ns)
            st, si = np.asarray(spikes.t / ms), np.asarray(spikes.i)
            if float(network.t / ms) < T - 1e-9:
                stopped.append(m)
            step = np.floor(st + 1e-9).astype(np.int64)
            ok = step < T
            raster[m, si[ok], step[ok]] = True
        seconds = time.perf_counter() - start
    finally:
        b2.prefs.codegen.target = saved
    recalled = torch.from_numpy(raster)
    return NeuronRecall(recalled, tolerant_score(recalled, targets, D, k), stopped, seconds)


def calibrate_efficacy(model, synapses: SynapseList, targets, D: int, *,
                       efficacies=(1.0, 1.4, 2.0, 2.8, 4.0), delay_shifts_ms=(0.5,),
                       **kwargs) -> tuple[float, float, dict]:
    """The efficacy (and delay shift) with the best pooled tolerant F1 on ``targets``.

    Use a few calibration patterns, then recall the others with the result.

    Returns
    -------
    (efficacy, delay_shift_ms, {(efficacy, delay_shift_ms): pooled F1})

    Examples
    --------
    >>> from hdsnn.models import bernoulli_patterns
    >>> from hdsnn.learning import hebbian_init
    >>> P = bernoulli_patterns(1, 40, 60, 0.05, seed=0)
    >>> e, shift, table = calibrate_efficacy("lif_current", export_synapses(hebbian_init(P, D=8)), P, 8,
    ...                                      efficacies=(1.0, 2.0))
    >>> (e, shift) in table
    True
    """
    table = {}
    for shift in delay_shifts_ms:
        for e in efficacies:
            r = recall_neurons(model, synapses, targets, D, efficacy=e, delay_shift_ms=shift, **kwargs)
            table[(float(e), float(shift))] = r.scores.pooled()["f1"]
    best = max(table, key=lambda key: (table[key], -abs(math.log(key[0]))))
    return best[0], best[1], table


def benchmark_neurons(quick: bool = False, target: str = "numpy", k: int = 1, calibration_patterns: int = 2,
                      per_pair: int = 20, progress: bool | None = None) -> dict:
    """Tolerant F1 of each neuron model on the paper benchmark, uniform and lognormal delays.

    The paper benchmark (``bernoulli_patterns(16, 1024, 1000, 1e-3, seed=0)``,
    D = 41) with (a) the paper's connectivity, every delay 1..41 ms, Hebbian
    weights; (b) ``per_pair`` delay draws per pair from a lognormal
    distribution (median 10 ms, sigma 0.5) discretised to 1 ms, Hebbian
    weights restricted to that mask (:func:`masked_hebbian_init`). The
    discrete torch recall of the same weights is reported as a reference.
    The efficacy (grid 0.5 .. 5.6) and the delay shift (0 or 0.5 ms) are
    calibrated on the first ``calibration_patterns`` patterns, then every
    pattern is recalled with them. ``quick``: a small network (N=128, M=4, T=300, D=21) and
    an efficacy grid of 1.0, 1.4, 2.0 (where the full grid finds the best efficacies).
    """
    from tqdm.auto import tqdm

    from hdsnn.analysis.timing import tolerant_score
    from hdsnn.learning import hebbian_init
    from hdsnn.models import bernoulli_patterns

    from .connectivity import DelayDistribution, masked_hebbian_init, random_mask

    if quick:
        M, N, T, p, D = 4, 128, 300, 8e-3, 21
        efficacies = (1.0, 1.4, 2.0)
    else:
        M, N, T, p, D = 16, 1024, 1000, 1e-3, 41
        efficacies = (0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0, 5.6)
    P = bernoulli_patterns(M, N, T, p, seed=0)
    lognormal = DelayDistribution("lognormal", median_ms=10.0, sigma=0.5)
    mask = random_mask(N, D, p_connect=1.0, synapses_per_pair=per_pair, delays=lognormal, seed=0)
    networks = {"uniform": export_synapses(hebbian_init(P, D=D)),
                "lognormal": export_synapses(masked_hebbian_init(P, mask), mask=mask)}
    results = {"setup": {"M": M, "N": N, "T": T, "p_A": p, "D": D, "k_ms": k, "dt_ms": 0.1, "target": target,
                         "calibration_patterns": calibration_patterns,
                         "lognormal": {"median_ms": 10.0, "sigma": 0.5, "synapses_per_pair": per_pair},
                         "synapses": {name: len(s) for name, s in networks.items()},
                         "torch_discrete_f1": {}}}
    import hdsnn
    for name, syn in networks.items():
        f1 = hdsnn.recall(syn.to_dense(), P, progress=False).scores.pooled()["f1"]
        results["setup"]["torch_discrete_f1"][name] = f1
        print(f"{name:>9} delays: {len(syn)} synapses; discrete torch recall, exact F1 {f1:.4f}", flush=True)
    jobs = [(d, m) for d in networks for m in NEURON_MODELS]
    for delays, name in tqdm(jobs, desc="neuron models", disable=None if progress is None else not progress):
        syn = networks[delays]
        start = time.perf_counter()
        e, shift, table = calibrate_efficacy(name, syn, P[:calibration_patterns], D, k=k, target=target,
                                             efficacies=efficacies, delay_shifts_ms=(0.0, 0.5))
        r = recall_neurons(name, syn, P, D, efficacy=e, delay_shift_ms=shift, k=k, target=target)
        pooled = r.scores.pooled()
        wider = tolerant_score(r.raster, P, D, k + 1).pooled()["f1"]
        exact = tolerant_score(r.raster, P, D, 0).pooled()["f1"]
        results[f"{delays}/{name}"] = {
            "efficacy": e, "delay_shift_ms": shift,
            "calibration_f1": {f"efficacy={a:g} shift={b:g}ms": f for (a, b), f in table.items()},
            "f1": pooled["f1"], "precision": pooled["precision"], "recall": pooled["recall"],
            f"f1_k{k + 1}": wider, "f1_exact": exact, "stopped_patterns": r.stopped,
            "seconds": time.perf_counter() - start}
        print(f"{delays:>9} delays  {name:<16} efficacy {e:<4g} shift {shift:g} ms  tolerant F1 (±{k} ms) "
              f"{pooled['f1']:.4f} (precision {pooled['precision']:.3f}, recall {pooled['recall']:.3f}); "
              f"±{k + 1} ms {wider:.4f}; exact {exact:.4f}", flush=True)
    return results
