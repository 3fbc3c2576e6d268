"""One front door for learning: ``learn(targets, method, ...)`` over a registry of learners.

Every learner turns target patterns ``(M, N, T)`` into weights ``W`` of shape
``(N, N, D)`` (index ``[post, pre, delay-1]``), optionally restricted to a
connectivity mask. Each declares its options as a frozen record
(:class:`hdsnn.config.Record`), so that the command line and the checks come
from one declaration, and every learner returns the same :class:`Learned`.

==============  ====================================================  =====================================
method          what it does                                          options record
==============  ====================================================  =====================================
hebbian         analytic STDP-equivalent rule, from spike pairs        :class:`HebbianOptions`
lstsq           minimum-norm least squares (block CGLS)                :class:`LstsqOptions`
margin          teacher-forced margin constraints (convex, per neuron)  :class:`~hdsnn.learning.MarginConfig`
margin_neurons  the same in the dynamics of the ``lif_current`` model  :class:`~hdsnn.learning.NeuronMarginConfig`
                at dt = 0.1 ms (recall with ``details['recall_options']``)
bptt            closed-loop surrogate-gradient BPTT                    :class:`~hdsnn.learning.TrainConfig`
stdp            pair-based STDP on the delayed synapses (torch/Brian2)  :class:`StdpOptions`
delays          weights and real-valued delays of a sparse synapse     :class:`~hdsnn.learning.DelayConfig`
                list by closed-loop BPTT (``Learned.synapses``)
neuron_fit      the margin constraints in any neuron model's own       :class:`~hdsnn.learning.NeuronFitConfig`
                dynamics (teacher-forced gradient descent, from the
                ``lif_current`` solution carried over at rest)
==============  ====================================================  =====================================

Examples
--------
>>> from hdsnn.models import bernoulli_patterns
>>> P = bernoulli_patterns(2, 40, 100, 0.05, seed=0)
>>> learned = learn(P, "hebbian", D=5, gain=2.0)
>>> learned.W.shape, learned.method, learned.options["gain"]
(torch.Size([40, 40, 5]), 'hebbian', 2.0)
>>> learn(P, "hebbian", D=5, epochs=3)
Traceback (most recent call last):
...
ValueError: method 'hebbian' takes the options compensate, gain; got epochs
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, fields, replace

import torch

from hdsnn.config import NetworkConfig, Record, param, resolve_options
from hdsnn.models.brian2.context import check_target
from hdsnn.models.export import SynapseList
from hdsnn.validation import check_choice, check_int, check_raster, check_weights

from .bptt import TrainConfig, train
from .delays import DelayConfig, learn_delays, rounded_weights
from .hebbian import DEFAULT_GAIN, check_weight_memory, hebbian_init, masked_hebbian_init
from .least_squares import LSTSQ_GAIN, least_squares_init
from .margin import MarginConfig, margin_init
from .margin_neurons import NeuronMarginConfig, neuron_margin_init
from .teacher_forced import NeuronFitConfig, neuron_fit
from .stdp import STDPConfig, check_stdp_inputs, mask_density, stdp_closed_form, stdp_event_loop
from .stdp_brian2 import stdp_brian2

__all__ = ["learn", "Learned", "LEARNERS", "HebbianOptions", "LstsqOptions", "StdpOptions", "Learner"]


@dataclass(frozen=True)
class HebbianOptions(Record):
    """Options of the Hebbian rule."""

    gain: float = param(DEFAULT_GAIN, "gain g, the input of a target spike in units of theta "
                                      "(measured by `hdsnn paper gain_scan`)", minimum=0.0, open_min=True)
    compensate: bool = param(True, "with a mask: divide by the fraction of entries kept", cli=False)


@dataclass(frozen=True)
class LstsqOptions(Record):
    """Options of exact least squares."""

    gain: float = param(LSTSQ_GAIN, "target gain of the least-squares fit", minimum=0.0, open_min=True)
    tol: float = param(1e-8, "relative residual of the normal equations at which CGLS stops", minimum=0.0,
                       open_min=True)
    max_iter: int = param(500, "CGLS iteration limit", minimum=1)


@dataclass(frozen=True)
class StdpOptions(STDPConfig):
    """STDP rule (:class:`~hdsnn.learning.STDPConfig`) and where it runs."""

    simulator: str = param("torch", "torch (closed form or event loop) or the plastic Brian2 network",
                           choices=("torch", "brian2"))
    target: str = param("numpy", "Brian2 target of simulator brian2", choices=("numpy", "cython"))

    def rule(self) -> STDPConfig:
        """The STDP rule alone."""
        names = {f.name for f in fields(STDPConfig)}
        return STDPConfig(**{k: v for k, v in self.to_dict().items() if k in names})


@dataclass(frozen=True)
class Learned:
    """What a learner found.

    Attributes
    ----------
    W : float tensor ``(N, N, D)`` or None
        Weights (for BPTT: those of the best epoch); None where the learned object is a synapse list with
        real-valued delays (``margin_neurons`` on ``synapses=``), which no dense tensor stands for.
    method : str
    options : dict
        The learner's options record, as a dict.
    network : dict
        The :class:`~hdsnn.config.NetworkConfig` learned for.
    mask : bool tensor ``(N, N, D)`` or None
    seconds : float
        Wall time of learning.
    history : list of dict
        Per-epoch records of iterative learners (empty otherwise).
    details : dict
        Learner-specific facts (STDP amplitudes, BPTT last weights and epochs, the learned
        :class:`~hdsnn.models.SynapseList` of ``delays``...).
    synapses : SynapseList or None
        The learned synapses, where the learner works on a synapse list (``margin_neurons``: with their
        real-valued delays ``delay_ms``, if any; ``delays``: the learned real-valued delays; write them
        with :func:`hdsnn.models.save_synapses`).
    """

    W: torch.Tensor
    method: str
    options: dict
    network: dict
    mask: torch.Tensor | None = None
    seconds: float = 0.0
    history: list = field(default_factory=list)
    details: dict = field(default_factory=dict)
    synapses: SynapseList | None = None

    @property
    def D(self) -> int:
        """Number of delays (the trigger window) the weights were learned for."""
        return int(self.W.shape[2]) if self.W is not None else int(self.synapses.D)

    def metadata(self) -> dict:
        """JSON metadata for the weights or synapse file (:func:`hdsnn.io.save_weights`,
        :func:`hdsnn.models.save_synapses`).

        Learners in a continuous-time neuron (``margin_neurons``) add ``learned_for``: what a replay needs
        and what recall compares its request with (method, ``neuron``, ``efficacy``, ``delay_shift_ms``,
        ``dt_ms``, ``trigger_steps``, ``beta``, ``D``; the caller adds ``delays``, their source).
        """
        extra = {k: v for k, v in self.details.items() if not isinstance(v, (torch.Tensor, SynapseList))}
        meta = {"method": self.method, "options": self.options, "network": self.network, "D": self.D,
                "masked": self.mask is not None, **extra}
        if "recall_options" in self.details:
            meta["learned_for"] = {"method": self.method, **self.details["recall_options"],
                                   "trigger_steps": self.options.get("trigger_steps"),
                                   "beta": self.network["beta"], "D": self.D}
        return meta


@dataclass(frozen=True)
class Learner:
    """A registered learner: its options record and the function that learns."""

    options: type
    run: object
    help: str


def _hebbian(targets, net, mask, W0, opts, progress):
    if mask is not None:
        W = masked_hebbian_init(targets, mask, beta=net.beta, gain=opts.gain, compensate=opts.compensate)
    else:
        W = hebbian_init(targets, D=net.D, beta=net.beta, gain=opts.gain)
    return W, [], {}


def _lstsq(targets, net, mask, W0, opts, progress):
    if mask is not None:
        raise ValueError("method 'lstsq' does not take a mask; use method 'hebbian', 'bptt' or 'stdp'")
    W = least_squares_init(targets, D=net.D, beta=net.beta, gain=opts.gain, tol=opts.tol, max_iter=opts.max_iter,
                           progress=progress)
    return W, [], {}


def _bptt(targets, net, mask, W0, opts, progress, *, out=None, resume=False):
    result = train(targets, W0, opts, net, mask=mask, out=out, resume=resume, progress=progress)
    return result.best_W, result.history, {"best_f1": result.best_f1, "epochs": result.epochs,
                                            "last_W": result.W}


def _delays(targets, net, mask, W0, opts, progress, *, out=None, resume=False):
    result = learn_delays(targets, None, opts, net, mask=mask, out=out, resume=resume, progress=progress)
    syn = result.synapses
    return rounded_weights(syn), result.history, {
        "synapses": syn, "last_synapses": result.last, "initial_synapses": result.initial,
        "best_f1": result.best_f1, "epochs": result.epochs, "n_synapses": len(syn), "memory": result.memory}


def _margin(targets, net, mask, W0, opts, progress, *, executor=None):
    result = margin_init(targets, net.D, opts, net=net, W0=W0, mask=mask, executor=executor, progress=progress)
    return result.W, result.history, {"violations": result.violations, "epochs": result.epochs_run,
                                      "neurons_violating": int((result.violations_per_neuron > 0).sum())}


def _margin_neurons(targets, net, mask, W0, opts, progress, *, executor=None, synapses=None):
    result = neuron_margin_init(targets, synapses, opts, D=net.D, mask=mask, W0=W0, net=net, executor=executor,
                                progress=progress)
    return result.W, result.history, {"violations": result.violations, "epochs": result.epochs_run,
                                      "neurons_violating": int((result.violations_per_neuron > 0).sum()),
                                      "recall_options": result.recall_options, "synapses": result.synapses}


def _neuron_fit(targets, net, mask, W0, opts, progress, *, synapses=None):
    """Start: the given synapses (weights in ``opts.neuron``'s units), else the ``lif_current`` margin solution
    on the mask carried to ``opts.neuron`` through its efficacy at rest; then the teacher-forced fit."""
    from hdsnn.models import linearised_synapses

    start = {}
    if synapses is None:
        first = neuron_margin_init(targets, None, NeuronMarginConfig(delay_shift_ms=opts.delay_shift_ms,
                                                                     dt_ms=opts.dt_ms, trigger_steps=opts.trigger_steps),
                                   D=net.D, mask=mask, net=net, progress=progress)
        synapses = linearised_synapses(first.synapses, opts.neuron, beta=net.beta, dt_ms=opts.dt_ms)
        start = {"start_violations_lif_current": first.violations}
    result = neuron_fit(targets, synapses, opts, D=net.D, net=net, progress=progress)
    W = result.synapses.to_dense() if result.synapses.delay_ms is None else None
    return W, result.history, {**start, "violations": result.violations, "epochs": result.epochs_run,
                               "neurons_violating": int((result.violations_per_neuron > 0).sum()),
                               "recall_options": result.recall_options, "synapses": result.synapses}


def _stdp(targets, net, mask, W0, opts, progress):
    rule = replace(opts.rule(), beta=net.beta)
    raster, D, rule, mask = check_stdp_inputs(targets, net.D, rule, mask)
    a_plus, a_minus = rule.amplitudes(raster, D, mask_density(mask))
    if opts.simulator == "brian2":
        W, how = stdp_brian2(raster, D, rule, mask=mask, target=check_target(opts.target)).float(), "brian2"
    elif rule.update == "additive" and not rule.bounded:
        W, how = stdp_closed_form(raster, D, rule, mask=mask), "closed_form"
    else:
        W, how = stdp_event_loop(raster, D, rule, mask=mask, progress=progress).float(), "event_loop"
    n = raster.shape[1] ** 2 * D if mask is None else int(mask.sum())
    return W, [], {"a_plus": a_plus, "a_minus": a_minus, "implementation": how, "n_synapses": n}


#: The learners, by method name.
LEARNERS = {
    "hebbian": Learner(HebbianOptions, _hebbian, "analytic Hebbian (STDP-equivalent) rule"),
    "lstsq": Learner(LstsqOptions, _lstsq, "exact minimum-norm least squares"),
    "margin": Learner(MarginConfig, _margin, "teacher-forced convex margin learning"),
    "margin_neurons": Learner(NeuronMarginConfig, _margin_neurons,
                              "teacher-forced margin learning in a continuous-time neuron (lif_current)"),
    "bptt": Learner(TrainConfig, _bptt, "closed-loop surrogate-gradient BPTT"),
    "stdp": Learner(StdpOptions, _stdp, "online pair-based STDP"),
    "delays": Learner(DelayConfig, _delays, "weights and real-valued delays of sparse synapses by BPTT"),
    "neuron_fit": Learner(NeuronFitConfig, _neuron_fit,
                          "margin constraints in a neuron model's own dynamics (teacher-forced gradient descent)"),
}


def learn(targets, method: str = "hebbian", *, D: int | None = None, net: NetworkConfig | None = None,
          mask=None, W0=None, progress: bool | None = None, out=None, resume: bool = False,
          executor=None, synapses: SynapseList | None = None, **options) -> Learned:
    """Learn weights that store ``targets``, by one of the registered methods.

    Parameters
    ----------
    targets : bool array ``(M, N, T)``
    method : str
        A key of :data:`LEARNERS`.
    D : int, optional
        Number of delays (default: ``net.D``, the mask's or ``W0``'s, else 41).
    net : NetworkConfig, optional
        Neuron (beta, theta, reset); ``N`` comes from the targets.
    mask : bool array ``(N, N, D)``, optional
        Synapses that exist; the others stay 0 (not for ``lstsq``).
    W0 : float array ``(N, N, D)``, optional
        Initial weights (``bptt`` and ``margin``, default the Hebbian weights; ``margin_neurons`` with ``init='synapses'``).
    progress : bool or None
        Progress bar (None: on a terminal only).
    out, resume :
        Run folder and resumption of ``bptt`` and ``delays`` (checkpoint, history).
    executor : None, str, int or Executor
        Where ``margin`` and ``margin_neurons`` run their blocks of neurons (:func:`hdsnn.parallel.get_executor`).
    synapses : SynapseList, optional
        ``margin_neurons`` only: the synapses that exist, with real-valued delays in ``delay_ms``
        (:func:`hdsnn.models.random_synapses`); then ``Learned.W`` is None and ``Learned.synapses``
        holds the result (instead of mask/W0).
    **options
        Fields of the method's options record (or ``config=`` a record instance).

    Returns
    -------
    Learned

    Raises
    ------
    ValueError
        An unknown method, an option the method does not take, or a bad value.
    """
    method = check_choice("method", method, tuple(LEARNERS))
    learner = LEARNERS[method]
    targets = check_raster("targets", targets)
    M, N, T = targets.shape
    opts = resolve_options(learner.options, f"method {method!r}", options)
    if W0 is not None and method not in ("bptt", "margin", "margin_neurons"):
        raise ValueError(f"W0 (initial weights) is for methods 'bptt', 'margin' and 'margin_neurons' only; "
                         f"got method {method!r}")
    if executor is not None and method not in ("margin", "margin_neurons"):
        raise ValueError(f"executor is for methods 'margin' and 'margin_neurons' only; got method {method!r}")
    if (out is not None or resume) and method not in ("bptt", "delays"):
        raise ValueError(f"out and resume are for methods 'bptt' and 'delays' only; got method {method!r}")
    if synapses is not None:
        if method not in ("margin_neurons", "neuron_fit"):
            raise ValueError(f"synapses (a SynapseList) are for methods 'margin_neurons' and 'neuron_fit' only; "
                             f"got method {method!r}")
        if not isinstance(synapses, SynapseList):
            raise ValueError(f"synapses must be a SynapseList (random_synapses); got {type(synapses).__name__}")
        if mask is not None or W0 is not None:
            raise ValueError("give the synapses either as a SynapseList or as mask/W0, not both")
        if D is not None and D != synapses.D:
            raise ValueError(f"the number of delays disagrees: D={D}, synapses.D={synapses.D}")
        D = synapses.D
    D = _number_of_delays(D, net, mask, W0, N)
    if D >= T:
        raise ValueError(f"D ({D} delays) must be smaller than T ({T} steps per pattern)")
    net = replace(net if net is not None else NetworkConfig(), N=N, D=D)
    if mask is not None:
        mask = torch.as_tensor(mask).to(torch.bool)
        if tuple(mask.shape) != (N, N, D):
            raise ValueError(f"mask must have shape (N, N, D) = {(N, N, D)}; got {tuple(mask.shape)}")
    if W0 is not None:
        W0 = check_weights("W0", W0, N=N, D=D)
    _check_memory(method, opts, targets, D)
    start = time.perf_counter()
    extra = ({"out": out, "resume": resume} if method in ("bptt", "delays")
             else {"executor": executor} if method in ("margin", "margin_neurons") else {})
    if synapses is not None:
        extra["synapses"] = synapses
    W, history, details = learner.run(targets, net, mask, W0, opts, progress, **extra)
    learned_synapses = details.pop("synapses", None)
    return Learned(W, method, opts.to_dict(), net.to_dict(), mask, time.perf_counter() - start, history, details,
                   learned_synapses)


#: Copies of W (float32 unless said) that a learner holds at once, besides the Hebbian start.
_WEIGHT_COPIES = {"bptt": 5,           # parameter, best, gradient, two AdamW moments
                  "stdp": 3 * 2,       # float64 weights, traces and the returned copy
                  "margin": 4,         # weights, Adam moments, the gradient
                  "margin_neurons": 4,
                  "neuron_fit": 4,
                  "delays": 3}         # tap tensor, its gradient, the eval tensor


def _check_memory(method: str, opts, targets, D: int) -> None:
    """Refuse, before any work, a learner whose weight-sized arrays exceed the memory budget."""
    if method not in _WEIGHT_COPIES:
        return                                     # hebbian and lstsq estimate their own
    M, N, T = targets.shape
    extra = (_WEIGHT_COPIES[method] - 1) * N * N * D * 4
    if method in ("bptt", "delays"):
        B = opts.batch_size or M
        extra += B * N * (T + D) * 2               # spikes (bits as bytes) and membranes of a batch, per step
    check_weight_memory(N, D, torch.float32, f"method {method!r}:", extra)


def _number_of_delays(D, net, mask, W0, N) -> int:
    """D from the explicit argument, the mask and W0 (which must agree), else ``net.D``, else 41."""
    given = {k: v for k, v in {"D": D, "mask": None if mask is None else int(torch.as_tensor(mask).shape[-1]),
                               "W0": None if W0 is None else int(torch.as_tensor(W0).shape[-1])}.items()
             if v is not None}
    if len(set(given.values())) > 1:
        raise ValueError("the number of delays disagrees: " + ", ".join(f"{k}={v}" for k, v in given.items()))
    value = next(iter(given.values())) if given else (net.D if net is not None else 41)
    return check_int("D", value, minimum=1)
