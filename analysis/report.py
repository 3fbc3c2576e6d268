"""The ``hdsnn analyze`` pipeline: every score and statistic of a recall, figures and files.

:func:`analyze` takes targets and recalled rasters (and optionally the
weights) and writes a report folder:

- ``report.json``: exact and tolerant scores (pooled, per pattern, per neuron),
  timing errors, van Rossum and Victor-Purpura distances, sliding F1, firing
  rates, ISI/CV, Fano factors, cross-correlogram, SPADE motifs, polychronous
  groups and their activations, wall time per stage and peak memory;
- figures (PNG and SVG): ``recall_overlay``, ``sliding_f1``, ``pattern_scores``,
  ``timing_errors``, ``isi_cv``, ``cross_correlogram``, ``motifs``, and with
  weights ``weights`` and ``groups``;
- ``rasters.nix`` and ``rasters.nwb`` (targets and recall, see :mod:`hdsnn.analysis.files`).

The folder appears whole or not at all: it is written as a hidden sibling and
renamed into place at the end (an earlier report in the same folder is
replaced; a folder holding other files is refused before any work).
"""
from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from hdsnn.config import NetworkConfig
from hdsnn.io import write_json
from hdsnn.validation import check_int, check_real

from . import figures
from .files import write_nix, write_nwb
from .motifs import SpadeConfig, estimate_spade_memory, find_motifs
from .plots import plot_recall, save_figure
from .polychrony import SearchConfig, detect_activations, find_groups, group_statistics
from .scores import as_pair, score, sliding_f1
from .statistics import cross_correlograms, fano_factors, firing_rates, isi_statistics
from .timing import match_spikes, spike_train_distances, timing_error_stats

__all__ = ["analyze"]


def _summary(x) -> dict:
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"n": 0, "mean": None, "median": None, "std": None, "min": None, "max": None}
    return {"n": int(x.size), "mean": float(x.mean()), "median": float(np.median(x)), "std": float(x.std()),
            "min": float(x.min()), "max": float(x.max())}


def _list(x) -> list:
    """JSON-safe list (NaN -> None)."""
    x = np.asarray(x, dtype=float)
    return [None if not np.isfinite(v) else float(v) for v in x.ravel()]


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6        # kB on Linux


