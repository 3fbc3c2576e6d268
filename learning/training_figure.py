"""Figure of the training dynamics: F1 per epoch, and which time steps are recalled right."""
from __future__ import annotations

from matplotlib.figure import Figure
import numpy as np

__all__ = ["plot_training"]


def plot_training(history: list, D: int, dt_ms: float = 1.0):
    """Two panels from a training history (:func:`hdsnn.learning.train`).

    Top: eval-mode precision, recall and F1 and the training loss per epoch.
    Bottom: for every epoch (row) and free-run step (column), the fraction of
    patterns whose spikes at that step are exactly the target's; the paper
    observes recall emerging next to the trigger window first.

    Examples
    --------
    >>> h = [{"epoch": e, "loss": None if e == 0 else 0.5, "precision": 0.9, "recall": 0.8, "f1": 0.85,
    ...       "correct_steps": [1.0, 0.5, 0.0]} for e in range(3)]
    >>> len(plot_training(h, D=5).axes)
    3
    """
    epochs = np.array([r["epoch"] for r in history])
    fig = Figure(figsize=(9, 7))
    (top, bottom) = fig.subplots(2, 1, gridspec_kw={"height_ratios": [1, 1.4]})
    for key, color in (("f1", "k"), ("precision", "tab:blue"), ("recall", "tab:orange")):
        top.plot(epochs, [r[key] for r in history], color=color, marker="." if key == "f1" else None,
                 label=f"{key} (eval)")
    trained = [(r["epoch"], r["loss"]) for r in history if r.get("loss") is not None]
    if trained:
        top.plot(*zip(*[(e, 1 - v) for e, v in trained]), color="0.6", ls="--", label="1 - loss (train, dropout)")
    top.set_xlabel("epoch")
    top.set_ylabel("score")
    top.set_ylim(min(0.0, top.get_ylim()[0]), 1.02)
    top.legend(loc="lower right", fontsize=8)
    top.set_title("closed-loop BPTT: eval-mode scores per epoch")
    grid = np.array([r["correct_steps"] for r in history])
    extent = (D * dt_ms, (D + grid.shape[1]) * dt_ms, epochs[-1] + 0.5, epochs[0] - 0.5)
    image = bottom.imshow(grid, aspect="auto", interpolation="nearest", cmap="viridis", vmin=0, vmax=1,
                          extent=extent)
    bottom.set_xlabel("time in the pattern (ms), free run after the trigger window")
    bottom.set_ylabel("epoch")
    fig.colorbar(image, ax=bottom, label="fraction of patterns exactly right at this step")
    fig.tight_layout()
    return fig
