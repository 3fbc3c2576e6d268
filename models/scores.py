"""The scores of the model contract: precision, recall and F1 of recalled against target spikes.

Counts run over the free-run window ``t = D .. T-1`` of each pattern (the
trigger window is given, not recalled). Pooled (micro) scores sum the counts
over patterns. A ratio whose denominator is zero is 1.0: nothing was
predicted wrongly (precision), nothing was missed (recall), or both rasters
are empty (F1)::

    precision = TP / (TP + FP),  recall = TP / (TP + FN),  F1 = 2 TP / (2 TP + FP + FN)

For continuous time a recalled spike matches a target spike of the same
neuron and pattern when their steps differ by at most ``k``; each spike
matches at most once (one-to-one). Per train the matching has the largest
possible number of pairs and, among those, the smallest total ``|error|``
(an assignment problem solved by ``scipy.optimize.linear_sum_assignment``).
With ``k = 0`` it is exact matching, so :func:`tolerant_score` equals
:func:`score`.

Every function takes the targets first, then the recalled raster.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hdsnn.validation import check_int, check_raster_pair

__all__ = ["Scores", "confusion", "score", "Matching", "match_spikes", "tolerant_score", "spike_time_score"]


def ratio(num, den):
    """``num / den`` elementwise, 1.0 where ``den`` is 0."""
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)


@dataclass(frozen=True)
class Scores:
    """Per-pattern and pooled scores.

    Attributes
    ----------
    tp, fp, fn : numpy int arrays ``(M,)``
        True positives, false positives, false negatives per pattern.
    """

    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray

    @property
    def precision(self) -> np.ndarray:
        return ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> np.ndarray:
        return ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> np.ndarray:
        return ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    def pooled(self) -> dict:
        """Micro-averaged precision, recall and F1 (counts summed over patterns)."""
        tp, fp, fn = int(self.tp.sum()), int(self.fp.sum()), int(self.fn.sum())
        return {"tp": tp, "fp": fp, "fn": fn,
                "precision": float(ratio(tp, tp + fp)), "recall": float(ratio(tp, tp + fn)),
                "f1": float(ratio(2 * tp, 2 * tp + fp + fn))}

    def to_dict(self) -> dict:
        return {"pooled": self.pooled(),
                "per_pattern": {"tp": self.tp.tolist(), "fp": self.fp.tolist(), "fn": self.fn.tolist(),
                                "precision": self.precision.tolist(), "recall": self.recall.tolist(),
                                "f1": self.f1.tolist()}}


def confusion(targets, recalled, start: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TP, FP, FN per pattern over steps ``start .. T-1``.

    Examples
    --------
    >>> tgt = torch.tensor([[[1, 0, 1, 1]]]).bool(); rec = torch.tensor([[[1, 1, 0, 1]]]).bool()
    >>> [int(x[0]) for x in confusion(tgt, rec)]
    [2, 1, 1]
    """
    targets, recalled = check_raster_pair(targets, recalled)
    start = check_int("start", start, minimum=0, maximum=targets.shape[2] - 1)
    r, g = recalled[:, :, start:], targets[:, :, start:]
    tp = (r & g).sum((1, 2)).numpy()
    fp = (r & ~g).sum((1, 2)).numpy()
    fn = (~r & g).sum((1, 2)).numpy()
    return tp, fp, fn


def score(targets, recalled, D: int) -> Scores:
    """Scores of a recall over the free-run window ``t >= D``.

    Parameters
    ----------
    targets, recalled : bool arrays ``(M, N, T)``
        Stored patterns and their recall.
    D : int
        Length of the trigger window.

    Examples
    --------
    >>> tgt = torch.zeros(2, 3, 10, dtype=torch.bool); tgt[:, 0, 6] = True
    >>> score(tgt, tgt, D=4).pooled()["f1"]
    1.0
    """
    return Scores(*confusion(targets, recalled, start=D))


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
        """Counts summed over neurons, as :class:`Scores`."""
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


