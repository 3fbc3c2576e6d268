r"""Closed-loop BPTT through the torch replica of a neuron model: fine-tune weights in the model that recalls them.

The weights of a synapse list (typically learned by
:func:`~hdsnn.learning.neuron_margin_init` for ``lif_current`` and carried to
another model by :func:`~hdsnn.models.linearised_synapses`) are trained in
the closed loop of that model, as the replica
(:func:`~hdsnn.models.simulate_replica`) runs it: the same step function
(:mod:`hdsnn.models.neurons`), the trigger's input spikes, the clamp read as
Brian2 reads it, every spike delivered after ``int(delay / dt + 0.5)`` steps
and applied at the next step. With ``S = 1 ms / dt`` steps per bin, the
jumps entering the synaptic variables at step ``k`` are

    J_var(k) = sum_l W_var,l  src(k - 1 - lag_l),     src(n) = s(n) + cue(n)

over the distinct lags ``lag_l`` of the synapses (a dense ``(N, N)`` matrix per
variable and lag, built from the weights: ``a relu(w)`` into the variable of
positive weights, ``b relu(-w)`` into that of negative ones, ``a`` and ``b``
the model's jumps per unit weight from its ``on_pre``; one variable and
``b = -a`` for current synapses). The spike ``s(n)`` is the model's own
threshold in the forward pass, so the forward is the replica's spike for
spike, and a surrogate ``dH/dx`` (:mod:`hdsnn.learning.surrogate`, ``x`` the
distance above threshold in units of the model's distance from rest to
threshold, :func:`~hdsnn.models.threshold_distance`) in the backward pass;
resets become ``v (1 - s) + V_reset s``. The loss is ``1 - F1`` of the soft
1-ms raster ``r(t) = sum_{n in bin t} s(n)`` over the free run ``t >= D``
(:func:`~hdsnn.learning.f1_loss`), Adam on the weights, the best weights by
pooled F1 at ``±1`` ms kept. Memory: the autograd graph of every step,
``O(steps B N)`` states and the ``V L N^2`` matrices: a tool for small and
medium networks (the paper's size, 10,000 steps of 43 M synapses, is out of
its reach on CPU).

Examples
--------
>>> from hdsnn.models import bernoulli_patterns, linearised_synapses
>>> from hdsnn.learning import neuron_margin_init
>>> P = bernoulli_patterns(1, 40, 50, 0.02, seed=1)
>>> start = linearised_synapses(neuron_margin_init(P, D=10, progress=False).synapses, "lif_conductance")
>>> res = neuron_bptt(P, start, NeuronTrainConfig(neuron="lif_conductance", epochs=2), D=10, progress=False)
>>> len(res.history), res.best_f1 >= res.history[0]["f1"]
(3, True)
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from hdsnn.config import NetworkConfig, Record, TrialConfig, param
from hdsnn.models import SynapseList, make_trials, threshold_distance, tolerant_score
from hdsnn.models.brian2.neurons import NEURON_MODELS, synapse_delays, trial_steps
from hdsnn.models.neurons import initial_state, model_parameters, replica_of
from hdsnn.models.replica import free_flags, synaptic_jumps
from hdsnn.validation import check_raster

from .bptt import f1_loss
from .checkpoint import check_resumable, epoch_end, load_checkpoint, optimizer_state, save_checkpoint
from .surrogate import SURROGATES, Surrogate

__all__ = ["NeuronTrainConfig", "NeuronTrainResult", "neuron_bptt", "closed_loop", "NetworkPlan", "network_plan",
           "jump_matrices", "trial_protocol", "with_weights", "check_training_inputs"]


@dataclass(frozen=True)
class NeuronTrainConfig(Record):
    """Options of :func:`neuron_bptt`.

    Examples
    --------
    >>> NeuronTrainConfig(neuron="adex").surrogate
    'triangle'
    >>> NeuronTrainConfig(neuron="hh")
    Traceback (most recent call last):
    ...
    ValueError: neuron must be one of 'lif_current', 'lif_conductance', 'adex', 'izhikevich'; got 'hh'
    """

    neuron: str = param("lif_conductance", "neuron model trained in", choices=tuple(NEURON_MODELS))
    epochs: int = param(50, "passes over the patterns", minimum=0)
    lr: float = param(1e-3, "Adam's step (weight units)", minimum=0.0, open_min=True)
    surrogate: str = param("triangle", "pseudo-derivative of the spike", choices=tuple(SURROGATES))
    alpha: float = param(5.0, "sharpness: width 1/alpha of the distance from rest to threshold", minimum=0.0,
                         open_min=True)
    batch_patterns: int | None = param(None, "patterns per update (default: all)", minimum=1)
    delay_shift_ms: float = param(0.1, "every delay shortened by this, as the simulators run it", minimum=0.0,
                                  unit="ms")
    dt_ms: float = param(0.1, "integration step", minimum=0.0, maximum=1.0, open_min=True, unit="ms")
    trigger_steps: int | None = param(None, "the clamp in ms (default D)", minimum=1)
    seed: int = param(0, "seed of the minibatch order", minimum=0)
    checkpoint_every: int = param(5, "epochs between checkpoints (with run_dir)", minimum=1)
    max_seconds: float | None = param(None, "time budget (default: none)", minimum=0.0, open_min=True, unit="s")


@dataclass(frozen=True)
class NeuronTrainResult:
    """Result of :func:`neuron_bptt`: the ``synapses`` with the best weights, the ``last`` ones, the
    ``history`` (per epoch ``f1``, ``f1_exact``, ``loss``, ``seconds``; entry 0 the start), ``best_f1``
    (pooled, ±1 ms), ``epochs_run``, ``seconds``, ``config`` and the ``recall_options`` that replay it."""

    synapses: SynapseList
    last: SynapseList
    history: list
    best_f1: float
    epochs_run: int
    seconds: float
    config: NeuronTrainConfig
    recall_options: dict


class _StraightSpike(torch.autograd.Function):
    """The model's own spikes forward, the surrogate's derivative backward (0 while refractory)."""

    @staticmethod
    def forward(ctx, x, hard, ok, surrogate):
        ctx.save_for_backward(x, ok)
        ctx.surrogate = surrogate
        return hard.to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, ok = ctx.saved_tensors
        return grad * ctx.surrogate.derivative(x) * ok.to(grad.dtype), None, None, None


@dataclass
class NetworkPlan:
    """What the closed loop needs besides the weights: lags, variables, unit jumps, protocol."""

    neuron: str
    N: int
    steps: int
    S: int
    lags: torch.Tensor          # (L,) distinct lags (steps)
    lag_index: torch.Tensor     # (S_syn,)
    post: torch.Tensor
    pre: torch.Tensor
    var_pos: int
    var_neg: int
    unit_pos: float             # jump of a weight +1 (into var_pos)
    unit_neg: float             # jump of a weight -1 (into var_neg; with one variable, -unit_pos)
    theta: float                # distance from rest to threshold (V)
    dt: float


def network_plan(synapses: SynapseList, neuron: str, T: int, cfg, beta: float) -> NetworkPlan:
    """The lags, variables and unit jumps of ``synapses`` in ``neuron`` (``cfg``: ``dt_ms``, ``delay_shift_ms``)."""
    dt = cfg.dt_ms * 1e-3
    lag = (synapse_delays(synapses, cfg.delay_shift_ms) / dt + 0.5).astype(np.int64)
    lags, index = np.unique(lag, return_inverse=True)
    probe = SynapseList(np.zeros(2, np.int32), np.zeros(2, np.int32), np.ones(2, np.int32),
                        np.array([1.0, -1.0], np.float32), 1, 1)
    var, jump = synaptic_jumps(neuron, probe, 1.0, beta)
    return NetworkPlan(neuron, synapses.N, trial_steps(T, cfg.dt_ms), int(round(1.0 / cfg.dt_ms)), torch.from_numpy(lags),
                 torch.from_numpy(index.reshape(-1)), torch.from_numpy(synapses.post.astype(np.int64)),
                 torch.from_numpy(synapses.pre.astype(np.int64)), int(var[0]), int(var[1]), float(jump[0]),
                 float(jump[1]), threshold_distance(neuron, beta), dt)


def jump_matrices(w: torch.Tensor, plan: NetworkPlan, V: int) -> torch.Tensor:
    """``(V, L, N, N)``: the jump into variable ``v`` of neuron ``post`` per source spike of ``pre`` at lag ``l``."""
    out = torch.zeros(V, plan.lags.numel(), plan.N, plan.N, dtype=w.dtype)
    where = (plan.lag_index, plan.post, plan.pre)
    if plan.var_pos == plan.var_neg:                    # one synaptic variable: linear in the weight
        return out.index_put((torch.full_like(plan.post, plan.var_pos), *where), w * plan.unit_pos, accumulate=True)
    out = out.index_put((torch.full_like(plan.post, plan.var_pos), *where), torch.relu(w) * plan.unit_pos,
                        accumulate=True)
    return out.index_put((torch.full_like(plan.post, plan.var_neg), *where), torch.relu(-w) * plan.unit_neg,
                         accumulate=True)


def closed_loop(w: torch.Tensor, plan: NetworkPlan, cue: torch.Tensor, free: torch.Tensor, beta: float,
                surrogate: Surrogate | None = None) -> torch.Tensor:
    """Spikes ``(B, N, steps)`` of the closed loop (float; differentiable in ``w`` with a surrogate).

    ``cue`` ``(steps, B, N)``: the input spikes by step; ``free`` ``(B, steps)``: the clamp's flags.
    """
    model, replica = replica_of(plan.neuron)
    p = model_parameters(model, beta)
    V = len(replica.synaptic)
    B = cue.shape[1]
    Wm = jump_matrices(w, plan, V)
    state = initial_state(model, B, plan.N, dtype=w.dtype)
    zero = torch.zeros(B, plan.N, dtype=w.dtype)
    spike = None
    if surrogate is not None:
        theta = plan.theta

        def spike(x, hard, ok):
            return _StraightSpike.apply(x / theta, hard, ok, surrogate)
    sources, out = [], []
    lags = plan.lags.tolist()
    for n in range(plan.steps):
        hist = [sources[n - 1 - lag] if n - 1 - lag >= 0 else zero for lag in lags]
        J = torch.einsum("vlpq,lbq->vbp", Wm, torch.stack(hist))
        state, s = replica.step(state, J, p, dt=plan.dt, free=free[:, n, None], spike=spike)
        s = s.to(w.dtype)
        out.append(s)
        sources.append(s + cue[n])
    return torch.stack(out, dim=2)


def trial_protocol(targets, D: int, cfg, plan: NetworkPlan):
    """The default trial of ``targets`` as the replica runs it: ``cue`` ``(steps, B, N)`` and ``free`` ``(B, steps)``."""
    trials = make_trials(targets, D, TrialConfig(trigger_steps=cfg.trigger_steps))
    B, N, L = trials.inputs.shape
    if L != targets.shape[2]:
        raise ValueError("neuron_bptt runs the default trial (no pretime or posttime)")
    free = torch.as_tensor(free_flags(trials.clamp.numpy(), plan.steps, plan.dt, cfg.delay_shift_ms * 1e-3))
    cue = torch.zeros(plan.steps, B, N, dtype=torch.float64)
    b, i, t = np.nonzero(trials.inputs.numpy())
    cue[((t * 1e-3 + 1e-3 * plan.dt) / plan.dt).astype(np.int64), b, i] = 1.0
    return cue, free.to(torch.float64)


def _raster(s: torch.Tensor, S: int, T: int) -> torch.Tensor:
    B, N, steps = s.shape
    return s[:, :, :T * S].reshape(B, N, T, S).sum(-1)


def with_weights(syn: SynapseList, w: torch.Tensor) -> SynapseList:
    """``syn`` with the weights ``w`` (float32), its delays kept."""
    return SynapseList(syn.post, syn.pre, syn.delay_steps, w.detach().to(torch.float32).numpy(), syn.N, syn.D,
                       delay_ms=syn.delay_ms)


def check_training_inputs(targets, synapses, config, record: type, D: int, net):
    """The checks shared by the learners in a neuron's own dynamics: ``(targets, config, beta)``."""
    cfg = config if config is not None else record()
    if not isinstance(cfg, record):
        raise ValueError(f"config must be a {record.__name__}; got {type(cfg).__name__}")
    if not isinstance(synapses, SynapseList):
        raise ValueError(f"synapses must be a SynapseList; got {type(synapses).__name__}")
    targets = check_raster("targets", targets)
    M, N, T = targets.shape
    if synapses.N != N:
        raise ValueError(f"synapses are for N={synapses.N} neurons but targets have N={N}")
    if not 1 <= D < T:
        raise ValueError(f"D must be in [1, T-1={T - 1}]; got {D}")
    if net is not None and not isinstance(net, NetworkConfig):
        raise ValueError(f"net must be a NetworkConfig; got {type(net).__name__}")
    return targets, cfg, (net if net is not None else NetworkConfig()).beta


