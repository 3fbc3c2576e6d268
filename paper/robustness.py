"""Robustness of retrieval to perturbations of the trigger (the paper's Figure 4).

F1, precision and recall pooled over the patterns, with the Hebbian weights,
as a function of

- ``p_flip``: every cue entry (pretime and trigger) is perturbed with
  probability p_flip, by a fresh Bernoulli draw at the cue's rate
  (``redraw``, the paper's notebook) or by a true bit flip (``flip``);
- the trigger duration: only the first k steps of the trigger carry the cue;
- the number of silenced neurons, whose cue is removed during the trigger;

under both cue semantics (``clamp``, our default, and ``or``, the paper's),
with 50 steps of spontaneous activity before and after each trial.

Paper (N=1024, M=16): p_flip = 0.25 gives precision 1.000, recall 0.937,
F1 0.967; a trigger of 30 steps gives precision 1.000, recall 0.757,
F1 0.862; 128 silenced neurons give F1 1.000.

Run: ``python -m paper.robustness [--quick]``; full mode measured at 23
minutes with ``--jobs 1`` on a busy 2-core machine. Writes ``paper/results/robustness.json`` and ``robustness.png/.svg``.
"""
from __future__ import annotations

import time

import numpy as np

from hdsnn import NetworkConfig, TrialConfig, bernoulli_patterns, hebbian_init, recall
from hdsnn.io import save_figure

from ._common import benchmark_size, parser, run_parallel, save

PAPER = {"p_flip=0.25": {"precision": 1.000, "recall": 0.937, "f1": 0.967},
         "trigger_steps=30": {"precision": 1.000, "recall": 0.757, "f1": 0.862},
         "silenced=128": {"f1": 1.000}}


def _point(size, gain, cue, kind, value, seed=0):
    M, N, T, D, p = size
    targets = bernoulli_patterns(M, N, T, p, seed=seed)
    W = hebbian_init(targets, D=D, gain=gain) if gain else hebbian_init(targets, D=D)
    base = dict(pretime=50, posttime=50, cue=cue, seed=seed + 1)
    if kind in ("redraw", "flip"):
        trial = TrialConfig(p_flip=value, noise=kind, **base)
    elif kind == "trigger_steps":
        trial = TrialConfig(trigger_steps=int(value), **base)
    else:
        trial = TrialConfig(silenced=int(value), **base)
    pooled = recall(W, targets, net=NetworkConfig(N=N, D=D), trial=trial, progress=False).scores.pooled()
    return {"cue": cue, "kind": kind, "value": value, **pooled}


def scan(size, gain=None, jobs=2, points=11, executor=None):
    M, N, T, D, p = size
    flips = list(np.round(np.linspace(0, 1, points), 3))
    if 0.25 not in flips:
        flips = sorted(flips + [0.25])
    steps = sorted(set(np.linspace(0, D - 1, points).round().astype(int).tolist()) | ({30} if D > 30 else set()))
    silenced = sorted(set(np.linspace(0, N, points).round().astype(int).tolist()) | ({128} if N > 128 else set()))
    jobs_args = [(size, gain, cue, kind, v) for cue in ("clamp", "or")
                 for kind, values in (("redraw", flips), ("flip", flips), ("trigger_steps", steps),
                                      ("silenced", silenced)) for v in values]
    return run_parallel(_point, jobs_args, jobs, executor)


def figure(rows, D, N):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(14, 4))
    axes = fig.subplots(1, 3)
    panels = (("p_flip", ("redraw", "flip")), ("trigger duration (steps)", ("trigger_steps",)),
              ("silenced neurons", ("silenced",)))
    for ax, (label, kinds) in zip(axes, panels):
        for kind in kinds:
            for cue, style in (("clamp", "-"), ("or", "--")):
                sel = [r for r in rows if r["kind"] == kind and r["cue"] == cue]
                x = [r["value"] for r in sel]
                ax.plot(x, [r["f1"] for r in sel], style, marker="o", ms=3, label=" ".join(["F1", *([kind] if len(kinds) > 1 else []), cue]))
                if cue == "clamp" and kind in ("redraw", "trigger_steps", "silenced"):
                    ax.plot(x, [r["recall"] for r in sel], ":", color="0.5", label="recall (clamp)")
        ax.set_xlabel(label)
        ax.set_ylim(-0.02, 1.02)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("pooled score")
    fig.suptitle(f"Robustness of retrieval (N={N}, D={D})")
    fig.tight_layout()
    return fig


def main(argv=None) -> dict:
    args = parser(__doc__).parse_args(argv)
    started = time.perf_counter()
    size = benchmark_size(args.quick)
    rows = scan(size, jobs=args.jobs, points=6 if args.quick else 11, executor=args.executor)
    ours = {}
    for key, kind, value in (("p_flip=0.25", "redraw", 0.25), ("trigger_steps=30", "trigger_steps", 30),
                             ("silenced=128", "silenced", 128)):
        for cue in ("clamp", "or"):
            match = [r for r in rows if r["kind"] == kind and r["value"] == value and r["cue"] == cue]
            if match:
                ours[f"{key} ({cue})"] = {k: match[0][k] for k in ("precision", "recall", "f1")}
    for key, val in ours.items():
        print(f"{key:28s} precision {val['precision']:.3f} recall {val['recall']:.3f} F1 {val['f1']:.3f}")
    M, N, T, D, p = size
    save_figure(figure(rows, D, N), f"{args.out}/robustness{'_quick' if args.quick else ''}")
    res = {"size": dict(zip("MNTD", size[:4]), p_A=p), "rows": rows, "ours": ours, "paper": PAPER}
    save(args.out, f"robustness{'_quick' if args.quick else ''}", res, started)
    return res


if __name__ == "__main__":
    main()
