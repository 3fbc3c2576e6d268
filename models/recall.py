"""One front door for recall: ``recall(W, targets, simulator=...)`` over a registry of simulators.

Every simulator runs the same trials (:func:`hdsnn.models.make_trials` or
:func:`~hdsnn.models.sequential_trials` from a :class:`~hdsnn.config.TrialConfig`:
pretime, cue semantics, trigger length, noise, silenced neurons, posttime)
and the same runaway guard (``max_rate``), or refuses an option it cannot
honour before any work starts; an option is never silently ignored.

=============  ===============================================================  ============================
simulator      what runs                                                        options record
=============  ===============================================================  ============================
torch          event-driven discrete simulator (CPU or CUDA)                    :class:`TorchOptions`
dense          dense reference (the test oracle)                                :class:`TorchOptions`
brian2         Brian2: the discrete-equivalent network (``neuron='exact'``)     :class:`Brian2Options`
               or a continuous-time neuron model (``lif_current``, ...)
torch_neurons  the torch replica of the continuous-time neuron models           :class:`TorchNeuronOptions`
               (:mod:`hdsnn.models.replica`: Brian2's spikes, CPU or CUDA)
=============  ===============================================================  ============================

The discrete simulators are scored exactly; the continuous-time neuron models
at ``±tolerance`` ms with one-to-one matching, and their exact spike times are
kept in :attr:`Recall.spikes`. The dense reference and the discrete Brian2
network run without a guard and get it applied afterwards
(:func:`hdsnn.models.simulate.apply_guard`, exact).

The weights are a dense ``W`` or a :class:`~hdsnn.models.SynapseList` (a synapse
file, :func:`~hdsnn.models.load_synapses`). The continuous-time simulators run a
synapse list as it is, each synapse with its real-valued delay (``delay_ms``, else
``delay_steps`` ms) shortened by ``delay_shift_ms``, as :func:`hdsnn.learning.replay`
runs the learner's result; the discrete simulators run its dense tensor (delays
binned to ``delay_steps``).

Examples
--------
>>> from hdsnn.models import bernoulli_patterns
>>> P = bernoulli_patterns(M=2, N=64, T=120, p_A=0.02, seed=1)
>>> W = torch.zeros(64, 64, 15)
>>> recall(W, P, simulator="torch", top_k=3)
Traceback (most recent call last):
...
ValueError: simulator 'torch' takes the options device, sparse; got top_k
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from hdsnn.config import NetworkConfig, Record, TrialConfig, param, resolve_options
from hdsnn.validation import check_choice, check_device, check_raster, check_real, check_weights

from .brian2.context import TARGETS, check_target
from .brian2.exact import simulate_brian2
from .brian2.neurons import NEURON_MODELS, calibrate_efficacy, simulate_neurons
from .export import SynapseList, check_memory, check_synapses, export_synapses
from .replica import DTYPES, simulate_replica
from .scores import Scores, score, tolerant_score
from .simulate import apply_guard, simulate, simulate_dense
from .trial import Trials, make_trials, sequential_trials

__all__ = ["recall", "Recall", "SIMULATORS", "Simulator", "TorchOptions", "NeuronOptions", "Brian2Options",
           "TorchNeuronOptions", "NEURONS"]

#: Neuron models of the brian2 simulator: the discrete-equivalent network and the continuous-time models.
NEURONS = ("exact", "lif_current", "lif_conductance", "adex", "izhikevich")


@dataclass(frozen=True)
class TorchOptions(Record):
    """Options of the torch simulators."""

    device: str = param("cpu", "torch device: cpu or cuda")
    sparse: bool | None = param(None, "deliver entry by entry (default: by the fraction of non-zero weights)",
                                cli=False)

    def _check(self):
        check_device("device", self.device)


@dataclass(frozen=True)
class NeuronOptions(Record):
    """Options shared by the continuous-time neuron simulators (Brian2 and its torch replica)."""

    threshold: float | None = param(None, "prune: keep synapses with |w| >= threshold", minimum=0.0)
    top_k: int | None = param(None, "prune: keep the k largest |w| per postsynaptic neuron", minimum=1)
    keep_fraction: float | None = param(None, "prune: keep this fraction of the non-zero weights, largest first",
                                        minimum=0.0, maximum=1.0, open_min=True)
    efficacy: float | None = param(None, "synaptic efficacy of a continuous-time neuron (default: calibrated "
                                         "on the first calibration_patterns patterns)", minimum=0.0, open_min=True)
    calibration_patterns: int = param(2, "patterns used to calibrate the efficacy", minimum=1)
    delay_shift_ms: float | None = param(None, "shorten every delay by this (default: calibrated, else 0.5 ms)",
                                         minimum=0.0, maximum=1.0, open_max=True, unit="ms")
    tolerance: int = param(1, "timing tolerance of a continuous-time neuron's scores", minimum=0)
    noise_mV: float = param(0.0, "background noise of a continuous-time neuron: std of the membrane "
                                 "fluctuation", minimum=0.0, unit="mV")
    noise_tau_ms: float = param(0.0, "correlation time of the background noise (0: white)", minimum=0.0,
                                unit="ms")
    dt_ms: float = param(0.1, "integration step of a continuous-time neuron", minimum=0.0, maximum=1.0,
                         open_min=True, unit="ms")
    seed: int = param(0, "seed of the background noise", minimum=0)


@dataclass(frozen=True)
class Brian2Options(NeuronOptions):
    """Options of the Brian2 simulator."""

    neuron: str = param("exact", "exact: the discrete-equivalent network; others: continuous time",
                        choices=NEURONS)
    target: str = param("numpy", "Brian2 target", choices=TARGETS)
    budget_gb: float | None = param(None, "refuse networks estimated above this memory (GiB; default: half "
                                          "the available memory)", minimum=0.0, open_min=True)
    build_dir: str | None = param(None, "standalone project folder (default: a temporary one)", cli=False)

    def _check(self):
        check_target(self.target)
        if self.neuron != "exact" and self.target not in ("numpy", "cython"):
            raise ValueError(f"target must be 'numpy' or 'cython' with neuron {self.neuron!r}; got {self.target!r}")


@dataclass(frozen=True)
class TorchNeuronOptions(NeuronOptions):
    """Options of the torch replica of the continuous-time neurons (:mod:`hdsnn.models.replica`)."""

    neuron: str = param("lif_current", "continuous-time neuron model", choices=tuple(NEURON_MODELS))
    device: str = param("cpu", "torch device: cpu or cuda")
    dtype: str = param("float64", "float type of the replica (float64: Brian2's, spike for spike)",
                       choices=tuple(DTYPES))

    def _check(self):
        check_device("device", self.device)


@dataclass(frozen=True)
class Recall:
    """What a recall gave.

    Attributes
    ----------
    raster : bool tensor ``(M, N, T)``
        The recalled patterns in steps of 1 ms, aligned with the targets (step 0 = trigger onset).
    full : bool tensor ``(B, N, L)``
        Everything the network did, pretime and posttime included.
    scores : Scores
        Over the free-run window ``t >= D``: exact for the discrete simulators,
        ``±tolerance`` ms for continuous-time neurons.
    runaway : bool tensor ``(B,)``
        Trials stopped by the runaway guard.
    seconds : dict
        Wall time of each stage (``simulate``; ``export``, ``build``, ``calibration`` where they happen).
    simulator : str
    spikes : tuple of numpy arrays ``(pattern, neuron, time_ms)`` or None
        Exact spike times (ms from the trigger onset) in continuous time; None in discrete time.
    network : brian2.Network or None
        The Brian2 network that ran, with its monitors.
    provenance : dict
        Simulator, options, network and trial settings (JSON-ready).
    """

    raster: torch.Tensor
    full: torch.Tensor
    scores: Scores
    runaway: torch.Tensor
    seconds: dict
    simulator: str = "torch"
    spikes: tuple | None = None
    network: object = None
    provenance: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Simulator:
    """A registered simulator: its options record and the function that runs a batch of trials."""

    options: type
    run: object
    help: str


def _dense_of(W) -> torch.Tensor:
    """The dense tensor of the discrete simulators (a synapse list binned to its ``delay_steps``)."""
    return W.to_dense() if isinstance(W, SynapseList) else W


def _synapses_of(W, opts, budget) -> SynapseList:
    """The synapses of the continuous-time simulators: a synapse list as it is (its real delays kept), or the
    pruned export of a dense ``W``."""
    if not isinstance(W, SynapseList):
        return export_synapses(W, threshold=opts.threshold, top_k=opts.top_k, keep_fraction=opts.keep_fraction,
                               budget_bytes=budget)
    given = [k for k in ("threshold", "top_k", "keep_fraction") if getattr(opts, k) is not None]
    if given:
        raise ValueError(f"pruning ({', '.join(given)}) applies to a dense W; the weights are a SynapseList, "
                         f"recalled as they are: prune it before, or give the dense W")
    return W


def _torch(W, trials: Trials, net, max_rate, opts, progress, targets):
    W = _dense_of(W)
    start = time.perf_counter()
    sim = simulate(W, trials.inputs, trials.clamp, net, max_rate=max_rate, device=opts.device, sparse=opts.sparse,
                   progress=progress)
    return sim.raster, sim.runaway, {"simulate": time.perf_counter() - start}, {}


def _dense(W, trials, net, max_rate, opts, progress, targets):
    W = _dense_of(W)
    start = time.perf_counter()
    sim = simulate_dense(W, trials.inputs, trials.clamp, net, device=opts.device, progress=progress)
    guarded = apply_guard(sim.raster, trials.clamp, W.shape[2], max_rate)
    return guarded.raster, guarded.runaway, {"simulate": time.perf_counter() - start}, {}


def _brian2(W, trials, net, max_rate, opts, progress, targets):
    start = time.perf_counter()
    budget = None if opts.budget_gb is None else opts.budget_gb * 2**30
    if opts.neuron == "exact":
        W = _dense_of(W)
    syn = _synapses_of(W, opts, budget)
    if isinstance(W, SynapseList):
        check_memory(len(syn), budget, N=syn.N)
    seconds = {"export": time.perf_counter() - start}
    if opts.neuron == "exact":
        sim = simulate_brian2(syn, trials.inputs, trials.clamp, net, target=opts.target, budget_bytes=budget,
                              build_dir=opts.build_dir)
        guarded = apply_guard(sim.raster, trials.clamp, trials.D, max_rate)
        seconds.update(build=sim.build_seconds, simulate=sim.run_seconds)
        return guarded.raster, guarded.runaway, seconds, {"network": sim.network, "n_synapses": sim.n_synapses}
    return _continuous(simulate_neurons, syn, trials, net, max_rate, opts, targets, seconds, target=opts.target)


def _torch_neurons(W, trials, net, max_rate, opts, progress, targets):
    start = time.perf_counter()
    syn = _synapses_of(W, opts, float("inf"))              # the replica checks its own memory
    seconds = {"export": time.perf_counter() - start}
    return _continuous(simulate_replica, syn, trials, net, max_rate, opts, targets, seconds, device=opts.device,
                       dtype=opts.dtype)


def _continuous(simulate_fn, syn, trials, net, max_rate, opts, targets, seconds, **where):
    """A continuous-time neuron model (Brian2 or the torch replica): calibrate the efficacy if needed, then run."""
    kw = dict(beta=net.beta, noise_mV=opts.noise_mV, noise_tau_ms=opts.noise_tau_ms, dt_ms=opts.dt_ms,
              seed=opts.seed, max_rate_hz=None if max_rate is None else max_rate * 1000.0 / net.dt_ms, **where)
    efficacy, shift, table = opts.efficacy, opts.delay_shift_ms, None
    if efficacy is None:
        start = time.perf_counter()
        shifts = (0.5,) if shift is None else (shift,)
        calibration = targets[:opts.calibration_patterns]
        efficacy, shift, table = calibrate_efficacy(opts.neuron, syn, calibration, trials.D, k=opts.tolerance,
                                                    delay_shifts_ms=shifts, simulate=simulate_fn, **kw)
        seconds["calibration"] = time.perf_counter() - start
    shift = 0.5 if shift is None else shift
    sim = simulate_fn(opts.neuron, syn, trials.inputs, trials.clamp, efficacy=efficacy, delay_shift_ms=shift, **kw)
    seconds["simulate"] = sim.seconds
    runaway = torch.zeros(trials.inputs.shape[0], dtype=torch.bool)
    runaway[sim.stopped] = True
    extra = {"network": sim.network, "n_synapses": len(syn), "events": sim.spikes, "efficacy": efficacy,
             "delay_shift_ms": shift,
             "calibration": None if table is None else {f"{e:g}/{d:g}": f for (e, d), f in table.items()}}
    return sim.raster, runaway, seconds, extra


#: The simulators, by name.
SIMULATORS = {
    "torch": Simulator(TorchOptions, _torch, "event-driven discrete simulator"),
    "dense": Simulator(TorchOptions, _dense, "dense discrete reference"),
    "brian2": Simulator(Brian2Options, _brian2, "Brian2 networks (discrete-equivalent or neuron models)"),
    "torch_neurons": Simulator(TorchNeuronOptions, _torch_neurons, "torch replica of the Brian2 neuron models"),
}


def recall(W, targets, *, simulator: str = "torch", net: NetworkConfig | None = None,
           trial: TrialConfig | None = None, sequential: bool = False, max_rate: float | None = 0.05,
           progress: bool | None = None, **options) -> Recall:
    """Recall every target from its trigger window and score it.

    Parameters
    ----------
    W : float tensor ``(N, N, D)`` or SynapseList
        Weights, index ``[post, pre, delay-1]``, or synapses (:func:`hdsnn.models.load_synapses`):
        the continuous-time simulators (``'brian2'`` with a neuron model, ``'torch_neurons'``) run the
        list as it is, each synapse with its real-valued delay (``delay_ms``, else ``delay_steps`` ms)
        shortened by ``delay_shift_ms``; the discrete ones run its dense tensor (``to_dense``: the
        delays binned to ``delay_steps``, synapses of one channel added).
    targets : bool tensor ``(M, N, T)``
        Stored patterns.
    simulator : str
        A key of :data:`SIMULATORS`.
    net : NetworkConfig, optional
        Neuron parameters (beta, theta, reset); ``N`` and ``D`` are taken from ``W``.
    trial : TrialConfig, optional
        Pretime, posttime, cue semantics, perturbations.
    sequential : bool
        Chain all trials in one run (the paper's sequential retrieval) instead of a batch.
    max_rate : float or None
        Runaway guard: spikes per neuron per step over the last D free-run steps above
        which a trial is stopped (continuous time: the same rate, over 10 ms). None: no guard.
    progress : bool or None
        Progress bar (None: on a terminal only).
    **options
        Fields of the simulator's options record (or ``config=`` a record instance).

    Returns
    -------
    Recall

    Raises
    ------
    ValueError
        An unknown simulator, an option it does not take, a bad value, or weights and
        targets that do not fit, before any simulation runs.

    Examples
    --------
    >>> from hdsnn.models import bernoulli_patterns
    >>> from hdsnn.learning import hebbian_init
    >>> P = bernoulli_patterns(M=2, N=64, T=120, p_A=0.02, seed=1)
    >>> r = recall(hebbian_init(P, D=15), P)
    >>> r.raster.shape, r.scores.pooled()["f1"] > 0.9
    (torch.Size([2, 64, 120]), True)
    """
    simulator = check_choice("simulator", simulator, tuple(SIMULATORS))
    entry = SIMULATORS[simulator]
    opts = resolve_options(entry.options, f"simulator {simulator!r}", options)
    targets = check_raster("targets", targets)
    M, N, T = targets.shape
    if isinstance(W, SynapseList):
        check_synapses(W, "W")
        if W.N != N:
            raise ValueError(f"W (a SynapseList) is for N={W.N} neurons but the patterns have N={N}")
        D, weights = W.D, {"kind": "synapses", "count": len(W), "real_delays": W.delay_ms is not None}
    else:
        W = check_weights("W", W, N=N)
        D, weights = W.shape[2], {"kind": "dense"}
    if D >= T:
        raise ValueError(f"W has D={D} delays, which must be smaller than the patterns' T={T} steps")
    base = net if net is not None else NetworkConfig(N=N, D=D)
    if not isinstance(base, NetworkConfig):
        raise ValueError(f"net must be a NetworkConfig; got {type(base).__name__}")
    net = replace(base, N=N, D=D)
    if trial is not None and not isinstance(trial, TrialConfig):
        raise ValueError(f"trial must be a TrialConfig; got {type(trial).__name__}")
    if max_rate is not None:
        max_rate = check_real("max_rate", max_rate, 0.0, 1.0, open_min=True)
    trials = (sequential_trials if sequential else make_trials)(targets, D, trial)
    full, runaway, seconds, extra = entry.run(W, trials, net, max_rate, opts, progress, targets)
    raster = trials.extract(full)
    continuous = "events" in extra
    scores = tolerant_score(targets, raster, D, opts.tolerance) if continuous else score(targets, raster, D)
    provenance = {"simulator": simulator, "options": opts.to_dict(), "network": net.to_dict(),
                  "trial": (trial or TrialConfig()).to_dict(), "sequential": sequential, "max_rate": max_rate,
                  "weights_kind": weights,
                  **{k: v for k, v in extra.items() if k not in ("network", "events")}}
    spikes = _aligned(extra["events"], trials) if continuous else None
    return Recall(raster, full, scores, runaway, seconds, simulator, spikes, extra.get("network"), provenance)


def _aligned(events, trials: Trials) -> tuple:
    """Spike times of each pattern's window, in ms from its trigger onset: ``(pattern, neuron, time_ms)``."""
    trial, neuron, t_ms = events
    out = ([], [], [])
    for m, (row, onset) in enumerate(trials.onsets):
        keep = (trial == row) & (t_ms >= onset) & (t_ms < onset + trials.T)
        out[0].append(np.full(int(keep.sum()), m))
        out[1].append(neuron[keep])
        out[2].append(t_ms[keep] - onset)
    return tuple(np.concatenate(x) for x in out)
