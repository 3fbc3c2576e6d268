"""Measure the Hebbian gain: pooled F1 as a function of g on the paper benchmark.

The default gain of :func:`hdsnn.learning.hebbian_init` (``DEFAULT_GAIN``) is
the value this scan recommends: the gain that maximises the worst pooled F1
over the memory loads scanned (M = 16 and M = 64 by default), so that one
default serves both the paper's load and a four-fold larger one.

Run: ``python -m paper.gain_scan`` (full: N=1024, T=1000, D=41, p_A=1e-3,
about 2 minutes on 2 cores) or ``python -m paper.gain_scan --quick`` (N=256,
T=300, D=21, p_A=4e-3, M = 4 and 8, gains 2 to 4; seconds). Writes
``gain_scan.json`` (``gain_scan_quick.json`` with ``--quick``) to ``--out``
(default ``paper/results/``).
"""
from __future__ import annotations

import time

import numpy as np

from hdsnn import NetworkConfig, bernoulli_patterns, hebbian_init, recall

from ._common import parser, save


def scan(N: int, T: int, D: int, p_A: float, loads, gains, seed: int = 0) -> dict:
    rows = []
    for M in loads:
        targets = bernoulli_patterns(M, N, T, p_A, seed=seed)
        for g in gains:
            t0 = time.perf_counter()
            result = recall(hebbian_init(targets, D=D, gain=g), targets, net=NetworkConfig(N=N, D=D), progress=False)
            pooled = result.scores.pooled()
            rows.append({"M": M, "gain": g, **pooled, "runaway": int(result.runaway.sum()),
                         "seconds": time.perf_counter() - t0})
            print(f"M={M:4d} gain={g:5.2f} precision={pooled['precision']:.4f} recall={pooled['recall']:.4f} "
                  f"F1={pooled['f1']:.5f} runaway={rows[-1]['runaway']}")
    worst = {g: min(r["f1"] for r in rows if r["gain"] == g) for g in gains}
    best = max(gains, key=lambda g: (worst[g], -abs(g - np.median(gains))))
    return {"N": N, "T": T, "D": D, "p_A": p_A, "seed": seed, "rows": rows,
            "worst_f1_per_gain": {str(g): f for g, f in worst.items()}, "recommended_gain": best}


def main(argv=None) -> dict:
    args = parser(__doc__, jobs=False).parse_args(argv)
    started = time.perf_counter()
    if args.quick:
        res = scan(256, 300, 21, 4e-3, loads=(4, 8), gains=(2.0, 2.5, 3.0, 4.0))
    else:
        res = scan(1024, 1000, 41, 1e-3, loads=(16, 64),
                   gains=(2.0, 2.5, 2.75, 3.0, 3.25, 3.5, 4.0))
    print(f"recommended gain: {res['recommended_gain']}")
    save(args.out, f"gain_scan{'_quick' if args.quick else ''}", res, started)
    return res


if __name__ == "__main__":
    main()
