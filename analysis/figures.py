"""Figures of the analysis report (matplotlib Agg; each saved as PNG and SVG by ``save_figure``).

Every function takes already computed results (numpy arrays, dicts from
:mod:`hdsnn.analysis.timing`, :mod:`~hdsnn.analysis.statistics`,
:mod:`~hdsnn.analysis.polychrony`, :mod:`~hdsnn.analysis.motifs`) and returns a
:class:`matplotlib.figure.Figure`.
"""
from __future__ import annotations

from matplotlib.figure import Figure
import numpy as np
from matplotlib.ticker import MaxNLocator

__all__ = ["plot_sliding_f1", "plot_pattern_scores", "plot_timing_errors", "plot_isi_cv",
           "plot_cross_correlogram", "plot_weights", "plot_groups", "plot_motifs"]


def plot_sliding_f1(f1: np.ndarray, D: int, width: int, dt_ms: float = 1.0):
    """Sliding-window F1 over time: every pattern (thin) and their mean (thick).

    Examples
    --------
    >>> len(plot_sliding_f1(np.ones((2, 100)), D=10, width=20).axes)
    1
    """
    t = np.arange(f1.shape[1]) * dt_ms
    fig = Figure(figsize=(9, 3.5))
    ax = fig.subplots()
    ax.axvspan(0, D * dt_ms, color="0.9", label="trigger window")
    for row in f1:
        ax.plot(t, row, color="tab:blue", alpha=0.25, lw=0.7)
    ax.plot(t, f1.mean(0), color="tab:blue", lw=2, label=f"mean over {f1.shape[0]} patterns")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(f"F1 ({width}-step window)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def plot_pattern_scores(scores: dict):
    """Precision, recall and F1 per pattern, one group of bars per tolerance.

    ``scores``: ``{label: Scores}``.

    Examples
    --------
    >>> from hdsnn.analysis import Scores
    >>> s = Scores(np.array([3, 4]), np.array([0, 1]), np.array([1, 0]))
    >>> len(plot_pattern_scores({"k=0": s}).axes)
    3
    """
    fig = Figure(figsize=(12, 3.5))
    axes = fig.subplots(1, 3, sharey=True)
    width = 0.8 / max(len(scores), 1)
    for ax, name in zip(axes, ("precision", "recall", "f1")):
        for i, (label, s) in enumerate(scores.items()):
            values = getattr(s, name)
            ax.bar(np.arange(values.size) + i * width, values, width=width, label=label)
        ax.set_title(name)
        ax.set_xlabel("pattern")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(0.0, 1.02)                                       # from 0: no exaggerated differences
    axes[0].set_ylabel("score (fraction of spikes)")
    axes[-1].legend(fontsize=8, loc="upper right", title="timing tolerance", title_fontsize=8)
    fig.tight_layout()
    return fig


def plot_timing_errors(stats: dict, dt_ms: float = 1.0):
    """Histogram of the timing errors ``recall - target`` of matched spikes (log counts).

    Examples
    --------
    >>> len(plot_timing_errors({"histogram": {-1: 2, 0: 10, 1: 0}, "n": 12, "k": 1}).axes)
    1
    """
    steps = np.array(sorted(stats["histogram"]), dtype=int)
    counts = np.array([stats["histogram"][s] for s in steps])
    fig = Figure(figsize=(5, 3.5))
    ax = fig.subplots()
    ax.bar(steps * dt_ms, counts, width=0.8 * dt_ms, color="tab:blue")
    ax.set_yscale("symlog", linthresh=1)
    ax.set_xlabel("recall - target (ms)")
    ax.set_ylabel("matched spikes")
    ax.set_title(f"timing errors, tolerance ±{stats['k']} steps, n = {stats['n']}")
    fig.tight_layout()
    return fig


def plot_isi_cv(isi: dict, bins_ms: int = 50):
    """Pooled ISI histograms and per-neuron CV histograms, target against recall.

    ``isi``: ``{label: isi_statistics(...)}``.

    Examples
    --------
    >>> s = {"isi_ms": np.array([5.0, 10.0]), "cv": np.array([0.5, np.nan])}
    >>> len(plot_isi_cv({"target": s}).axes)
    2
    """
    fig = Figure(figsize=(10, 3.5))
    (a, b) = fig.subplots(1, 2)
    for label, s in isi.items():
        x = s["isi_ms"]
        if x.size:
            a.hist(x, bins=bins_ms, histtype="step", lw=1.5, label=f"{label} ({x.size} ISIs)")
        cv = s["cv"][np.isfinite(s["cv"])]
        if cv.size:
            b.hist(cv, bins=30, histtype="step", lw=1.5, label=f"{label} ({cv.size} neurons)")
    a.set_xlabel("inter-spike interval (ms), pooled over trials")
    a.set_ylabel("count")
    b.set_xlabel("CV of ISI per neuron")
    b.set_ylabel("neurons")
    for ax, what in ((a, "no ISI"), (b, "no neuron with two ISIs")):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, what, ha="center", va="center", transform=ax.transAxes)
    fig.tight_layout()
    return fig


