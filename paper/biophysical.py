"""Biophysical recall: the paper benchmark replayed in Brian2 with richer neurons (beyond the paper).

Hebbian weights of the paper benchmark are exported to Brian2 synapses with
explicit delays and replayed in continuous time (dt = 0.1 ms) by
current-based LIF, conductance-based LIF, AdEx and Izhikevich neurons, with
the paper's uniform delays (1..41 ms) and with a lognormal delay
distribution (weights learned on the same mask). The synaptic efficacy and a
delay shift are calibrated on the first two patterns; F1 is scored with a
±1 ms tolerance (one-to-one matching). The discrete torch recall of the same
weights is the reference. See :func:`hdsnn.models.brian2_neurons.benchmark_neurons`.

Run: ``python -m paper.biophysical [--quick]``; full mode measured at 273 s
on 2 cores (numpy target; ``python benchmarks/bench_brian2.py neurons``, the
same benchmark, about 7 minutes on a busier machine). Writes ``paper/results/biophysical.json`` and
``biophysical.png/.svg``.
"""
from __future__ import annotations

import time

import numpy as np

from hdsnn.analysis.plots import save_figure
from hdsnn.models.brian2_neurons import NEURON_MODELS, benchmark_neurons

from ._common import parser, save


def figure(res: dict):
    import matplotlib.pyplot as plt
    models = list(NEURON_MODELS)
    fig, ax = plt.subplots(figsize=(8, 4))
    for j, delays in enumerate(("uniform", "lognormal")):
        f1 = [res[f"{delays}/{m}"]["f1"] for m in models]
        ax.bar(np.arange(len(models)) + 0.38 * j, f1, width=0.36, label=f"{delays} delays")
        ax.axhline(res["setup"]["torch_discrete_f1"][delays], ls="--", lw=0.8, color=f"C{j}",
                   label=f"discrete torch, {delays}")
    ax.set_xticks(np.arange(len(models)) + 0.19, models)
    ax.set_ylabel(f"pooled F1 (±{res['setup']['k_ms']} ms)")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    ax.set_title("Recall in continuous time with richer neurons (calibrated efficacy)")
    fig.tight_layout()
    return fig


def main(argv=None) -> dict:
    args = parser(__doc__).parse_args(argv)
    started = time.perf_counter()
    res = benchmark_neurons(quick=args.quick, progress=False)
    tag = "_quick" if args.quick else ""
    save_figure(figure(res), f"{args.out}/biophysical{tag}")
    save(args.out, f"biophysical{tag}", res, started)
    return res


if __name__ == "__main__":
    main()
