"""Spiking motifs with SPADE (Elephant), with defaults for 1 ms bins and windows of D bins.

SPADE (Torre et al. 2013; Stella et al. 2019) mines spatio-temporal patterns:
sets of (neuron, lag) that recur more often than ``min_occ`` times within a
window of ``winlen`` bins. Trials are concatenated into one train per neuron
with silent gaps of at least one window, so no motif straddles two trials.

Memory: measured here on the demo's recall raster (16 trials of 959 steps,
41-bin windows, min_occ = 3), SPADE's peak memory above the interpreter grew
linearly with the number of (window, spike) items, ``spikes x winlen``:
2.9 GB for 512 neurons (7.9 k spikes), 6.2 GB for 1024 neurons (15.7 k
spikes), about 10 kB per item. :func:`estimate_spade_memory` uses that slope
(it overestimates the 1.4 GB reported for SPADE on 10 s at N = 1024 with
min_occ = 10, and agrees with its > 10 GB at N = 4096); :func:`find_motifs`
refuses runs whose estimate exceeds ``memory_budget_gb``.
"""
from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import asdict, dataclass

import numpy as np

from hdsnn.validation import check_int, check_probability, check_real

from .neo_io import raster_array

__all__ = ["SpadeConfig", "find_motifs", "estimate_spade_memory", "concatenate_trials"]

#: bytes per (window, spike) item, measured as described above
BYTES_PER_ITEM = 10_000


@dataclass(frozen=True)
class SpadeConfig:
    """Parameters of :func:`find_motifs`.

    Parameters
    ----------
    winlen : int or None
        Window length in bins (default: D, the longest delay).
    min_spikes, max_spikes : int
        Smallest and largest motif size (``max_spikes`` bounds the mining).
    min_occ : int
        Fewest occurrences of a motif.
    min_neu : int
        Fewest distinct neurons in a motif.
    n_surr : int
        Surrogates for significance (0: no test, every frequent motif is returned).
    alpha : float or None
        Significance level (with ``n_surr > 0``).
    stat_corr : str
        Multiple-testing correction (``'no'`` needs no statsmodels).
    psr_param : list or None
        Pattern-set reduction parameters ``[h, k, l]`` (with ``n_surr > 0``).
    dither_ms : float
        Dither of the surrogates.

    Examples
    --------
    >>> SpadeConfig(min_occ=5).stat_corr
    'no'
    """

    winlen: int | None = None
    min_spikes: int = 2
    max_spikes: int = 10
    min_occ: int = 3
    min_neu: int = 2
    n_surr: int = 0
    alpha: float | None = None
    stat_corr: str = "no"
    psr_param: list | None = None
    dither_ms: float = 15.0

    def __post_init__(self):
        if self.winlen is not None:
            check_int("winlen", self.winlen, minimum=1)
        check_int("min_spikes", self.min_spikes, minimum=2)
        check_int("max_spikes", self.max_spikes, minimum=self.min_spikes)
        check_int("min_occ", self.min_occ, minimum=2)
        check_int("min_neu", self.min_neu, minimum=1)
        check_int("n_surr", self.n_surr, minimum=0)
        if self.alpha is not None:
            check_probability("alpha", self.alpha)
        check_real("dither_ms", self.dither_ms, 0.0, open_min=True)

    def to_dict(self) -> dict:
        return asdict(self)


def concatenate_trials(raster, start: int = 0, gap: int = 0, dt_ms: float = 1.0):
    """One :class:`neo.SpikeTrain` per neuron: the trials' steps ``start ..`` end to end, ``gap`` apart.

    Returns ``(trains, stride)``; trial ``m``, step ``t`` lies at ``(m * stride + t - start) * dt``.

    Examples
    --------
    >>> r = np.zeros((2, 1, 10), bool); r[:, 0, 3] = True
    >>> trains, stride = concatenate_trials(r, gap=5)
    >>> trains[0].magnitude.tolist(), stride
    ([3.0, 18.0], 15)
    """
    import neo
    import quantities as pq

    r = raster_array("raster", raster)
    M, N, T = r.shape
    start = check_int("start", start, minimum=0, maximum=T - 1)
    gap = check_int("gap", gap, minimum=0)
    stride = T - start + gap
    m, n, t = np.nonzero(r[:, :, start:])
    times = (m * stride + t).astype(np.float64) * dt_ms
    order = np.lexsort((times, n))
    parts = np.split(times[order], np.cumsum(np.bincount(n, minlength=N))[:-1])
    t_stop = M * stride * dt_ms * pq.ms
    return [neo.SpikeTrain(p * pq.ms, t_stop=t_stop) for p in parts], stride


