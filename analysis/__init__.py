"""What the spikes mean: recall scores and figures.

Examples
--------
>>> from hdsnn.analysis import score, sliding_f1
"""
from .scores import Scores, confusion, score, sliding_f1
from .plots import plot_recall

__all__ = ["Scores", "confusion", "score", "sliding_f1", "plot_recall"]
from .tolerant import match_spike_trains, tolerant_score  # noqa: E402

__all__ += ["tolerant_score", "match_spike_trains"]
