"""Scores with a timing tolerance, spike-timing errors and spike-train distances.

A recalled spike matches a target spike of the same neuron and pattern when
their steps differ by at most ``k``; each spike matches at most once
(one-to-one). Per train the matching has the largest possible number of
pairs and, among those, the smallest total ``|error|`` (an assignment
problem solved by ``scipy.optimize.linear_sum_assignment``). With ``k = 0`` it is exact matching, so :func:`tolerant_score`
equals :func:`hdsnn.analysis.score`. Counts run over the free-run window
``t >= D``.

Distances between recall and target use Elephant's
``spike_train_dissimilarity`` (van Rossum and Victor-Purpura).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from hdsnn.validation import check_int, check_raster_pair, check_real

from .scores import Scores

__all__ = ["Matching", "match_spikes", "tolerant_score", "timing_error_stats", "spike_train_distances"]


@dataclass(frozen=True)
class Matching:
    """One-to-one matching of recalled to target spikes.

    Attributes
    ----------
    tp, fp, fn : int arrays ``(M, N)``
        Matched, unmatched recalled, unmatched target spikes per pattern and neuron.
    pattern, neuron, target_step, recall_step : int arrays ``(K,)``
        The K matched pairs.
    k : int
        Tolerance in steps.
    """

    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    pattern: np.ndarray
    neuron: np.ndarray
    target_step: np.ndarray
    recall_step: np.ndarray
    k: int

    @property
    def errors(self) -> np.ndarray:
        """Timing errors ``recall - target`` of the matched pairs, in steps."""
        return self.recall_step - self.target_step

    def per_pattern(self) -> Scores:
        """Counts summed over neurons, as :class:`hdsnn.analysis.Scores`."""
        return Scores(self.tp.sum(1), self.fp.sum(1), self.fn.sum(1))

    def per_neuron(self) -> Scores:
        """Counts summed over patterns: a :class:`Scores` whose entries are neurons."""
        return Scores(self.tp.sum(0), self.fp.sum(0), self.fn.sum(0))


def _assign(g: np.ndarray, r: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Most matches within ``k`` steps; among those, the smallest total ``|error|``."""
    from scipy.optimize import linear_sum_assignment

    err = np.abs(g[:, None] - r[None, :])
    allowed = err <= k
    if not allowed.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    big = (k + 1) * (min(g.size, r.size) + 1)          # one more match outweighs any error total
    gi, ri = linear_sum_assignment(np.where(allowed, err - big, 0))
    keep = allowed[gi, ri]
    return gi[keep], ri[keep]


def _events(raster: np.ndarray, start: int):
    m, n, t = np.nonzero(raster[:, :, start:])
    N = raster.shape[1]
    return (m * N + n).astype(np.int64), (t + start).astype(np.int64)


