"""Biophysical recall: the paper benchmark learned in the neuron that recalls it, replayed in Brian2 (beyond the paper).

For each delay distribution, (a) the paper's connectivity, every pair on every
delay 1..41 ms, and (b) the lognormal mask of section 8 (median 10 ms, sigma
0.5, 20 draws per pair, binned to 1 ms), the weights are learned by margin
learning in the dynamics of ``lif_current`` (:func:`hdsnn.learning.neuron_margin_init`:
constraints at every step of 0.1 ms, delays shortened by one step) and
recalled from the trigger in Brian2 (numpy target, dt 0.1 ms, efficacy 1, no
calibration) by every neuron model of :data:`~hdsnn.models.brian2.NEURON_MODELS`:
``lif_current`` with the learned weights, the others with the weights mapped
through their efficacy at rest (:func:`hdsnn.models.linearised_synapses`).
Per model and connectivity: pooled F1 at ±1 ms (1-ms bins, one to one), in
exact bins and at ±0.5 ms of the exact spike times, precision and recall,
the learn time, Brian2's build and run times, and F1 (±1 ms) under white
background noise of two levels (the torch replica, identical to Brian2 spike
for spike, seed 1). The baseline column (``--baseline``) is the previous
protocol: Hebbian weights, efficacy and delay shift calibrated per model on
two patterns (:func:`calibrated_baseline`).

With ``--fit EPOCHS`` the other models' weights are then fitted in their own
dynamics to the same constraints under teacher forcing
(:func:`hdsnn.learning.neuron_fit`) and recalled again (row ``fit``).

Run: ``python -m paper.biophysical [--quick] [--size M,N,T,p,D] [--delays uniform,lognormal] [--workers 2]
[--baseline] [--fit 300]``; writes ``paper/results/biophysical[_quick|_N..].json`` and ``.png/.svg``.
"""
from __future__ import annotations

import time

import numpy as np

from hdsnn.io import save_figure
from dataclasses import replace

from hdsnn.learning import (NeuronFitConfig, NeuronMarginConfig, hebbian_init, masked_hebbian_init, neuron_fit,
                            neuron_margin_init)
from hdsnn.models import (DelayDistribution, bernoulli_patterns, export_synapses, linearised_synapses, random_mask,
                          recall, spike_time_score, tolerant_score)
from hdsnn.models.brian2 import NEURON_MODELS, calibrate_efficacy

from ._common import parser, save

#: The lognormal delays of section 8.
LOGNORMAL = DelayDistribution("lognormal", median_ms=10.0, sigma=0.5)


def sizes(quick: bool) -> dict:
    """The benchmark (M, N, T, p_A, D): the paper's, or a small one for ``--quick``."""
    return dict(M=2, N=96, T=150, p=5e-3, D=21) if quick else dict(M=16, N=1024, T=1000, p=1e-3, D=41)


def connectivity(kind: str, N: int, D: int, per_pair: int = 20):
    """The mask of a delay distribution: None (every delay 1..D ms) or the lognormal draws of section 8."""
    if kind == "uniform":
        return None
    if kind == "lognormal":
        return random_mask(N, D, p_connect=1.0, synapses_per_pair=per_pair, delays=LOGNORMAL, seed=0)
    raise ValueError(f"delays must be 'uniform' or 'lognormal'; got {kind!r}")


def _scores(P, r, D: int) -> dict:
    pooled = r.scores.pooled()
    half = spike_time_score(P, r.spikes, D, 0.5).pooled()
    return {"f1": pooled["f1"], "precision": pooled["precision"], "recall": pooled["recall"],
            "f1_exact": tolerant_score(P, r.raster, D, 0).pooled()["f1"], "f1_half_ms": half["f1"],
            "stopped_patterns": r.runaway.nonzero().flatten().tolist()}


