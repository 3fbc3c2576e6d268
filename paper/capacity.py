"""Capacity: the largest number of patterns M recalled with pooled F1 >= 0.99.

Beyond the paper, which leaves capacity open (it predicts a scaling like
``N^2 D / (T - D)``). For each learning method and each network size N (and
each number of delays D at N=1024), M is doubled from 4 until recall fails,
then bisected to about 6 %; the result is the largest M that passed (one
seed; the F1 of every evaluated M is kept in the JSON). W is learned from all
M patterns; recall is scored on the first ``EVAL_PATTERNS`` (32) of them,
independent draws, which estimates the pooled F1 of all at a fraction of the
cost.

Methods: ``hebbian`` (default gain, N = 256 .. 2048 and D = 21, 41, 81 at
N = 1024), ``lstsq`` (exact least squares, expensive: its capacity is bounded
by the number of unknowns per neuron, ``M (T - D) <= N D``; N <= 512) and
``bptt`` (from the Hebbian initialisation, at most ``BPTT_EPOCHS`` epochs per
load, stopping at F1 0.99; N = 256, where the Hebbian rule alone fails first).

Run: ``python -m paper.capacity [--quick] [--methods hebbian,lstsq,bptt]``;
full mode measured at 1132 s (19 min) with ``--jobs 2`` on 2 cores shared
with another full run. Writes
``paper/results/capacity.json`` and ``capacity.png/.svg``.
"""
from __future__ import annotations

import time

from hdsnn import NetworkConfig, bernoulli_patterns, recall
from hdsnn.io import save_figure
from hdsnn.learning import TrainConfig, hebbian_init, least_squares_init, train

from ._common import TRAINING, parser, run_parallel, save

THRESHOLD = 0.99


#: Patterns recalled to score a load (all of them up to this number): the cost of recall grows with
#: the number of trials, and at N=2048 a load of several hundred patterns would take tens of minutes.
EVAL_PATTERNS = 32

#: BPTT: at most this many epochs per load, from the Hebbian initialisation, with the settings that
#: train on the paper benchmark (paper/bptt_train.py).
BPTT_EPOCHS = 20


def f1_at(method: str, M: int, N: int, T: int, D: int, p: float, seed: int = 0) -> float:
    targets = bernoulli_patterns(M, N, T, p, seed=seed)
    net = NetworkConfig(N=N, D=D)
    if method == "hebbian":
        W = hebbian_init(targets, D=D)
    elif method == "lstsq":
        W = least_squares_init(targets, D=D, tol=1e-6, progress=False)
    else:
        config = TrainConfig(epochs=BPTT_EPOCHS, stop_f1=THRESHOLD, **TRAINING)
        return train(targets, config=config, net=net, progress=False).best_f1     # eval-mode recall, best epoch
    # the patterns are independent draws: recalling the first EVAL_PATTERNS estimates the pooled F1 of all
    return recall(W, targets[:EVAL_PATTERNS], net=net, progress=False).scores.pooled()["f1"]


def capacity(method: str, N: int, T: int, D: int, p: float, M_max: int) -> dict:
    tried = {}

    def ok(M):
        if M not in tried:
            t0 = time.perf_counter()
            tried[M] = f1_at(method, M, N, T, D, p)
            print(f"{method} N={N} D={D} M={M}: F1 {tried[M]:.4f} ({time.perf_counter() - t0:.0f} s)", flush=True)
        return tried[M] >= THRESHOLD

    lo, hi = 0, None
    M = 4
    while M <= M_max:
        if ok(M):
            lo, M = M, 2 * M
        else:
            hi = M
            break
    if hi is not None:
        while hi - lo > max(1, lo // 16):             # bisect to about 6 % precision
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    return {"method": method, "N": N, "T": T, "D": D, "p_A": p, "capacity": lo,
            "reached_M_max": hi is None, "f1_by_M": {str(k): v for k, v in sorted(tried.items())}}


def figure(rows):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(10, 4))
    axes = fig.subplots(1, 2)
    for method in sorted({r["method"] for r in rows}):
        for ax, key, fixed in ((axes[0], "N", "D"), (axes[1], "D", "N")):
            sel = [r for r in rows if r["method"] == method and r["sweep"] == key]
            if sel:
                ax.plot([r[key] for r in sel], [r["capacity"] for r in sel], marker="o", label=method)
                ax.set_xlabel(key)
                ax.set_xscale("log", base=2)
                ax.set_yscale("symlog", base=2, linthresh=1)       # a capacity of 0 is drawn too
    axes[0].set_ylabel(f"capacity (largest M with F1 >= {THRESHOLD})")
    for ax in axes:
        ax.legend()
    fig.tight_layout()
    return fig


def main(argv=None) -> dict:
    p = parser(__doc__)
    p.add_argument("--methods", default="hebbian,lstsq,bptt", help="comma-separated: hebbian, lstsq, bptt")
    args = p.parse_args(argv)
    started = time.perf_counter()
    methods = args.methods.split(",")
    if args.quick:
        T, p_A, Ns, Ds, N0, D0, M_max = 200, 5e-3, [64, 128], [11, 21], 128, 21, 64
        largest = {"hebbian": 128, "lstsq": 128, "bptt": 64}
    else:
        T, p_A, Ns, Ds, N0, D0, M_max = 1000, 1e-3, [256, 512, 1024, 2048], [21, 41, 81], 1024, 41, 512
        largest = {"hebbian": 2048, "lstsq": 512, "bptt": 256}      # the cost grows fast with N (see above)
    jobs = []
    for m in methods:
        if m not in largest:
            raise ValueError(f"methods must be among {sorted(largest)}; got {m!r}")
        jobs += [(m, N, T, D0, p_A, M_max, "N") for N in Ns if N <= largest[m]]
        if N0 <= largest[m]:
            jobs += [(m, N0, T, D, p_A, M_max, "D") for D in Ds if D != D0]
    rows = run_parallel(_job, jobs, args.jobs, args.executor)
    for r in rows:
        print(f"{r['method']:8s} N={r['N']:5d} D={r['D']:4d}: capacity M = {r['capacity']}")
    rows += [dict(r, sweep="D") for r in rows if r["N"] == N0 and r["D"] == D0]   # shared point of both sweeps
    tag = "_quick" if args.quick else ""
    save_figure(figure(rows), f"{args.out}/capacity{tag}")
    out = {"threshold": THRESHOLD, "rows": rows}
    save(args.out, f"capacity{tag}", out, started)
    return out


def _job(method, N, T, D, p, M_max, sweep):
    return {**capacity(method, N, T, D, p, M_max), "sweep": sweep}


if __name__ == "__main__":
    main()
