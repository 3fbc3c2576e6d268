"""Rasters to Neo objects and back.

A set of rasters ``(M, N, T)`` (one per kind: ``'target'``, ``'recall'``...)
becomes one :class:`neo.Block` with one :class:`neo.Segment` per pattern and
kind, holding one :class:`neo.SpikeTrain` per neuron (times in ms, from 0 to
``T * dt``). Every train is annotated with ``neuron``, ``pattern``, ``kind``,
``dt_ms`` and ``config`` (the model configuration as a JSON string); every
segment with ``pattern`` and ``kind``; the block with ``N``, ``T``, ``M``,
``dt_ms``, ``kinds`` and ``config``. :func:`block_to_rasters` inverts it
exactly: spike times are integer steps times ``dt``, rounded back to steps.
It also reads the multiplexed layout of :func:`hdsnn.analysis.write_nix` (one
train per segment, the array annotation ``neuron`` naming each spike's neuron),
so ``block_to_rasters(neo.NixIO(path).read_block())`` works on hdsnn's NIX files.

Spikes from elsewhere become rasters through :func:`as_raster` (arrays, lists
of SpikeTrains, Segments, Blocks, pynwb Units tables) and :func:`read_rasters`
(``.npz``, ``.nwb``, ``.nix`` files, hdsnn's own or foreign ones).
Binning: a spike at time ``t`` falls in step ``floor((t - t_start) / dt)``
(up to a tolerance of 1e-6 step, so times written as ``k * dt`` come back as ``k``).
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import torch

from hdsnn.validation import check_int, check_raster, check_real

if TYPE_CHECKING:
    import neo

__all__ = ["rasters_to_block", "block_to_rasters", "raster_trains", "trains_from_raster", "as_raster",
           "raster_array"]


def raster_array(name, raster) -> np.ndarray:
    """A checked raster as a numpy bool array (``name`` is the parameter named in errors)."""
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
    r = raster_array("raster", raster)
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
    T = raster_array("raster", raster).shape[2]
    t_stop = T * dt_ms
    return [[neo.SpikeTrain(s * dt_ms, units=pq.ms, t_start=0.0 * pq.ms, t_stop=t_stop * pq.ms,
                            name=f"neuron {n}", neuron=n, pattern=m, dt_ms=dt_ms, **annotations)
             for n, s in enumerate(pattern)] for m, pattern in enumerate(steps)]


def checked_rasters(rasters: dict) -> tuple[dict, tuple]:
    """``{kind: raster}`` as numpy bool arrays of one common shape ``(M, N, T)``; returns (arrays, shape)."""
    if not isinstance(rasters, dict) or not rasters:
        raise ValueError(f"rasters must be a non-empty dict kind -> raster; got {type(rasters).__name__}")
    arrays = {str(k): raster_array(f"rasters[{k!r}]", v) for k, v in rasters.items()}
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
    kinds = [ann["kinds"]] if isinstance(ann["kinds"], str) else list(ann["kinds"])   # NixIO: one kind reads as a str
    out = {str(k): np.zeros((M, N, T), dtype=bool) for k in kinds}
    for seg in block.segments:
        kind, m = str(seg.annotations["kind"]), int(seg.annotations["pattern"])
        for train in seg.spiketrains:
            times = train.magnitude if train.units == pq.ms else train.rescale(pq.ms).magnitude
            steps = np.rint(times / dt).astype(np.int64)
            if "neuron" in train.annotations:                     # one train per neuron (rasters_to_block)
                out[kind][m, int(train.annotations["neuron"]), steps] = True
            elif "neuron" in train.array_annotations:             # one multiplexed train (write_nix)
                out[kind][m, np.asarray(train.array_annotations["neuron"], dtype=np.int64), steps] = True
            else:
                raise ValueError(f"block: a SpikeTrain of segment {seg.name!r} has no 'neuron' annotation "
                                 "nor array annotation; it was not written by hdsnn")
    config = json.loads(ann.get("config", "{}"))
    return {k: torch.from_numpy(v) for k, v in out.items()}, config


# ---------------------------------------------------------------------------------------------------------------------
# Any spikes to a raster

_ALLOWED = ("a bool array or tensor (N, T) or (M, N, T), a list of neo.SpikeTrain (one trial), a list of lists of "
            "neo.SpikeTrain (trials x neurons), a neo.Segment, a neo.Block or a pynwb Units table")
_TOL = 1e-6                                         # in steps: times written as k * dt bin to k


def _type_name(data) -> str:
    if isinstance(data, (list, tuple)):
        inner = sorted({type(x).__name__ for x in data})
        return f"{type(data).__name__} of {', '.join(inner)}" if inner else f"empty {type(data).__name__}"
    return type(data).__name__


def _not_allowed(name, data) -> ValueError:
    return ValueError(f"{name} must be {_ALLOWED}; got {_type_name(data)}")


def _ms(q) -> np.ndarray:
    import quantities as pq
    return np.asarray(q.rescale(pq.ms).magnitude, dtype=np.float64)


def _stated_dt_ms(train) -> float | None:
    """The train's own sampling period in ms, unless it is neo's default (1 Hz, i.e. not stated)."""
    import quantities as pq
    rate = getattr(train, "sampling_rate", None)
    if rate is None or float(rate.rescale(pq.Hz).magnitude) == 1.0:
        return None
    return float((1.0 / rate).rescale(pq.ms).magnitude)


def _trial_of_trains(name, trains) -> dict:
    """One trial from neo SpikeTrains: ``{'start', 'stop', 'spikes': [(neuron or None, times_ms)], 'dt'}``."""
    import neo

    spikes, starts, stops, dts = [], [], [], []
    for i, train in enumerate(trains):
        if not isinstance(train, neo.SpikeTrain):
            raise ValueError(f"{name}[{i}] must be a neo.SpikeTrain; got {type(train).__name__}")
        times = _ms(train.times)
        starts.append(float(_ms(train.t_start)))
        stops.append(float(_ms(train.t_stop)))
        dts.append(_stated_dt_ms(train))
        if "neuron" in train.annotations:
            spikes.append((int(train.annotations["neuron"]), times))
        elif "neuron" in train.array_annotations and len(train.array_annotations["neuron"]) == len(times):
            neurons = np.asarray(train.array_annotations["neuron"], dtype=np.int64)    # multiplexed (write_nix)
            for n in np.unique(neurons):
                spikes.append((int(n), times[neurons == n]))
            if not times.size:
                spikes.append((None, times))
        else:
            spikes.append((None, times))
    indexed = [n is not None for n, _ in spikes]
    if any(indexed) and not all(indexed):
        raise ValueError(f"{name}: either every SpikeTrain names its neuron (annotation 'neuron') or none does")
    if not all(indexed):                                          # position in the list is the neuron
        spikes = [(i, t) for i, (_, t) in enumerate(spikes)]
    stated = {d for d in dts if d is not None}
    return {"start": min(starts) if starts else 0.0, "stop": max(stops) if stops else None, "spikes": spikes,
            "dt": stated.pop() if len(stated) == 1 else None}


def _intervals_ms(trials):
    """``trials`` as ``(starts_ms, stops_ms, pattern or None)``: an array (K, 2) in ms, a neo.Epoch or pynwb TimeIntervals."""
    import neo

    pattern = None
    if isinstance(trials, neo.Epoch):
        starts = _ms(trials.times)
        stops = starts + _ms(trials.durations)
    elif hasattr(trials, "colnames") and "start_time" in trials.colnames:   # pynwb TimeIntervals (seconds)
        starts = np.asarray(trials["start_time"].data[:], dtype=np.float64) * 1000.0
        stops = np.asarray(trials["stop_time"].data[:], dtype=np.float64) * 1000.0
        if "pattern" in trials.colnames:
            pattern = np.asarray(trials["pattern"].data[:], dtype=np.int64)
    else:
        try:
            array = np.asarray(trials, dtype=np.float64)
        except (TypeError, ValueError):
            array = None
        if array is None or array.ndim != 2 or array.shape[1] != 2 or not array.size:
            raise ValueError("trials must be an array (K, 2) of [start, stop) times in ms, a neo.Epoch or a pynwb "
                             f"TimeIntervals table; got {_type_name(trials)}")
        starts, stops = array[:, 0], array[:, 1]
    if not (np.isfinite(starts).all() and np.isfinite(stops).all() and (stops > starts).all()):
        raise ValueError("trials: every trial must have finite times and stop > start")
    if pattern is not None and sorted(pattern.tolist()) != list(range(len(pattern))):
        pattern = None                                            # not one trial per pattern: keep the table's order
    return starts, stops, pattern


def _split(trial, starts, stops) -> list[dict]:
    """Cut one continuous trial into trials ``[start, stop)`` (spikes outside every trial are dropped)."""
    out = []
    for a, b in zip(starts, stops):
        spikes = [(n, t[(t >= a) & (t < b)]) for n, t in trial["spikes"]]
        out.append({"start": float(a), "stop": float(b), "spikes": spikes, "dt": trial["dt"]})
    return out


def _units_trial(units) -> dict:
    """A pynwb Units table (spike times in s) as one continuous trial in ms."""
    ends = np.asarray(units["spike_times"].data[:], dtype=np.int64) if len(units) else np.zeros(0, np.int64)
    flat = np.asarray(units["spike_times"].target.data[:], dtype=np.float64) * 1000.0 if len(units) else np.zeros(0)
    parts = np.split(flat, ends[:-1]) if len(ends) else []
    neurons = (np.asarray(units["neuron"].data[:], dtype=np.int64) if "neuron" in units.colnames
               else np.arange(len(units)))
    start, stop = 0.0, None
    if "obs_intervals" in units.colnames and len(units):
        obs = np.asarray(units["obs_intervals"].target.data[:], dtype=np.float64).reshape(-1, 2) * 1000.0
        if obs.size:
            start, stop = float(obs[:, 0].min()), float(obs[:, 1].max())
    resolution = getattr(units, "resolution", None)
    dt = float(resolution) * 1000.0 if resolution is not None and float(resolution) > 0 else None
    return {"start": start, "stop": stop, "spikes": [(int(n), t) for n, t in zip(neurons, parts)], "dt": dt}


def _bin(name, trials, dt_ms, T, N, t_start, order) -> np.ndarray:
    dts = {tr["dt"] for tr in trials if tr["dt"] is not None}
    if dt_ms is None:
        dt_ms = dts.pop() if len(dts) == 1 else 1.0
    dt_ms = check_real("dt_ms", dt_ms, 0.0, open_min=True)
    origins = [float(t_start) if t_start is not None else tr["start"] for tr in trials]
    if T is None:
        lengths = [int(np.rint((tr["stop"] - o) / dt_ms)) for tr, o in zip(trials, origins) if tr["stop"] is not None]
        last = [int(np.floor((t.max() - o) / dt_ms + _TOL)) + 1 for tr, o in zip(trials, origins)
                for _, t in tr["spikes"] if t.size]
        T = max(lengths + last + [1])
    T = check_int("T", T, minimum=1)
    neurons = [n for tr in trials for n, _ in tr["spikes"]]
    if N is None:
        N = max(neurons) + 1 if neurons else 1
    N = check_int("N", N, minimum=1)
    if neurons and (min(neurons) < 0 or max(neurons) >= N):
        raise ValueError(f"{name} has neuron indices {min(neurons)}..{max(neurons)}, outside 0..N-1 = 0..{N - 1}")
    out = np.zeros((len(trials), N, T), dtype=bool)
    for m, (tr, o) in enumerate(zip(trials, origins)):
        row = m if order is None else int(order[m])
        for n, t in tr["spikes"]:
            steps = np.floor((t - o) / dt_ms + _TOL).astype(np.int64)
            if steps.size and (steps.min() < 0 or steps.max() >= T):
                raise ValueError(f"{name} has a spike at {float(t[(steps < 0) | (steps >= T)][0])!r} ms, outside the "
                                 f"trial [{o!r}, {o + T * dt_ms!r}) ms (T = {T} steps of {dt_ms!r} ms)")
            out[row, n, steps] = True
    return out


def as_raster(data, *, dt_ms: float | None = None, T: int | None = None, N: int | None = None,
              t_start: float | None = None, trials=None, kind: str | None = None) -> torch.Tensor:
    """Spikes of many forms as one bool raster tensor ``(M trials, N neurons, T steps)``.

    Parameters
    ----------
    data
        - bool (or 0/1) array or tensor ``(N, T)`` (one trial) or ``(M, N, T)``: returned as a bool tensor;
        - list of :class:`neo.SpikeTrain` (or a ``SpikeTrainList``, ``segment.spiketrains``): one trial, train ``i`` is neuron ``i`` (or the neuron named by the
          annotation ``neuron``; a train with the array annotation ``neuron`` holds several neurons, as in
          :func:`hdsnn.analysis.write_nix`);
        - list of lists of SpikeTrains: trials x neurons;
        - :class:`neo.Segment`: one trial; :class:`neo.Block`: one segment per trial, or a block of
          :func:`rasters_to_block` / :func:`hdsnn.analysis.write_nix` (choose ``kind`` when it has several);
        - pynwb ``Units`` table (spike times in s): split into trials by ``trials``, or by the trials table of
          the file holding it (its ``pattern`` column, when it numbers the trials 0..M-1, orders them).
    dt_ms : float, optional
        Step duration in ms. Default: what the data states (Units ``resolution``, the block's ``dt_ms``, the
        trains' ``sampling_rate`` unless it is neo's default 1 Hz), else 1 ms.
    T, N : int, optional
        Steps per trial and neurons. Default: from the trials' duration (``t_stop - t_start``, obs_intervals,
        trial stop - start) and the largest neuron index; a spike outside ``[0, T)`` is an error.
    t_start : float, optional
        Time (ms) of step 0 in every trial. Default: each trial's own start (the trains' ``t_start``).
    trials : array (K, 2) ms, neo.Epoch or pynwb TimeIntervals, optional
        Cut one continuous recording into K trials ``[start, stop)``; spikes outside them are dropped.
    kind : str, optional
        Which raster of an hdsnn block (``'target'``, ``'recall'``...).

    Examples
    --------
    >>> import neo, quantities as pq
    >>> trains = [neo.SpikeTrain([2, 5] * pq.ms, t_stop=8 * pq.ms), neo.SpikeTrain([], units="ms", t_stop=8 * pq.ms)]
    >>> r = as_raster(trains)
    >>> tuple(r.shape), torch.nonzero(r).tolist()
    ((1, 2, 8), [[0, 0, 2], [0, 0, 5]])
    >>> as_raster(trains, dt_ms=2.0).shape
    torch.Size([1, 2, 4])
    """
    import neo

    if isinstance(data, (np.ndarray, torch.Tensor)):
        if data.ndim not in (2, 3):
            raise ValueError(f"data must have 2 dimensions (N neurons, T steps) or 3 (M patterns, N neurons, "
                             f"T steps); got shape {tuple(data.shape)}")
        r = check_raster("data", data, ndim=data.ndim)
        r = r[None] if r.ndim == 2 else r
        for what, want, got in (("N", N, r.shape[1]), ("T", T, r.shape[2])):
            if want is not None and int(want) != got:
                raise ValueError(f"{what} = {want} does not match the raster's shape {tuple(r.shape)}")
        return r
    order = None
    if isinstance(data, neo.core.spiketrainlist.SpikeTrainList):     # Segment.spiketrains
        data = list(data)
    if isinstance(data, neo.Block):
        if {"M", "N", "T", "dt_ms", "kinds"} <= set(data.annotations):        # hdsnn's own layout
            rasters, _ = block_to_rasters(data)
            if kind is None and len(rasters) > 1:
                raise ValueError(f"kind must name one of the block's rasters {sorted(rasters)}; got None")
            if kind is not None and kind not in rasters:
                raise ValueError(f"kind must be one of {sorted(rasters)}; got {kind!r}")
            return rasters[kind if kind is not None else next(iter(rasters))]
        if not data.segments:
            raise ValueError("data is a neo.Block without segments")
        found = [_trial_of_trains(f"data.segments[{i}].spiketrains", s.spiketrains) for i, s in enumerate(data.segments)]
    elif isinstance(data, neo.Segment):
        found = [_trial_of_trains("data.spiketrains", data.spiketrains)]
    elif isinstance(data, (list, tuple)) and data and all(isinstance(x, neo.SpikeTrain) for x in data):
        found = [_trial_of_trains("data", data)]
    elif (isinstance(data, (list, tuple)) and data and all(isinstance(x, (list, tuple)) for x in data)
          and all(isinstance(t, neo.SpikeTrain) for x in data for t in x)):
        found = [_trial_of_trains(f"data[{i}]", x) for i, x in enumerate(data)]
    elif type(data).__name__ == "Units" and hasattr(data, "get_unit_spike_times"):
        found = [_units_trial(data)]
        if trials is None:
            nwbfile = data.get_ancestor(data_type="NWBFile")
            if nwbfile is not None and nwbfile.trials is not None and len(nwbfile.trials):
                trials = nwbfile.trials
    else:
        raise _not_allowed("data", data)
    if trials is not None:
        if len(found) != 1:
            raise ValueError(f"trials cuts one continuous recording; data has {len(found)} trials already")
        starts, stops, order = _intervals_ms(trials)
        found = _split(found[0], starts, stops)
    return torch.from_numpy(_bin("data", found, dt_ms, T, N, None if trials is not None else t_start, order))
