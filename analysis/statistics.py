"""Spike-train statistics through Elephant: rates, ISI and CV, Fano factor, cross-correlograms.

At the paper's rate (about 1 Hz) a single 1 s trial holds about one spike
per neuron, too few for an ISI or a CV; so intervals are pooled over trials
(the M patterns): the ISIs of each trial are computed by Elephant and
concatenated per neuron, never across trial boundaries.

Every function takes a bool raster ``(M, N, T)`` or, through
:func:`hdsnn.analysis.neo_io.as_raster`, Neo spike trains: a list of
``neo.SpikeTrain`` (one trial), a list of lists (trials x neurons), a
``neo.Segment`` or a ``neo.Block`` (one segment per trial), binned at ``dt_ms``.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch

from hdsnn.validation import check_int, check_real

from .neo_io import raster_array, as_raster, trains_from_raster

__all__ = ["firing_rates", "isi_statistics", "fano_factors", "cross_correlograms"]


def _raster(name, raster, dt_ms=1.0) -> np.ndarray:
    """A raster as a numpy bool array ``(M, N, T)``; Neo input is binned at ``dt_ms``."""
    if isinstance(raster, (np.ndarray, torch.Tensor)):
        return raster_array(name, raster)
    try:
        return as_raster(raster, dt_ms=check_real("dt_ms", dt_ms, 0.0, open_min=True)).numpy()
    except ValueError as err:
        if str(err).startswith("data "):
            raise ValueError(name + str(err)[len("data"):]) from None
        raise


def _window(raster, start, name="raster", dt_ms=1.0):
    r = _raster(name, raster, dt_ms)
    start = check_int("start", start, minimum=0, maximum=r.shape[2] - 1)
    return r, start


def firing_rates(raster, dt_ms: float = 1.0, start: int = 0) -> np.ndarray:
    """Firing rate of every neuron in every trial, in Hz (Elephant ``mean_firing_rate``).

    Parameters
    ----------
    raster : bool array ``(M, N, T)``
    dt_ms : float
        Step duration in ms.
    start : int
        First step counted (for instance D, to skip the trigger window).

    Returns
    -------
    float array ``(M, N)``, Hz

    Examples
    --------
    >>> r = np.zeros((1, 2, 1000), bool); r[0, 0, [10, 500]] = True
    >>> firing_rates(r).tolist()
    [[2.0, 0.0]]
    """
    import quantities as pq
    from elephant.statistics import mean_firing_rate

    r, start = _window(raster, start, dt_ms=dt_ms)
    dt_ms = check_real("dt_ms", dt_ms, 0.0, open_min=True)
    M, N, T = r.shape
    steps = trains_from_raster(r[:, :, start:])
    t_stop = (T - start) * dt_ms
    # Elephant on plain arrays (ms): count / (t_stop - t_start); it refuses empty trains, whose rate is 0
    per_ms = np.array([[mean_firing_rate(s * dt_ms, t_start=0.0, t_stop=t_stop) if s.size else 0.0
                        for s in trial] for trial in steps])
    return (per_ms * pq.CompoundUnit("1/ms")).rescale(pq.Hz).magnitude


def isi_statistics(raster, dt_ms: float = 1.0, start: int = 0) -> dict:
    """Inter-spike intervals within trials, pooled over trials, and the CV per neuron.

    Parameters
    ----------
    raster : bool array ``(M, N, T)``
    dt_ms : float
    start : int
        First step counted.

    Returns
    -------
    dict
        ``isi_ms``: all pooled intervals (ms); ``per_neuron``: list of N arrays of
        intervals; ``cv``: float array ``(N,)`` (Elephant ``cv`` of each neuron's pooled
        intervals, NaN with fewer than 2 intervals); ``n_intervals``: int array ``(N,)``.

    Examples
    --------
    >>> r = np.zeros((2, 1, 100), bool); r[0, 0, [10, 20, 40]] = True; r[1, 0, [5, 15]] = True
    >>> s = isi_statistics(r)
    >>> sorted(s["isi_ms"].tolist()), round(float(s["cv"][0]), 4)
    ([10.0, 10.0, 20.0], 0.3536)
    """
    from elephant.statistics import cv, isi

    r, start = _window(raster, start, dt_ms=dt_ms)
    dt_ms = check_real("dt_ms", dt_ms, 0.0, open_min=True)
    M, N, T = r.shape
    steps = trains_from_raster(r[:, :, start:])
    per_neuron, cvs = [], np.full(N, np.nan)
    for n in range(N):
        parts = [isi(steps[m][n] * dt_ms) for m in range(M) if steps[m][n].size > 1]
        intervals = np.concatenate(parts) if parts else np.zeros(0)
        per_neuron.append(intervals)
        if intervals.size >= 2:
            cvs[n] = cv(intervals)
    pooled = np.concatenate(per_neuron) if per_neuron else np.zeros(0)
    return {"isi_ms": pooled, "per_neuron": per_neuron, "cv": cvs,
            "n_intervals": np.array([x.size for x in per_neuron])}


def fano_factors(raster, start: int = 0, *, dt_ms: float = 1.0) -> np.ndarray:
    """Fano factor of each neuron's spike count across trials (Elephant ``fanofactor``).

    Returns a float array ``(N,)``; NaN for neurons silent in every trial. ``dt_ms`` bins Neo input.

    Examples
    --------
    >>> r = np.zeros((2, 1, 50), bool); r[0, 0, [3, 9]] = True
    >>> fano_factors(r).tolist()
    [1.0]
    """
    from elephant.statistics import fanofactor

    r, start = _window(raster, start, dt_ms=dt_ms)
    M, N, T = r.shape
    steps = trains_from_raster(r[:, :, start:])
    out = np.full(N, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")            # Elephant warns on all-empty inputs
        for n in range(N):
            trains = [steps[m][n] for m in range(M)]
            if any(t.size for t in trains):
                out[n] = fanofactor(trains)
    return out


def cross_correlograms(targets, recalled, start: int = 0, dt_ms: float = 1.0, window: int = 20) -> dict:
    """Cross-correlogram of each neuron's recall against its own target, summed over neurons.

    For each neuron the free-run windows of all trials are laid end to end
    (separated by ``window`` silent steps, so no pair crosses trials), binned at
    ``dt`` and passed to Elephant's ``cross_correlation_histogram``
    (recall against target: a positive lag means the recalled spike comes late).

    Parameters
    ----------
    targets, recalled : bool arrays ``(M, N, T)``
    start : int
        First step used.
    dt_ms : float
    window : int
        Largest lag, in steps.

    Returns
    -------
    dict
        ``lags_ms`` (``2 window + 1``), ``counts`` (summed over neurons), ``per_neuron``
        (int array ``(N, 2 window + 1)``).

    Examples
    --------
    >>> tgt = np.zeros((1, 1, 100), bool); tgt[0, 0, [20, 60]] = True
    >>> rec = np.zeros((1, 1, 100), bool); rec[0, 0, [22, 62]] = True
    >>> c = cross_correlograms(tgt, rec, window=3)
    >>> c["lags_ms"].tolist(), c["counts"].tolist()
    ([-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0], [0, 0, 0, 0, 0, 2, 0])
    """
    import neo
    import quantities as pq
    from elephant.conversion import BinnedSpikeTrain
    from elephant.spike_train_correlation import cross_correlation_histogram

    rec, start = _window(recalled, start, "recalled", dt_ms=dt_ms)
    tgt = _raster("targets", targets, dt_ms)
    if rec.shape != tgt.shape:
        raise ValueError(f"targets and recalled must have the same shape (M, N, T); got {tgt.shape} and {rec.shape}")
    dt_ms = check_real("dt_ms", dt_ms, 0.0, open_min=True)
    window = check_int("window", window, minimum=0)
    M, N, T = rec.shape
    stride = T - start + window
    t_stop = M * stride * dt_ms * pq.ms
    bin_size = dt_ms * pq.ms
    trains = []
    for r in (rec, tgt):
        m, n, t = np.nonzero(r[:, :, start:])
        times = (m * stride + t).astype(np.float64)
        order = np.lexsort((times, n))
        trains.append(np.split(times[order], np.cumsum(np.bincount(n, minlength=N))[:-1]))
    per_neuron = np.zeros((N, 2 * window + 1), dtype=np.int64)
    with warnings.catch_warnings():                 # Elephant 1.2 passes copy= to quantities 0.16
        warnings.simplefilter("ignore", DeprecationWarning)
        for n in range(N):
            if trains[0][n].size == 0 or trains[1][n].size == 0:
                continue
            binned = [BinnedSpikeTrain(neo.SpikeTrain((x[n] + 0.5) * dt_ms * pq.ms, t_stop=t_stop),
                                       bin_size=bin_size, t_start=0 * pq.ms, t_stop=t_stop) for x in trains]
            cch, lags = cross_correlation_histogram(binned[0], binned[1], window=[-window, window])
            # Elephant's convention: lag > 0 when the second train (target) fires after the first (recall)
            per_neuron[n] = np.rint(cch.magnitude[::-1, 0]).astype(np.int64)
    lags_ms = np.arange(-window, window + 1) * dt_ms
    return {"lags_ms": lags_ms, "counts": per_neuron.sum(0), "per_neuron": per_neuron}
