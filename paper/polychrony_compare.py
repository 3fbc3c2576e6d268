"""Polychronous-group statistics of several weight sets (Hebbian, least squares, BPTT...).

For each weight file, searches the groups of every neuron with
:func:`hdsnn.analysis.find_groups` (anchors: the fewest strongest inputs that
reach threshold, ``min_path=1`` so that every evoked structure is counted)
and reports :func:`hdsnn.analysis.group_statistics`, the number of groups with
a longest causal path of at least 2 and 3 links, and the groups' activations
in the stored patterns. Writes ``paper/results/polychrony_compare.json`` and
the figure ``paper/results/polychrony_compare.{png,svg}``.

Run: ``python -m paper.polychrony_compare LABEL=WEIGHTS.npz [LABEL=WEIGHTS.npz ...]
[--patterns PATTERNS.npz] [--mothers K]``; without weight files it builds the
demo's patterns (N=1024, M=16, T=1000, p_A=1e-3, seed 0) and Hebbian weights.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from hdsnn.analysis import SearchConfig, detect_activations, find_groups, group_statistics
from hdsnn.analysis.plots import save_figure
from hdsnn.io import load_raster, load_weights, write_json

RESULTS = Path(__file__).resolve().parent / "results"


def compare(weights: dict, patterns=None, mothers=None) -> dict:
    out = {}
    for label, W in weights.items():
        start = time.perf_counter()
        groups = find_groups(W, config=SearchConfig(n_anchors=None, min_path=1), mothers=mothers)
        stats = group_statistics(groups, N=W.shape[0])
        stats["with_path_at_least"] = {str(k): int(sum(g.path_length >= k for g in groups)) for k in (2, 3, 5)}
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
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
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


def cli(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", nargs="*", help="LABEL=FILE.npz weight files")
    parser.add_argument("--patterns", default=None, help="patterns .npz (for activations)")
    parser.add_argument("--mothers", type=int, default=None, help="search from the first K neurons only")
    parser.add_argument("--name", default="polychrony_compare", help="output stem in paper/results/")
    args = parser.parse_args(argv)
    patterns = load_raster(args.patterns)[0] if args.patterns else None
    weights = {}
    for item in args.weights:
        label, _, path = item.partition("=")
        if not path:
            parser.error(f"weights must be LABEL=FILE.npz; got {item!r}")
        weights[label] = load_weights(path)[0]
    if not weights:
        from hdsnn import bernoulli_patterns, hebbian_init
        patterns = bernoulli_patterns(16, 1024, 1000, 1e-3, seed=0)
        weights["hebbian"] = hebbian_init(patterns, D=41)
    mothers = None if args.mothers is None else range(args.mothers)
    results = compare(weights, patterns, mothers)
    for label, s in results.items():
        print(f"{label:>10}: {s['n_groups']} groups from {s['n_mothers']} mothers; size {s['size']['mean']:.1f} "
              f"(max {s['size']['max']:.0f}), span {s['span_steps']['mean']:.1f} steps, path length "
              f"max {s['path_length']['max']:.0f}, >= 2 links: {s['with_path_at_least']['2']}, "
              f">= 3: {s['with_path_at_least']['3']}; {s['seconds']:.1f} s")
    stem = RESULTS / args.name
    write_json(stem.with_suffix(".json"), {"mothers": args.mothers, "results": results,
                                           "weights": args.weights, "patterns": args.patterns})
    save_figure(figure(results), stem)
    print(f"wrote {stem}.json and .png/.svg")
    return 0


if __name__ == "__main__":
    sys.exit(cli())