def neuron_bptt(targets, synapses: SynapseList, config: NeuronTrainConfig | None = None, *, D: int = 41,
                net: NetworkConfig | None = None, run_dir=None, resume: bool = False,
                progress: bool | None = None) -> NeuronTrainResult:
    """Fine-tune the weights of ``synapses`` by closed-loop BPTT in ``config.neuron`` (module docstring).

    Parameters
    ----------
    targets : bool array ``(M, N, T)``
    synapses : SynapseList
        The start (weights in the model's ``on_pre`` units at efficacy 1; delays kept).
    config : NeuronTrainConfig, optional
    D : int
        The trigger window (ms); the free run ``t >= D`` is scored.
    net : NetworkConfig, optional
        Its ``beta`` sets ``tau_m`` (as for the simulators).
    run_dir : path, optional
        Folder of ``checkpoint.npz`` (every ``checkpoint_every`` epochs, atomic, no pickle).
    resume : bool
        Continue from the checkpoint in ``run_dir`` (refused if its settings differ).
    progress : bool or None

    Raises
    ------
    ValueError
        Bad targets, synapses, config or D, naming the argument.
    """
    start_time = time.perf_counter()
    targets, cfg, beta = check_training_inputs(targets, synapses, config, NeuronTrainConfig, D, net)
    M, N, T = targets.shape
    plan = network_plan(synapses, cfg.neuron, T, cfg, beta)
    cue, free = trial_protocol(targets, D, cfg, plan)
    surrogate = Surrogate(cfg.surrogate, cfg.alpha)
    w = torch.as_tensor(synapses.weight, dtype=torch.float64).clone().requires_grad_(True)
    optimizer = torch.optim.Adam([w], lr=cfg.lr)
    generator = torch.Generator().manual_seed(cfg.seed)
    batch = M if cfg.batch_patterns is None else min(cfg.batch_patterns, M)

    def evaluate(s, rows):
        raster = _raster(s.detach(), plan.S, T) > 0.5
        return tolerant_score(targets[rows], raster, D, 1), tolerant_score(targets[rows], raster, D, 0)

    identity = {"config": {k: v for k, v in cfg.to_dict().items() if k != "max_seconds"}, "beta": beta, "D": D,
                "targets_sum": int(targets.sum()), "synapses": len(synapses),
                "weights_sum": float(np.float64(synapses.weight).sum())}
    ckpt = Path(run_dir) / "checkpoint.npz" if run_dir is not None else None
    history, epoch = [], 0
    if resume and ckpt is not None and ckpt.exists():
        state = load_checkpoint(ckpt)
        check_resumable(state, identity, ckpt)
        with torch.no_grad():
            w.copy_(state["W"])
        optimizer.load_state_dict(optimizer_state(optimizer, state["optimizer"]))
        generator.set_state(state["rng_state"])
        best_w, best_f1 = state["best_W"].clone(), float(state["meta"]["best_f1"])
        history, epoch = state["meta"]["history"], state["epoch"]
    else:
        with torch.no_grad():
            s = closed_loop(w, plan, cue, free, beta)
        wide, exact = evaluate(s, torch.arange(M))
        history.append({"epoch": 0, "f1": wide.pooled()["f1"], "f1_exact": exact.pooled()["f1"], "loss": None,
                        "seconds": 0.0})
        best_w, best_f1 = w.detach().clone(), history[0]["f1"]
    bar = tqdm(total=cfg.epochs, initial=epoch, desc=f"bptt in {cfg.neuron}", unit="epoch",
               disable=None if progress is None else not progress)
    while epoch < cfg.epochs and best_f1 < 1.0:
        epoch += 1
        t0 = time.perf_counter()
        order = torch.randperm(M, generator=generator) if batch < M else torch.arange(M)
        losses = []
        for first in range(0, M, batch):
            rows = order[first:first + batch]
            optimizer.zero_grad(set_to_none=True)
            s = closed_loop(w, plan, cue[:, rows], free[rows], beta, surrogate)
            loss = f1_loss(_raster(s, plan.S, T)[:, :, D:], targets[rows][:, :, D:])
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
        with torch.no_grad():                           # the F1 of the weights after the epoch
            s = closed_loop(w, plan, cue, free, beta)
        wide, exact = evaluate(s, torch.arange(M))
        f1 = wide.pooled()["f1"]
        history.append({"epoch": epoch, "f1": f1, "f1_exact": exact.pooled()["f1"], "loss": float(np.mean(losses)),
                        "seconds": time.perf_counter() - t0})
        if f1 > best_f1:
            best_f1, best_w = f1, w.detach().clone()
        bar.update(1)
        bar.set_postfix(f1=f"{f1:.4f}", best=f"{best_f1:.4f}")
        save_now, out_of_time = epoch_end(cfg, epoch, best_f1 >= 1.0, start_time)
        if save_now and ckpt is not None:
            ckpt.parent.mkdir(parents=True, exist_ok=True)
            save_checkpoint(ckpt, W=w, best_W=best_w, optimizer=optimizer, generator=generator, epoch=epoch,
                            meta={**identity, "history": history, "best_f1": best_f1})
        if out_of_time:
            break
    bar.close()
    options = {"neuron": cfg.neuron, "efficacy": 1.0, "delay_shift_ms": cfg.delay_shift_ms, "dt_ms": cfg.dt_ms}
    return NeuronTrainResult(with_weights(synapses, best_w), with_weights(synapses, w), history, best_f1, epoch,
                             time.perf_counter() - start_time, cfg, options)
