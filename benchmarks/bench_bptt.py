"""Peak memory and time per epoch: lean BPTT (``delay_lif``) against the naive autograd formulation.

One training epoch = forward over all patterns (clamped trigger window, free
run), loss ``1 - F1`` on the free-run spikes, backward, one AdamW step. The
lean formulation is what :func:`hdsnn.learning.train` runs: the weights held
in the layout ``[pre, delay-1, post]``, :func:`delay_lif_counts` (spike counts
out, no float spike raster) and :func:`f1_loss_from_counts`. The
naive formulation (``delay_lif_dense``) multiplies the dense ``(B, N*D)``
context by the weights every step, as the paper's code does, and autograd
keeps that context for every step.

Each formulation runs in its own subprocess, so that its peak resident memory
(``ru_maxrss``) is its own; the subprocesses run with glibc's mmap threshold
fixed at 128 KiB, so that resident memory follows the live tensors. Memory is reported three ways: the whole process's
peak; the growth of the peak during the epochs over the resident memory just
before them (torch, data and weights loaded) -- the memory the epoch itself
needs, optimizer state, weight gradient and loss included, which both
formulations share; and the memory autograd keeps between the forward and the
backward pass (the storages it saves, measured with
``torch.autograd.graph.saved_tensors_hooks``, the weights themselves excluded)
-- the part that grows with ``B x L`` and that the lean function shrinks.

Run: ``python benchmarks/bench_bptt.py`` (defaults: the paper's size at N=512:
M=16, T=1000, D=41, p_A=1e-3, 2 epochs each, 1 thread; about 3 minutes) or
``--quick``. Prints the ratios and writes ``benchmarks/results/bptt.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
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
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024      # Linux: KiB


def _worker_env() -> dict:
    """glibc with a fixed mmap threshold: every large tensor is its own mapping, returned to the
    system when freed, so that the resident memory follows the live tensors (with glibc's default
    dynamic threshold, freed heap memory stays resident and the peak depends on the history)."""
    return {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072"}


def worker(method: str, data: str, epochs: int, threads: int) -> dict:
    import numpy as np
    import torch

    from hdsnn.config import NetworkConfig
    from hdsnn.learning import delay_lif_counts, delay_lif_dense, f1_loss, f1_loss_from_counts

    torch.set_num_threads(threads)
    with np.load(data, allow_pickle=False) as f:
        inputs, clamp = torch.from_numpy(f["inputs"]), torch.from_numpy(f["clamp"])
        targets, W0 = torch.from_numpy(f["targets"]), torch.from_numpy(f["W"])
        aligned, scored = torch.from_numpy(f["aligned"]), torch.from_numpy(f["scored"])
    N, D = W0.shape[0], W0.shape[2]
    net = NetworkConfig(N=N, D=D)
    if method == "lean":            # as hdsnn.learning.train holds it: [pre, delay-1, post], W a view
        param = W0.permute(1, 2, 0).contiguous().requires_grad_(True)
        W = param.permute(2, 0, 1)
    else:
        param = W = W0.clone().requires_grad_(True)
    opt = torch.optim.AdamW([param], lr=1e-3, fused=True)      # as in hdsnn.learning.train
    n_target = int(targets[:, :, D:].sum())
    base_rss, base_peak = _rss_mib(), _peak_mib()
    times, losses = [], []
    saved: dict = {}                     # storages autograd keeps for the backward pass, by address

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() != param.untyped_storage().data_ptr():     # the weights exist anyway
            saved[storage.data_ptr()] = storage.nbytes()
        return tensor

    for epoch in range(epochs):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)              # the last gradient is not kept through the forward pass
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            if method == "lean":            # what hdsnn.learning.train runs
                spikes = delay_lif_counts(W, inputs, aligned, scored, clamp, net)
                loss = f1_loss_from_counts(spikes, n_target)
            else:
                spikes = delay_lif_dense(W, inputs, clamp, net)
                loss = f1_loss(spikes[:, :, D:], targets[:, :, D:])
        if epoch == 0:
            saved_mib = sum(saved.values()) / 2**20
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
        losses.append(float(loss.detach()))
        del spikes, loss
    peak = _peak_mib()
    return {"method": method, "epoch_s": times, "losses": losses, "rss_before_MiB": base_rss,
            "peak_before_MiB": base_peak, "peak_MiB": peak, "epoch_peak_growth_MiB": peak - base_rss,
            "saved_for_backward_MiB": saved_mib,
            "W_after": float(W.detach().double().sum())}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--N", type=int, default=512)
    p.add_argument("--M", type=int, default=16)
    p.add_argument("--T", type=int, default=1000)
    p.add_argument("--D", type=int, default=41)
    p.add_argument("--p-A", dest="p_A", type=float, default=1e-3)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--quick", action="store_true", help="N=128, M=4, T=300, D=21, p_A=4e-3")
    p.add_argument("--out", default=str(RESULTS / "bptt.json"))
    p.add_argument("--worker", choices=("lean", "naive"), help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.data, args.epochs, args.threads)))
        return {}
    if args.quick:
        args.N, args.M, args.T, args.D, args.p_A = 128, 4, 300, 21, 4e-3

    import numpy as np

    from hdsnn.io import write_json
    from hdsnn.learning import hebbian_init
    from hdsnn.learning.bptt import scored_targets
    from hdsnn.models import bernoulli_patterns, make_trials

    targets = bernoulli_patterns(args.M, args.N, args.T, args.p_A, seed=0)
    W = hebbian_init(targets, D=args.D)
    trials = make_trials(targets, args.D)
    aligned, scored = scored_targets(trials, targets, args.D)
    runs = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data.npz")
        np.savez(data, inputs=trials.inputs.numpy(), clamp=trials.clamp.numpy(), targets=targets.numpy(),
                 W=W.numpy(), aligned=aligned.numpy(), scored=scored.numpy())
        for method in ("lean", "naive"):
            cmd = [sys.executable, __file__, "--worker", method, "--data", data, "--epochs", str(args.epochs),
                   "--threads", str(args.threads)]
            done = subprocess.run(cmd, capture_output=True, text=True, check=True, env=_worker_env())
            runs[method] = json.loads(done.stdout.strip().splitlines()[-1])
            r = runs[method]
            print(f"{method:>5}: epoch {min(r['epoch_s']):8.2f} s (best of {args.epochs}), peak RSS "
                  f"{r['peak_MiB']:8.1f} MiB, epoch growth {r['epoch_peak_growth_MiB']:8.1f} MiB, "
                  f"saved for backward {r['saved_for_backward_MiB']:8.1f} MiB")
    lean, naive = runs["lean"], runs["naive"]
    same = abs(lean["W_after"] - naive["W_after"]) <= 1e-6 * max(1.0, abs(naive["W_after"]))
    res = {"size": {"N": args.N, "M": args.M, "T": args.T, "D": args.D, "p_A": args.p_A},
           "epochs": args.epochs, "threads": args.threads, "machine": platform.processor() or platform.machine(),
           "cpu_count": os.cpu_count(), "load_average_at_end": os.getloadavg(), "runs": runs,
           "time_ratio": min(naive["epoch_s"]) / min(lean["epoch_s"]),
           "peak_memory_ratio": naive["peak_MiB"] / lean["peak_MiB"],
           "epoch_memory_ratio": naive["epoch_peak_growth_MiB"] / max(lean["epoch_peak_growth_MiB"], 1e-9),
           "saved_memory_ratio": naive["saved_for_backward_MiB"] / lean["saved_for_backward_MiB"],
           "same_losses": lean["losses"] == naive["losses"], "same_weights_after": same}
    print(f"epoch time: naive / lean = {res['time_ratio']:.1f}x (goal >= 3x)")
    print(f"peak memory of the process: naive / lean = {res['peak_memory_ratio']:.1f}x")
    print(f"peak memory growth of the epoch: naive / lean = {res['epoch_memory_ratio']:.1f}x (goal >= 10x)")
    print(f"memory autograd keeps for the backward pass: naive / lean = {res['saved_memory_ratio']:.1f}x "
          f"(goal >= 10x)")
    print(f"same losses: {res['same_losses']}, same weights after the steps: {same}")
    write_json(args.out, res)
    print(f"wrote {args.out}")
    return res


if __name__ == "__main__":
    main()
