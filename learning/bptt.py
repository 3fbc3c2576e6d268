"""Closed-loop surrogate-gradient training of the delay tensor (backpropagation through time).

Each epoch, every pattern's trigger window is clamped and the network runs
freely on its own spikes for the rest of the pattern (:func:`delay_lif_counts`,
dropout on the synaptic currents); the loss compares the free-run spikes
(``t >= D``) with the target:

    loss = 1 - F1 = 1 - 2 TP / (2 TP + FP + FN),   TP = sum s * y,  FP = sum s * (1 - y),  FN = sum (1 - s) * y

pooled over the patterns of the batch. The spikes ``s`` are the hard spikes
of the forward pass, so the loss is the exact ``1 - F1`` of the training run;
its gradient reaches ``W`` through the surrogate. After every epoch the
weights are evaluated in eval mode (hard threshold, no dropout) with
:func:`hdsnn.models.simulate` and :func:`hdsnn.models.scores.score`; training stops
early once the pooled F1 reaches ``stop_f1``.

Memory: the weights are held as one tensor in the layout ``[pre, delay-1, post]``
of the lean network function (``W`` is a view of it), which therefore copies
nothing weight-sized; the function returns the two counts of the loss per
trial, so that neither a float spike raster nor its gradient is ever
materialised; what is kept between the passes is the spikes (bits), the
membrane potentials and the dropout mask (bits). ``benchmarks/bench_bptt.py``
measures it against the naive formulation.

Learning rate: linear warm-up over ``warmup`` epochs, then a cosine decay to
``lr_min`` at the last epoch.
"""
from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from hdsnn.config import NetworkConfig, Record, TrialConfig, param
from hdsnn.io import folder_lock, save_figure, write_json
from hdsnn.models.scores import score
from hdsnn.validation import check_device, check_int, check_raster, check_real, check_weights

from .checkpoint import check_resumable, epoch_end, load_checkpoint, optimizer_state, save_checkpoint
from .delay_lif import BACKWARD_BLOCK, delay_lif_counts
from .hebbian import DEFAULT_GAIN, hebbian_init
from .surrogate import SURROGATES, Surrogate
from .training_figure import plot_training

__all__ = ["TrainConfig", "TrainResult", "train", "f1_loss", "f1_loss_from_counts", "learning_rate", "check_trainer_inputs"]

OPTIMIZERS = ("adamw", "sgd")
INITS = ("hebbian", "random")