def match_spikes(recalled, target, D: int = 0, k: int = 0) -> Matching:
    """Match recalled to target spikes one to one within ``k`` steps, over ``t >= D``.

    Parameters
    ----------
    recalled, target : bool arrays ``(M, N, T)``
    D : int
        Start of the scored window (the trigger window length).
    k : int
        Tolerance in steps (>= 0).

    Returns
    -------
    Matching

    Examples
    --------
    >>> tgt = np.zeros((1, 1, 20), bool); tgt[0, 0, [5, 10]] = True
    >>> rec = np.zeros((1, 1, 20), bool); rec[0, 0, [6, 15]] = True
    >>> m = match_spikes(rec, tgt, k=1)
    >>> int(m.tp.sum()), int(m.fp.sum()), int(m.fn.sum()), m.errors.tolist()
    (1, 1, 1, [1])
    """
    rec, tgt = (x.cpu().numpy() for x in check_raster_pair(recalled, target))
    M, N, T = tgt.shape
    D = check_int("D", D, minimum=0, maximum=T - 1)
    k = check_int("k", k, minimum=0)
    rkey, rt = _events(rec, D)
    gkey, gt = _events(tgt, D)
    n_rec = np.bincount(rkey, minlength=M * N)
    n_tgt = np.bincount(gkey, minlength=M * N)
    r_start = np.cumsum(n_rec) - n_rec
    g_start = np.cumsum(n_tgt) - n_tgt
    tp = np.zeros(M * N, dtype=np.int64)
    pairs_key, pairs_g, pairs_r = [], [], []
    if k == 0:                                   # exact: one vectorised intersection
        both = np.intersect1d(rkey * T + rt, gkey * T + gt, assume_unique=True)
        key, step = both // T, both % T
        np.add.at(tp, key, 1)
        pairs_key, pairs_g, pairs_r = [key], [step], [step]
    else:
        for key in np.flatnonzero((n_rec > 0) & (n_tgt > 0)).tolist():
            r = rt[r_start[key]: r_start[key] + n_rec[key]].tolist()
            g = gt[g_start[key]: g_start[key] + n_tgt[key]].tolist()
            gi, ri = _assign(np.asarray(g), np.asarray(r), k)
            found = gi.size
            pairs_g.extend(np.asarray(g)[gi].tolist())
            pairs_r.extend(np.asarray(r)[ri].tolist())
            tp[key] = found
            pairs_key.append(np.full(found, key, dtype=np.int64))
        pairs_g, pairs_r = [np.asarray(pairs_g, dtype=np.int64)], [np.asarray(pairs_r, dtype=np.int64)]
    key = np.concatenate(pairs_key) if pairs_key else np.zeros(0, np.int64)
    shape = (M, N)
    return Matching(tp.reshape(shape), (n_rec - tp).reshape(shape), (n_tgt - tp).reshape(shape),
                    key // N, key % N, np.concatenate(pairs_g), np.concatenate(pairs_r), k)


def tolerant_score(recalled, target, D: int, k: int = 1) -> Scores:
    """Per-pattern scores with a ±``k``-step tolerance (one-to-one matching).

    Examples
    --------
    >>> tgt = np.zeros((1, 2, 30), bool); tgt[0, 0, 12] = True
    >>> rec = np.zeros((1, 2, 30), bool); rec[0, 0, 13] = True
    >>> float(tolerant_score(rec, tgt, D=5, k=0).f1[0]), float(tolerant_score(rec, tgt, D=5, k=1).f1[0])
    (0.0, 1.0)
    """
    return match_spikes(recalled, target, D, k).per_pattern()


def timing_error_stats(matching: Matching, dt_ms: float = 1.0) -> dict:
    """Summary of the timing errors ``recall - target`` of matched spikes (in ms).

    Returns a dict with ``n``, ``mean_ms``, ``std_ms``, ``mean_abs_ms``,
    ``median_ms``, ``max_abs_ms``, ``fraction_exact`` and ``histogram``
    (``{error_steps: count}`` for ``-k .. k``).

    Examples
    --------
    >>> tgt = np.zeros((1, 1, 20), bool); tgt[0, 0, [5, 10]] = True
    >>> rec = np.zeros((1, 1, 20), bool); rec[0, 0, [5, 12]] = True
    >>> timing_error_stats(match_spikes(rec, tgt, k=2))["mean_ms"]
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


def spike_train_distances(recalled, target, D: int, dt_ms: float = 1.0, tau_ms: float = 5.0,
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
    recalled, target : bool arrays ``(M, N, T)``
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
    >>> d = spike_train_distances(rec, tgt, D=10, cost_per_ms=0.25, progress=False)
    >>> [round(float(x), 6) for x in d["victor_purpura"]]
    [0.5, 0.0]
    """
    import neo
    import quantities as pq
    from elephant.spike_train_dissimilarity import van_rossum_distance, victor_purpura_distance
    from tqdm.auto import tqdm

    rec, tgt = (x.cpu().numpy() for x in check_raster_pair(recalled, target))
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
