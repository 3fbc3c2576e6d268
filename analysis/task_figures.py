"""Figures and spectra of a task network: one trial, accuracy curves, the population power spectrum.

The power spectrum is Welch's estimate (:func:`scipy.signal.welch`, Hann
windows of ``segment_ms``, half overlap) of the population rate
``r[t] = sum_i z_i[t] / (N dt)`` in Hz, averaged over trials, with the mean
removed: the delay loops of DelayNet's network show up as peaks near
``1000 / d`` Hz for a loop delay of ``d`` ms and at its harmonics.
"""
from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure
from scipy.signal import welch

__all__ = ["population_spectrum", "plot_task_trial", "plot_accuracy_curves", "plot_spectrum"]


def population_spectrum(spikes, dt_ms: float = 1.0, segment_ms: float = 512.0) -> tuple[np.ndarray, np.ndarray]:
    """Power spectral density of the population rate, averaged over trials.

    Parameters
    ----------
    spikes : array ``(B, N, T)`` of 0/1
    dt_ms : float
    segment_ms : float
        Length of a Welch segment (at most the trial).

    Returns
    -------
    (frequencies_hz, power) : arrays of the same length (power in Hz^2 / Hz)

    Raises
    ------
    ValueError
        If ``spikes`` is not three-dimensional.

    Examples
    --------
    >>> t = np.arange(2000) * 1e-3                                # a rate modulated at 20 Hz
    >>> z = np.random.default_rng(0).random((3, 50, 2000)) < 0.05 * (1 + np.sin(2 * np.pi * 20 * t))
    >>> f, p = population_spectrum(z, segment_ms=500)
    >>> float(f[np.argmax(p)])
    20.0
    """
    z = spikes.detach().cpu().numpy() if isinstance(spikes, torch.Tensor) else np.asarray(spikes)
    if z.ndim != 3:
        raise ValueError(f"spikes must have shape (B, N, T); got {z.shape}")
    rate = z.sum(axis=1) / (z.shape[1] * dt_ms * 1e-3)
    nperseg = int(min(z.shape[2], max(8, round(segment_ms / dt_ms))))
    f, p = welch(rate, fs=1000.0 / dt_ms, nperseg=nperseg, detrend="constant", axis=-1)
    return f, p.mean(axis=0)


def plot_task_trial(inputs, spikes, readout, *, window: tuple, label: int, dt_ms: float = 1.0,
                    groups: tuple = ("left", "right", "recall", "noise"), title: str | None = None) -> Figure:
    """Input raster, recurrent raster and readout traces of one trial.

    Parameters
    ----------
    inputs : array ``(n_in, T)``
        0/1 spikes (drawn as a raster) or intensities (drawn as a trace).
    spikes : array ``(N, T)``
    readout : array ``(K, T)``
        The readout over the whole trial (:func:`hdsnn.models.task_network.readout_trace`).
    window : (int, int)
        The decision window (shaded).
    label : int
        The correct class (its trace drawn thick).

    Examples
    --------
    >>> fig = plot_task_trial(np.eye(4, 30), np.zeros((5, 30)), np.zeros((2, 30)), window=(20, 30), label=1)
    >>> len(fig.axes)
    3
    """
    x = np.asarray(inputs)
    z = np.asarray(spikes)
    y = np.asarray(readout)
    T = x.shape[1]
    t = np.arange(T) * dt_ms
    fig = Figure(figsize=(9, 7), layout="constrained")
    ax_in, ax_rec, ax_out = fig.subplots(3, 1, sharex=True, height_ratios=(1, 2, 1))
    if set(np.unique(x)) <= {0.0, 1.0} and x.shape[0] > 1:
        per = x.shape[0] // len(groups) if x.shape[0] % len(groups) == 0 else None
        colors = ("tab:blue", "tab:red", "tab:green", "0.5")
        for row in range(x.shape[0]):
            steps = np.nonzero(x[row])[0]
            color = colors[row // per] if per else "k"
            ax_in.plot(steps * dt_ms, np.full(len(steps), row), "|", color=color, markersize=3)
        if per:
            ax_in.set_yticks([per * (k + 0.5) for k in range(len(groups))], groups)
    else:
        ax_in.plot(t, x.T, lw=0.8)
    ax_in.set_ylabel("input")
    rows, steps = np.nonzero(z)
    ax_rec.plot(steps * dt_ms, rows, ",k")
    ax_rec.set_ylabel("neuron")
    for k in range(y.shape[0]):
        ax_out.plot(t, y[k], lw=2.0 if k == label else 0.8, label=f"class {k}" + (" (correct)" if k == label else ""))
    for ax in (ax_in, ax_rec, ax_out):
        ax.axvspan(window[0] * dt_ms, window[1] * dt_ms, color="0.9", zorder=-1)
    ax_out.set_ylabel("readout")
    ax_out.set_xlabel("time (ms)")
    ax_out.legend(fontsize=7, loc="upper left")
    if title:
        fig.suptitle(title)
    return fig


def plot_accuracy_curves(curves: dict, chance: float = 0.5) -> Figure:
    """Accuracy against each swept setting: ``{xlabel: (values, accuracies)}``, one panel each.

    Examples
    --------
    >>> fig = plot_accuracy_curves({"wait (ms)": ([600, 1200], [0.9, 0.8])})
    >>> len(fig.axes)
    1
    """
    fig = Figure(figsize=(4.5 * max(1, len(curves)), 3.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, max(1, len(curves))))
    for ax, (xlabel, (xs, accs)) in zip(axes, curves.items()):
        ax.plot(xs, accs, "o-")
        ax.axhline(chance, color="0.5", ls="--", lw=0.8, label="chance")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test accuracy")
        ax.set_ylim(0.0, 1.02)
        ax.legend(fontsize=7)
    return fig


def plot_spectrum(spectra: dict) -> Figure:
    """Population power spectra, ``{name: (frequencies_hz, power)}``, on log axes.

    Examples
    --------
    >>> fig = plot_spectrum({"a": (np.array([1.0, 2.0]), np.array([1.0, 0.5]))})
    >>> len(fig.axes)
    1
    """
    fig = Figure(figsize=(5.5, 3.5), layout="constrained")
    ax = fig.subplots()
    for name, (f, p) in spectra.items():
        keep = f > 0
        ax.loglog(f[keep], p[keep], label=name, lw=1.0)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("power of the population rate (Hz$^2$/Hz)")
    ax.legend(fontsize=7)
    return fig
