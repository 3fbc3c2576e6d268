"""Scores of a recall over arrays or Neo objects, and the sliding-window F1.

The contract's scores live in :mod:`hdsnn.models.scores` so that learning can
use them; :func:`score` here is the same score of rasters given as arrays or as
Neo objects (:func:`as_pair`, :func:`hdsnn.analysis.as_raster`): a user's
``neo.Block``, list of ``SpikeTrain`` or NWB Units table.
"""
from __future__ import annotations

import numpy as np
import torch

from hdsnn.models import scores as contract
from hdsnn.models.scores import Scores, confusion, ratio
from hdsnn.validation import check_int, check_raster_pair

from .neo_io import as_raster

__all__ = ["Scores", "confusion", "score", "sliding_f1", "as_pair"]


def _is_array(x) -> bool:
    return isinstance(x, (torch.Tensor, np.ndarray))


def as_pair(targets, recalled, dt_ms: float | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Targets and their recall as bool rasters ``(M, N, T)`` of one shape, from arrays or Neo objects.

    An array fixes ``N`` and ``T`` for the other argument when that one is Neo
    (spike trains in time are binned at ``dt_ms``; see :func:`hdsnn.analysis.as_raster`).

    Examples
    --------
    >>> import neo, quantities as pq
    >>> tgt = torch.zeros(1, 2, 10, dtype=torch.bool); tgt[0, 1, 4] = True
    >>> trains = [neo.SpikeTrain([] * pq.ms, t_stop=10 * pq.ms), neo.SpikeTrain([4.2] * pq.ms, t_stop=10 * pq.ms)]
    >>> t, r = as_pair(tgt, trains, dt_ms=1.0)
    >>> torch.equal(t, r)
    True
    """
    if _is_array(targets) or not _is_array(recalled):
        targets = as_raster(targets, dt_ms=dt_ms)
        M, N, T = targets.shape
        recalled = as_raster(recalled, dt_ms=dt_ms, **({} if _is_array(recalled) else {"N": N, "T": T}))
    else:
        recalled = as_raster(recalled, dt_ms=dt_ms)
        targets = as_raster(targets, dt_ms=dt_ms, N=recalled.shape[1], T=recalled.shape[2])
    return check_raster_pair(targets, recalled)


def score(targets, recalled, D: int, *, dt_ms: float | None = None) -> Scores:
    """:func:`hdsnn.models.scores.score` of rasters given as arrays or Neo objects (:func:`as_pair`).

    Examples
    --------
    >>> tgt = torch.zeros(2, 3, 10, dtype=torch.bool); tgt[:, 0, 6] = True
    >>> score(tgt, tgt.numpy(), D=4).pooled()["f1"]
    1.0
    """
    return contract.score(*as_pair(targets, recalled, dt_ms), D)


def sliding_f1(targets, recalled, width: int = 20, *, dt_ms: float | None = None) -> np.ndarray:
    """F1 in a sliding window of ``width`` steps, pooled over neurons.

    Parameters
    ----------
    targets, recalled : bool arrays ``(M, N, L)``
    width : int
        Window length in steps (>= 1); the window ending at step ``t`` is used.

    Returns
    -------
    numpy array ``(M, L)``
        F1 per pattern (or run) and step; 1.0 where both rasters are empty in the window.

    Examples
    --------
    >>> tgt = torch.zeros(1, 2, 50, dtype=torch.bool); tgt[0, 0, ::5] = True
    >>> float(sliding_f1(tgt, tgt, width=10).min())
    1.0
    """
    targets, recalled = as_pair(targets, recalled, dt_ms)
    width = check_int("width", width, minimum=1)

    def windowed(x):
        c = torch.cumsum(x.sum(1).to(torch.int64), dim=1)
        shifted = torch.nn.functional.pad(c, (width, 0))[:, : c.shape[1]]
        return (c - shifted).numpy()

    tp = windowed(recalled & targets)
    fp = windowed(recalled & ~targets)
    fn = windowed(~recalled & targets)
    return ratio(2 * tp, 2 * tp + fp + fn)