@dataclass(frozen=True)
class TrainConfig(Record):
    """Settings of BPTT training.

    Parameters
    ----------
    epochs : int
        Maximum number of epochs (>= 1); one epoch is one pass over all patterns.
    batch_size : int or None
        Patterns per gradient step (None: all patterns, one step per epoch).
    optimizer : {'adamw', 'sgd'}
        AdamW, or SGD with (Nesterov-free) momentum.
    lr : float
        Peak learning rate (> 0).
    lr_min : float
        Learning rate at the end of the cosine decay (>= 0).
    warmup : int
        Epochs of linear warm-up (>= 0).
    momentum : float
        SGD momentum in [0, 1).
    weight_decay : float
        Decoupled weight decay (AdamW) or L2 penalty (SGD), >= 0.
    dropout : float
        Dropout probability on the synaptic currents during training, in [0, 1) (paper: 0.37).
    clip : float or None
        Maximum norm of the gradient (None: no clipping).
    surrogate : {'fast_sigmoid', 'arctan', 'triangle'}
        Pseudo-derivative of the threshold.
    alpha : float
        Sharpness of the surrogate (> 0; paper's code 15, its sweep found 10 best).
    init : {'hebbian', 'random'}
        Initial weights when none are given.
    gain : float
        Gain of the Hebbian initialisation (> 0).
    init_std : float
        Standard deviation of the random initialisation, in units of ``theta / sqrt(N * D * p)`` (> 0).
    stop_f1 : float or None
        Stop once the eval-mode pooled F1 reaches this value (None: run every epoch).
    checkpoint_every : int
        Write a checkpoint every this many epochs (>= 1), and at the end.
    eval_max_rate : float or None
        Runaway guard of the eval-mode simulation.
    train_max_rate : float or None
        Runaway guard of the training runs (the same rule): a trial whose
        activity runs away is silenced from then on, which bounds the cost of
        an epoch; its silenced steps count as missed spikes and carry no gradient.
    block : int
        Steps per block of the backward pass (see :func:`delay_lif`).
    seed : int
        Seed of the random initialisation, the pattern order and the dropout masks.
    max_seconds : float or None
        Stop after the epoch during which this wall time (of the call) was passed; the
        checkpoint is written then, so that the run can be resumed (None: no limit).
    device : str
        ``'cpu'`` or ``'cuda'``.

    Examples
    --------
    >>> TrainConfig(lr=1e-3).optimizer
    'adamw'
    """

    epochs: int = param(200, "maximum number of epochs", minimum=1)
    batch_size: int | None = param(None, "patterns per gradient step (default: all)", minimum=1)
    optimizer: str = param("adamw", "optimizer", choices=OPTIMIZERS)
    lr: float = param(2e-3, "peak learning rate", minimum=0.0, open_min=True)
    lr_min: float = param(0.0, "learning rate at the end of the cosine decay (<= lr)", minimum=0.0)
    warmup: int = param(5, "epochs of linear warm-up", minimum=0)
    momentum: float = param(0.99, "SGD momentum", minimum=0.0, maximum=1.0, open_max=True)
    weight_decay: float = param(0.0, "weight decay", minimum=0.0)
    dropout: float = param(0.37, "dropout on synaptic currents", minimum=0.0, maximum=1.0, open_max=True)
    clip: float | None = param(1.0, "maximum gradient norm (default: no clipping)", minimum=0.0, open_min=True)
    surrogate: str = param("fast_sigmoid", "surrogate derivative of the threshold", choices=tuple(SURROGATES))
    alpha: float = param(15.0, "sharpness of the surrogate", minimum=0.0, open_min=True)
    init: str = param("hebbian", "initialisation rule when no weights are given", choices=INITS)
    gain: float = param(DEFAULT_GAIN, "Hebbian gain of the initialisation", minimum=0.0, open_min=True)
    init_std: float = param(1.0, "std of the random initialisation, in theta / sqrt(N D p)", minimum=0.0,
                            open_min=True)
    stop_f1: float | None = param(1.0, "stop at this eval-mode pooled F1 (default: run every epoch)",
                                  minimum=0.0, maximum=1.0)
    checkpoint_every: int = param(5, "epochs between checkpoints", minimum=1)
    eval_max_rate: float | None = param(0.05, "runaway guard of the eval-mode recall", minimum=0.0, maximum=1.0,
                                        open_min=True)
    train_max_rate: float | None = param(0.05, "runaway guard of the training runs", minimum=0.0, maximum=1.0,
                                         open_min=True)
    block: int = param(BACKWARD_BLOCK, "steps per block of the backward pass", minimum=1)
    seed: int = param(0, "seed of initialisation, order and dropout", minimum=0)
    max_seconds: float | None = param(None, "stop after the epoch that passes this wall time (default: none)",
                                      minimum=0.0, open_min=True, unit="s")
    device: str = param("cpu", "torch device: cpu or cuda")

    def _check(self):
        if self.lr_min > self.lr:
            raise ValueError(f"lr_min must be in [0.0, {self.lr}]; got {self.lr_min}")
        check_device("device", self.device)


@dataclass(frozen=True)
class TrainResult:
    """Outcome of :func:`train`.

    Attributes
    ----------
    W : torch.Tensor
        Weights after the last epoch run (float32 ``(N, N, D)``, CPU).
    best_W : torch.Tensor
        Weights of the epoch with the best eval-mode pooled F1 (the initial weights count as epoch 0).
    best_f1 : float
    epochs : int
        Epochs run in total (resumed epochs included).
    history : list of dict
        One record per evaluated epoch (epoch 0 is the initialisation).
    seconds : float
        Wall time of this call.
    """

    W: torch.Tensor
    best_W: torch.Tensor
    best_f1: float
    epochs: int
    history: list
    seconds: float