def plot_cross_correlogram(cch: dict):
    """Recall-against-target cross-correlogram summed over neurons (log counts).

    Examples
    --------
    >>> len(plot_cross_correlogram({"lags_ms": np.arange(-2, 3.0), "counts": np.array([1, 0, 9, 0, 1])}).axes)
    1
    """
    fig = Figure(figsize=(6, 3.5))
    ax = fig.subplots()
    ax.bar(cch["lags_ms"], cch["counts"], width=0.9 * (cch["lags_ms"][1] - cch["lags_ms"][0])
           if len(cch["lags_ms"]) > 1 else 0.9, color="tab:purple")
    ax.set_yscale("symlog", linthresh=1)
    ax.set_xlabel("lag: recall spike - target spike (ms)")
    ax.set_ylabel("pairs (summed over neurons)")
    ax.set_title("cross-correlogram of each neuron's recall with its target")
    fig.tight_layout()
    return fig


def plot_weights(W: np.ndarray, dt_ms: float = 1.0):
    """Distribution of the non-zero weights, and total positive/negative weight per delay.

    Examples
    --------
    >>> len(plot_weights(np.random.default_rng(0).normal(size=(4, 4, 3))).axes)
    2
    """
    W = np.asarray(W)
    nz = W[W != 0]
    fig = Figure(figsize=(10, 3.5))
    (a, b) = fig.subplots(1, 2)
    a.hist(nz, bins=100, color="0.3")
    a.set_yscale("log")
    a.set_xlabel("weight")
    a.set_ylabel("synapses (non-zero)")
    a.set_title(f"{nz.size} non-zero of {W.size} ({nz.size / W.size:.1%})")
    d = np.arange(1, W.shape[2] + 1) * dt_ms
    b.bar(d, np.clip(W, 0, None).sum((0, 1)), color="tab:red", label="excitatory")
    b.bar(d, np.clip(W, None, 0).sum((0, 1)), color="tab:blue", label="inhibitory")
    b.set_xlabel("delay (ms)")
    b.set_ylabel("summed weight")
    b.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_groups(stats: dict, example=None, dt_ms: float = 1.0):
    """Polychronous groups: size, span and path-length histograms, and one example group.

    Examples
    --------
    >>> from hdsnn.analysis.polychrony import Group, group_statistics
    >>> g = Group(np.array([0, 1, 2]), np.array([0, 3, 7]), np.array([0, 0, 1]), [[], [], [0, 1]], 2)
    >>> len(plot_groups(group_statistics([g]), g).axes)     # four panels and a colour bar
    5
    """
    fig = Figure(figsize=(15, 3.5))
    axes = fig.subplots(1, 4)
    for ax, key, label in zip(axes, ("size", "span_steps", "path_length"),
                              ("spikes per group", "span (steps)", "longest causal path (links)")):
        hist = stats[key]["histogram"]
        if hist:
            ax.bar(list(map(int, hist)), list(hist.values()), color="tab:green")
        ax.set_xlabel(label)
        ax.set_ylabel("groups")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0].set_title(f"{stats['n_groups']} groups")
    ax = axes[3]
    if example is not None:
        t = example.times * dt_ms
        for k, parents in enumerate(example.parents):
            for p in parents:
                ax.plot([t[p], t[k]], [example.neurons[p], example.neurons[k]], color="0.7", lw=0.6, zorder=1)
        sc = ax.scatter(t, example.neurons, c=example.depth, cmap="viridis", s=25, zorder=2)
        fig.colorbar(sc, ax=ax, label="causal depth")
        ax.set_title(f"example: mother {example.mother}, {example.size} spikes")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron")
    fig.tight_layout()
    return fig


def plot_motifs(motifs: list, n: int = 6, dt_ms: float = 1.0, n_surr: int = 0, alpha: float | None = None):
    """The most frequent SPADE motifs: each as its neurons against lags, with its occurrence count.

    The title says how many motifs were found, how many are drawn, and whether
    their significance was tested (``n_surr`` surrogates at level ``alpha``) or not.

    Examples
    --------
    >>> fig = plot_motifs([{"neurons": [3, 1], "lags_steps": [0, 4], "n_occurrences": 5}])
    >>> fig.axes[0].get_title()
    'SPADE motifs: 1 found, 1 drawn (no significance test)'
    """
    fig = Figure(figsize=(7, 3.5))
    ax = fig.subplots()
    for i, m in enumerate(sorted(motifs, key=lambda x: -x["n_occurrences"])[:n]):
        lags = np.asarray(m["lags_steps"]) * dt_ms
        ax.plot(lags, np.full(lags.size, i), "-o", color=f"C{i}")
        at = {}
        for lag, neuron in zip(lags, m["neurons"]):          # neurons firing at the same lag share one label
            at.setdefault(float(lag), []).append(str(neuron))
        for lag, names in at.items():
            ax.annotate(",".join(names), (lag, i), textcoords="offset points", xytext=(0, 6), ha="center",
                        fontsize=7)
        ax.annotate(f"x{m['n_occurrences']}", (lags[-1], i), textcoords="offset points", xytext=(10, -3),
                    fontsize=7, color="0.4")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.margins(x=0.12, y=0.15)
    ax.set_xlabel("lag (ms)")
    ax.set_ylabel("motif (by occurrences)")
    tested = f"significance: {n_surr} surrogates, alpha {alpha}" if n_surr else "no significance test"
    ax.set_title(f"SPADE motifs: {len(motifs)} found, {min(n, len(motifs))} drawn ({tested})")
    fig.tight_layout()
    return fig