def analyze(targets, recalled, D: int, out, *, W=None, net: NetworkConfig | None = None, dt_ms: float = 1.0,
            tolerances=(0, 1, 2), sliding_width: int = 20, spade_budget_gb: float = 2.0,
            spade: SpadeConfig | None = None, groups: SearchConfig | None = None, group_mothers=None,
            config: dict | None = None, progress: bool | None = None) -> dict:
    """Analyse a recall against its targets and write the report folder ``out``.

    Parameters
    ----------
    targets, recalled : bool arrays ``(M, N, T)``
    D : int
        Trigger window length: scores and statistics use the free run ``t >= D``.
    out : str or Path
        Report folder (created).
    W : float tensor ``(N, N, D)``, optional
        Weights: adds the weight figure and the polychronous-group search.
    net : NetworkConfig, optional
        Neuron parameters for the group search.
    dt_ms : float
        Step duration.
    tolerances : sequence of int
        The ``k`` of the tolerant scores (``k=0`` is always added).
    sliding_width : int
        Window of the sliding F1.
    spade_budget_gb : float
        Memory budget of SPADE: it runs on the first neurons whose estimated
        memory fits (all of them when they fit).
    spade : SpadeConfig, optional
    groups : SearchConfig, optional
        Default: anchors reaching threshold (``n_anchors=None``), ``min_path=1``,
        so that every evoked structure is counted; the JSON gives the path lengths.
    group_mothers : iterable of int, optional
        Mothers of the group search (default: all neurons).
    config : dict, optional
        Model configuration stored in the files.
    progress : bool or None

    Returns
    -------
    dict
        What ``report.json`` holds.

    Examples
    --------
    >>> import tempfile
    >>> from hdsnn import bernoulli_patterns, hebbian_init, recall
    >>> P = bernoulli_patterns(M=2, N=64, T=120, p_A=0.02, seed=1)
    >>> W = hebbian_init(P, D=15)
    >>> rep = analyze(P, recall(W, P).raster, D=15, out=tempfile.mkdtemp(), progress=False)
    >>> rep["scores"]["exact"]["pooled"]["f1"] > 0.9
    True
    """
    tgt, rec = (x.cpu().numpy() for x in as_pair(targets, recalled, dt_ms))
    M, N, T = tgt.shape
    D = check_int("D", D, minimum=1, maximum=T - 1)
    dt_ms = check_real("dt_ms", dt_ms, 0.0, open_min=True)
    # k=0 is always scored: the NWB file's per-neuron F1 is the exact one
    tolerances = sorted({0, *(check_int("tolerances", k, minimum=0) for k in tolerances)})
    sliding_width = check_int("sliding_width", sliding_width, minimum=1)
    spade_budget_gb = check_real("spade_budget_gb", spade_budget_gb, 0.0, open_min=True)
    if group_mothers is not None:
        group_mothers = [check_int("group_mothers", m, minimum=0, maximum=N - 1) for m in group_mothers]
        if not group_mothers:
            raise ValueError("group_mothers must name at least one neuron; got none")
    final = Path(out)
    if final.exists() and not final.is_dir():
        raise ValueError(f"out must be a folder; {str(final)!r} is a file")
    if final.is_dir() and any(final.iterdir()) and not (final / "report.json").exists():
        raise ValueError(f"out {str(final)!r} holds files and is not an hdsnn report (no report.json): the report "
                         f"replaces its folder whole; choose a new or empty folder")
    final.parent.mkdir(parents=True, exist_ok=True)
    # the report is written into a fresh sibling folder, renamed into place once whole
    out = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        report = _write(tgt, rec, D, out, final, W, net, dt_ms, tolerances, sliding_width, spade_budget_gb,
                        spade, groups, group_mothers, config, progress)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
        os.replace(out, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(out, final)
    return report


def _write(tgt, rec, D, out, final, W, net, dt_ms, tolerances, sliding_width, spade_budget_gb, spade, groups,
           group_mothers, config, progress) -> dict:
    """The stages of :func:`analyze`, written into ``out``; paths in the report name ``final``."""
    M, N, T = tgt.shape
    stages, report, files = {}, {"shape": {"M": M, "N": N, "T": T, "D": D, "dt_ms": dt_ms},
                                 "config": config or {}}, []
    clock = [time.perf_counter()]

    def stage(name):
        now = time.perf_counter()
        stages[name] = now - clock[0]
        clock[0] = now

    def fig(f, stem):
        files.extend(str(p) for p in save_figure(f, out / stem))

    # scores
    exact = score(tgt, rec, D)
    matches = {k: match_spikes(tgt, rec, D, k) for k in tolerances}
    k_max = max(tolerances)
    errors = timing_error_stats(matches[k_max], dt_ms)
    report["scores"] = {"exact": exact.to_dict(),
                        "tolerant": {str(k): {"k": k, **m.per_pattern().to_dict(),
                                              "per_neuron": {"f1": _list(m.per_neuron().f1),
                                                             "tp": m.per_neuron().tp.tolist(),
                                                             "fp": m.per_neuron().fp.tolist(),
                                                             "fn": m.per_neuron().fn.tolist()}}
                                     for k, m in matches.items()},
                        "timing_errors": errors}
    f1_t = sliding_f1(torch.from_numpy(tgt), torch.from_numpy(rec), width=sliding_width)
    report["sliding_f1"] = {"width": sliding_width, "mean_over_patterns": _list(f1_t.mean(0)),
                            "free_run_mean": float(f1_t[:, D:].mean())}
    stage("scores")
    dist = spike_train_distances(tgt, rec, D, dt_ms, progress=progress)
    report["distances"] = {"tau_ms": dist["tau_ms"], "cost_per_ms": dist["cost_per_ms"], "gap_ms": dist["gap_ms"],
                           "van_rossum": _summary(dist["van_rossum"]), "victor_purpura": _summary(dist["victor_purpura"]),
                           "per_neuron": {"van_rossum": _list(dist["van_rossum"]),
                                          "victor_purpura": _list(dist["victor_purpura"])}}
    stage("distances")

    # statistics
    stats, isi = {}, {}
    for label, r in (("target", tgt), ("recall", rec)):
        rates = firing_rates(r, dt_ms, start=D)
        isi[label] = isi_statistics(r, dt_ms, start=D)
        fano = fano_factors(r, start=D)
        hist, edges = np.histogram(isi[label]["isi_ms"], bins=np.arange(0, (T - D) * dt_ms + 10, 10))
        stats[label] = {"rate_hz": _summary(rates), "rate_hz_per_neuron": _list(rates.mean(0)),
                        "isi_ms": _summary(isi[label]["isi_ms"]),
                        "isi_histogram": {"edges_ms": edges.tolist(), "counts": hist.tolist()},
                        "cv": _summary(isi[label]["cv"]), "cv_per_neuron": _list(isi[label]["cv"]),
                        "fano": _summary(fano), "fano_per_neuron": _list(fano)}
    cch = cross_correlograms(tgt, rec, start=D, dt_ms=dt_ms, window=20)
    stats["cross_correlogram"] = {"lags_ms": cch["lags_ms"].tolist(), "counts": cch["counts"].tolist()}
    report["statistics"] = stats
    stage("statistics")

    # motifs: SPADE on the first neurons that fit the memory budget
    spade_cfg = spade if spade is not None else SpadeConfig()
    winlen = spade_cfg.winlen or D
    per_neuron_spikes = np.cumsum(rec[:, :, D:].sum((0, 2)))
    estimate = estimate_spade_memory(int(per_neuron_spikes[-1]), winlen) / 1e9
    fits = [estimate_spade_memory(int(c), winlen) / 1e9 <= spade_budget_gb for c in per_neuron_spikes]
    n_sub = int(np.sum(fits))                        # cumulative counts grow: the fitting ones come first
    motifs = {"motifs": [], "neurons_used": n_sub, "estimated_memory_full_gb": estimate}
    if n_sub >= 2:
        motifs.update(find_motifs(rec[:, :n_sub], D, start=D, config=spade_cfg, dt_ms=dt_ms,
                                  memory_budget_gb=spade_budget_gb))
    report["motifs"] = motifs
    stage("motifs (SPADE)")

    # polychronous groups
    if W is not None:
        base = net if net is not None else NetworkConfig(N=N, D=W.shape[2])
        net = replace(base, N=N, D=W.shape[2])
        search = groups if groups is not None else SearchConfig(n_anchors=None, min_path=1)
        found = find_groups(W, net, search, mothers=group_mothers, progress=progress)
        gstats = group_statistics(found, N=N)
        gstats["activations"] = []
        for fraction in (1.0, 0.5):
            act_t = [len(detect_activations(tgt, g, 1, fraction)) for g in found]
            act_r = [len(detect_activations(rec, g, 1, fraction)) for g in found]
            gstats["activations"].append({"tolerance": 1, "min_fraction": fraction,
                                          "target": _summary(act_t), "recall": _summary(act_r),
                                          "groups_active_in_target": int(np.count_nonzero(act_t)),
                                          "groups_active_in_recall": int(np.count_nonzero(act_r))})
        report["groups"] = {"search": search.to_dict(), "statistics": gstats,
                            "longest": [g.to_dict() for g in sorted(found, key=lambda g: (-g.path_length, -g.size))[:20]]}
        stage("polychronous groups")

    # figures
    tr, rr = torch.from_numpy(tgt), torch.from_numpy(rec)
    fig(plot_recall(tr, rr, D, pattern=0, dt_ms=dt_ms,
                    title=f"pattern 0: target and recall (F1 = {exact.f1[0]:.4f})"), "recall_overlay")
    fig(figures.plot_sliding_f1(f1_t, D, sliding_width, dt_ms), "sliding_f1")
    fig(figures.plot_pattern_scores({"exact": exact, **{f"±{k * dt_ms:g} ms": m.per_pattern() for k, m in matches.items() if k}}),
        "pattern_scores")
    fig(figures.plot_timing_errors(errors, dt_ms), "timing_errors")
    fig(figures.plot_isi_cv(isi), "isi_cv")
    fig(figures.plot_cross_correlogram(cch), "cross_correlogram")
    fig(figures.plot_motifs(motifs["motifs"], dt_ms=dt_ms, n_surr=spade_cfg.n_surr, alpha=spade_cfg.alpha), "motifs")
    if W is not None:
        fig(figures.plot_weights(W.detach().cpu().numpy() if isinstance(W, torch.Tensor) else W, dt_ms), "weights")
        example = max(found, key=lambda g: (g.path_length, g.size)) if found else None
        fig(figures.plot_groups(gstats, example, dt_ms), "groups")
    stage("figures")

    # files
    rasters = {"target": tgt, "recall": rec}
    files.append(str(write_nix(out / "rasters.nix", rasters, dt_ms, config)))
    per_neuron = matches[0].per_neuron()
    files.append(str(write_nwb(out / "rasters.nwb", rasters, dt_ms, config, unit_columns={
        "recall_f1": (per_neuron.f1, "F1 of the neuron's recall over all patterns (exact matching, t >= D)"),
        "target_rate_hz": (np.asarray(stats["target"]["rate_hz_per_neuron"], dtype=float),
                           "mean firing rate in the targets (t >= D)"),
        "recall_rate_hz": (np.asarray(stats["recall"]["rate_hz_per_neuron"], dtype=float),
                           "mean firing rate in the recall (t >= D)")})))
    stage("files (NIX, NWB)")
    stages["total"] = sum(stages.values())
    report["wall_time_s"] = stages
    report["peak_memory_gb"] = _peak_rss_gb()
    report["files"] = [str(final / Path(f).name) for f in files] + [str(final / "report.json")]
    write_json(out / "report.json", report)
    return report
