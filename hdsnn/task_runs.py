"""``hdsnn task NAME``: train the task network on a working-memory task, test it, draw it, write the results.

One run: the task's trials (:mod:`hdsnn.models.tasks`), the network of a
*variant* (:data:`VARIANTS`: DelayNet's lattice delays, or an ablation), BPTT
(:func:`hdsnn.learning.task_training.train_task`), then on fresh test trials
the accuracy, the sweeps (cue accumulation: accuracy against the wait and
against the number of cues, the network trained at the default protocol), the
power spectrum of the population activity and, optionally, the Brian2 replay
of the test trials. It writes ``OUT/<task>[_quick][_<variant>].json`` (at
least ``test_accuracy``, ``chance``, ``trials`` and the settings), the trained
network (``..._network.npz``), the checkpoint and history of training
(``..._run/training/``) and the figures ``..._trial``, ``..._curves``,
``..._spectrum`` (PNG and SVG).

Seeds: with ``seed = s``, epoch ``e`` trains on ``cue_accumulation(seed=1000003 s + e)``;
validation, test and sweep trials use ``1000003 s + 900001``, ``+ 900002`` and
``+ 900003``: never a training seed.
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from hdsnn.analysis.task_figures import plot_accuracy_curves, plot_spectrum, plot_task_trial, population_spectrum
from hdsnn.io import folder_lock, save_figure, write_json
from hdsnn.learning.task_training import TaskTrainConfig, evaluate_task, train_task
from hdsnn.models.task_network import (TaskNetworkConfig, load_task_network, readout_trace, run_task_network,
                                       save_task_network)
from hdsnn.models.tasks import TASKS, CueConfig, cue_accumulation, load_mnist, sklearn_digits
from hdsnn.validation import check_choice, check_int

__all__ = ["run_task", "task_settings", "curriculum_wait", "brian2_replay", "VARIANTS"]

#: The network variants: DelayNet's, and the ablations and controls of the issue.
#: Without delays every recurrent loop is one step long, and from the recurrent scale 0.6 the BPTT
#: gradient overflowed float32 at every step of cue accumulation (measured: all steps skipped);
#: those variants start from 0.3.
VARIANTS = {
    "delays": ({}, {}),
    "no-delays": ({"delays": "none", "rec_scale": 0.3}, {}),
    "no-regulariser": ({}, {"branching": 0.0}),
    "long-tau": ({"delays": "none", "rec_scale": 0.3, "tau_ms": 500.0, "tau_max_ms": 2000.0, "tau_out_ms": 500.0},
                 {}),
    "feedforward": ({"recurrent": False}, {}),
}
SEED_STRIDE = 1_000_003


def task_settings(name: str, *, quick: bool = False, variant: str = "delays", wait_ms: int | None = None,
                  n_cues: int | None = None, epochs: int | None = None, max_seconds: float | None = None,
                  lr: float | None = None) -> dict:
    """The protocol, network and training records of a run (before the variant's changes are applied last).

    Examples
    --------
    >>> s = task_settings("cue-accumulation", quick=True)
    >>> s["cue"].duration_ms, s["net"].n_rec, s["train"].epochs
    (750, 125, 8)
    """
    check_choice("task", name, TASKS)
    check_choice("variant", variant, tuple(VARIANTS))
    net_changes, train_changes = VARIANTS[variant]
    if name == "cue-accumulation":
        if quick:
            cue = CueConfig(n_cues=3, wait_ms=300)
            net = TaskNetworkConfig()
            train = TaskTrainConfig(epochs=8, trials_per_epoch=256, batch_size=32, lr=1e-2, validation_trials=128)
        else:
            cue = CueConfig()
            net = TaskNetworkConfig()
            train = TaskTrainConfig(epochs=200, trials_per_epoch=512, batch_size=32, lr=5e-3, validation_trials=256,
                                    stop_accuracy=0.995)
        changes = {k: v for k, v in (("wait_ms", wait_ms), ("n_cues", n_cues)) if v is not None}
        cue = replace(cue, **changes)
    else:
        cue = None
        net = TaskNetworkConfig(n_in=1, n_out=10, n_rec=27 if quick else 64, mid_delay=4, long_delay=8, learn_input=True,
                                positive_input=False)
        # no branching-factor penalty: on these 64-step sequences it held the validation accuracy
        # near 20 % after 100 epochs, where without it 40 epochs reach 58-66 % (measured)
        train = TaskTrainConfig(epochs=3 if quick else 150, batch_size=64, lr=3e-3, branching=0.0)
    net = replace(net, **net_changes)
    train = replace(train, **train_changes, **({"epochs": epochs} if epochs is not None else {}),
                    **({"max_seconds": max_seconds} if max_seconds is not None else {}),
                    **({"lr": lr} if lr is not None else {}))
    return {"cue": cue, "net": net, "train": train}


def _digits_split(mnist, seed: int):
    data = load_mnist(*mnist, seed=seed) if mnist else sklearn_digits(seed=seed)
    order = torch.from_numpy(np.random.default_rng(seed).permutation(len(data)))
    n_test = max(1, len(data) // 4)
    n_val = max(1, len(data) // 10)
    return (data.subset(order[n_test + n_val:]), data.subset(order[n_test:n_test + n_val]),
            data.subset(order[:n_test]))


def run_task(name: str, out, *, quick: bool = False, seed: int = 0, variant: str = "delays",
             wait_ms: int | None = None, n_cues: int | None = None, epochs: int | None = None,
             test_trials: int | None = None, sweep_trials: int | None = None, waits=None, cue_counts=None,
             mnist: tuple | None = None, brian2_trials: int = 0, max_seconds: float | None = None,
             curriculum: int = 0, lr: float | None = None, init=None, resume: bool = False,
             progress: bool | None = None) -> dict:
    """Train, test, sweep, draw and write one task run; returns the result dictionary (also in the JSON).

    Parameters
    ----------
    name : {'cue-accumulation', 'sequential-digits'}
    out : path
        Output folder (created; locked while the run lasts).
    quick : bool
        A small version that runs in about a minute on 2 cores (for the test suite).
    seed : int
    variant : one of :data:`VARIANTS`
    wait_ms, n_cues : int, optional
        Cue accumulation: the training and test protocol (default 1200 ms, 7 cues).
    epochs : int, optional
        Override the number of training epochs.
    max_seconds : float, optional
        Stop training after the epoch that passes this wall time (the best epoch is kept).
    lr : float, optional
        Learning rate (default: the task's).
    init : path, optional
        Start from a trained network file (``..._network.npz`` of an earlier run: a
        second stage of training, e.g. at a lower learning rate); its network
        settings replace the variant's.
    test_trials : int, optional
        Fresh test trials (default 2048; quick 256). Sequential digits: the held-out quarter.
    sweep_trials : int, optional
        Trials per point of the sweeps (default 512; quick 64; 0: no sweep).
    waits, cue_counts : sequences of int, optional
        The sweep points (default 600, 1200, 2400, 5000, 10000 ms and 3, 5, 7, 9, 11 cues).
    mnist : (images, labels) paths, optional
        Sequential digits on MNIST files instead of scikit-learn's digits.
    brian2_trials : int
        Replay this many test trials in Brian2 and compare the decisions (0: no replay).
    curriculum : int
        Cue accumulation: over the first ``curriculum`` epochs the training wait grows
        linearly from 150 ms to ``wait_ms`` (multiples of 50 ms); validation and test
        always use ``wait_ms`` (0: no curriculum).
    resume : bool
        Continue training from the run's checkpoint.
    progress : bool or None

    Raises
    ------
    ValueError
        An unknown task or variant, or bad counts, before any work starts.
    """
    check_choice("task", name, TASKS)
    check_choice("variant", variant, tuple(VARIANTS))
    seed = check_int("seed", seed, 0)
    brian2_trials = check_int("brian2_trials", brian2_trials, 0)
    curriculum = check_int("curriculum", curriculum, 0)
    if name != "cue-accumulation" and (wait_ms is not None or n_cues is not None):
        raise ValueError(f"wait_ms and n_cues apply to the cue-accumulation task only; got task {name!r}")
    settings = task_settings(name, quick=quick, variant=variant, wait_ms=wait_ms, n_cues=n_cues, epochs=epochs,
                             max_seconds=max_seconds, lr=lr)
    cue, net, train = settings["cue"], settings["net"], replace(settings["train"], seed=seed)
    test_trials = check_int("test_trials", test_trials if test_trials is not None else (256 if quick else 2048), 1)
    sweep_trials = check_int("sweep_trials", sweep_trials if sweep_trials is not None else (64 if quick else 512), 0)
    start_params = None
    if init is not None:
        start_params, net, init_meta = load_task_network(init)
        if init_meta.get("task") != name:
            raise ValueError(f"init: {str(init)!r} is a network for {init_meta.get('task')!r}, not {name!r}")
        start_params = start_params._replace(**{k: v.float() for k, v in start_params._asdict().items()
                                                 if v.is_floating_point()})
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stem = name + ("_quick" if quick else "") + ("" if variant == "delays" else f"_{variant}")
    with folder_lock(out / f"{stem}_run"):
        return _run(name, out, stem, cue, net, train, seed, variant, quick, test_trials, sweep_trials, waits,
                    cue_counts, mnist, brian2_trials, curriculum, resume, progress, start_params, init)


def curriculum_wait(epoch: int, wait_ms: int, epochs: int) -> int:
    """The training wait of ``epoch`` (1-based) under a curriculum of ``epochs`` epochs.

    Examples
    --------
    >>> [curriculum_wait(e, 1200, 4) for e in (1, 2, 4, 5, 9)]
    [150, 400, 950, 1200, 1200]
    """
    if epochs <= 0 or epoch > epochs:
        return wait_ms
    return int(150 + 50 * round((wait_ms - 150) * (epoch - 1) / epochs / 50))


def _run(name, out, stem, cue, net, train, seed, variant, quick, test_trials, sweep_trials, waits, cue_counts,
         mnist, brian2_trials, curriculum, resume, progress, start_params=None, init=None) -> dict:
    start = time.perf_counter()
    base = SEED_STRIDE * seed
    if name == "cue-accumulation":
        def train_data(epoch):
            wait = curriculum_wait(epoch, cue.wait_ms, curriculum)
            return cue_accumulation(train.trials_per_epoch, replace(cue, wait_ms=wait), seed=base + epoch)
        validation = cue_accumulation(train.validation_trials, cue, seed=base + 900_001)
        test = cue_accumulation(test_trials, cue, seed=base + 900_002)
        chance = 0.5
    else:
        train_data, validation, test = _digits_split(mnist, seed)
        chance = float(torch.bincount(test.labels).max()) / len(test)
    result = train_task(train_data, validation, net, train, params=start_params,
                        out=out / f"{stem}_run" / "training", resume=resume, progress=progress)
    params = result.best
    learn_seconds = result.seconds
    ev = evaluate_task(params, test)
    record = {"task": name, "variant": variant, "quick": quick, "seed": seed, "curriculum_epochs": curriculum,
              "init": None if init is None else str(init),
              "test_accuracy": ev["accuracy"], "chance": chance, "test_cross_entropy": ev["cross_entropy"],
              "test_rate_hz": ev["rate_hz"],
              "trials": {"test": len(test), "validation": len(validation),
                         "train": (train.trials_per_epoch * result.epochs if callable(train_data)
                                   else len(train_data) * result.epochs),
                         "train_per_epoch": train.trials_per_epoch if callable(train_data) else len(train_data)},
              "best_validation_accuracy": result.best_accuracy, "epochs": result.epochs,
              "learn_seconds": learn_seconds,
              "settings": {"cue": cue.to_dict() if cue else None, "network": net.to_dict(), "train": train.to_dict(),
                           "data": test.info},
              "learned": {"tau_ms": params.tau.tolist(), "tau_out_ms": params.tau_out.tolist(),
                          "theta": params.theta.tolist()},
              "history": result.history}
    files = [str(save_task_network(out / f"{stem}_network.npz", params, net, task=name, variant=variant,
                                   test_accuracy=ev["accuracy"]))]
    # one trial, and the spectrum of the population activity of the test trials
    shown = test.subset(slice(0, min(len(test), 64)))
    run = run_task_network(params, shown.inputs, window=shown.window, dt_ms=shown.dt_ms)
    trace = readout_trace(params, run.spikes[:1], 0, shown.inputs.shape[2], shown.dt_ms)[0]
    files += [str(p) for p in save_figure(plot_task_trial(shown.inputs[0], run.spikes[0], trace.detach(),
                                                          window=shown.window, label=int(shown.labels[0]),
                                                          title=f"{name} ({variant}), test trial 0"),
                                          out / f"{stem}_trial")]
    f, power = population_spectrum(run.spikes, shown.dt_ms, segment_ms=min(1024.0, shown.inputs.shape[2]))
    keep = f >= 2.0
    record["spectrum"] = {"peak_hz": float(f[keep][np.argmax(power[keep])]) if keep.any() else None,
                          "frequencies_hz": f.tolist(), "power": power.tolist()}
    files += [str(p) for p in save_figure(plot_spectrum({variant: (f, power)}), out / f"{stem}_spectrum")]
    if name == "cue-accumulation" and sweep_trials > 0:
        waits = tuple(waits) if waits is not None else ((300, 600) if quick else (600, 1200, 2400, 5000, 10000))
        cue_counts = tuple(cue_counts) if cue_counts is not None else ((1, 3) if quick else (3, 5, 7, 9, 11))
        sweep_seed = base + 900_003
        by_wait = [evaluate_task(params, cue_accumulation(sweep_trials, replace(cue, wait_ms=w), seed=sweep_seed))
                   ["accuracy"] for w in waits]
        by_cues = [evaluate_task(params, cue_accumulation(sweep_trials, replace(cue, n_cues=k), seed=sweep_seed))
                   ["accuracy"] for k in cue_counts]
        record["accuracy_vs_wait"] = {"wait_ms": list(waits), "accuracy": by_wait, "trials": sweep_trials}
        record["accuracy_vs_cues"] = {"n_cues": list(cue_counts), "accuracy": by_cues, "trials": sweep_trials}
        files += [str(p) for p in save_figure(plot_accuracy_curves({"wait (ms)": (waits, by_wait),
                                                                    "number of cues": (cue_counts, by_cues)}),
                                              out / f"{stem}_curves")]
    if brian2_trials:
        record["brian2"] = brian2_replay(params, test.subset(slice(0, min(brian2_trials, len(test)))),
                                         ev["decisions"])
    record["seconds"] = time.perf_counter() - start
    path = out / f"{stem}.json"
    write_json(path, {**record, "files": files})
    return {**record, "files": [str(path), *files]}


def brian2_replay(params, data, decisions_float32) -> dict:
    """Replay ``data`` (spike inputs) in Brian2 and compare with torch: decisions (float64 and the
    given float32 ones) and spike trains, trial by trial, with the accuracy and timings."""
    from hdsnn.models.brian2.task import simulate_task_brian2

    double = type(params)(*[t.double() if t.is_floating_point() else t for t in params])
    sim = simulate_task_brian2(double, data.inputs, window=data.window, dt_ms=data.dt_ms)
    ref = run_task_network(double, data.inputs.double(), window=data.window, dt_ms=data.dt_ms)
    return {"trials": len(data), "same_decisions_as_torch": int((sim.decisions == ref.logits.argmax(1)).sum()),
            "same_decisions_as_torch_float32": int((sim.decisions == decisions_float32[:len(data)]).sum()),
            "identical_spike_trials": int((sim.spikes == ref.spikes.bool()).flatten(1).all(1).sum()),
            "accuracy": float((sim.decisions == data.labels).double().mean()),
            "n_synapses": sim.n_synapses, "build_seconds": sim.build_seconds, "run_seconds": sim.run_seconds}
