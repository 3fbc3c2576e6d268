"""Polychronous-group statistics of several weight sets (Hebbian, least squares, BPTT...).

For each weight file, searches the groups of every neuron with
:func:`hdsnn.analysis.find_groups` (anchors: the fewest strongest inputs that
reach threshold, ``min_path=1`` so that every evoked structure is counted)
and reports :func:`hdsnn.analysis.group_statistics`, the number of groups with
a longest causal path of at least 2 and 3 links, and the groups' activations
in the stored patterns. Writes ``NAME.json`` (with one line per group: mother,
anchors, size, span, path length) and the figure ``NAME.{png,svg}`` to
``--out`` (default ``paper/results/``; ``NAME`` is ``--name``, default
``polychrony_compare``).

Run: ``python -m paper.polychrony_compare LABEL=WEIGHTS.npz [LABEL=WEIGHTS.npz ...]
[--patterns PATTERNS.npz] [--mothers K]``, or ``hdsnn paper polychrony_compare ...``;
without weight files it builds the demo's patterns (N=1024, M=16, T=1000,
p_A=1e-3, seed 0) and Hebbian weights (D=41); with ``--quick`` a small Hebbian
network instead (N=128, M=4, T=300, D=21, p_A=4e-3, seed 0; a few seconds) and
``NAME_quick`` outputs. Full mode: the group search takes about 35 s per
weight set at N=1024 with every neuron as mother (33 s Hebbian, 40 s least
squares in ``paper/results/polychrony_compare.json``), 8-18 s at N=512.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from hdsnn.analysis import SearchConfig, detect_activations, find_groups, group_statistics
from hdsnn.io import save_figure
from hdsnn.io import load_raster, load_weights

from ._common import parser, save


def compare(weights: dict, patterns=None, mothers=None) -> dict:
    out = {}
    for label, W in weights.items():
        start = time.perf_counter()
        groups = find_groups(W, config=SearchConfig(n_anchors=None, min_path=1), mothers=mothers)
        stats = group_statistics(groups, N=W.shape[0])
        stats["with_path_at_least"] = {str(k): int(sum(g.path_length >= k for g in groups)) for k in (2, 3, 5)}
        stats["groups"] = [{"mother": int(g.mother), "anchors": int(np.count_nonzero(g.depth == 0)),
                            "size": g.size, "span": g.span, "path_length": g.path_length,
                            "mother_fires": bool(np.any(g.neurons[g.depth > 0] == g.mother))} for g in groups]
        if patterns is not None:
            for fraction in (1.0, 0.5):
                active = [len(detect_activations(patterns, g, 1, fraction)) for g in groups]
                stats[f"active_in_patterns_min_fraction_{fraction}"] = int(np.count_nonzero(active))
        stats["seconds"] = time.perf_counter() - start
        stats["weights"] = {"nonzero_fraction": float((W != 0).float().mean()), "max": float(W.max()),
                            "min": float(W.min())}
        out[label] = stats
    return out


def figure(results: dict):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 3.5))

    axes = fig.subplots(1, 3)
    for i, (label, s) in enumerate(results.items()):
        for ax, key, name in zip(axes, ("size", "span_steps", "path_length"),
                                 ("spikes per group", "span (steps)", "longest causal path (links)")):
            hist = s[key]["histogram"]
            if hist:
                x = np.array(list(map(int, hist)))
                ax.bar(x + 0.4 * i - 0.2, list(hist.values()), width=0.4, label=f"{label} ({s['n_groups']})",
                       color=f"C{i}")
            ax.set_xlabel(name)
            ax.set_yscale("log")
    axes[0].set_ylabel("groups")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def main(argv=None) -> dict:
    p = parser(__doc__, jobs=False)
    p.add_argument("weights", nargs="*", help="LABEL=FILE.npz weight files")
    p.add_argument("--patterns", default=None, help="patterns .npz (for activations)")
    p.add_argument("--mothers", type=int, default=None, help="search from the first K neurons only")
    p.add_argument("--name", default="polychrony_compare", help="output stem in --out")
    args = p.parse_args(argv)
    started = time.perf_counter()
    patterns = load_raster(args.patterns)[0] if args.patterns else None
    weights = {}
    for item in args.weights:
        label, _, path = item.partition("=")
        if not path:
            p.error(f"weights must be LABEL=FILE.npz; got {item!r}")
        weights[label] = load_weights(path)[0]
    if not weights:
        from hdsnn import bernoulli_patterns, hebbian_init
        (M, N, T, p_A), D = ((4, 128, 300, 4e-3), 21) if args.quick else ((16, 1024, 1000, 1e-3), 41)
        patterns = bernoulli_patterns(M, N, T, p_A, seed=0)
        weights["hebbian"] = hebbian_init(patterns, D=D)
    mothers = None if args.mothers is None else range(args.mothers)
    results = compare(weights, patterns, mothers)
    for label, s in results.items():
        if not s["n_groups"]:
            print(f"{label:>10}: no groups; {s['seconds']:.1f} s")
            continue
        print(f"{label:>10}: {s['n_groups']} groups from {s['n_mothers']} mothers; size {s['size']['mean']:.1f} "
              f"(max {s['size']['max']:.0f}), span {s['span_steps']['mean']:.1f} steps, path length "
              f"max {s['path_length']['max']:.0f}, >= 2 links: {s['with_path_at_least']['2']}, "
              f">= 3: {s['with_path_at_least']['3']}; {s['seconds']:.1f} s")
    name = f"{args.name}{'_quick' if args.quick else ''}"
    save_figure(figure(results), Path(args.out) / name)
    res = {"mothers": args.mothers, "results": results, "weights": args.weights, "patterns": args.patterns}
    save(args.out, name, res, started)
    return res



if __name__ == "__main__":
    main()
