"""Learned synaptic delays against fixed random delays at the same synapse count.

For each budget of ``K`` synapses per connected pair (connection probability
``p``), the same patterns are stored in

- ``fixed``: fixed random delays (:func:`hdsnn.models.random_mask`, delays
  uniform over the channels ``1..D``) with margin-learned weights,
  ``learn(targets, 'margin', mask=mask)``;
- ``learned``: the same draws (:func:`hdsnn.models.random_synapses` with the
  same seed, one synapse per draw), weights and real-valued delays learned by
  ``learn(targets, 'delays', learn='both')``: margin weights on the drawn
  channels, closed-loop BPTT of both (the settings below), then the margin
  refit of the weights on the learned delays, recalled with the delays rounded;
- ``dense``: the paper's dense tensor (every pair on every delay), margin weights.

Each is recalled by the torch simulator (clamped trigger window) and scored by
the pooled F1 over the free run; the synapse counts, learn times, the peak
resident memory of the process and the initial and learned delay
distributions are recorded, and a figure shows F1 against synapses and the
delay histograms.

Run: ``python -m paper.learned_delays [--quick]`` (or ``hdsnn paper learned_delays``).
Quick mode: M=2, N=96, T=100, D=9, p_A=0.02, K in {1, 2}, p = 1 (about a minute on a
loaded 2-core machine). Full mode: the paper benchmark (N=1024, M=16, T=1000, D=41) at
K in {1, 2, 4} and p in {1.0, 0.1} (not run yet; hours on CPU). Writes
``paper/results/learned_delays[_quick].json`` and ``.png``/``.svg``.
"""
from __future__ import annotations

import time

import numpy as np
import torch
from matplotlib.figure import Figure

from hdsnn import NetworkConfig, bernoulli_patterns, recall
from hdsnn.io import save_figure
from hdsnn.learning import learn
from hdsnn.models import random_mask

from ._common import PAPER_SIZE, parser, save

QUICK = {"size": (2, 96, 100, 9, 0.02), "budgets": (1, 2), "p_connect": (1.0,)}
FULL = {"size": PAPER_SIZE, "budgets": (1, 2, 4), "p_connect": (1.0, 0.1)}
#: The delay learner's settings (measured on the quick sizes: a wide kernel from the margin start
#: loses F1, so the kernel starts at two-tap interpolation; a constant learning rate).
DELAYS = {"learn": "both", "epochs": 80, "lr": 1e-3, "lr_min": 1e-3, "lr_delay": 0.1, "sigma_init": 0.0,
          "alpha": 5.0, "dropout": 0.0, "warmup": 2, "clip": None}


def run(quick: bool, seed: int = 0, epochs: int | None = None, budgets=None, p_connect=None) -> dict:
    """Every row of the comparison (``budgets``, ``p_connect``: a subset of the rows, default all)."""
    setup = dict(QUICK if quick else FULL)
    if budgets:
        setup["budgets"] = tuple(budgets)
    if p_connect:
        setup["p_connect"] = tuple(p_connect)
    M, N, T, D, p_A = setup["size"]
    targets = bernoulli_patterns(M, N, T, p_A, seed=seed)
    net = NetworkConfig(N=N, D=D)
    delays = {**DELAYS, **({"epochs": epochs} if epochs else {})}
    rows, histograms = [], {}
    start = time.perf_counter()
    dense = learn(targets, "margin", D=D, progress=False)
    rows.append(_row("dense", None, 1.0, N * N * D, dense, targets, net, time.perf_counter() - start))
    for p in setup["p_connect"]:
        for K in setup["budgets"]:
            mask = random_mask(N, D, p_connect=p, synapses_per_pair=K, seed=seed)
            start = time.perf_counter()
            fixed = learn(targets, "margin", D=D, mask=mask, progress=False)
            rows.append(_row("fixed", K, p, int(mask.sum()), fixed, targets, net, time.perf_counter() - start))
            start = time.perf_counter()
            learned = learn(targets, "delays", D=D, synapses_per_pair=K, p_connect=p, seed=seed, progress=False,
                            **delays)
            row = _row("learned", K, p, learned.details["n_synapses"], learned, targets, net,
                       time.perf_counter() - start)
            syn, first = learned.synapses, learned.details["initial_synapses"]
            row.update(epochs=learned.details["epochs"], train_best_f1=learned.details["best_f1"],
                       memory=learned.details["memory"],
                       moved_fraction=float(np.mean(syn.delay_steps != first.delay_steps)),
                       mean_abs_shift=float(np.mean(np.abs(syn.delay_ms - first.delay_ms))))
            rows.append(row)
            bins = np.arange(0.5, D + 1.0)
            histograms[f"K{K}_p{p:g}"] = {"initial": np.histogram(first.delay_ms, bins)[0].tolist(),
                                          "learned": np.histogram(syn.delay_ms, bins)[0].tolist()}
            print(f"K={K} p={p:g}: fixed F1 {rows[-2]['f1']:.4f} ({rows[-2]['synapses']} synapses), learned F1 "
                  f"{row['f1']:.4f} ({row['synapses']} synapses, {row['seconds']:.1f} s)", flush=True)
    return {"size": {"M": M, "N": N, "T": T, "D": D, "p_A": p_A}, "seed": seed, "delays_settings": delays,
            "budgets": list(setup["budgets"]), "p_connect": list(setup["p_connect"]),
            "rows": rows, "delay_histograms": histograms}


