"""One-at-a-time parameter scans (the paper's Figure 5): loss 1 - F1, mean +- s.e. over seeds.

Around the paper benchmark (N=1024, M=16, T=1000, D=41, p_A=1e-3), one
parameter varies at a time: D from 3 to 127, T from 64 to 2048, p_A from
1e-4 to 1e-2, M from 4 to 128, N from 128 to 2048. Each point learns W by the
Hebbian rule (default gain) and recalls every pattern; 10 seeds per point
(fewer with ``--seeds``).

Paper: loss about 0.85 at D=3 and near 0 at D=127; about 0.004 at T=64 and
0.08 at T=2048; best p_A between 1e-4 and 1e-3, worse from 2e-3.

Run: ``python -m paper.scans [--quick] [--only D,T]``; full mode measured at 21
minutes on 2 cores (``--jobs 2``). Writes ``paper/results/scans.json`` and ``scans.png/.svg``.
"""
from __future__ import annotations

import time

from hdsnn import NetworkConfig, bernoulli_patterns, hebbian_init, recall
from hdsnn.io import save_figure

from ._common import mean_se, parser, run_parallel, save

BASE = {"M": 16, "N": 1024, "T": 1000, "D": 41, "p_A": 1e-3}
GRID = {"D": [3, 5, 11, 21, 41, 81, 127], "T": [64, 128, 256, 512, 1000, 2048],
        "p_A": [1e-4, 3e-4, 1e-3, 2e-3, 5e-3, 1e-2], "M": [4, 16, 32, 64, 128], "N": [128, 256, 512, 1024, 2048]}
QUICK_BASE = {"M": 4, "N": 256, "T": 300, "D": 21, "p_A": 4e-3}
QUICK_GRID = {"D": [3, 11, 21], "T": [64, 300], "p_A": [1e-3, 4e-3], "M": [2, 8], "N": [128, 256]}
PAPER = {"D=3": 0.85, "D=127": 0.0, "T=64": 0.004, "T=2048": 0.08}


def _point(params: dict, seed: int) -> float:
    M, N, T, D, p = (params[k] for k in ("M", "N", "T", "D", "p_A"))
    if D >= T:
        return float("nan")
    targets = bernoulli_patterns(M, N, T, p, seed=seed)
    if not targets.any():                          # rare at the lowest rates: nothing to learn
        return float("nan")
    W = hebbian_init(targets, D=D)
    return 1.0 - recall(W, targets, net=NetworkConfig(N=N, D=D), progress=False).scores.pooled()["f1"]


def scan(base: dict, grid: dict, seeds: int, jobs: int, executor=None) -> dict:
    jobs_args = [({**base, name: v}, s) for name, values in grid.items() for v in values for s in range(seeds)]
    losses = iter(run_parallel(_point, jobs_args, jobs, executor))
    out = {}
    for name, values in grid.items():
        rows = []
        for v in values:
            vals = [next(losses) for _ in range(seeds)]
            m, se = mean_se(vals)
            rows.append({"value": v, "loss_mean": m, "loss_se": se, "losses": vals})
            print(f"{name}={v}: loss {m:.4f} +- {se:.4f}")
        out[name] = rows
    return out


def figure(res: dict):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(4 * len(res), 3.5))
    axes = fig.subplots(1, len(res), squeeze=False)
    axes = axes[0]
    for ax, (name, rows) in zip(axes, res.items()):
        x = [r["value"] for r in rows]
        ax.errorbar(x, [r["loss_mean"] for r in rows], yerr=[r["loss_se"] for r in rows], marker="o", capsize=3)
        ax.set_xscale("log")
        ax.set_xticks(x, [f"{v:g}" for v in x], rotation=45, fontsize=7)
        ax.minorticks_off()
        ax.set_xlabel(name)
        ax.set_ylim(-0.02, 1.02)
    axes[0].set_ylabel("loss 1 - F1 (mean +- s.e.)")
    fig.tight_layout()
    return fig


def main(argv=None) -> dict:
    p = parser(__doc__)
    p.add_argument("--seeds", type=int, default=None, help="seeds per point (default 10, quick 2)")
    p.add_argument("--only", default=None, help="comma-separated parameters to scan (default: all)")
    args = p.parse_args(argv)
    started = time.perf_counter()
    base, grid = (QUICK_BASE, QUICK_GRID) if args.quick else (BASE, GRID)
    if args.only:
        unknown = set(args.only.split(",")) - set(grid)
        if unknown:
            raise ValueError(f"--only must name parameters among {sorted(grid)}; got {sorted(unknown)}")
        grid = {k: v for k, v in grid.items() if k in args.only.split(",")}
    seeds = args.seeds or (2 if args.quick else 10)
    res = scan(base, grid, seeds, args.jobs, args.executor)
    tag = "_quick" if args.quick else ""
    save_figure(figure(res), f"{args.out}/scans{tag}")
    out = {"base": base, "seeds": seeds, "scans": res, "paper_loss": PAPER}
    save(args.out, f"scans{tag}", out, started)
    return out


if __name__ == "__main__":
    main()
