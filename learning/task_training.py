"""BPTT for the task network: cross-entropy at the decision window, a branching-factor penalty.

The loss of a batch of trials, with ``n[t] = sum_{b,i} z_bi[t]`` the population
spike count of the batch at step ``t`` (DelayNet's regulariser, which pushes
the network towards a branching factor of 1, activity neither dying out nor
exploding)::

    loss = CE(softmax(mean_{t in window} y[t]), label) + lambda * mean_t (n[t] - n[t-1])^2

The spikes are the hard threshold forward, the surrogate's pseudo-derivative
backward (default DelayNet's wide one, ``ramp`` with ``alpha = 1``:
``min(max(u - theta + 1, 0), 1)``). The gradient norm is clipped (default
0.01); a step whose gradient is not finite (BPTT through thousands of steps can
explode) is skipped and counted (``skipped_steps`` in the history). After each
step the parameters are projected into their bounds
(:func:`hdsnn.models.task_network.clamp_parameters`: time constants in
``[tau_min_ms, tau_max_ms]``, threshold above ``theta_min``, input weights
non-negative, no synapse outside the mask).

Optimiser: AdamW. DelayNet used MADGRAD, which is not in ``torch.optim``; its
reference implementation (``madgrad`` on PyPI) is a research release rather
than a maintained library, so it is not a dependency here (the issue's rule:
MADGRAD if a maintained package provides it, otherwise AdamW). The time constants learn
``tau_lr_scale`` times faster than the weights (they are in ms, DelayNet's in
units of 10 ms).

Checkpoints (:mod:`hdsnn.learning.checkpoint`, no pickle) hold every
parameter, the best ones so far, the optimiser and the generator; a run
resumes from ``out/checkpoint.npz``. The best parameters are those of the
epoch with the best accuracy on the validation trials.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from tqdm.auto import tqdm

from hdsnn.config import Record, param
from hdsnn.io import folder_lock, write_json
from hdsnn.models.task_network import (TaskNetworkConfig, TaskParameters, clamp_parameters, init_task_parameters,
                                       run_task_network)
from hdsnn.models.tasks import TaskData

from .checkpoint import check_resumable, epoch_end, load_checkpoint, optimizer_state, save_checkpoint
from .surrogate import SURROGATES, Surrogate, spike

__all__ = ["TaskTrainConfig", "TaskTrainResult", "train_task", "task_loss", "branching_penalty", "evaluate_task"]

LEARNABLE = ("W_in", "W_rec", "bias", "W_out", "bias_out", "tau", "tau_out", "theta")


@dataclass(frozen=True)
class TaskTrainConfig(Record):
    """Settings of task training (defaults: DelayNet's cue-accumulation run, AdamW for MADGRAD).

    Examples
    --------
    >>> TaskTrainConfig().clip, TaskTrainConfig().branching
    (0.01, 0.001)
    """

    epochs: int = param(100, "maximum number of epochs", minimum=1)
    trials_per_epoch: int = param(1024, "fresh training trials per epoch (generated tasks)", minimum=1)
    batch_size: int = param(64, "trials per gradient step", minimum=1)
    lr: float = param(1e-3, "learning rate (AdamW)", minimum=0.0, open_min=True)
    weight_decay: float = param(0.0, "decoupled weight decay", minimum=0.0)
    clip: float | None = param(0.01, "maximum gradient norm (None: no clipping)", minimum=0.0, open_min=True)
    branching: float = param(1e-3, "weight of the branching-factor penalty (0: off)", minimum=0.0)
    surrogate: str = param("ramp", "surrogate derivative of the threshold", choices=tuple(SURROGATES))
    alpha: float = param(1.0, "sharpness of the surrogate", minimum=0.0, open_min=True)
    tau_lr_scale: float = param(10.0, "learning-rate factor of the time constants", minimum=0.0)
    validation_trials: int = param(512, "validation trials (fixed) for the best epoch", minimum=1)
    stop_accuracy: float | None = param(None, "stop once the validation accuracy reaches this", minimum=0.0,
                                        maximum=1.0)
    checkpoint_every: int = param(1, "epochs between checkpoints", minimum=1)
    seed: int = param(0, "seed of the initialisation, the lattice, the trials and the order", minimum=0)
    max_seconds: float | None = param(None, "stop after the epoch that passes this wall time", minimum=0.0,
                                      open_min=True, unit="s")


@dataclass(frozen=True)
class TaskTrainResult:
    """Outcome of :func:`train_task`: last and best parameters, the history, the wall time."""

    params: TaskParameters
    best: TaskParameters
    best_accuracy: float
    epochs: int
    history: list
    seconds: float


def branching_penalty(spikes: torch.Tensor) -> torch.Tensor:
    """``mean_t (n[t] - n[t-1])^2`` with ``n[t]`` the spike count of the batch at step ``t``.

    Examples
    --------
    >>> z = torch.zeros(1, 2, 4); z[0, :, 1] = 1.0            # n = 0, 2, 0, 0
    >>> branching_penalty(z).item()                           # (4 + 4 + 0) / 3
    2.6666667461395264
    """
    n = spikes.sum(dim=(0, 1))
    return torch.diff(n).pow(2).mean()


def task_loss(logits, labels, spikes, branching: float) -> tuple[torch.Tensor, float]:
    """The training loss and its cross-entropy part."""
    ce = torch.nn.functional.cross_entropy(logits, labels)
    loss = ce + branching * branching_penalty(spikes) if branching > 0 else ce
    return loss, float(ce.detach())


@torch.no_grad()
def evaluate_task(params: TaskParameters, data: TaskData, *, batch_size: int = 256) -> dict:
    """Accuracy, cross-entropy, mean rate (Hz) and decisions of the hard-threshold network on ``data``."""
    decisions, ce, spikes = [], 0.0, 0.0
    for first in range(0, len(data), batch_size):
        part = data.subset(slice(first, first + batch_size))
        out = run_task_network(params, part.inputs, window=part.window, dt_ms=part.dt_ms)
        ce += float(torch.nn.functional.cross_entropy(out.logits, part.labels, reduction="sum"))
        spikes += float(out.spikes.sum())
        decisions.append(out.logits.argmax(1))
    decisions = torch.cat(decisions)
    T, N = data.inputs.shape[2], params.W_in.shape[0]
    return {"accuracy": float((decisions == data.labels).double().mean()), "cross_entropy": ce / len(data),
            "rate_hz": spikes / (len(data) * N * T * data.dt_ms * 1e-3), "decisions": decisions}


def _learnable(p: TaskParameters, net: TaskNetworkConfig) -> TaskParameters:
    out = []
    for name, tensor in zip(p._fields, p):
        learn = name in LEARNABLE and (name != "W_in" or net.learn_input) and (name != "W_rec" or net.recurrent)
        out.append(tensor.detach().clone().requires_grad_(learn))
    return TaskParameters(*out)


def _copy(p: TaskParameters) -> TaskParameters:
    return TaskParameters(*[t.detach().clone() for t in p])


def train_task(train_data: TaskData | Callable[[int], TaskData], validation: TaskData,
               net: TaskNetworkConfig | None = None, config: TaskTrainConfig | None = None, *,
               params: TaskParameters | None = None, out=None, resume: bool = False,
               progress: bool | None = None) -> TaskTrainResult:
    """Train the task network by BPTT.

    Parameters
    ----------
    train_data : TaskData or callable
        A fixed training set (shuffled each epoch), or ``make(epoch) -> TaskData``
        giving fresh trials for each epoch (``config.trials_per_epoch`` of them).
    validation : TaskData
        Trials that choose the best epoch (never trained on).
    net : TaskNetworkConfig, optional
    config : TaskTrainConfig, optional
    params : TaskParameters, optional
        Initial parameters (default: :func:`~hdsnn.models.task_network.init_task_parameters`).
    out : path, optional
        Folder for ``checkpoint.npz`` and ``history.json`` (locked during the run).
    resume : bool
        Continue from ``out/checkpoint.npz`` (same settings required).
    progress : bool or None
        A progress bar (None: on a terminal only).

    Raises
    ------
    ValueError
        Records of the wrong type, or data whose channels or classes do not fit the network.

    Examples
    --------
    >>> from hdsnn.models.tasks import cue_accumulation, CueConfig
    >>> cue = CueConfig(n_cues=1, wait_ms=150)
    >>> net = TaskNetworkConfig(n_rec=8, delays="none")
    >>> r = train_task(lambda e: cue_accumulation(8, cue, seed=e), cue_accumulation(8, cue, seed=99), net,
    ...                TaskTrainConfig(epochs=2, trials_per_epoch=8, batch_size=8), progress=False)
    >>> r.epochs, len(r.history)
    (2, 3)
    """
    net = TaskNetworkConfig() if net is None else net
    config = TaskTrainConfig() if config is None else config
    if not isinstance(net, TaskNetworkConfig):
        raise ValueError(f"net must be a TaskNetworkConfig; got {type(net).__name__}")
    if not isinstance(config, TaskTrainConfig):
        raise ValueError(f"config must be a TaskTrainConfig; got {type(config).__name__}")
    if not isinstance(validation, TaskData):
        raise ValueError(f"validation must be a TaskData; got {type(validation).__name__}")
    for name, data in (("validation", validation), ("train_data", train_data)):
        if isinstance(data, TaskData):
            if data.inputs.shape[1] != net.n_in:
                raise ValueError(f"{name} has {data.inputs.shape[1]} input channels but net.n_in={net.n_in}")
            if data.n_classes > net.n_out:
                raise ValueError(f"{name} has {data.n_classes} classes but net.n_out={net.n_out}")
    if out is None:
        return _train(train_data, validation, net, config, params, None, resume, progress)
    with folder_lock(out):
        return _train(train_data, validation, net, config, params, Path(out), resume, progress)


def _train(train_data, validation, net, config, params, out, resume, progress) -> TaskTrainResult:
    start_time = time.perf_counter()
    torch.manual_seed(config.seed)
    p = _learnable(params if params is not None else init_task_parameters(net, seed=config.seed), net)
    learn = [t for t in p if t.requires_grad]
    taus = [t for name, t in zip(p._fields, p) if name in ("tau", "tau_out") and t.requires_grad]
    weights = [t for t in learn if all(t is not s for s in taus)]
    optimizer = torch.optim.AdamW([{"params": weights, "lr": config.lr},
                                   {"params": taus, "lr": config.lr * config.tau_lr_scale}],
                                  lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed)
    surrogate = Surrogate(config.surrogate, config.alpha)
    identity = {"trainer": "task", "network": net.to_dict(),
                "config": {k: v for k, v in config.to_dict().items() if k != "max_seconds"},
                "validation": validation.info}
    history, epoch = [], 0
    ckpt = None if out is None else out / "checkpoint.npz"
    best = _copy(p)
    if resume and ckpt is not None and ckpt.exists():
        state = load_checkpoint(ckpt)
        check_resumable(state, identity, ckpt)
        with torch.no_grad():
            for name, t in zip(p._fields, p):
                t.copy_(state["extra"][name])
        best = TaskParameters(*[state["extra"][f"best.{name}"].clone() for name in p._fields])
        optimizer.load_state_dict(optimizer_state(optimizer, state["optimizer"]))
        generator.set_state(state["rng_state"])
        history, epoch = state["meta"]["history"], state["epoch"]
    else:
        ev = evaluate_task(p, validation)
        history.append({"epoch": 0, "loss": None, "cross_entropy": None, "val_accuracy": ev["accuracy"],
                        "val_cross_entropy": ev["cross_entropy"], "rate_hz": ev["rate_hz"], "seconds": 0.0})
    best_acc = max(h["val_accuracy"] for h in history)

    def checkpoint():
        if ckpt is not None:
            extra = {**dict(zip(p._fields, p)), **{f"best.{k}": v for k, v in zip(best._fields, best)}}
            save_checkpoint(ckpt, W=p.W_rec, best_W=best.W_rec, optimizer=optimizer, generator=generator,
                            epoch=epoch, meta={**identity, "history": history, "best_accuracy": best_acc},
                            extra=extra)

    done = config.stop_accuracy is not None and best_acc >= config.stop_accuracy
    bar = tqdm(total=config.epochs, initial=epoch, desc="task", unit="epoch", disable=None if progress is None
               else not progress)
    while not done and epoch < config.epochs:
        epoch += 1
        t0 = time.perf_counter()
        if isinstance(train_data, TaskData):
            data = train_data.subset(torch.randperm(len(train_data), generator=generator))
        else:
            data = train_data(epoch)
        losses, ces, skipped = [], [], 0
        for first in range(0, len(data), config.batch_size):
            part = data.subset(slice(first, first + config.batch_size))
            optimizer.zero_grad(set_to_none=True)
            output = run_task_network(p, part.inputs, window=part.window, dt_ms=part.dt_ms,
                                      spike_fn=lambda v: spike(v, surrogate))
            loss, ce = task_loss(output.logits, part.labels, output.spikes, config.branching)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_(learn, config.clip if config.clip is not None else math.inf)
            if not bool(torch.isfinite(norm)):          # an exploding BPTT step: skip it, keep the weights
                optimizer.zero_grad(set_to_none=True)
                skipped += 1
                continue
            optimizer.step()
            clamp_parameters(p, net)
            losses.append(float(loss.detach()))
            ces.append(ce)
        ev = evaluate_task(p, validation)
        history.append({"epoch": epoch, "loss": sum(losses) / max(1, len(losses)),
                        "cross_entropy": sum(ces) / max(1, len(ces)), "skipped_steps": skipped,
                        "val_accuracy": ev["accuracy"], "val_cross_entropy": ev["cross_entropy"],
                        "rate_hz": ev["rate_hz"], "tau_ms": float(p.tau.detach().mean()),
                        "theta": float(p.theta.detach().mean()), "seconds": time.perf_counter() - t0})
        if ev["accuracy"] > best_acc:
            best_acc, best = ev["accuracy"], _copy(p)
        done = config.stop_accuracy is not None and best_acc >= config.stop_accuracy
        save_now, out_of_time = epoch_end(config, epoch, done, start_time)
        bar.update(1)
        bar.set_postfix(loss=f"{history[-1]['loss']:.3f}", val=f"{ev['accuracy']:.3f}", rate=f"{ev['rate_hz']:.1f}")
        if save_now:
            checkpoint()
        if out_of_time:
            break
    bar.close()
    if out is not None:
        write_json(out / "history.json", {**identity, "history": history, "best_accuracy": best_acc,
                                          "epochs": epoch})
    return TaskTrainResult(_copy(p), best, best_acc, epoch, history, time.perf_counter() - start_time)
