"""Scores beyond the contract: the sliding-window F1 of a recall.

The contract's scores (:func:`score`, :func:`confusion`, :class:`Scores`) live in
:mod:`hdsnn.models.scores` so that learning can use them; they are exported here too.
"""
from __future__ import annotations

import numpy as np
import torch

from hdsnn.models.scores import Scores, confusion, ratio, score
from hdsnn.validation import check_int, check_raster_pair

__all__ = ["Scores", "confusion", "score", "sliding_f1"]


def sliding_f1(targets, recalled, width: int = 20) -> np.ndarray:
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
    targets, recalled = check_raster_pair(targets, recalled)
    width = check_int("width", width, minimum=1)

    def windowed(x):
        c = torch.cumsum(x.sum(1).to(torch.int64), dim=1)
        shifted = torch.nn.functional.pad(c, (width, 0))[:, : c.shape[1]]
        return (c - shifted).numpy()

    tp = windowed(recalled & targets)
    fp = windowed(recalled & ~targets)
    fn = windowed(~recalled & targets)
    return ratio(2 * tp, 2 * tp + fp + fn)