def estimate_spade_memory(n_spikes: int, winlen: int) -> float:
    """Estimated peak memory of SPADE, in bytes: ``n_spikes * winlen * BYTES_PER_ITEM``.

    Every spike appears in ``winlen`` windows (transactions) of the mining.

    Examples
    --------
    >>> round(estimate_spade_memory(n_spikes=15688, winlen=41) / 1e9, 1)
    6.4
    """
    n_spikes = check_int("n_spikes", n_spikes, minimum=0)
    winlen = check_int("winlen", winlen, minimum=1)
    return float(n_spikes * winlen * BYTES_PER_ITEM)


def find_motifs(raster, D: int, start: int = 0, config: SpadeConfig | None = None, dt_ms: float = 1.0,
                memory_budget_gb: float = 4.0) -> dict:
    """Spiking motifs of a raster's trials, by SPADE, in 1-step bins.

    Parameters
    ----------
    raster : bool array ``(M, N, T)``
        Trials (patterns or recalls).
    D : int
        Default window length (bins).
    start : int
        First step of each trial used.
    config : SpadeConfig, optional
    dt_ms : float
        Step (= bin) duration.
    memory_budget_gb : float
        Refuse (ValueError) when the estimated memory exceeds it.

    Returns
    -------
    dict
        ``motifs``: list of dicts with ``neurons``, ``lags_steps`` (relative to the
        first spike), ``occurrences`` as ``[trial, step]`` of the first spike,
        ``n_occurrences``, ``pvalue``; ``estimated_memory_gb``; ``config``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> r = rng.random((4, 6, 200)) < 0.005
    >>> for m in range(4):
    ...     for onset in (30, 120):
    ...         r[m, [1, 4], [onset, onset + 3]] = True
    >>> out = find_motifs(r, D=8, config=SpadeConfig(min_occ=6))
    >>> [(x["neurons"], x["lags_steps"], x["n_occurrences"]) for x in out["motifs"]]
    [([1, 4], [0, 3], 8)]
    """
    import quantities as pq
    from elephant.spade import spade

    r = raster_array("raster", raster)
    M, N, T = r.shape
    cfg = config if config is not None else SpadeConfig()
    if not isinstance(cfg, SpadeConfig):
        raise ValueError(f"config must be a SpadeConfig; got {type(cfg).__name__}")
    D = check_int("D", D, minimum=1)
    dt_ms = check_real("dt_ms", dt_ms, 0.0, open_min=True)
    budget = check_real("memory_budget_gb", memory_budget_gb, 0.0, open_min=True)
    winlen = cfg.winlen if cfg.winlen is not None else D
    trains, stride = concatenate_trials(r, start, gap=winlen, dt_ms=dt_ms)
    n_spikes = int(r[:, :, start:].sum())
    estimate = estimate_spade_memory(n_spikes, winlen) / 1e9
    if estimate > budget:
        raise ValueError(f"SPADE would need about {estimate:.1f} GB (> memory_budget_gb={budget} GB) for "
                         f"{n_spikes} spikes in {M * stride} bins with windows of {winlen} bins; use fewer "
                         f"neurons or trials, a shorter window, or a larger budget")
    if n_spikes < cfg.min_spikes * cfg.min_occ:      # no motif possible (and Elephant fails on no windows)
        return {"motifs": [], "estimated_memory_gb": estimate, "winlen": winlen, "config": cfg.to_dict()}
    kwargs = dict(min_spikes=cfg.min_spikes, max_spikes=cfg.max_spikes, min_occ=cfg.min_occ,
                  min_neu=cfg.min_neu, n_surr=cfg.n_surr, stat_corr=cfg.stat_corr, psr_param=cfg.psr_param,
                  dither=cfg.dither_ms * pq.ms, output_format="patterns")
    if cfg.alpha is not None:
        kwargs["alpha"] = cfg.alpha
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):   # Elephant prints timings
        warnings.simplefilter("ignore")
        result = spade(trains, bin_size=dt_ms * pq.ms, winlen=winlen, **kwargs)
    motifs = []
    for p in result["patterns"]:
        neurons = [int(x) for x in p["neurons"]]
        lags = [0] + [int(round(float(x) / dt_ms)) for x in p["lags"].rescale(pq.ms).magnitude]
        order = np.lexsort((neurons, lags))
        first = np.rint(p["times"].rescale(pq.ms).magnitude / dt_ms).astype(np.int64)
        occ = sorted([int(f // stride), int(f % stride) + start] for f in first)
        motifs.append({"neurons": [neurons[i] for i in order], "lags_steps": [lags[i] for i in order],
                       "occurrences": occ, "n_occurrences": len(occ),
                       "pvalue": float(p["pvalue"]) if cfg.n_surr > 0 else None})
    motifs.sort(key=lambda x: (-len(x["neurons"]), -x["n_occurrences"], x["neurons"]))
    return {"motifs": motifs, "estimated_memory_gb": estimate, "winlen": winlen, "config": cfg.to_dict()}
