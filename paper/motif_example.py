"""SPADE on planted motifs: two motifs hidden in 1 kHz-binned background activity.

64 neurons, 16 trials of 500 steps, background Bernoulli(5e-3) (5 Hz); motif A
(neurons 7, 30, 51 at lags 0, 12, 33) and motif B (neurons 3, 18, 40, 60 at
lags 0, 5, 9, 27) planted 3 times per trial at random onsets. Runs
:func:`hdsnn.analysis.find_motifs` with windows of D = 41 bins (a motif must
occur at least 20 times), prints what it finds against what was planted and
writes ``motif_example.json`` and ``motif_example.{png,svg}`` to ``--out``
(default ``paper/results/``). ``--quick``: 6 trials of 300 steps (18
occurrences of each motif, at least 12 required), names ending in ``_quick``.

Run: ``python -m paper.motif_example [--quick]`` (a few seconds).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from hdsnn.analysis import SpadeConfig, find_motifs
from hdsnn.analysis.figures import plot_motifs
from hdsnn.io import save_figure

from ._common import parser, save

PLANTED = {"A": ([7, 30, 51], [0, 12, 33]), "B": ([3, 18, 40, 60], [0, 5, 9, 27])}


def plant(M: int, N: int, T: int, rate: float = 5e-3, per_trial: int = 3, seed: int = 0):
    """Background Bernoulli(rate) rasters ``M x N x T`` with every motif of PLANTED at ``per_trial`` onsets
    a trial (on a grid of 50 steps, shifted by up to 9 steps); returns the raster and the onsets per motif."""
    rng = np.random.default_rng(seed)
    r = rng.random((M, N, T)) < rate
    onsets = {}
    for name, (neurons, lags) in PLANTED.items():
        onsets[name] = []
        for m in range(M):
            for o in rng.choice(np.arange(0, T - 50, 50), size=per_trial, replace=False) + rng.integers(0, 10):
                r[m, neurons, o + np.asarray(lags)] = True
                onsets[name].append([m, int(o)])
    return r, onsets


def main(argv=None) -> dict:
    args = parser(__doc__, jobs=False).parse_args(argv)
    started = time.perf_counter()
    (M, N, T, D), min_occ = ((6, 64, 300, 41), 12) if args.quick else ((16, 64, 500, 41), 20)
    r, onsets = plant(M, N, T)
    start = time.perf_counter()
    out = find_motifs(r, D=D, config=SpadeConfig(min_spikes=3, min_occ=min_occ))
    seconds = time.perf_counter() - start
    found = {tuple(x["neurons"]): x for x in out["motifs"]}
    rows = {}
    for name, (neurons, lags) in PLANTED.items():
        hit = found.get(tuple(neurons))
        rows[name] = {"planted_neurons": neurons, "planted_lags": lags, "found": hit is not None,
                      "found_lags": hit["lags_steps"] if hit else None,
                      "occurrences_found": hit["n_occurrences"] if hit else 0,
                      "occurrences_planted": len(onsets[name]),
                      "onsets_match": hit is not None and sorted(hit["occurrences"]) == sorted(onsets[name])}
        print(f"motif {name}: planted {neurons} at lags {lags} x{len(onsets[name])}; found: {rows[name]}")
    print(f"{len(out['motifs'])} motifs in {seconds:.2f} s (estimated memory {out['estimated_memory_gb']:.3f} GB)")
    name = f"motif_example{'_quick' if args.quick else ''}"
    res = {"size": {"M": M, "N": N, "T": T, "D": D, "min_occ": min_occ}, "planted": rows,
           "n_motifs": len(out["motifs"]), "motifs": out["motifs"], "seconds": seconds}
    save_figure(plot_motifs(out["motifs"]), Path(args.out) / name)
    save(args.out, name, res, started)
    return res


if __name__ == "__main__":
    main()