def margin_recall(P, D: int, kind: str, *, config: NeuronMarginConfig, models=tuple(NEURON_MODELS),
                  target: str = "numpy", noise_mV=(0.5, 1.0), executor=None, progress: bool | None = None,
                  fit: NeuronFitConfig | None = None) -> dict:
    """Learn in ``lif_current`` on one connectivity, then recall in Brian2 with every model (module docstring).

    With ``fit``, the other models' linearised weights are then fitted to the teacher-forced constraints in
    their own dynamics (:func:`hdsnn.learning.neuron_fit`) and recalled again (row ``'fit'`` of each model).
    """
    mask = connectivity(kind, P.shape[1], D)
    start = time.perf_counter()
    res = neuron_margin_init(P, config=config, D=D, mask=mask, executor=executor, progress=progress)
    out = {"synapses": len(res.synapses), "violations": res.violations, "epochs": res.epochs_run,
           "neurons_violating": int((res.violations_per_neuron > 0).sum()), "learn_s": time.perf_counter() - start,
           "violations_per_epoch": [h["violations"] for h in res.history]}
    print(f"{kind:>9}: {len(res.synapses)} synapses, {res.violations} violations after {res.epochs_run} epochs "
          f"({out['learn_s']:.0f} s)", flush=True)
    options = {k: v for k, v in res.recall_options.items() if k != "neuron"}
    for model in models:
        syn = res.synapses if model == config.neuron else linearised_synapses(res.synapses, model)
        out[model] = _recall_row(P, D, syn, model, options, target, noise_mV, f"{kind:>9} {model:<16}")
        if fit is not None and model != config.neuron:
            start = time.perf_counter()
            fitted = neuron_fit(P, syn, replace(fit, neuron=model, delay_shift_ms=options["delay_shift_ms"],
                                                dt_ms=options["dt_ms"]), D=D, progress=progress)
            learn_s = time.perf_counter() - start
            row = _recall_row(P, D, fitted.synapses, model, options, target, noise_mV,
                              f"{kind:>9} {model:<16} fitted ({fitted.violations} violations)")
            out[model]["fit"] = {**row, "violations": fitted.violations, "epochs": fitted.epochs_run,
                                 "learn_s": learn_s, "violations_per_epoch": [h["violations"] for h in fitted.history]}
    return out


def _recall_row(P, D, syn, model, options, target, noise_mV, label) -> dict:
    start = time.perf_counter()
    r = recall(syn, P, simulator="brian2", neuron=model, target=target, max_rate=0.1, progress=False, **options)
    seconds = time.perf_counter() - start
    # Brian2's runs (code generation and the simulation of every trial), and the rest of the recall: the
    # export of the synapses and the building of the network (scoring included, so an upper bound)
    row = {**_scores(P, r, D), "seconds": seconds, "brian2_run_s": r.seconds["simulate"],
           "brian2_build_s": seconds - r.seconds["simulate"]}
    for level in noise_mV:
        noisy = recall(syn, P, simulator="torch_neurons", neuron=model, noise_mV=level, seed=1, max_rate=0.1,
                       progress=False, **options)
        row[f"f1_noise_{level:g}mV"] = noisy.scores.pooled()["f1"]
    print(f"{label} F1 ±1 ms {row['f1']:.4f} (P {row['precision']:.3f}, R {row['recall']:.3f}), "
          f"exact {row['f1_exact']:.4f}, ±0.5 ms {row['f1_half_ms']:.4f}; "
          + ", ".join(f"noise {lv:g} mV {row[f'f1_noise_{lv:g}mV']:.4f}" for lv in noise_mV), flush=True)
    return row


def calibrated_baseline(P, D: int, kind: str, *, models=tuple(NEURON_MODELS), target: str = "numpy",
                        efficacies=(0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0, 5.6), k: int = 1) -> dict:
    """The previous protocol: Hebbian weights (on the mask), efficacy and delay shift calibrated on 2 patterns."""
    mask = connectivity(kind, P.shape[1], D)
    syn = export_synapses(hebbian_init(P, D=D)) if mask is None else \
        export_synapses(masked_hebbian_init(P, mask), mask=mask)
    out = {"synapses": len(syn)}
    for model in models:
        e, shift, _ = calibrate_efficacy(model, syn, P[:2], D, k=k, target=target, efficacies=efficacies,
                                         delay_shifts_ms=(0.0, 0.5))
        r = recall(syn, P, simulator="brian2", neuron=model, efficacy=e, delay_shift_ms=shift, tolerance=k,
                   target=target, max_rate=0.1, progress=False)
        out[model] = {"efficacy": e, "delay_shift_ms": shift, **_scores(P, r, D)}
        print(f"{kind:>9} {model:<16} baseline (Hebbian, efficacy {e:g}, shift {shift:g} ms): "
              f"F1 ±1 ms {out[model]['f1']:.4f}", flush=True)
    return out


