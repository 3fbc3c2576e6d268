"""Recall scores: precision, recall and F1 of recalled against target spikes.

Counts run over the free-run window ``t = D .. T-1`` of each pattern (the
trigger window is given, not recalled). Pooled (micro) scores sum the counts
over patterns. A ratio whose denominator is zero is 1.0: nothing was
predicted wrongly (precision), nothing was missed (recall), or both rasters
are empty (F1).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hdsnn.validation import check_int, check_raster_pair

__all__ = ["Scores", "confusion", "score", "sliding_f1"]


def _ratio(num, den):
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
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> np.ndarray:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> np.ndarray:
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    def pooled(self) -> dict:
        """Micro-averaged precision, recall and F1 (counts summed over patterns)."""
        tp, fp, fn = int(self.tp.sum()), int(self.fp.sum()), int(self.fn.sum())
        return {"tp": tp, "fp": fp, "fn": fn,
                "precision": float(_ratio(tp, tp + fp)), "recall": float(_ratio(tp, tp + fn)),
                "f1": float(_ratio(2 * tp, 2 * tp + fp + fn))}

    def to_dict(self) -> dict:
        return {"pooled": self.pooled(),
                "per_pattern": {"tp": self.tp.tolist(), "fp": self.fp.tolist(), "fn": self.fn.tolist(),
                                "precision": self.precision.tolist(), "recall": self.recall.tolist(),
                                "f1": self.f1.tolist()}}


def confusion(recalled, target, start: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TP, FP, FN per pattern over steps ``start .. T-1``.

    Examples
    --------
    >>> tgt = torch.tensor([[[1, 0, 1, 1]]]).bool(); rec = torch.tensor([[[1, 1, 0, 1]]]).bool()
    >>> [int(x[0]) for x in confusion(rec, tgt)]
    [2, 1, 1]
    """
    recalled, target = check_raster_pair(recalled, target)
    start = check_int("start", start, minimum=0, maximum=target.shape[2] - 1)
    r, g = recalled[:, :, start:], target[:, :, start:]
    tp = (r & g).sum((1, 2)).numpy()
    fp = (r & ~g).sum((1, 2)).numpy()
    fn = (~r & g).sum((1, 2)).numpy()
    return tp, fp, fn


def score(recalled, target, D: int) -> Scores:
    """Scores of a recall over the free-run window ``t >= D``.

    Parameters
    ----------
    recalled, target : bool arrays ``(M, N, T)``
    D : int
        Length of the trigger window.

    Examples
    --------
    >>> tgt = torch.zeros(2, 3, 10, dtype=torch.bool); tgt[:, 0, 6] = True
    >>> score(tgt, tgt, D=4).pooled()["f1"]
    1.0
    """
    return Scores(*confusion(recalled, target, start=D))


def sliding_f1(recalled, target, width: int = 20) -> np.ndarray:
    """F1 in a sliding window of ``width`` steps, pooled over neurons.

    Parameters
    ----------
    recalled, target : bool arrays ``(M, N, L)``
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
    recalled, target = check_raster_pair(recalled, target)
    width = check_int("width", width, minimum=1)

    def windowed(x):
        c = torch.cumsum(x.sum(1).to(torch.int64), dim=1)
        shifted = torch.nn.functional.pad(c, (width, 0))[:, : c.shape[1]]
        return (c - shifted).numpy()

    tp = windowed(recalled & target)
    fp = windowed(recalled & ~target)
    fn = windowed(~recalled & target)
    return _ratio(2 * tp, 2 * tp + fp + fn)
