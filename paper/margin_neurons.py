"""Margin learning in the LIF neuron's own dynamics, recalled in continuous time (beyond the paper).

The weights are learned by :func:`hdsnn.learning.neuron_margin_init` for the
``lif_current`` model at dt = 0.1 ms (constraints at every step, one-step window
at each target spike, delays shortened by one step) and recalled from the
trigger by the torch replica of the model (and Brian2 with ``--brian2``), with
efficacy 1 and no calibration. Two connectivities: (a) the paper's, every pair on
every delay 1..D ms (``recall`` front door with ``Learned.recall_options``);
(b) ``--per-pair`` lognormal delay draws per pair (median 10 ms, sigma 0.5, the
draws of paper/biophysical.py's mask) kept real-valued
(:func:`hdsnn.models.random_synapses`, recalled by :func:`hdsnn.learning.replay`).
Pooled F1 over the free run, exact 1-ms bins and ±1 ms; and ±1 ms under white
background noise of the membrane (``--noise-mV``, the replica's ``noise_mV``, seed 1).

Run: ``python -m paper.margin_neurons [--quick] [--N 256 --M 4 --T 500 --p 2e-3] [--workers 2]``;
writes ``paper/results/margin_neurons[_quick|_N...].json``.
"""
from __future__ import annotations

import time

from hdsnn.learning import NeuronMarginConfig, neuron_margin_init, replay
from hdsnn.models import DelayDistribution, bernoulli_patterns, random_synapses, recall, tolerant_score

from ._common import PAPER_SIZE, parser, save


def run(M: int, N: int, T: int, D: int, p: float, *, delays=("uniform", "lognormal"), per_pair: int = 20,
        config: NeuronMarginConfig | None = None, brian2: bool = False, seed: int = 0,
        progress: bool | None = None, executor=None, noise_mV=()) -> dict:
    """Learn and recall the benchmark ``bernoulli_patterns(M, N, T, p, seed)`` for each connectivity."""
    cfg = config if config is not None else NeuronMarginConfig()
    P = bernoulli_patterns(M, N, T, p, seed=seed)
    out = {"setup": {"M": M, "N": N, "T": T, "D": D, "p_A": p, "seed": seed, "per_pair": per_pair,
                     "target_spikes_free_run": int(P[:, :, D:].sum()), "config": cfg.to_dict()}}
    for kind in delays:
        start = time.perf_counter()
        if kind == "uniform":
            res = neuron_margin_init(P, D=D, config=cfg, progress=progress, executor=executor)
        else:
            syn, d = random_synapses(N, D, p_connect=1.0, synapses_per_pair=per_pair,
                                     delays=DelayDistribution("lognormal", median_ms=10.0, sigma=0.5), seed=0)
            res = neuron_margin_init(P, syn, cfg, delays_ms=d, progress=progress, executor=executor)
        row = {"synapses": len(res.synapses), "violations": res.violations, "epochs": res.epochs_run,
               "neurons_violating": int((res.violations_per_neuron > 0).sum()), "learn_s": time.perf_counter() - start,
               "violations_per_epoch": [h["violations"] for h in res.history]}
        sims = ("torch_neurons", "brian2") if brian2 else ("torch_neurons",)
        for sim in sims:
            start = time.perf_counter()
            raster = recall(res.W, P, simulator=sim, **res.recall_options).raster if res.W is not None else None
            for k in (0, 1):                   # one simulation, scored in exact bins and at ±1 ms
                if raster is not None:
                    scores = tolerant_score(P, raster, D, k)
                else:
                    scores = replay(res, P, simulator=sim, tolerance=k)
                pooled = scores.pooled()
                row[f"{sim}/f1_{'exact' if k == 0 else f'pm{k}ms'}"] = pooled["f1"]
                row[f"{sim}/precision_recall_{k}"] = (pooled["precision"], pooled["recall"])
            row[f"{sim}/seconds"] = time.perf_counter() - start
        for level in noise_mV:                 # white background noise (std in mV of the membrane), the replica
            scores = replay(res, P, simulator="torch_neurons", tolerance=1, noise_mV=level, seed=1)
            row[f"noise_{level:g}mV/f1_pm1ms"] = scores.pooled()["f1"]
        out[kind] = row
        print(f"{kind:>9}: {row['synapses']} synapses, {row['violations']} violations after {row['epochs']} epochs "
              f"({row['learn_s']:.0f} s); " + ", ".join(f"{s}: F1 exact {row[f'{s}/f1_exact']:.4f}, "
                                                       f"±1 ms {row[f'{s}/f1_pm1ms']:.4f}" for s in sims), flush=True)
    return out


def main(argv=None) -> dict:
    p = parser(__doc__, jobs=False)
    M0, N0, T0, D0, p0 = PAPER_SIZE
    p.add_argument("--M", type=int, default=M0)
    p.add_argument("--N", type=int, default=N0)
    p.add_argument("--T", type=int, default=T0)
    p.add_argument("--D", type=int, default=D0)
    p.add_argument("--p", type=float, default=p0, help="firing probability per 1-ms bin")
    p.add_argument("--per-pair", type=int, default=20, help="lognormal delay draws per pair")
    p.add_argument("--delays", default="uniform,lognormal", help="comma-separated: uniform, lognormal")
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--lr", type=float, default=None, help="default: the learner's (0.2 / presynaptic spikes per "
                   "window, 0.0048 at the paper size); 0.05 for lognormal")
    p.add_argument("--block-size", type=int, default=None)
    p.add_argument("--memory-gb", type=float, default=4.0)
    p.add_argument("--brian2", action="store_true", help="also recall in Brian2 (numpy target)")
    p.add_argument("--workers", type=int, default=1, help="local Dask worker processes, one block of neurons each")
    p.add_argument("--progress", action="store_true", help="a progress bar per block")
    p.add_argument("--noise-mV", default="0.5,1", help="comma-separated background noise levels (std, mV) to "
                   "recall under (torch replica, ±1 ms); empty: none")
    args = p.parse_args(argv)
    started = time.perf_counter()
    if args.quick:
        size = dict(M=2, N=96, T=150, D=21, p=5e-3)
        args.per_pair = 10
    else:
        size = dict(M=args.M, N=args.N, T=args.T, D=args.D, p=args.p)
    res = {}
    for kind in args.delays.split(","):
        lr = args.lr if args.lr is not None else (0.05 if kind == "lognormal" else None)
        block = args.block_size or (-(-size["N"] // args.workers) if args.workers > 1 else None)
        cfg = NeuronMarginConfig(epochs=args.epochs if not args.quick else 600, lr=lr, block_size=block,
                                 memory_gb=args.memory_gb)
        part = run(**size, delays=(kind,), per_pair=args.per_pair, config=cfg, brian2=args.brian2,
                   noise_mV=tuple(float(x) for x in args.noise_mV.split(",") if x),
                   progress=args.progress or False,
                   executor=f"processes:{args.workers}" if args.workers > 1 else None)
        res.setdefault("setup", {})[kind] = part["setup"]
        res[kind] = part[kind]
    tag = "_quick" if args.quick else "" if (args.N, args.M, args.T) == (N0, M0, T0) else f"_N{args.N}"
    save(args.out, f"margin_neurons{tag}", res, started)
    return res


if __name__ == "__main__":
    main()
