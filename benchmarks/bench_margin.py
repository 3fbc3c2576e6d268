"""Margin learning: the event-driven learner against a dense-feature formulation, and 2 Dask workers against 1.

The event-driven learner (:func:`hdsnn.learning.margin_init`) computes the
teacher-forced currents from the sparse context (spike events x D delays),
runs the membrane recurrence with restarts vectorised over neurons, and gets
the gradient from the adjoint recurrence and a second sparse product. The
dense-feature formulation builds, for every postsynaptic neuron, the dense
``(M (T-D)) x (N D)`` matrix of presynaptic features filtered by that neuron's
membrane (``beta^k``, restarted at its own spikes and at the end of the clamp)
from the dense unfolded context, so that ``u_j = X_j w_j``, and its gradient
``X_j^T dh/du``. Both run the same objective (hinge + L2), the same optimiser
(Adam; neurons without violations left alone) for the same number of epochs,
from the same Hebbian start; the script checks that they end at the same
weights (up to float32 rounding).

Each run is its own subprocess, so that its peak resident memory is its own
(glibc's mmap threshold fixed at 128 KiB so that resident memory follows the
live tensors); memory is the growth of the peak over the resident memory just
before learning (torch, data and start weights loaded, one tiny warm-up run done). The event-driven
learner runs twice: all patterns in one minibatch, and one pattern per
minibatch (``memory_gb`` bound; identical weights).

The Dask part times :func:`margin_init` at a larger size in 2 blocks of
postsynaptic neurons, in process and on a LocalCluster of 2 worker processes
(started, and hdsnn imported in the workers, before the clock; the weights
must be identical).

Run: ``python -m benchmarks.bench_margin [--quick]``. Prints the ratios and
writes ``benchmarks/results/margin.json`` (``margin_quick.json``).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _rss_mib() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def dense_learn(targets, D, W0, cfg, beta=0.7, theta=1.0):
    """The dense-feature formulation (reset 'zero'): per neuron, ``u = X_j w_j``; same rule as margin_init."""
    import torch

    from hdsnn.learning import dense_context

    M, N, T = targets.shape
    L = T - D
    ctx = dense_context(targets, D)                                  # (M, L, N D) float32
    W = W0.reshape(N, N * D).clone()
    m1, m2 = torch.zeros_like(W), torch.zeros_like(W)
    b1, b2, eps = 0.9, 0.999, 1e-8
    active = list(range(N))
    s = targets.float()
    for epoch in range(cfg.epochs):
        grads, busy = {}, []
        for j in active:
            X = torch.empty_like(ctx)                                # the neuron's dense feature matrix
            x = ctx[:, 0].clone()
            X[:, 0] = x
            for k in range(1, L):
                keep = beta * (1.0 - s[:, j, D + k - 1])             # restart at the neuron's own spikes
                x = keep[:, None] * x + ctx[:, k]
                X[:, k] = x
            u = X @ W[j]                                             # (M, L)
            own = targets[:, j, D:]
            bad = (own & (u < theta + cfg.kappa)) | (~own & ((u > theta - cfg.kappa) | (u >= theta)))
            if bool(bad.any()):
                g = torch.where(bad, torch.where(own, -1.0, 1.0), 0.0)
                grads[j] = torch.einsum("ml,mlc->c", g, X) / M + cfg.l2 * W[j]
                busy.append(j)
            del X
        if not busy:
            break
        k = epoch + 1
        for j in busy:
            g = grads[j]
            m1[j] = b1 * m1[j] + (1 - b1) * g
            m2[j] = b2 * m2[j] + (1 - b2) * (g * g)
            W[j] = W[j] - (cfg.lr / (1 - b1 ** k)) * m1[j] / (torch.sqrt(m2[j] / (1 - b2 ** k)) + eps)
        active = busy
    return W.reshape(N, N, D)


def worker(method: str, data: str, epochs: int, kappa: float) -> dict:
    import numpy as np
    import torch

    from hdsnn.learning.margin import MarginConfig, margin_init

    torch.set_num_threads(1)
    with np.load(data, allow_pickle=False) as f:
        targets, W0 = torch.from_numpy(f["targets"]), torch.from_numpy(f["W0"])
    D = W0.shape[2]
    cfg = MarginConfig(kappa=kappa, epochs=epochs, lr=0.01, l2=1e-4)

    def learn(targets, cfg, W0):
        if method == "dense":
            return dense_learn(targets, D, W0, cfg)
        batch = 1 if method == "event_one_pattern" else None
        return margin_init(targets, D, MarginConfig(**{**cfg.__dict__, "batch_patterns": batch}), W0=W0).W

    learn(targets[:1, :8], MarginConfig(kappa=kappa, epochs=1), W0[:8, :8])      # warm-up: lazy imports, pools
    base_rss = _rss_mib()
    t0 = time.perf_counter()
    W = learn(targets, cfg, W0)
    seconds = time.perf_counter() - t0
    out = os.path.join(os.path.dirname(data), f"W_{method}.npy")
    np.save(out, W.numpy())
    peak = _peak_mib()
    return {"method": method, "seconds": seconds, "rss_before_MiB": base_rss, "peak_MiB": peak,
            "growth_MiB": peak - base_rss, "W": out}


def _run(method, data, args) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.bench_margin", "--worker", method, "--data", data,
           "--epochs", str(args.epochs), "--kappa", str(args.kappa)]
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072"}
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env,
                          cwd=Path(__file__).resolve().parent.parent)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _dask(args) -> dict:
    import torch

    from hdsnn.learning.margin import MarginConfig, margin_init
    from hdsnn.models import bernoulli_patterns
    from hdsnn.parallel import get_executor

    M, N, T, D, p = args.dask_size
    targets = bernoulli_patterns(M, N, T, p, seed=0)
    cfg = MarginConfig(kappa=args.kappa, epochs=args.epochs, block_size=N // 2)
    t0 = time.perf_counter()
    one = margin_init(targets, D, cfg)
    t_one = time.perf_counter() - t0
    spec = "threads:2" if args.quick else "processes:2"
    with get_executor(spec) as ex:
        tiny = bernoulli_patterns(1, 16, 60, 0.05, seed=0)
        margin_init(tiny, 5, MarginConfig(epochs=1, block_size=8), executor=ex)   # workers up, imports done
        t0 = time.perf_counter()
        two = margin_init(targets, D, cfg, executor=ex)
        t_two = time.perf_counter() - t0
    return {"size": {"M": M, "N": N, "T": T, "D": D, "p_A": p}, "executor": spec, "blocks": 2,
            "seconds_in_process": t_one, "seconds_two_workers": t_two, "speedup": t_one / t_two,
            "identical_weights": bool(torch.equal(one.W, two.W)), "violations": one.violations}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--N", type=int, default=128)
    p.add_argument("--M", type=int, default=16)
    p.add_argument("--T", type=int, default=600)
    p.add_argument("--D", type=int, default=21)
    p.add_argument("--p-A", dest="p_A", type=float, default=0.01)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--kappa", type=float, default=0.3)
    p.add_argument("--quick", action="store_true", help="N=64, M=4, T=150, D=11, p_A=0.02 (seconds)")
    p.add_argument("--out", default=None)
    p.add_argument("--worker", choices=("event", "event_one_pattern", "dense"), help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.data, args.epochs, args.kappa)))
        return {}
    if args.quick:
        args.N, args.M, args.T, args.D, args.p_A, args.epochs = 64, 4, 150, 11, 0.02, 2
    args.dask_size = (4, 128, 300, 21, 0.01) if args.quick else (64, 512, 1000, 41, 2e-3)

    import numpy as np

    from hdsnn.io import write_json
    from hdsnn.learning import hebbian_init
    from hdsnn.models import bernoulli_patterns

    from ._common import machine

    targets = bernoulli_patterns(args.M, args.N, args.T, args.p_A, seed=0)
    W0 = hebbian_init(targets, D=args.D)
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data.npz")
        np.savez(data, targets=targets.numpy(), W0=W0.numpy())
        for method in ("event", "event_one_pattern", "dense"):
            runs[method] = r = _run(method, data, args)
            r["W"] = np.load(r["W"])
            print(f"{method:>18}: {r['seconds']:8.2f} s, peak RSS {r['peak_MiB']:8.1f} MiB, "
                  f"growth {r['growth_MiB']:8.1f} MiB")
    ev, ev1, de = runs["event"], runs["event_one_pattern"], runs["dense"]
    diff = float(np.abs(ev["W"] - de["W"]).max())
    same_minibatch = bool(np.array_equal(ev["W"], ev1["W"]))
    for r in runs.values():
        del r["W"]
    res = {"size": {"M": args.M, "N": args.N, "T": args.T, "D": args.D, "p_A": args.p_A},
           "epochs": args.epochs, "kappa": args.kappa, "runs": runs,
           "time_ratio": de["seconds"] / ev["seconds"],
           "memory_ratio": de["growth_MiB"] / max(ev["growth_MiB"], 1e-9),
           "memory_ratio_one_pattern": de["growth_MiB"] / max(ev1["growth_MiB"], 1e-9),
           "max_abs_weight_difference_dense": diff, "identical_weights_one_pattern": same_minibatch,
           "dask": _dask(args), "machine": machine(), "load_average_at_end": os.getloadavg()}
    print(f"learn time: dense / event = {res['time_ratio']:.1f}x (goal >= 5x)")
    print(f"memory growth: dense / event = {res['memory_ratio']:.1f}x, one pattern per minibatch "
          f"{res['memory_ratio_one_pattern']:.1f}x (goal >= 10x)")
    print(f"max |W_event - W_dense| = {diff:.2e}; one-pattern minibatches identical: {same_minibatch}")
    d = res["dask"]
    print(f"Dask ({d['executor']}, 2 blocks, N={d['size']['N']}, M={d['size']['M']}): {d['seconds_in_process']:.2f} s "
          f"in process, {d['seconds_two_workers']:.2f} s on 2 workers: x{d['speedup']:.2f}; "
          f"identical weights: {d['identical_weights']}")
    out = args.out or RESULTS / ("margin_quick.json" if args.quick else "margin.json")
    write_json(out, res)
    print(f"wrote {out}")
    return res


if __name__ == "__main__":
    main()
