"""Sequential retrieval of all patterns in one long run (the paper's Figure 3).

All M patterns are recalled one after the other in a single simulation, each
trial flanked by 50 steps of spontaneous Bernoulli(p_A) activity and started
by its own trigger window. A sliding-window F1 (20 steps) against the
concatenated targets rises at each trigger, stays high during the pattern and
falls back between patterns (the spontaneous padding is not part of any
target, so any network activity there counts as spurious).

Run: ``python -m paper.sequential [--quick]`` (full: N=1024, M=16, T=1000,
measured at 16 s). Writes ``paper/results/sequential.json`` and ``sequential.png/.svg``.
"""
from __future__ import annotations

import time

import numpy as np
import torch

from hdsnn import NetworkConfig, TrialConfig, bernoulli_patterns, hebbian_init, recall
from hdsnn.analysis import sliding_f1
from hdsnn.io import save_figure

from ._common import benchmark_size, parser, save


def run(size, pad=50, width=20, seed=0):
    M, N, T, D, p = size
    targets = bernoulli_patterns(M, N, T, p, seed=seed)
    W = hebbian_init(targets, D=D)
    res = recall(W, targets, net=NetworkConfig(N=N, D=D), trial=TrialConfig(pretime=pad, posttime=pad, seed=seed + 1),
                 sequential=True, progress=False)
    L = res.full.shape[2]
    expected = torch.zeros(1, N, L, dtype=torch.bool)     # the targets where they belong in the long run
    for mu in range(M):
        start = mu * (T + 2 * pad) + pad
        expected[0, :, start:start + T] = targets[mu]
    f1 = sliding_f1(expected, res.full, width=width)[0]
    inside = np.zeros(L, dtype=bool)
    for mu in range(M):
        start = mu * (T + 2 * pad) + pad
        inside[start + D + width:start + T] = True
    return res, expected, f1, inside


def figure(full, expected, f1, T, pad, M, dt_ms=1.0):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(14, 6))
    (ax0, ax1) = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    n, t = torch.nonzero(expected[0], as_tuple=True)
    ax0.scatter(t * dt_ms, n, s=2, color="0.6", label="targets")
    n, t = torch.nonzero(full[0] & ~expected[0], as_tuple=True)
    ax0.scatter(t * dt_ms, n, s=3, color="tab:red", label="spurious or padding spikes")
    n, t = torch.nonzero(full[0] & expected[0], as_tuple=True)
    ax0.scatter(t * dt_ms, n, s=1, color="tab:blue", label="recalled")
    ax0.set_ylabel("neuron")
    ax0.legend(loc="upper right", fontsize=7, markerscale=4)
    ax1.plot(np.arange(f1.size) * dt_ms, f1, lw=0.8)
    for mu in range(M):
        ax1.axvline((mu * (T + 2 * pad) + pad) * dt_ms, color="0.8", lw=0.5)
    ax1.set_ylabel("sliding F1")
    ax1.set_xlabel("time (ms)")
    fig.suptitle("Sequential retrieval: each pattern triggered by its own cue")
    fig.tight_layout()
    return fig


def main(argv=None) -> dict:
    args = parser(__doc__).parse_args(argv)
    started = time.perf_counter()
    size = benchmark_size(args.quick)
    M, N, T, D, p = size
    res, expected, f1, inside = run(size)
    tag = "_quick" if args.quick else ""
    save_figure(figure(res.full, expected, f1, T, 50, M), f"{args.out}/sequential{tag}")
    out = {"size": dict(zip("MNTD", size[:4]), p_A=p), "pooled": res.scores.pooled(),
           "per_pattern_f1": res.scores.f1.tolist(),
           "sliding_f1_inside_patterns_mean": float(f1[inside].mean()),
           "sliding_f1_outside_patterns_mean": float(f1[~inside].mean()),
           "sliding_f1": f1.round(4).tolist()}
    print(f"pooled F1 {out['pooled']['f1']:.4f}; sliding F1 inside patterns {out['sliding_f1_inside_patterns_mean']:.3f}, "
          f"outside {out['sliding_f1_outside_patterns_mean']:.3f}")
    save(args.out, f"sequential{tag}", out, started)
    return out


if __name__ == "__main__":
    main()
