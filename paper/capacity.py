"""Capacity: the largest number of patterns M recalled with pooled F1 >= 0.99.

Beyond the paper, which leaves capacity open (it predicts a scaling like
``N^2 D / (T - D)``). For each learning method and each network size N (and
each number of delays D at N=1024), M is doubled from 4 until recall fails,
then bisected to about 6 %; the result is the largest M that passed (one
seed; the F1 of every evaluated M is kept in the JSON). W is learned from all
M patterns; recall is scored on the first ``EVAL_PATTERNS`` (64) of them,
independent draws, which estimates the pooled F1 of all at a fraction of the
cost.

Methods: ``hebbian`` (default gain, N = 256 .. 2048 and D = 21, 41, 81 at
N = 1024), ``lstsq`` (exact least squares, expensive: its capacity is bounded
by the number of unknowns per neuron, ``M (T - D) <= N D``; N <= 512) and
``bptt`` (from the Hebbian initialisation, at most ``BPTT_EPOCHS`` epochs per
load, stopping at F1 0.99; N = 256, where the Hebbian rule alone fails first)
and ``margin`` (:mod:`hdsnn.learning.margin` with the settings ``MARGIN``, at
most ``MARGIN_EPOCHS`` epochs per load). Margin learning is too slow per load
for a bisection at large N: it climbs a ladder of loads (``--margin-loads``,
multiples of N) and stops at the first that fails, so its capacity is a lower
bound, the largest load of the ladder that passed. Loads are scored on the
first ``EVAL_PATTERNS`` patterns (or all, if fewer).

Gardner's bound ``alpha_c(p_A, kappa) N D / (T - D)``
(:func:`hdsnn.analysis.max_patterns`) is drawn on the figure and each row
gives the fraction of it reached (kappa = 0).

Run: ``python -m paper.capacity [--quick] [--methods hebbian,lstsq,bptt,margin]``
(rows of the points not run are kept from an existing ``capacity.json``);
full mode measured at 1132 s (19 min) with ``--jobs 2`` on 2 cores shared
with another full run. Writes
``paper/results/capacity.json`` and ``capacity.png/.svg``.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from hdsnn import NetworkConfig, bernoulli_patterns, recall
from hdsnn.analysis import max_patterns
from hdsnn.io import save_figure
from hdsnn.learning import MarginConfig, TrainConfig, hebbian_init, least_squares_init, margin_init, train

from ._common import TRAINING, parser, run_parallel, save

THRESHOLD = 0.99


#: Patterns recalled to score a load (all of them up to this number): the cost of recall grows with
#: the number of trials, and at N=2048 a load of several hundred patterns would take tens of minutes.
EVAL_PATTERNS = 64

#: Margin learning for capacity: from zero weights (the Hebbian start's false positives cost epochs
#: at large loads), perceptron steps of 8 patterns, a small margin (measured in the session notes of
#: paper/RESULTS.md section 7).
MARGIN = {"kappa": 0.1, "init": "zero", "optimizer": "sgd", "lr": 0.3, "step_patterns": 8}
MARGIN_EPOCHS = 60

#: BPTT: at most this many epochs per load, from the Hebbian initialisation, with the settings that
#: train on the paper benchmark (paper/bptt_train.py).
BPTT_EPOCHS = 20


def f1_at(method: str, M: int, N: int, T: int, D: int, p: float, seed: int = 0) -> float:
    targets = bernoulli_patterns(M, N, T, p, seed=seed)
    net = NetworkConfig(N=N, D=D)
    if method == "hebbian":
        W = hebbian_init(targets, D=D)
    elif method == "margin":
        cfg = MarginConfig(**MARGIN, epochs=MARGIN_EPOCHS, memory_gb=3.0)
        W = margin_init(targets, D, cfg, net=net, progress=False).W
    elif method == "lstsq":
        W = least_squares_init(targets, D=D, tol=1e-6, progress=False)
    else:
        config = TrainConfig(epochs=BPTT_EPOCHS, stop_f1=THRESHOLD, **TRAINING)
        return train(targets, config=config, net=net, progress=False).best_f1     # eval-mode recall, best epoch
    # the patterns are independent draws: recalling the first EVAL_PATTERNS estimates the pooled F1 of all
    return recall(W, targets[:EVAL_PATTERNS], net=net, progress=False).scores.pooled()["f1"]


def _scored(method, M, N, T, D, p):
    t0 = time.perf_counter()
    f1 = f1_at(method, M, N, T, D, p)
    seconds = time.perf_counter() - t0
    print(f"{method} N={N} D={D} p_A={p:g} M={M}: F1 {f1:.4f} ({seconds:.0f} s)", flush=True)
    return f1, seconds


def capacity(method: str, N: int, T: int, D: int, p: float, M_max: int, ladder=None) -> dict:
    """Largest M passing: doubled from 4 then bisected, or (``ladder``) the loads climbed until one fails."""
    tried, seconds = {}, {}

    def ok(M):
        if M not in tried:
            tried[M], seconds[M] = _scored(method, M, N, T, D, p)
        return tried[M] >= THRESHOLD

    lo, hi = 0, None
    if ladder is not None:
        for M in ladder:
            if not ok(M):
                hi = M
                break
            lo = M
    else:
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
    bound = max_patterns(N, D, T, p)
    return {"method": method, "N": N, "T": T, "D": D, "p_A": p, "capacity": lo, "search": "ladder" if ladder
            else "bisection", "reached_M_max": hi is None, "gardner_M_max": bound, "fraction_of_bound": lo / bound,
            "eval_patterns": EVAL_PATTERNS, "f1_by_M": {str(k): v for k, v in sorted(tried.items())},
            "seconds_by_M": {str(k): v for k, v in sorted(seconds.items())}}


def figure(rows, p_A: float, N0: int, D0: int):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.2))
    axes = fig.subplots(1, 2)
    for k, method in enumerate(sorted({r["method"] for r in rows})):
        for ax, key in ((axes[0], "N"), (axes[1], "D")):
            sel = sorted((r for r in rows if r["method"] == method and r["sweep"] == key and r["p_A"] == p_A),
                         key=lambda r: r[key])
            if sel:
                ladder = sel[0]["search"] == "ladder"                # a lower bound: drawn as an upward arrow
                ax.plot([r[key] for r in sel], [r["capacity"] for r in sel], marker="^" if ladder else "o",
                        color=f"C{k}", label=method + (" (lower bound)" if ladder else ""))
    for ax, key in ((axes[0], "N"), (axes[1], "D")):
        sel = sorted((r for r in rows if r["sweep"] == key), key=lambda r: r[key])
        if not sel:
            continue
        xs = sorted({r[key] for r in sel})
        r0 = sel[0]
        for kappa, style in ((0.0, "k--"), (1.0, "k:")):
            ys = [max_patterns(x if key == "N" else r0["N"], x if key == "D" else r0["D"], r0["T"], p_A, kappa)
                  for x in xs]
            ax.plot(xs, ys, style, label=f"Gardner bound, kappa={kappa:g}")
        ax.set_xlabel(key)
        ax.set_xscale("log", base=2)
        ax.set_yscale("symlog", base=2, linthresh=1)       # a capacity of 0 is drawn too
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=7)
    axes[0].set_ylabel(f"capacity (largest M with F1 >= {THRESHOLD})")
    axes[0].set_title(f"p_A = {p_A:g}, D = {D0}", fontsize=9)
    axes[1].set_title(f"p_A = {p_A:g}, N = {N0}", fontsize=9)
    fig.tight_layout()
    return fig


def main(argv=None) -> dict:
    p = parser(__doc__)
    p.add_argument("--methods", default="hebbian,lstsq,bptt", help="comma-separated: hebbian, lstsq, bptt, margin")
    p.add_argument("--margin-sizes", default="256,512", help="comma-separated N for margin learning (D=41)")
    p.add_argument("--margin-loads", default="0.5,1,2",
                   help="the ladder of loads for margin learning, as multiples of N")
    args = p.parse_args(argv)
    started = time.perf_counter()
    methods = args.methods.split(",")
    if args.quick:
        T, p_A, Ns, Ds, N0, D0, M_max = 200, 5e-3, [64, 128], [11, 21], 128, 21, 64
        largest = {"hebbian": 128, "lstsq": 128, "bptt": 64, "margin": 64}
    else:
        T, p_A, Ns, Ds, N0, D0, M_max = 1000, 1e-3, [256, 512, 1024, 2048], [21, 41, 81], 1024, 41, 512
        largest = {"hebbian": 2048, "lstsq": 512, "bptt": 256, "margin": 2048}   # the cost grows fast with N
    jobs = []
    for m in methods:
        if m not in largest:
            raise ValueError(f"methods must be among {sorted(largest)}; got {m!r}")
        if m == "margin":
            sizes = [int(n) for n in args.margin_sizes.split(",")] if not args.quick else Ns[:1]
            loads = [float(x) for x in args.margin_loads.split(",")]
            jobs += [(m, N, T, D0, p_A, M_max, "N", tuple(max(1, round(x * N)) for x in loads)) for N in sizes]
            continue
        jobs += [(m, N, T, D0, p_A, M_max, "N", None) for N in Ns if N <= largest[m]]
        if N0 <= largest[m]:
            jobs += [(m, N0, T, D, p_A, M_max, "D", None) for D in Ds if D != D0]
    rows = run_parallel(_job, jobs, args.jobs, args.executor)
    for r in rows:
        print(f"{r['method']:8s} N={r['N']:5d} D={r['D']:4d}: capacity M = {r['capacity']} "
              f"({100 * r['fraction_of_bound']:.1f} % of Gardner's {r['gardner_M_max']:.0f})")
    rows += [dict(r, sweep="D") for r in rows if r["N"] == N0 and r["D"] == D0 and r["search"] == "bisection"]
    tag = "_quick" if args.quick else ""
    rows = _kept_rows(Path(args.out) / f"capacity{tag}.json", {_key(r) for r in rows}) + rows
    save_figure(figure(rows, p_A, N0, D0), f"{args.out}/capacity{tag}")
    out = {"threshold": THRESHOLD, "rows": rows}
    save(args.out, f"capacity{tag}", out, started)
    return out


def _key(row) -> tuple:
    return row["method"], row["N"], row["D"], row["p_A"], row["sweep"]


def _kept_rows(path: Path, redone) -> list:
    """Rows of an earlier run for the points not run now (so that one method or size can be redone alone)."""
    if not path.exists():
        return []
    kept = []
    for r in json.loads(path.read_text())["rows"]:
        if _key(r) in redone:
            continue
        bound = max_patterns(r["N"], r["D"], r["T"], r["p_A"])
        # rows written before the margin learner was added were bisected and scored on 32 patterns
        kept.append({"search": "bisection", "eval_patterns": 32, "gardner_M_max": bound,
                     "fraction_of_bound": r["capacity"] / bound, **r})
    return kept


def _job(method, N, T, D, p, M_max, sweep, ladder):
    return {**capacity(method, N, T, D, p, M_max, ladder), "sweep": sweep}


if __name__ == "__main__":
    main()
