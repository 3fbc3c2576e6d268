"""Event-driven recall against the dense reference at the paper's size.

Recalls the 16 patterns of the paper benchmark (N=1024, T=1000, D=41,
p_A=1e-3) from their trigger windows with the Hebbian weights, three ways in
one run: the event-driven simulator as it chooses (entry-by-entry delivery of
the ~3 % non-zero weights), the event-driven simulator forced to deliver whole
weight columns (the path taken for dense weights such as BPTT's), and the
dense reference (``(16, N*D) @ (N*D, N)`` every step). Prints the speed-up
ratios and writes ``benchmarks/results/recall.json``.

Run: ``python -m benchmarks.bench_recall [--quick]``.
"""
from __future__ import annotations

import torch

from hdsnn import NetworkConfig, hebbian_init
from hdsnn.io import write_json
from hdsnn.models import make_trials, simulate, simulate_dense

from ._common import RESULTS, best_of, machine, parse


def main(argv=None) -> dict:
    args, (M, N, T, D, p), targets = parse(__doc__, argv, "repeats of the event-driven runs (best taken)")
    W = hebbian_init(targets, D=D)
    trials = make_trials(targets, D)
    net = NetworkConfig(N=N, D=D)

    def run(fn, **kw):
        return lambda: fn(W, trials.inputs, trials.clamp, net, progress=False, **kw)

    t_sparse, sim_sparse = best_of(run(simulate, sparse=True), args.repeat)
    t_columns, sim_columns = best_of(run(simulate, sparse=False), args.repeat)
    t_dense, sim_dense = best_of(run(simulate_dense), 1)
    res = {
        "size": {"M": M, "N": N, "T": T, "D": D, "p_A": p},
        "weights_nonzero_fraction": float((W != 0).float().mean()),
        "spikes": int(sim_sparse.raster.sum()),
        "seconds": {"event_driven_entries": t_sparse, "event_driven_columns": t_columns, "dense_reference": t_dense},
        "speedup": {"event_driven_entries": t_dense / t_sparse, "event_driven_columns": t_dense / t_columns},
        "identical_rasters": {"entries_vs_dense": bool(torch.equal(sim_sparse.raster, sim_dense.raster)),
                              "columns_vs_dense": bool(torch.equal(sim_columns.raster, sim_dense.raster))},
        "machine": machine(),
    }
    print(f"recall of {M} patterns, N={N}, T={T}, D={D} ({res['weights_nonzero_fraction']:.1%} non-zero weights)")
    print(f"  dense reference          {t_dense:8.3f} s")
    print(f"  event-driven (entries)   {t_sparse:8.3f} s   speed-up x{res['speedup']['event_driven_entries']:.1f}")
    print(f"  event-driven (columns)   {t_columns:8.3f} s   speed-up x{res['speedup']['event_driven_columns']:.1f}")
    print(f"  identical rasters: {res['identical_rasters']}")
    write_json(args.out or RESULTS / ("recall_quick.json" if args.quick else "recall.json"), res)
    return res


if __name__ == "__main__":
    main()
