"""One large load for margin learning: learn time, peak memory and closed-loop F1 of every pattern.

The capacity goal of the margin learner at the paper's sizes (T=1000, D=41,
p_A=1e-3): M patterns at N neurons, learned with the capacity settings of
:mod:`paper.capacity` (``MARGIN``: zero start, perceptron steps of 8
patterns) on a local Dask cluster of ``--workers`` processes (one block of
postsynaptic neurons each), then recalled from the clean trigger and scored on
all M patterns. Peak memory is the largest resident set of this process and
its worker processes together, sampled every 0.5 s.

Run: ``python -m paper.margin_load --N 1024 --M 1024 [--D 41] [--p-A 1e-3] [--max-seconds 3000]``;
writes ``paper/results/margin_load_N{N}_M{M}[_D{D}_p{p_A}].json`` (``--quick``: N=128, M=32,
T=300, D=21, p_A=5e-3, seconds; ``..._quick.json``). Peak memory needs psutil
(installed with the ``dask`` extra).
"""
from __future__ import annotations

import threading
import time

from hdsnn.config import NetworkConfig
from hdsnn.learning import MarginConfig, margin_init
from hdsnn.models import bernoulli_patterns, recall

from ._common import parser, save
from .capacity import MARGIN


class PeakMemory:
    """Largest resident set (GB) of this process and its children while running (psutil)."""

    def __init__(self, every: float = 0.5):
        import psutil

        self._psutil = psutil
        self.peak, self._every, self._stop = 0.0, every, threading.Event()
        self._me = psutil.Process()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._stop.is_set():
            try:
                procs = [self._me] + self._me.children(recursive=True)
                self.peak = max(self.peak, sum(p.memory_info().rss for p in procs) / 1e9)
            except self._psutil.Error:
                pass
            self._stop.wait(self._every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def main(argv=None) -> dict:
    p = parser(__doc__, jobs=False)
    p.add_argument("--N", type=int, default=1024)
    p.add_argument("--M", type=int, default=1024)
    p.add_argument("--D", type=int, default=41)
    p.add_argument("--p-A", type=float, default=1e-3, help="firing probability of the targets per step")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--max-seconds", type=float, default=3000.0, help="time budget of each block (s)")
    p.add_argument("--progress", action="store_true", help="a progress bar per block (on the workers' stderr)")
    args = p.parse_args(argv)
    started = time.perf_counter()
    N, M, T, D, p_A = (128, 32, 300, 21, 5e-3) if args.quick else (args.N, args.M, 1000, args.D, args.p_A)
    targets = bernoulli_patterns(M, N, T, p_A, seed=0)
    cfg = MarginConfig(**{**MARGIN, "epochs": 200, "max_seconds": args.max_seconds,
                          "block_size": -(-N // args.workers), "memory_gb": 3.0})
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        res = margin_init(targets, D, cfg, net=NetworkConfig(N=N, D=D), progress=args.progress or None,
                          executor=f"processes:{args.workers}" if args.workers > 1 else None)
        learn_s = time.perf_counter() - t0
        peak_learn = mem.peak
        t0 = time.perf_counter()
        rec = recall(res.W, targets, net=NetworkConfig(N=N, D=D), progress=False)
        recall_s = time.perf_counter() - t0
    pooled = rec.scores.pooled()
    print(f"N={N} M={M}: learned in {learn_s:.0f} s ({res.epochs_run} epochs, {res.violations} violations left, "
          f"peak {peak_learn:.2f} GB); pooled F1 {pooled['f1']:.4f} on all {M} patterns", flush=True)
    out = {"N": N, "M": M, "T": T, "D": D, "p_A": p_A, "options": cfg.__dict__, "workers": args.workers,
           "learn_s": learn_s, "epochs_run": res.epochs_run, "violations": res.violations,
           "history": res.history, "peak_gb_learning": peak_learn, "peak_gb": mem.peak, "recall_s": recall_s,
           "pooled": pooled, "runaway_trials": int(rec.runaway.sum())}
    tag = "" if args.quick or (D, p_A) == (41, 1e-3) else f"_D{D}_p{p_A:g}"
    save(args.out, f"margin_load_N{N}_M{M}{tag}" + ("_quick" if args.quick else ""), out, started)
    return out


if __name__ == "__main__":
    main()
