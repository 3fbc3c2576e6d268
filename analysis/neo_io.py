"""Rasters to Neo objects and back.

A set of rasters ``(M, N, T)`` (one per kind: ``'target'``, ``'recall'``...)
becomes one :class:`neo.Block` with one :class:`neo.Segment` per pattern and
kind, holding one :class:`neo.SpikeTrain` per neuron (times in ms, from 0 to
``T * dt``). Every train is annotated with ``neuron``, ``pattern``, ``kind``,
``dt_ms`` and ``config`` (the model configuration as a JSON string); every
segment with ``pattern`` and ``kind``; the block with ``N``, ``T``, ``M``,
``dt_ms``, ``kinds`` and ``config``. :func:`block_to_rasters` inverts it
exactly: spike times are integer steps times ``dt``, rounded back to steps.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import torch

from hdsnn.validation import check_raster, check_real

if TYPE_CHECKING:
    import neo

__all__ = ["rasters_to_block", "block_to_rasters", "raster_trains", "trains_from_raster"]


def _as_numpy(name, raster) -> np.ndarray:
    return check_raster(name, raster).cpu().numpy()


def trains_from_raster(raster) -> list[list[np.ndarray]]:
    """Spike steps of every pattern and neuron, from one ``np.nonzero`` pass.

    Parameters
    ----------
    raster : bool array ``(M, N, T)``

    Returns
    -------
    list of M lists of N int64 arrays
        ``steps[m][n]``: sorted time steps at which neuron ``n`` spikes in pattern ``m``.

    Examples
    --------
    >>> r = np.zeros((1, 2, 6), bool); r[0, 1, [2, 5]] = True
    >>> [s.tolist() for s in trains_from_raster(r)[0]]
    [[], [2, 5]]
    """
    r = _as_numpy("raster", raster)
    M, N, T = r.shape
    m, n, t = np.nonzero(r)                      # lexicographic: pattern, neuron, time
    counts = np.bincount(m * N + n, minlength=M * N)
    parts = np.split(t.astype(np.int64), np.cumsum(counts)[:-1])
    return [parts[i * N:(i + 1) * N] for i in range(M)]


def raster_trains(raster, dt_ms: float = 1.0, **annotations) -> list[list["neo.SpikeTrain"]]:
    """One :class:`neo.SpikeTrain` per pattern and neuron (times in ms).

    Examples
    --------
    >>> r = np.zeros((1, 2, 6), bool); r[0, 1, [2, 5]] = True
    >>> raster_trains(r)[0][1].times.magnitude.tolist()
    [2.0, 5.0]
    """
    import neo
    import quantities as pq

    dt_ms = check_real("dt_ms", dt_ms, 0.0, open_min=True)
    steps = trains_from_raster(raster)
    T = _as_numpy("raster", raster).shape[2]
    t_stop = T * dt_ms
    return [[neo.SpikeTrain(s * dt_ms, units=pq.ms, t_start=0.0 * pq.ms, t_stop=t_stop * pq.ms,
                            name=f"neuron {n}", neuron=n, pattern=m, dt_ms=dt_ms, **annotations)
             for n, s in enumerate(pattern)] for m, pattern in enumerate(steps)]


def checked_rasters(rasters: dict) -> tuple[dict, tuple]:
    """``{kind: raster}`` as numpy bool arrays of one common shape ``(M, N, T)``; returns (arrays, shape)."""
    if not isinstance(rasters, dict) or not rasters:
        raise ValueError(f"rasters must be a non-empty dict kind -> raster; got {type(rasters).__name__}")
    arrays = {str(k): _as_numpy(f"rasters[{k!r}]", v) for k, v in rasters.items()}
    shapes = {k: a.shape for k, a in arrays.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"rasters must all have the same shape (M, N, T); got {shapes}")
    return arrays, next(iter(shapes.values()))


def rasters_to_block(rasters: dict, dt_ms: float = 1.0, config: dict | None = None,
                     name: str = "hdsnn") -> "neo.Block":
    """Rasters of several kinds to one :class:`neo.Block`.

    Parameters
    ----------
    rasters : dict kind -> bool array ``(M, N, T)``
        For instance ``{'target': targets, 'recall': recalled}``; all of the same shape.
    dt_ms : float
        Duration of one step in ms (> 0).
    config : dict, optional
        Model configuration (JSON-serialisable), stored as a JSON string.
    name : str
        Name of the block.

    Returns
    -------
    neo.Block
        Segments ordered kind by kind, then pattern by pattern.

    Examples
    --------
    >>> r = np.zeros((2, 3, 10), bool); r[1, 2, 7] = True
    >>> block = rasters_to_block({"target": r, "recall": r}, config={"D": 4})
    >>> len(block.segments), len(block.segments[0].spiketrains)
    (4, 3)
    >>> block.segments[3].spiketrains[2].annotations["kind"]
    'recall'
    """
    import neo

    arrays, (M, N, T) = checked_rasters(rasters)
    dt_ms = check_real("dt_ms", dt_ms, 0.0, open_min=True)
    text = json.dumps(config or {}, sort_keys=True)
    block = neo.Block(name=name, M=M, N=N, T=T, dt_ms=dt_ms, kinds=list(arrays), config=text)
    for kind, array in arrays.items():
        for m, trains in enumerate(raster_trains(array, dt_ms, kind=kind, config=text)):
            seg = neo.Segment(name=f"{kind} pattern {m}", pattern=m, kind=kind)
            seg.spiketrains.extend(trains)
            block.segments.append(seg)
    return block


def block_to_rasters(block: "neo.Block") -> tuple[dict, dict]:
    """Invert :func:`rasters_to_block`: ``({kind: bool tensor (M, N, T)}, config)``.

    Examples
    --------
    >>> r = np.zeros((2, 3, 10), bool); r[1, 2, 7] = True
    >>> back, config = block_to_rasters(rasters_to_block({"target": r}, config={"D": 4}))
    >>> bool((back["target"].numpy() == r).all()), config
    (True, {'D': 4})
    """
    import neo
    import quantities as pq

    if not isinstance(block, neo.Block):
        raise ValueError(f"block must be a neo.Block; got {type(block).__name__}")
    ann = block.annotations
    missing = {"M", "N", "T", "dt_ms", "kinds"} - set(ann)
    if missing:
        raise ValueError(f"block was not written by rasters_to_block: annotations {sorted(missing)} are missing")
    M, N, T, dt = int(ann["M"]), int(ann["N"]), int(ann["T"]), float(ann["dt_ms"])
    out = {str(k): np.zeros((M, N, T), dtype=bool) for k in ann["kinds"]}
    for seg in block.segments:
        kind, m = str(seg.annotations["kind"]), int(seg.annotations["pattern"])
        for train in seg.spiketrains:
            times = train.magnitude if train.units == pq.ms else train.rescale(pq.ms).magnitude
            steps = np.rint(times / dt).astype(np.int64)
            out[kind][m, int(train.annotations["neuron"]), steps] = True
    config = json.loads(ann.get("config", "{}"))
    return {k: torch.from_numpy(v) for k, v in out.items()}, config
