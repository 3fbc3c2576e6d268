"""Scores with a timing tolerance: one-to-one matching of spikes within ±k steps.

For continuous-time simulators a recalled spike may come a step or two early
or late. :func:`tolerant_score` counts a recalled spike as a true positive
when it can be paired with a target spike of the same neuron and pattern at
most ``k`` steps away, each spike being used at most once. On a line, the
greedy sweep over both sorted spike trains gives a maximum matching. With
``k = 0`` the scores are those of :func:`hdsnn.analysis.score`.
"""
from __future__ import annotations

import numpy as np

from hdsnn.validation import check_int, check_raster

from .scores import Scores

__all__ = ["tolerant_score", "match_spike_trains"]


def match_spike_trains(recalled, target, k: int) -> int:
    """Number of pairs in a maximum one-to-one matching with ``|t_r - t_t| <= k``.

    Parameters
    ----------
    recalled, target : sorted 1-D arrays of spike times (steps)
    k : int

    Examples
    --------
    >>> match_spike_trains([10, 11], [10], 1), match_spike_trains([3, 9], [5, 7], 2)
    (1, 2)
    """
    i = j = pairs = 0
    while i < len(recalled) and j < len(target):
        if recalled[i] < target[j] - k:
            i += 1
        elif target[j] < recalled[i] - k:
            j += 1
        else:
            pairs += 1
            i += 1
            j += 1
    return pairs


def _trains(raster: np.ndarray, start: int):
    """Spike times of every (pattern, neuron) from ``start`` on, grouped."""
    m, n, t = np.nonzero(raster[:, :, start:])
    key = m * raster.shape[1] + n
    groups = {}
    if key.size:
        cuts = np.flatnonzero(np.diff(key)) + 1
        for chunk_key, times in zip(key[np.r_[0, cuts]], np.split(t + start, cuts)):
            groups[int(chunk_key)] = times
    return groups


def tolerant_score(recalled, target, D: int, k: int = 1) -> Scores:
    """Scores over the free run ``t >= D`` with a tolerance of ``±k`` steps.

    Parameters
    ----------
    recalled, target : bool arrays ``(M, N, T)``
    D : int
        Trigger window length: spikes before step ``D`` are not scored.
    k : int
        Tolerance in steps (``k = 1`` with 1 ms bins: ±1 ms).

    Returns
    -------
    Scores

    Examples
    --------
    >>> import torch
    >>> tgt = torch.zeros(1, 2, 20, dtype=torch.bool); tgt[0, 0, 8] = tgt[0, 1, 12] = True
    >>> late = torch.roll(tgt, 1, dims=2)
    >>> tolerant_score(late, tgt, D=5, k=0).pooled()["f1"], tolerant_score(late, tgt, D=5, k=1).pooled()["f1"]
    (0.0, 1.0)
    """
    recalled = check_raster("recalled", recalled).numpy()
    target = check_raster("target", target).numpy()
    if recalled.shape != target.shape:
        raise ValueError(f"recalled and target must have the same shape (M, N, T); got "
                         f"{recalled.shape} and {target.shape}")
    M, N, T = target.shape
    D = check_int("D", D, minimum=0, maximum=T)
    k = check_int("k", k, minimum=0)
    rec, tgt = _trains(recalled, D), _trains(target, D)
    tp = np.zeros(M, dtype=np.int64)
    for key in rec.keys() & tgt.keys():
        tp[key // N] += match_spike_trains(rec[key], tgt[key], k)
    n_rec = recalled[:, :, D:].sum(axis=(1, 2)).astype(np.int64)
    n_tgt = target[:, :, D:].sum(axis=(1, 2)).astype(np.int64)
    return Scores(tp, n_rec - tp, n_tgt - tp)