def figure(res: dict):
    from matplotlib.figure import Figure
    kinds = [k for k in ("uniform", "lognormal") if k in res]
    models = list(NEURON_MODELS)
    fig = Figure(figsize=(8, 4))
    ax = fig.subplots()
    width = 0.8 / (2 * len(kinds))
    for j, kind in enumerate(kinds):
        x = np.arange(len(models)) + 2 * j * width
        ax.bar(x, [res[kind][m]["f1"] for m in models], width=width, color=f"C{j}", label=f"margin, {kind}")
        if f"baseline/{kind}" in res:
            ax.bar(x + width, [res[f"baseline/{kind}"][m]["f1"] for m in models], width=width, color=f"C{j}",
                   alpha=0.35, label=f"calibrated Hebbian, {kind}")
    ax.set_xticks(np.arange(len(models)) + 0.4 - width / 2, models)
    ax.set_ylabel("pooled F1 (±1 ms), Brian2")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title("Recall in continuous time: learned in lif_current, mapped to the others at rest")
    fig.tight_layout()
    return fig


def main(argv=None) -> dict:
    p = parser(__doc__, jobs=False)
    p.add_argument("--delays", default="uniform,lognormal", help="comma-separated: uniform, lognormal")
    p.add_argument("--models", default=",".join(NEURON_MODELS), help="comma-separated neuron models")
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--lr", type=float, default=None, help="Adam step of the learner (default: the learner's, "
                   "0.2 / presynaptic spikes per window: 0.0048 at the paper size)")
    p.add_argument("--noise-mV", default="0.5,1", help="comma-separated background noise levels (std, mV)")
    p.add_argument("--workers", type=int, default=1, help="local Dask worker processes, one block of neurons each")
    p.add_argument("--baseline", action="store_true", help="also run the calibrated Hebbian baseline")
    p.add_argument("--fit", type=int, default=0, metavar="EPOCHS",
                   help="also fit the other models' weights in their own dynamics (neuron_fit, at most EPOCHS)")
    p.add_argument("--size", default=None, metavar="M,N,T,p,D",
                   help="another benchmark size, e.g. 4,256,500,2e-3,41 (default: the paper's, or --quick's)")
    p.add_argument("--progress", action="store_true")
    args = p.parse_args(argv)
    started = time.perf_counter()
    size = sizes(args.quick)
    if args.size:
        M_, N_, T_, p_, D_ = args.size.split(",")
        size = dict(M=int(M_), N=int(N_), T=int(T_), p=float(p_), D=int(D_))
    M, N, T, pA, D = size["M"], size["N"], size["T"], size["p"], size["D"]
    P = bernoulli_patterns(M, N, T, pA, seed=0)
    models = tuple(m for m in args.models.split(",") if m)
    noise = tuple(float(x) for x in args.noise_mV.split(",") if x)
    block = -(-N // args.workers) if args.workers > 1 else None
    cfg = NeuronMarginConfig(epochs=args.epochs if not args.quick else 600, lr=args.lr, block_size=block)
    res = {"setup": {"M": M, "N": N, "T": T, "p_A": pA, "D": D, "dt_ms": 0.1, "target": "numpy",
                     "target_spikes_free_run": int(P[:, :, D:].sum()), "config": cfg.to_dict(),
                     "lognormal": {"median_ms": 10.0, "sigma": 0.5, "synapses_per_pair": 20}, "noise_mV": noise}}
    executor = f"processes:{args.workers}" if args.workers > 1 else None
    for kind in (k for k in args.delays.split(",") if k):
        res[kind] = margin_recall(P, D, kind, config=cfg, models=models, noise_mV=noise, executor=executor,
                                  progress=args.progress or False,
                                  fit=NeuronFitConfig(epochs=args.fit) if args.fit else None)
        if args.baseline:
            efficacies = (1.0, 1.4, 2.0) if args.quick else (0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0, 5.6)
            res[f"baseline/{kind}"] = calibrated_baseline(P, D, kind, models=models, efficacies=efficacies)
    tag = "_quick" if args.quick else f"_N{N}_M{M}_T{T}" if args.size else ""
    if all(m in models for m in NEURON_MODELS):
        save_figure(figure(res), f"{args.out}/biophysical{tag}")
    save(args.out, f"biophysical{tag}", res, started)
    return res


if __name__ == "__main__":
    main()
