"""Biophysical recall: the paper benchmark replayed in Brian2 with richer neurons (beyond the paper).

Hebbian weights of the paper benchmark are exported to Brian2 synapses with
explicit delays and replayed in continuous time (dt = 0.1 ms) by
current-based LIF, conductance-based LIF, AdEx and Izhikevich neurons, with
the paper's uniform delays (1..41 ms) and with a lognormal delay
distribution (weights learned on the same mask). The synaptic efficacy and a
delay shift are calibrated on the first two patterns; F1 is scored with a
±1 ms tolerance (one-to-one matching). The discrete torch recall of the same
weights is the reference. See :func:`benchmark_neurons`.

Run: ``python -m paper.biophysical [--quick]``; full mode measured at 273 s
on 2 cores (numpy target; ``python benchmarks/bench_brian2.py neurons``, the
same benchmark, about 7 minutes on a busier machine). Writes ``paper/results/biophysical.json`` and
``biophysical.png/.svg``.
"""
from __future__ import annotations

import time

import numpy as np

from tqdm.auto import tqdm

from hdsnn.io import save_figure
from hdsnn.learning import hebbian_init, masked_hebbian_init
from hdsnn.models import DelayDistribution, bernoulli_patterns, export_synapses, random_mask, recall, tolerant_score
from hdsnn.models.brian2 import NEURON_MODELS, calibrate_efficacy

from ._common import parser, save


def benchmark_neurons(quick: bool = False, target: str = "numpy", k: int = 1, calibration_patterns: int = 2,
                      per_pair: int = 20, progress: bool | None = None) -> dict:
    """Tolerant F1 of each neuron model on the paper benchmark, uniform and lognormal delays.

    The paper benchmark (``bernoulli_patterns(16, 1024, 1000, 1e-3, seed=0)``,
    D = 41) with (a) the paper's connectivity, every delay 1..41 ms, Hebbian
    weights; (b) ``per_pair`` delay draws per pair from a lognormal
    distribution (median 10 ms, sigma 0.5) discretised to 1 ms, Hebbian
    weights restricted to that mask (:func:`hdsnn.learning.masked_hebbian_init`). The
    discrete torch recall of the same weights is reported as a reference.
    The efficacy (grid 0.5 .. 5.6) and the delay shift (0 or 0.5 ms) are
    calibrated on the first ``calibration_patterns`` patterns, then every
    pattern is recalled with them. ``quick``: a small network (N=128, M=4, T=300, D=21) and
    an efficacy grid of 1.0, 1.4, 2.0 (where the full grid finds the best efficacies).
    """
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
    for name, syn in networks.items():
        f1 = recall(syn, P, progress=False).scores.pooled()["f1"]
        results["setup"]["torch_discrete_f1"][name] = f1
        print(f"{name:>9} delays: {len(syn)} synapses; discrete torch recall, exact F1 {f1:.4f}", flush=True)
    jobs = [(d, m) for d in networks for m in NEURON_MODELS]
    for delays, name in tqdm(jobs, desc="neuron models", disable=None if progress is None else not progress):
        syn = networks[delays]
        start = time.perf_counter()
        e, shift, table = calibrate_efficacy(name, syn, P[:calibration_patterns], D, k=k, target=target,
                                             efficacies=efficacies, delay_shifts_ms=(0.0, 0.5))
        r = recall(syn, P, simulator="brian2", neuron=name, efficacy=e, delay_shift_ms=shift, tolerance=k,
                   target=target, max_rate=0.1)
        pooled = r.scores.pooled()
        wider = tolerant_score(P, r.raster, D, k + 1).pooled()["f1"]
        exact = tolerant_score(P, r.raster, D, 0).pooled()["f1"]
        results[f"{delays}/{name}"] = {
            "efficacy": e, "delay_shift_ms": shift,
            "calibration_f1": {f"efficacy={a:g} shift={b:g}ms": f for (a, b), f in table.items()},
            "f1": pooled["f1"], "precision": pooled["precision"], "recall": pooled["recall"],
            f"f1_k{k + 1}": wider, "f1_exact": exact, "stopped_patterns": r.runaway.nonzero().flatten().tolist(),
            "seconds": time.perf_counter() - start}
        print(f"{delays:>9} delays  {name:<16} efficacy {e:<4g} shift {shift:g} ms  tolerant F1 (±{k} ms) "
              f"{pooled['f1']:.4f} (precision {pooled['precision']:.3f}, recall {pooled['recall']:.3f}); "
              f"±{k + 1} ms {wider:.4f}; exact {exact:.4f}", flush=True)
    return results


def figure(res: dict):
    from matplotlib.figure import Figure
    models = list(NEURON_MODELS)
    fig = Figure(figsize=(8, 4))
    ax = fig.subplots()
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
