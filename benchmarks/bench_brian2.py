"""Brian2 recall on the paper benchmark: identity with torch, wall time, memory, richer neurons.

Usage (one part at a time; each writes its part of benchmarks/results/brian2.json)::

    python benchmarks/bench_brian2.py exact   [--target numpy]   # 16 patterns: identical to torch? wall time
    python benchmarks/bench_brian2.py memory                     # bytes per Brian2 synapse (numpy target)
    python benchmarks/bench_brian2.py dense   [--budget-gb G]    # the full dense tensor: refused or run
    python benchmarks/bench_brian2.py neurons [--quick]          # richer neurons: tolerant F1 after calibration

The paper benchmark: ``bernoulli_patterns(16, 1024, 1000, 1e-3, seed=0)``,
``hebbian_init(P, D=41)``.
"""
from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np
import torch

import hdsnn
from hdsnn.io import write_json
from hdsnn.learning import hebbian_init

RESULTS = Path(__file__).resolve().parent / "results" / "brian2.json"


def _paper():
    P = hdsnn.bernoulli_patterns(16, 1024, 1000, 1e-3, seed=0)
    return P, hebbian_init(P, D=41)


def _peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _store(part: str, data: dict) -> None:
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[part] = data
    write_json(RESULTS, results)
    print(f"wrote {RESULTS} [{part}]")


def exact(args) -> None:
    P, W = _paper()
    start = time.perf_counter()
    ref = hdsnn.recall(W, P, progress=False)
    torch_s = time.perf_counter() - start
    start = time.perf_counter()
    r = hdsnn.recall(W, P, simulator="brian2", target=args.target)
    wall = time.perf_counter() - start
    same = [bool(torch.equal(r.full[m], ref.full[m])) for m in range(P.shape[0])]
    data = {"target": args.target, "synapses": r.provenance["n_synapses"], "patterns_identical": sum(same),
            "patterns": len(same), "rasters_identical": all(same),
            "torch_f1": ref.scores.pooled()["f1"], "brian2_f1": r.scores.pooled()["f1"],
            "export_s": r.seconds["export"], "build_s": r.seconds["build"], "run_s": r.seconds["simulate"],
            "brian2_wall_s": wall, "torch_wall_s": torch_s, "brian2_over_torch": wall / torch_s,
            "peak_rss_gib": _peak_rss_gib()}
    print(f"paper benchmark, Brian2 {args.target}: {r.provenance['n_synapses']} synapses; identical rasters for "
          f"{sum(same)}/{len(same)} patterns; pooled F1 torch {data['torch_f1']:.4f}, Brian2 {data['brian2_f1']:.4f}")
    print(f"export {r.seconds['export']:.2f} s + build {r.seconds['build']:.2f} s + run {r.seconds['simulate']:.2f} s "
          f"= {wall:.2f} s wall (goal < 30 s); torch {torch_s:.2f} s; ratio Brian2/torch {wall / torch_s:.1f}")
    _store(f"exact_{args.target}", data)


def memory(args) -> None:
    import gc

    import brian2 as b2

    def resident() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * resource.getpagesize()

    b2.prefs.codegen.target = "numpy"
    N, D = 1024, 41
    rows = []
    for n in (1_000_000, 4_000_000):
        rng = np.random.default_rng(0)
        pre, post = rng.integers(0, N, n).astype(np.int32), rng.integers(0, N, n).astype(np.int32)
        delays, weights = rng.integers(0, D, n), rng.random(n).astype(np.float32)
        group = b2.NeuronGroup(N, "u : 1", threshold="rand() < 0.001", reset="u = 0", dt=1 * b2.ms)
        gc.collect()
        before = resident()
        syn = b2.Synapses(group, group, "w : 1", on_pre="u_post += w", dtype={"w": np.float32}, dt=1 * b2.ms)
        syn.connect(i=pre, j=post)
        syn.w, syn.delay = weights, delays * b2.ms
        b2.Network(group, syn).run(50 * b2.ms)
        gc.collect()
        per = (resident() - before) / n
        rows.append({"synapses": n, "bytes_per_synapse": per})
        print(f"{n} synapses: {per:.1f} resident bytes per synapse (numpy target, after a 50 ms run)")
        del syn, group
    _store("memory", {"numpy": rows})


def dense(args) -> None:
    from hdsnn.models.export import check_memory

    P, W = _paper()
    W = W + 1e-6                                     # every entry non-zero: 43 million synapses
    n = W.numel()
    budget = None if args.budget_gb is None else args.budget_gb * 2**30
    data = {"synapses": n, "budget_gib": args.budget_gb}
    try:
        data["estimate_gib"] = check_memory(n, budget, N=1024, available=n) / 2**30
    except ValueError as err:
        print(f"refused: {err}")
        data.update(refused=True, message=str(err), peak_rss_gib=_peak_rss_gib())
        _store("dense_refused", data)
        return
    print(f"estimate {data['estimate_gib']:.2f} GiB fits the budget: running {n} synapses")
    start = time.perf_counter()
    r = hdsnn.recall(W, P[:args.patterns], simulator="brian2", budget_gb=args.budget_gb)
    wall = time.perf_counter() - start
    data.update(refused=False, patterns=args.patterns, wall_s=wall, run_s=r.seconds["simulate"],
                f1=r.scores.pooled()["f1"], peak_rss_gib=_peak_rss_gib())
    print(f"ran {n} synapses, {args.patterns} patterns in {wall:.1f} s (run {r.seconds['simulate']:.1f} s), "
          f"pooled F1 {data['f1']:.4f}, peak resident memory {data['peak_rss_gib']:.2f} GiB")
    _store("dense_run", data)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="part", required=True)
    p = sub.add_parser("exact")
    p.add_argument("--target", default="numpy", choices=("numpy", "cython", "cpp_standalone"))
    sub.add_parser("memory")
    p = sub.add_parser("dense")
    p.add_argument("--budget-gb", type=float, default=None)
    p.add_argument("--patterns", type=int, default=2, help="patterns recalled when it runs")
    p = sub.add_parser("neurons")
    p.add_argument("--quick", action="store_true", help="a small network, for a smoke run")
    args = parser.parse_args(argv)
    {"exact": exact, "memory": memory, "dense": dense, "neurons": neurons}[args.part](args)


def neurons(args) -> None:
    from hdsnn.models import bernoulli_patterns
    from hdsnn.paper.biophysical import calibrated_baseline, sizes

    s = sizes(args.quick)
    P = bernoulli_patterns(s["M"], s["N"], s["T"], s["p"], seed=0)
    efficacies = (1.0, 1.4, 2.0) if args.quick else (0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0, 5.6)
    _store("neurons_quick" if args.quick else "neurons",
           {kind: calibrated_baseline(P, s["D"], kind, efficacies=efficacies) for kind in ("uniform", "lognormal")})


if __name__ == "__main__":
    main()