def match_spikes(targets, recalled, D: int = 0, k: int = 0) -> Matching:
    """Match recalled to target spikes one to one within ``k`` steps, over ``t >= D``.

    Parameters
    ----------
    targets, recalled : bool arrays ``(M, N, T)``
        Stored patterns and their recall.
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
    >>> m = match_spikes(tgt, rec, k=1)
    >>> int(m.tp.sum()), int(m.fp.sum()), int(m.fn.sum()), m.errors.tolist()
    (1, 1, 1, [1])
    """
    tgt, rec = (x.cpu().numpy() for x in check_raster_pair(targets, recalled))
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


def tolerant_score(targets, recalled, D: int, k: int = 1) -> Scores:
    """Per-pattern scores with a ±``k``-step tolerance (one-to-one matching).

    Examples
    --------
    >>> tgt = np.zeros((1, 2, 30), bool); tgt[0, 0, 12] = True
    >>> rec = np.zeros((1, 2, 30), bool); rec[0, 0, 13] = True
    >>> float(tolerant_score(tgt, rec, D=5, k=0).f1[0]), float(tolerant_score(tgt, rec, D=5, k=1).f1[0])
    (0.0, 1.0)
    """
    return match_spikes(targets, recalled, D, k).per_pattern()


def spike_time_score(targets, spikes, D: int, tolerance_ms: float, dt_ms: float = 0.1) -> Scores:
    """Per-pattern scores of exact spike times against the targets, one to one within ``±tolerance_ms``.

    A target spike in bin ``t`` (1 ms) stands at time ``t`` ms (where the continuous-time learners place
    it: :mod:`hdsnn.learning.margin_neurons`); a recalled spike at its exact time. Both are placed on the
    grid of ``dt_ms`` and matched as :func:`match_spikes` matches steps, with a tolerance of
    ``round(tolerance_ms / dt_ms)`` steps, over ``t >= D`` ms.

    Parameters
    ----------
    targets : bool array ``(M, N, T)``
    spikes : tuple ``(trial, neuron, time_ms)``
        Exact spike times, trial ``m`` recalling pattern ``m``, times from the start of its trial
        (:attr:`hdsnn.models.brian2.NeuronSimulation.spikes`).
    D : int
        Start of the scored window (ms).
    tolerance_ms, dt_ms : float

    Examples
    --------
    >>> tgt = np.zeros((1, 1, 20), bool); tgt[0, 0, [5, 10]] = True
    >>> spikes = (np.array([0, 0]), np.array([0, 0]), np.array([5.3, 10.7]))
    >>> float(spike_time_score(tgt, spikes, 0, 0.5).f1[0]), float(spike_time_score(tgt, spikes, 0, 1.0).f1[0])
    (0.5, 1.0)
    """
    tgt = torch.as_tensor(np.asarray(targets)).bool()
    if tgt.ndim != 3:
        raise ValueError(f"targets must be a bool array (M, N, T); got shape {tuple(tgt.shape)}")
    M, N, T = tgt.shape
    if not (isinstance(spikes, tuple) and len(spikes) == 3):
        raise ValueError("spikes must be a tuple (trial, neuron, time_ms) of arrays")
    trial, neuron, time_ms = (np.asarray(x) for x in spikes)
    if not (0 < dt_ms <= 1) or abs(1 / dt_ms - round(1 / dt_ms)) > 1e-6:
        raise ValueError(f"dt_ms must divide 1 ms into whole steps; got {dt_ms}")
    if not tolerance_ms >= 0:
        raise ValueError(f"tolerance_ms must be >= 0; got {tolerance_ms}")
    S = int(round(1 / dt_ms))
    grid = np.zeros((M, N, T * S), dtype=bool)
    m, i, t = np.nonzero(tgt.numpy())
    grid[m, i, t * S] = True
    rec = np.zeros_like(grid)
    step = np.rint(time_ms / dt_ms).astype(np.int64)
    ok = (trial >= 0) & (trial < M) & (step >= 0) & (step < T * S)
    rec[trial[ok].astype(np.int64), neuron[ok].astype(np.int64), step[ok]] = True
    return match_spikes(grid, rec, D * S, int(round(tolerance_ms / dt_ms))).per_pattern()
