"""Spike-timing errors and spike-train distances of a recall.

The one-to-one matching within ``k`` steps is part of the model contract and
lives in :mod:`hdsnn.models.scores`; :func:`match_spikes` and
:func:`tolerant_score` here take arrays or Neo objects as well. Counts run over
the free-run window ``t >= D``.

Distances between recall and target use Elephant's
``spike_train_dissimilarity`` (van Rossum and Victor-Purpura).
"""
from __future__ import annotations

import warnings

import numpy as np

from hdsnn.models import scores as contract
from hdsnn.models.scores import Matching
from hdsnn.validation import check_int, check_real

from .scores import as_pair

__all__ = ["Matching", "match_spikes", "tolerant_score", "timing_error_stats", "spike_train_distances"]


def match_spikes(targets, recalled, D: int = 0, k: int = 0, *, dt_ms: float | None = None) -> Matching:
    """:func:`hdsnn.models.scores.match_spikes` of rasters given as arrays or Neo objects."""
    return contract.match_spikes(*as_pair(targets, recalled, dt_ms), D, k)


def tolerant_score(targets, recalled, D: int, k: int = 1, *, dt_ms: float | None = None):
    """:func:`hdsnn.models.scores.tolerant_score` of rasters given as arrays or Neo objects."""
    return contract.tolerant_score(*as_pair(targets, recalled, dt_ms), D, k)


def timing_error_stats(matching: Matching, dt_ms: float = 1.0) -> dict:
    """Summary of the timing errors ``recall - target`` of matched spikes (in ms).

    Returns a dict with ``n``, ``mean_ms``, ``std_ms``, ``mean_abs_ms``,
    ``median_ms``, ``max_abs_ms``, ``fraction_exact`` and ``histogram``
    (``{error_steps: count}`` for ``-k .. k``).

    Examples
    --------
    >>> tgt = np.zeros((1, 1, 20), bool); tgt[0, 0, [5, 10]] = True
    >>> rec = np.zeros((1, 1, 20), bool); rec[0, 0, [5, 12]] = True
    >>> timing_error_stats(match_spikes(tgt, rec, k=2))["mean_ms"]
    1.0
    """
    dt_ms = check_real("dt_ms", dt_ms, 0.0, open_min=True)
    e = matching.errors
    counts = np.bincount(e + matching.k, minlength=2 * matching.k + 1) if e.size else np.zeros(2 * matching.k + 1, int)
    hist = {int(s): int(c) for s, c in zip(range(-matching.k, matching.k + 1), counts)}
    if e.size == 0:
        return {"n": 0, "k": matching.k, "mean_ms": None, "std_ms": None, "mean_abs_ms": None, "median_ms": None,
                "max_abs_ms": None, "fraction_exact": None, "histogram": hist}
    ms = e * dt_ms
    return {"n": int(e.size), "k": matching.k, "mean_ms": float(ms.mean()), "std_ms": float(ms.std()),
            "mean_abs_ms": float(np.abs(ms).mean()), "median_ms": float(np.median(ms)),
            "max_abs_ms": float(np.abs(ms).max()), "fraction_exact": float((e == 0).mean()), "histogram": hist}


def _concatenated(raster: np.ndarray, start: int, gap: int) -> list[np.ndarray]:
    """Per neuron: the free-run windows of all patterns laid end to end, ``gap`` steps apart."""
    M, N, T = raster.shape
    m, n, t = np.nonzero(raster[:, :, start:])
    order = np.lexsort((t, m, n))                      # by neuron, then pattern and time
    stride = T - start + gap
    times = (m * stride + t)[order].astype(np.float64)
    counts = np.bincount(n, minlength=N)
    return np.split(times, np.cumsum(counts)[:-1])


def spike_train_distances(targets, recalled, D: int, dt_ms: float = 1.0, tau_ms: float = 5.0,
                          cost_per_ms: float = 0.5, progress: bool | None = None) -> dict:
    """Van Rossum and Victor-Purpura distances between each neuron's recall and target.

    For each neuron, its free-run windows (``t >= D``) of all M patterns are
    laid end to end, separated by gaps of ``max(20 tau, 2 / cost)`` (so that the
    Victor-Purpura distance is exactly the sum of the per-pattern distances and
    the van Rossum cross terms are below ``exp(-20)``), and Elephant computes
    the distance of that pair of trains. Neurons silent in both rasters have
    distance 0 and are not passed to Elephant.

    Parameters
    ----------
    targets, recalled : bool arrays ``(M, N, T)``
    D : int
        Start of the free-run window.
    dt_ms : float
        Step duration.
    tau_ms : float
        Van Rossum time constant (ms).
    cost_per_ms : float
        Victor-Purpura cost of shifting a spike by 1 ms (a shift beyond ``2 / cost`` ms
        costs more than deleting and inserting).

    Returns
    -------
    dict
        ``van_rossum`` and ``victor_purpura``: float arrays ``(N,)``; ``tau_ms``,
        ``cost_per_ms``, ``gap_ms``.

    Examples
    --------
    >>> tgt = np.zeros((1, 2, 50), bool); tgt[0, 0, 20] = True
    >>> rec = np.zeros((1, 2, 50), bool); rec[0, 0, 22] = True
    >>> d = spike_train_distances(tgt, rec, D=10, cost_per_ms=0.25, progress=False)
    >>> [round(float(x), 6) for x in d["victor_purpura"]]
    [0.5, 0.0]
    """
    import neo
    import quantities as pq
    from elephant.spike_train_dissimilarity import van_rossum_distance, victor_purpura_distance
    from tqdm.auto import tqdm

    tgt, rec = (x.cpu().numpy() for x in as_pair(targets, recalled))
    M, N, T = tgt.shape
    D = check_int("D", D, minimum=0, maximum=T - 1)
    dt_ms = check_real("dt_ms", dt_ms, 0.0, open_min=True)
    tau_ms = check_real("tau_ms", tau_ms, 0.0, open_min=True)
    cost_per_ms = check_real("cost_per_ms", cost_per_ms, 0.0, open_min=True)
    gap = int(np.ceil(max(20 * tau_ms, 2 / cost_per_ms) / dt_ms)) + 1
    t_stop = (M * (T - D + gap)) * dt_ms * pq.ms
    r_trains, g_trains = _concatenated(rec, D, gap), _concatenated(tgt, D, gap)
    vr, vp = np.zeros(N), np.zeros(N)
    active = [n for n in range(N) if r_trains[n].size or g_trains[n].size]
    for n in tqdm(active, desc="distances", unit="neuron", leave=False,
                  disable=None if progress is None else not progress):
        pair = [neo.SpikeTrain(x * dt_ms * pq.ms, t_stop=t_stop) for x in (r_trains[n], g_trains[n])]
        with warnings.catch_warnings():          # Elephant warns when rounding gives tiny negative squares
            warnings.simplefilter("ignore", RuntimeWarning)
            vr[n] = van_rossum_distance(pair, time_constant=tau_ms * pq.ms)[0, 1]
        vp[n] = victor_purpura_distance(pair, cost_factor=cost_per_ms / pq.ms)[0, 1]
    return {"van_rossum": vr, "victor_purpura": vp, "tau_ms": tau_ms, "cost_per_ms": cost_per_ms,
            "gap_ms": gap * dt_ms}
