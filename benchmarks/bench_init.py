"""Pair-based Hebbian initialisation against the dense formula at the paper's size.

The pair-based rule (``hebbian_init``) multiplies two sparse matrices, the
deconvolved targets and the delayed presynaptic spikes, so its cost follows the
number of pre/post pairs within D steps. The dense formula
(``hebbian_init_dense``) unfolds the ``(T-D, N*D)`` context of every pattern
and multiplies it by the targets: ``M (T-D) N^2 D`` multiply-adds. Both run on
the paper benchmark (N=1024, M=16, T=1000, D=41, p_A=1e-3) in one run; the
script checks that they agree, prints the speed-up and writes
``benchmarks/results/init.json``.

Run: ``python -m benchmarks.bench_init [--quick]``.
"""
from __future__ import annotations

import torch

from hdsnn.io import write_json
from hdsnn.learning import hebbian_init, hebbian_init_dense

from ._common import RESULTS, best_of, machine, parse


def main(argv=None) -> dict:
    args, (M, N, T, D, p), targets = parse(__doc__, argv, "repeats of the pair-based rule (best taken)")
    t_pairs, W = best_of(lambda: hebbian_init(targets, D=D), args.repeat)
    t_dense, W_dense = best_of(lambda: hebbian_init_dense(targets, D=D), 1)
    diff = float((W - W_dense).abs().max())
    pairs = int((W != 0).sum())
    res = {"size": {"M": M, "N": N, "T": T, "D": D, "p_A": p}, "nonzero_weights": pairs,
           "seconds": {"pairs": t_pairs, "dense": t_dense}, "speedup": t_dense / t_pairs,
           "max_abs_difference": diff, "agree": bool(torch.allclose(W, W_dense, rtol=1e-5, atol=1e-7)),
           "machine": machine()}
    print(f"Hebbian initialisation, M={M}, N={N}, T={T}, D={D}: {pairs} non-zero weights")
    print(f"  dense formula  {t_dense:8.3f} s")
    print(f"  spike pairs    {t_pairs:8.3f} s   speed-up x{res['speedup']:.1f}")
    print(f"  max |difference| = {diff:.2e}  agree: {res['agree']}")
    write_json(args.out or RESULTS / ("init_quick.json" if args.quick else "init.json"), res)
    return res


if __name__ == "__main__":
    main()
