"""The recall figure: target and recalled raster of one pattern (matplotlib object API)."""
from __future__ import annotations

from matplotlib.figure import Figure
import torch

from hdsnn.io import save_figure
from hdsnn.validation import check_int, check_raster

__all__ = ["plot_recall", "save_figure"]


def plot_recall(target, recalled, D: int, pattern: int = 0, dt_ms: float = 1.0, title: str | None = None):
    """Target and recalled raster of one pattern, overlaid.

    Target spikes are grey circles, correctly recalled spikes blue dots inside
    them, missed target spikes large orange circles, spurious spikes red
    crosses; the shaded band is the trigger window.

    Parameters
    ----------
    target, recalled : bool arrays ``(M, N, T)``
    D : int
        Trigger window length (shaded).
    pattern : int
        Which pattern to draw.
    dt_ms : float
        Step duration for the time axis.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> r = torch.zeros(1, 5, 50, dtype=torch.bool); r[0, 2, 30] = True
    >>> fig = plot_recall(r, r, D=10)
    >>> len(fig.axes)
    1
    """
    target = check_raster("target", target)
    recalled = check_raster("recalled", recalled)
    if target.shape != recalled.shape:
        raise ValueError(f"target and recalled must have the same shape; got {tuple(target.shape)} "
                         f"and {tuple(recalled.shape)}")
    pattern = check_int("pattern", pattern, minimum=0, maximum=target.shape[0] - 1)
    tgt, rec = target[pattern], recalled[pattern]
    fig = Figure(figsize=(10, 5))
    ax = fig.subplots()
    ax.axvspan(0, D * dt_ms, color="0.9", label="trigger window")
    n, t = torch.nonzero(tgt, as_tuple=True)
    ax.scatter(t * dt_ms, n, s=18, facecolors="none", edgecolors="0.4", linewidths=0.8, label="target")
    n, t = torch.nonzero(rec & tgt, as_tuple=True)
    ax.scatter(t * dt_ms, n, s=4, color="tab:blue", label="recalled, correct")
    n, t = torch.nonzero(tgt & ~rec, as_tuple=True)
    ax.scatter(t * dt_ms, n, s=40, facecolors="none", edgecolors="tab:orange", linewidths=1.5,
               label="target, missed")
    n, t = torch.nonzero(rec & ~tgt, as_tuple=True)
    ax.scatter(t * dt_ms, n, s=14, marker="x", color="tab:red", label="recalled, spurious")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron")
    ax.set_xlim(0, tgt.shape[1] * dt_ms)
    ax.set_ylim(-1, tgt.shape[0])
    ax.set_title(title or f"pattern {pattern}: target and recall")
    ax.legend(loc="upper right", fontsize=8, framealpha=0.9)
    fig.tight_layout()
    return fig