def _row(method, K, p, synapses, learned, targets, net, seconds) -> dict:
    f1 = recall(learned.W, targets, net=net).scores.pooled()["f1"]
    return {"method": method, "synapses_per_pair": K, "p_connect": p, "synapses": int(synapses), "f1": f1,
            "seconds": seconds}


def figure(data: dict) -> Figure:
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax, hx = fig.subplots(1, 2)
    colours = {"dense": "k", "fixed": "tab:blue", "learned": "tab:orange"}
    for r in data["rows"]:
        ax.scatter(r["synapses"], r["f1"], color=colours[r["method"]],
                   label=r["method"] if r["method"] not in ax.get_legend_handles_labels()[1] else None)
        if r["synapses_per_pair"] is not None:
            ax.annotate(f"K={r['synapses_per_pair']}", (r["synapses"], r["f1"]), fontsize=8)
    ax.set(xscale="log", xlabel="synapses", ylabel="pooled F1", title="recall F1 at equal synapse count")
    ax.legend()
    D = data["size"]["D"]
    key = next(iter(data["delay_histograms"]))
    h = data["delay_histograms"][key]
    taps = np.arange(1, D + 1)
    hx.bar(taps - 0.2, h["initial"], width=0.4, label="initial")
    hx.bar(taps + 0.2, h["learned"], width=0.4, label="learned (rounded bins)")
    hx.set(xlabel="delay (steps)", ylabel="synapses", title=f"delay distribution ({key})")
    hx.legend()
    return fig


def main(argv=None) -> None:
    p = parser(__doc__, jobs=False)
    p.add_argument("--seed", type=int, default=0, help="seed of the patterns and the synapses")
    p.add_argument("--epochs", type=int, default=None, help=f"epochs of the delay learner "
                                                             f"(default {DELAYS['epochs']})")
    p.add_argument("--budgets", default=None, help="comma-separated synapses per pair K (default: the mode's)")
    p.add_argument("--p-connect", default=None, help="comma-separated connection probabilities (default: the mode's)")
    args = p.parse_args(argv)
    started = time.perf_counter()
    torch.set_num_threads(1)
    budgets = [int(x) for x in args.budgets.split(",")] if args.budgets else None
    probs = [float(x) for x in args.p_connect.split(",")] if args.p_connect else None
    data = run(args.quick, args.seed, args.epochs, budgets, probs)
    subset = "" if budgets is None and probs is None else \
        "_K" + "-".join(map(str, data["budgets"])) + "_p" + "-".join(f"{x:g}" for x in data["p_connect"])
    name = "learned_delays" + ("_quick" if args.quick else "") + subset
    save(args.out, name, data, started)
    save_figure(figure(data), f"{args.out}/{name}")


if __name__ == "__main__":
    main()