def f1_loss(spikes: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``1 - F1`` from soft counts, pooled over everything given.

    ``TP = sum(s * y)``, ``FP = sum(s * (1 - y))``, ``FN = sum((1 - s) * y)``; the
    loss is 0 when both are empty.

    Examples
    --------
    >>> s = torch.tensor([1.0, 1.0, 0.0, 0.0]); y = torch.tensor([True, False, True, False])
    >>> f1_loss(s, y).item()
    0.5
    """
    y = target.to(device=spikes.device, dtype=torch.bool)
    tp = spikes.masked_select(y).sum()              # autograd keeps the bool mask, not a float copy
    total = spikes.sum() + y.sum()                  # 2 TP + FP + FN
    if float(total.detach()) == 0.0:
        return spikes.sum() * 0.0
    return 1.0 - 2.0 * tp / total


def f1_loss_from_counts(counts: torch.Tensor, n_target) -> torch.Tensor:
    """``1 - F1`` from the per-trial counts ``[TP, S]`` of :func:`delay_lif_counts`, pooled.

    ``2 TP + FP + FN = S + n_target`` where ``n_target`` is the number of target spikes
    scored; the loss is 0 when both are zero.

    Examples
    --------
    >>> f1_loss_from_counts(torch.tensor([[1.0, 2.0]]), 2).item()     # TP 1, FP 1, FN 1
    0.5
    """
    tp, fired = counts[:, 0].sum(), counts[:, 1].sum()
    total = fired + float(n_target)
    if float(total.detach()) == 0.0:
        return fired * 0.0
    return 1.0 - 2.0 * tp / total


def learning_rate(config: TrainConfig, epoch: int) -> float:
    """Learning rate of ``epoch`` (1-based): linear warm-up, then cosine decay to ``lr_min``.

    Examples
    --------
    >>> c = TrainConfig(lr=1.0, warmup=2, epochs=12)
    >>> [round(learning_rate(c, e), 3) for e in (1, 2, 3, 12)]
    [0.5, 1.0, 1.0, 0.024]
    """
    if epoch <= config.warmup:
        return config.lr * epoch / config.warmup
    span = max(1, config.epochs - config.warmup)
    progress = (epoch - config.warmup - 1) / span
    return config.lr_min + 0.5 * (config.lr - config.lr_min) * (1.0 + math.cos(math.pi * progress))


def _digest(tensor: torch.Tensor) -> str:
    return hashlib.sha256(tensor.detach().cpu().contiguous().numpy().tobytes()).hexdigest()[:16]


def _initial_weights(targets, W0, config: TrainConfig, net: NetworkConfig):
    if W0 is not None:
        return check_weights("W0", W0, N=net.N).detach().to(torch.float32).clone()
    if config.init == "hebbian":
        return hebbian_init(targets, D=net.D, beta=net.beta, gain=config.gain)
    p = float(targets.float().mean())
    g = torch.Generator().manual_seed(config.seed)
    std = config.init_std * net.theta / math.sqrt(net.N * net.D * max(p, 1e-12))
    return torch.randn(net.N, net.N, net.D, generator=g) * std


def _optimizer(W, config: TrainConfig):
    if config.optimizer == "adamw":
        # fused: one kernel, no weight-sized temporaries (the unfused step allocates two)
        return torch.optim.AdamW([W], lr=config.lr, weight_decay=config.weight_decay, fused=True)
    return torch.optim.SGD([W], lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)


def _evaluate(W, trials, targets, net, config):
    from hdsnn.models import simulate

    sim = simulate(W.detach(), trials.inputs, trials.clamp, net, max_rate=config.eval_max_rate,
                   device=config.device, progress=False)
    recalled = trials.extract(sim.raster)
    D = net.D
    correct = (recalled[:, :, D:] == targets[:, :, D:]).all(dim=1).double().mean(dim=0)   # per step
    return score(targets, recalled, D), int(sim.runaway.sum()), correct


def train(targets, W0=None, config: TrainConfig | None = None, net: NetworkConfig | None = None, *,
          trial: TrialConfig | None = None, mask=None, out=None, resume: bool = False,
          progress: bool | None = None) -> TrainResult:
    """Train the delay weights by closed-loop BPTT with a surrogate gradient.

    Parameters
    ----------
    targets : bool array ``(M, N, T)``
        Patterns to store.
    W0 : float array ``(N, N, D)``, optional
        Initial weights (default: ``config.init``, the Hebbian rule or random).
    config : TrainConfig, optional
    net : NetworkConfig, optional
        Neuron and delays (``N`` is taken from the targets; ``D`` from ``W0`` if given).
    trial : TrialConfig, optional
        Recall protocol of the training and eval trials (default: clamped trigger window, no pretime).
    mask : bool array ``(N, N, D)``, optional
        Entries that learn; the others keep their initial value.
    out : str or Path, optional
        Folder for ``checkpoint.npz``, ``history.json`` and the figure ``training.png``/``.svg``;
        locked while the run lasts (a second run on the same folder is refused).
    resume : bool
        Continue from ``out/checkpoint.npz`` if it exists (same targets and configuration required).
    progress : bool or None
        Progress bar with loss and F1 (None: on a terminal only).

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> from hdsnn.models import bernoulli_patterns
    >>> P = bernoulli_patterns(M=2, N=48, T=80, p_A=0.02, seed=0)
    >>> r = train(P, config=TrainConfig(epochs=3, dropout=0.0), net=NetworkConfig(N=48, D=9), progress=False)
    >>> r.W.shape, len(r.history) >= 2
    (torch.Size([48, 48, 9]), True)
    """
    if out is None:
        return _train(targets, W0, config, net, trial=trial, mask=mask, out=None, resume=resume, progress=progress)
    with folder_lock(out):
        return _train(targets, W0, config, net, trial=trial, mask=mask, out=out, resume=resume, progress=progress)


def check_trainer_inputs(targets, config, record: type, net):
    """The checked inputs of a closed-loop trainer: ``(targets, config, net)``.

    ``config`` defaults to ``record()`` and must be an instance of ``record``; ``net``
    defaults to a :class:`~hdsnn.config.NetworkConfig` of the targets' N.

    Raises
    ------
    ValueError
        Targets that are not a bool raster ``(M, N, T)``, or a config or net of another type.

    Examples
    --------
    >>> check_trainer_inputs(torch.zeros(1, 3, 5, dtype=torch.bool), None, TrainConfig, None)[2].N
    3
    >>> check_trainer_inputs(torch.zeros(1, 3, 5, dtype=torch.bool), {}, TrainConfig, None)
    Traceback (most recent call last):
    ...
    ValueError: config must be a TrainConfig; got dict
    """
    targets = check_raster("targets", targets)
    config = config if config is not None else record()
    if not isinstance(config, record):
        raise ValueError(f"config must be a {record.__name__}; got {type(config).__name__}")
    base = net if net is not None else NetworkConfig(N=targets.shape[1])
    if not isinstance(base, NetworkConfig):
        raise ValueError(f"net must be a NetworkConfig; got {type(base).__name__}")
    return targets, config, base


def _train(targets, W0=None, config: TrainConfig | None = None, net: NetworkConfig | None = None, *,
          trial: TrialConfig | None = None, mask=None, out=None, resume: bool = False,
          progress: bool | None = None) -> TrainResult:
    """The body of :func:`train` (the run folder already locked)."""
    from hdsnn.models import make_trials

    start_time = time.perf_counter()
    targets, config, base = check_trainer_inputs(targets, config, TrainConfig, net)
    M, N, T = targets.shape
    D = check_weights("W0", W0, N=N).shape[2] if W0 is not None else base.D
    net = replace(base, N=N, D=D)
    if D >= T:
        raise ValueError(f"D ({D} delays) must be smaller than T ({T} steps per pattern)")
    batch = M if config.batch_size is None else min(config.batch_size, M)
    device = torch.device(config.device)
    trials = make_trials(targets, D, trial)
    W_init = _initial_weights(targets, W0, config, net)
    if mask is not None:
        mask = torch.as_tensor(mask)
        if tuple(mask.shape) != (N, N, D):
            raise ValueError(f"mask must have the shape of W, (N={N}, N={N}, D={D}); got {tuple(mask.shape)}")
        mask = check_raster("mask", mask.reshape(N, N * D), ndim=2).reshape(N, N, D)
        mask = mask.to(device).permute(1, 2, 0)
    # The parameter is held in the layout [pre, delay-1, post] of delay_lif, so that neither pass
    # copies it; W is a view of it in the package's layout [post, pre, delay-1].
    P = W_init.permute(1, 2, 0).contiguous().to(device).requires_grad_(True)
    W = P.permute(2, 0, 1)
    frozen = W_init.to(device).permute(1, 2, 0)
    optimizer = _optimizer(P, config)
    generator = torch.Generator().manual_seed(config.seed)
    surrogate = Surrogate(config.surrogate, config.alpha)
    out = Path(out) if out is not None else None
    settings = {k: v for k, v in config.to_dict().items() if k != "max_seconds"}   # a time limit may change
    identity = {"config": settings, "network": net.to_dict(),
                "trial": (trial or TrialConfig()).to_dict(), "targets_sha256": _digest(targets),
                "W0_sha256": _digest(W_init), "mask_sha256": None if mask is None else _digest(mask),
                "layout": "parameter [pre, delay-1, post]"}

    history: list = []
    best_f1, best_W, epoch = -1.0, W_init.clone(), 0
    ckpt = None if out is None else out / "checkpoint.npz"
    if resume and ckpt is not None and ckpt.exists():
        state = load_checkpoint(ckpt)
        check_resumable(state, identity, ckpt)
        with torch.no_grad():
            W.copy_(state["W"].to(device))            # through the view: P takes them
        optimizer.load_state_dict(optimizer_state(optimizer, state["optimizer"], device))
        generator.set_state(state["rng_state"])
        best_W, best_f1 = state["best_W"].clone(), float(state["meta"]["best_f1"])
        history, epoch = state["meta"]["history"], state["epoch"]
    else:
        scores, runaway, correct = _evaluate(W, trials, targets, net, config)
        history.append(_record(0, None, 0.0, scores, runaway, correct, 0.0))
        best_f1 = scores.pooled()["f1"]

    def checkpoint():
        if ckpt is not None:
            save_checkpoint(ckpt, W=W, best_W=best_W, optimizer=optimizer, generator=generator, epoch=epoch,
                            meta={**identity, "history": history, "best_f1": best_f1})

    done = config.stop_f1 is not None and history[-1]["f1"] >= config.stop_f1
    bar = tqdm(total=config.epochs, initial=epoch, desc="bptt", unit="epoch", disable=_quiet(progress))
    bar.set_postfix(f1=f"{history[-1]['f1']:.4f}")
    inputs, clamp = trials.inputs.to(device), trials.clamp.to(device)
    aligned, scored = scored_targets(trials, targets, D)                # the free run of each pattern
    aligned, scored = aligned.to(device), scored.to(device)
    n_target = targets[:, :, D:].sum(dim=(1, 2))
    while not done and epoch < config.epochs:
        epoch += 1
        t0 = time.perf_counter()
        lr = learning_rate(config, epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        order = torch.randperm(M, generator=generator) if batch < M else torch.arange(M)
        losses = []
        for first in range(0, M, batch):
            rows = order[first: first + batch]
            B, L = len(rows), inputs.shape[2]
            keep = None
            if config.dropout > 0:
                keep = (torch.rand(B, N, L, generator=generator) >= config.dropout).to(device)
            optimizer.zero_grad(set_to_none=True)        # no gradient kept through the forward pass
            dev_rows = rows.to(device)
            counts = delay_lif_counts(P.permute(2, 0, 1), inputs[dev_rows], aligned[dev_rows], scored[dev_rows],
                                      clamp[dev_rows], net, surrogate, keep=keep, dropout=config.dropout,
                                      block=config.block, max_rate=config.train_max_rate)
            loss = f1_loss_from_counts(counts, n_target[rows].sum())
            loss.backward()
            if mask is not None:
                    P.grad.mul_(mask)
            if config.clip is not None:
                torch.nn.utils.clip_grad_norm_([P], config.clip)
            optimizer.step()
            if mask is not None:
                with torch.no_grad():
                    P.copy_(torch.where(mask, P, frozen))
            losses.append(float(loss.detach()))
        scores, runaway, correct = _evaluate(W, trials, targets, net, config)
        history.append(_record(epoch, float(np.mean(losses)), lr, scores, runaway, correct,
                               time.perf_counter() - t0))
        f1 = history[-1]["f1"]
        if f1 > best_f1:
            best_f1, best_W = f1, W.detach().cpu().contiguous()
        done = config.stop_f1 is not None and f1 >= config.stop_f1
        bar.update(1)
        bar.set_postfix(loss=f"{history[-1]['loss']:.4f}", f1=f"{f1:.4f}")
        save_now, out_of_time = epoch_end(config, epoch, done, start_time)
        if save_now:
            checkpoint()
        if out_of_time:
            break
    bar.close()
    if out is not None:

        write_json(out / "history.json", {**identity, "history": history, "best_f1": best_f1,
                                          "epochs": epoch})
        save_figure(plot_training(history, D=D), out / "training")
    return TrainResult(W.detach().cpu().contiguous(), best_W.detach().cpu().clone(), best_f1, epoch, history,
                       time.perf_counter() - start_time)


def scored_targets(trials, targets, D):
    """Targets at their place in the trials, and the scored steps: the free run ``onset+D .. onset+T-1``."""
    M, N, T = targets.shape
    L = trials.inputs.shape[2]
    aligned = torch.zeros(M, N, L, dtype=torch.bool)
    scored = torch.zeros(M, L, dtype=torch.bool)
    for m in range(M):
        start = trials.onsets[m][1]
        aligned[m, :, start + D: start + T] = targets[m, :, D:]
        scored[m, start + D: start + T] = True
    return aligned, scored


def _record(epoch, loss, lr, scores, runaway, correct, seconds) -> dict:
    pooled = scores.pooled()
    return {"epoch": epoch, "loss": loss, "lr": lr, **pooled, "runaway": runaway, "seconds": seconds,
            "correct_steps": [round(float(c), 4) for c in correct]}


def _quiet(progress):
    return None if progress is None else not progress
