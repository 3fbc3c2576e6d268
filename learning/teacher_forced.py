r"""Margin constraints in any neuron model's own dynamics, met by gradient descent under teacher forcing.

:mod:`hdsnn.learning.margin_neurons` writes the constraints of exact recall for
``lif_current``, whose membrane is linear in the weights, and solves them as a
convex problem. The same constraints hold for every model of
:data:`~hdsnn.models.brian2.NEURON_MODELS`, only no longer convex: under teacher
forcing every presynaptic spike is at its target time (the trigger's input
spikes too), so the jumps entering neuron ``j``'s synaptic variables,

    J_var(k) = sum_l W_var,l  src(k - 1 - lag_l),      src = targets + cue (fixed),

are linear in ``j``'s own weights, and ``j``'s state follows the model's step
function (:mod:`hdsnn.models.neurons`, the replica's) with its spikes *forced*
to its target steps: the model's reset (and AdEx's adaptation jump, Izhikevich's
recovery jump) at each target spike, wherever its threshold lies. With ``x(n)``
the distance above the model's spike condition at step ``n`` (before the
reset) in units of its distance from rest to threshold
(:func:`~hdsnn.models.threshold_distance`), the constraints are those of
:mod:`hdsnn.learning.margin_neurons`: ``x >= kappa_spike`` at each target step of
the free run, ``x <= -kappa_rise`` on the ``rise_steps`` before it, ``x <= -kappa``
on every other free step out of the refractory period. The hinge of their
deficits is minimised by Adam on the weights, the gradient by autograd through
the steps (each neuron's problem is its own: no gradient crosses neurons).

**Guarantee.** The induction of :mod:`hdsnn.learning.margin_neurons` holds for
any deterministic model: if no constraint is violated (and the float rounding
is below the margins), the closed-loop replica (and Brian2, spike for spike)
started from the trigger fires exactly at the target steps. Zero violations is
checked by the learner before it stops.

Unlike :func:`~hdsnn.learning.neuron_bptt` (closed-loop BPTT through the
network with a surrogate spike), no spike is differentiated and no error of
one neuron propagates to another while learning: the problem is each neuron's
fit of its own trajectory. Memory: the autograd graph of ``steps`` steps of
``(B, N)`` states per minibatch.

Examples
--------
>>> from hdsnn.models import bernoulli_patterns, linearised_synapses
>>> from hdsnn.learning import neuron_margin_init
>>> P = bernoulli_patterns(1, 40, 50, 0.02, seed=1)
>>> start = linearised_synapses(neuron_margin_init(P, D=10, progress=False).synapses, "lif_conductance")
>>> res = neuron_fit(P, start, NeuronFitConfig(neuron="lif_conductance"), D=10, progress=False)
>>> res.violations, replay_fit(res, P).pooled()["f1"]
(0, 1.0)
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from hdsnn.config import NetworkConfig, Record, TrialConfig, param
from hdsnn.models import SynapseList, make_trials, simulate_replica, tolerant_score
from hdsnn.models.brian2.neurons import NEURON_MODELS
from hdsnn.models.neurons import initial_state, model_parameters, refractory_steps, replica_of
from hdsnn.validation import check_raster

from .closed_loop_bptt import check_training_inputs, jump_matrices, network_plan, trial_protocol, with_weights

__all__ = ["NeuronFitConfig", "NeuronFitResult", "neuron_fit", "replay_fit"]


@dataclass(frozen=True)
class NeuronFitConfig(Record):
    """Options of :func:`neuron_fit` (margins in units of the model's distance from rest to threshold).

    Examples
    --------
    >>> NeuronFitConfig(neuron="adex").rise_steps
    5
    """

    neuron: str = param("lif_conductance", "neuron model", choices=tuple(NEURON_MODELS))
    epochs: int = param(300, "maximum passes over the patterns", minimum=0)
    lr: float = param(3e-3, "Adam's step (weight units)", minimum=0.0, open_min=True)
    kappa: float = param(0.1, "margin below the spike condition on free steps", minimum=0.0)
    kappa_spike: float = param(0.02, "margin above it at each target step", minimum=0.0, open_min=True)
    kappa_rise: float = param(0.02, "margin below it in the rise window", minimum=0.0)
    rise_steps: int = param(5, "steps of the rise window before each target step", minimum=0)
    batch_patterns: int | None = param(None, "patterns per update (default: all)", minimum=1)
    delay_shift_ms: float = param(0.1, "every delay shortened by this, as the simulators run it", minimum=0.0,
                                  unit="ms")
    dt_ms: float = param(0.1, "integration step", minimum=0.0, maximum=1.0, open_min=True, unit="ms")
    trigger_steps: int | None = param(None, "the clamp in ms (default D)", minimum=1)
    max_seconds: float | None = param(None, "time budget (default: none)", minimum=0.0, open_min=True, unit="s")


@dataclass(frozen=True)
class NeuronFitResult:
    """Result of :func:`neuron_fit`: the ``synapses`` with the fitted weights, ``violations`` left (0: exact
    recall), ``violations_per_neuron``, ``history`` (per epoch ``violations``, ``neurons_violating``,
    ``loss``), ``epochs_run``, ``seconds``, ``config``, ``D`` and the ``recall_options`` that replay it."""

    synapses: SynapseList
    violations: int
    violations_per_neuron: torch.Tensor
    history: list
    epochs_run: int
    seconds: float
    config: NeuronFitConfig
    D: int
    recall_options: dict


def _kinds(targets, D: int, k: int, S: int, steps: int, first_free: int, R: int, rise: int):
    """Masks ``(B, N, steps)``: target steps of the free run, their rise windows, other constrained steps."""
    M, N, T = targets.shape
    spike = torch.zeros(M, N, steps, dtype=torch.bool)
    b, i, t = torch.nonzero(targets, as_tuple=True)
    free_run = t >= k
    spike[b[free_run], i[free_run], t[free_run] * S] = True   # forced there too: the model's reset
    b, i, t = b[free_run], i[free_run], t[free_run]
    rise_m = torch.zeros_like(spike)
    held = torch.zeros_like(spike)
    for r in range(1, rise + 1):
        n = t * S - r
        ok = n >= 0
        rise_m[b[ok], i[ok], n[ok]] = True
    for r in range(1, R):
        n = t * S + r
        ok = n < steps
        held[b[ok], i[ok], n[ok]] = True
    held[:, :, :first_free] = True
    if (held & spike).any():
        raise ValueError(f"targets of one neuron closer than its refractory period ({R} steps) cannot be produced "
                         f"by the model")
    rise_m &= ~held & ~spike
    other = ~(held | spike | rise_m)
    return spike, rise_m, other, spike


def _trajectory(w, plan, cue, src, free, forced, beta):
    """``x`` ``(B, N, steps)``: the teacher-forced distance above the spike condition, in threshold units."""
    model, replica = replica_of(plan.neuron)
    p = model_parameters(model, beta)
    V = len(replica.synaptic)
    B = cue.shape[1]
    Wm = jump_matrices(w, plan, V)
    L = plan.lags.numel()
    # the jumps of every step at once (the sources are fixed under teacher forcing): one sparse product per
    # variable, rows (step, trial), columns (lag, presynaptic neuron)
    k, b, i = torch.nonzero(src, as_tuple=True)
    lags = plan.lags
    act = (k[:, None] + lags[None, :] + 1).reshape(-1)
    cols = (torch.arange(L)[None, :] * plan.N + i[:, None]).reshape(-1)
    rows = act * B + b.repeat_interleave(L)
    keep = act < plan.steps
    C = torch.sparse_coo_tensor(torch.stack([rows[keep], cols[keep]]), src[k, b, i].repeat_interleave(L)[keep],
                                (plan.steps * B, L * plan.N), check_invariants=True).coalesce()
    J = torch.stack([torch.sparse.mm(C, Wm[v].permute(0, 2, 1).reshape(L * plan.N, plan.N)) for v in range(V)])
    J = J.reshape(V, plan.steps, B, plan.N).permute(1, 0, 2, 3)
    state = initial_state(model, B, plan.N, dtype=w.dtype)
    xs = []

    def spike(x, hard, ok):
        xs.append(x / plan.theta)
        # spikes forced at the targets; a crossing elsewhere (a violation) resets as the model does, so that
        # the trajectory stays bounded (AdEx and Izhikevich run away without their reset)
        return (forced_now | hard).to(x.dtype)

    jumps = J.unbind(0)                         # (indexing J[n] would cost a full-size gradient per step)
    for n in range(plan.steps):
        forced_now = forced[:, :, n]
        state, _ = replica.step(state, jumps[n], p, dt=plan.dt, free=free[:, n, None], spike=spike)
    return torch.stack(xs, dim=2)


def _violations(x, masks, cfg):
    """Deficits ``(B, N, steps)`` (> 0: violated; not finite counts as violated) and the bool violations."""
    spike, rise, other, _ = masks
    deficit = torch.where(spike, cfg.kappa_spike - x,
                          torch.where(rise, x + cfg.kappa_rise, torch.where(other, x + cfg.kappa, -1.0)))
    return deficit, ~(deficit <= 0)


def neuron_fit(targets, synapses: SynapseList, config: NeuronFitConfig | None = None, *, D: int = 41,
               net: NetworkConfig | None = None, progress: bool | None = None) -> NeuronFitResult:
    """Fit the weights of ``synapses`` to the teacher-forced constraints of ``config.neuron`` (module docstring).

    Parameters
    ----------
    targets : bool array ``(M, N, T)``
    synapses : SynapseList
        The start (e.g. :func:`~hdsnn.models.linearised_synapses` of the ``lif_current`` margin weights).
    config : NeuronFitConfig, optional
    D : int
        The trigger window (ms).
    net : NetworkConfig, optional
        Its ``beta`` sets ``tau_m``.
    progress : bool or None

    Raises
    ------
    ValueError
        Bad targets, synapses, config or D; targets of one neuron closer than its refractory period.
    """
    start = time.perf_counter()
    targets, cfg, beta = check_training_inputs(targets, synapses, config, NeuronFitConfig, D, net)
    M, N, T = targets.shape
    k = D if cfg.trigger_steps is None else cfg.trigger_steps
    plan = network_plan(synapses, cfg.neuron, T, cfg, beta)
    cue, free = trial_protocol(targets, D, cfg, plan)
    model, _ = replica_of(cfg.neuron)
    R = refractory_steps(model_parameters(model, beta).refractory, plan.dt)
    first_free = int(torch.argmax((free[0] > 0).to(torch.int8)))
    masks = _kinds(targets, D, k, plan.S, plan.steps, first_free, R, cfg.rise_steps)
    src = cue + masks[3].permute(2, 0, 1).to(cue.dtype)      # (steps, B, N): the cue, then the targets
    w = torch.as_tensor(synapses.weight, dtype=torch.float64).clone().requires_grad_(True)
    optimizer = torch.optim.Adam([w], lr=cfg.lr)
    batch = M if cfg.batch_patterns is None else min(cfg.batch_patterns, M)
    history, epoch = [], 0
    bar = tqdm(total=cfg.epochs, desc=f"margin fit in {cfg.neuron}", unit="epoch",
               disable=None if progress is None else not progress)
    per_neuron = torch.zeros(N, dtype=torch.int64)
    while True:
        per_neuron = torch.zeros(N, dtype=torch.int64)
        losses = []
        for first in range(0, M, batch):
            rows = slice(first, min(first + batch, M))
            part = tuple(m[rows] for m in masks)
            x = _trajectory(w, plan, cue[:, rows], src[:, rows], free[rows], part[3], beta)
            deficit, bad = _violations(x, part, cfg)
            per_neuron += bad.sum(dim=(0, 2))
            loss = torch.relu(deficit).nan_to_num(nan=0.0, posinf=0.0).sum() / max(M, 1)
            losses.append(float(loss.detach()))
            if epoch < cfg.epochs and bool(bad.any()):
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if bool(torch.isfinite(w.grad).all()):          # a step through an overflow is skipped
                    optimizer.step()
        total = int(per_neuron.sum())
        history.append({"epoch": epoch, "violations": total, "neurons_violating": int((per_neuron > 0).sum()),
                        "loss": float(np.sum(losses))})
        bar.set_postfix(violations=total)
        out_of_time = cfg.max_seconds is not None and time.perf_counter() - start > cfg.max_seconds
        if total == 0 or epoch >= cfg.epochs or out_of_time:
            break
        epoch += 1
        bar.update(1)
    bar.close()
    if total:                                        # the weights the last pass updated: count them again
        per_neuron = torch.zeros(N, dtype=torch.int64)
        with torch.no_grad():
            for first in range(0, M, batch):
                rows = slice(first, min(first + batch, M))
                part = tuple(m[rows] for m in masks)
                x = _trajectory(w, plan, cue[:, rows], src[:, rows], free[rows], part[3], beta)
                per_neuron += _violations(x, part, cfg)[1].sum(dim=(0, 2))
        total = int(per_neuron.sum())
    options = {"neuron": cfg.neuron, "efficacy": 1.0, "delay_shift_ms": cfg.delay_shift_ms, "dt_ms": cfg.dt_ms}
    return NeuronFitResult(with_weights(synapses, w), total, per_neuron, history, epoch,
                           time.perf_counter() - start, cfg, D, options)


def replay_fit(result: NeuronFitResult, targets, *, tolerance: int = 1, **kwargs):
    """Recall ``targets`` from their triggers with the fitted synapses in the torch replica; the Scores at
    ``±tolerance`` ms over ``t >= D``.

    Examples
    --------
    >>> replay_fit(None, None)
    Traceback (most recent call last):
    ...
    ValueError: result must be a NeuronFitResult; got NoneType
    """
    if not isinstance(result, NeuronFitResult):
        raise ValueError(f"result must be a NeuronFitResult; got {type(result).__name__}")
    targets = check_raster("targets", targets)
    cfg = result.config
    trials = make_trials(targets, result.D, TrialConfig(trigger_steps=cfg.trigger_steps))
    sim = simulate_replica(cfg.neuron, result.synapses, trials.inputs, trials.clamp, efficacy=1.0,
                           delay_shift_ms=cfg.delay_shift_ms, dt_ms=cfg.dt_ms, **kwargs)
    return tolerant_score(targets, trials.extract(sim.raster), result.D, tolerance)
