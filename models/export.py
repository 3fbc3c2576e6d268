"""Export of a weight tensor to a list of synapses, with pruning and a memory check.

A Brian2 network has one synapse per kept entry ``W[post, pre, d-1]``: a
neuron pair may be joined by several synapses, one per delay ``d`` (in steps
of ``dt``). :func:`export_synapses` turns ``W`` (``(N, N, D)``, index
``[post, pre, delay-1]``) into that list (:class:`SynapseList`, a COO list
``(post, pre, delay_steps, weight)``), after one of three pruning policies:

- ``threshold``: keep the entries with ``|w| >= threshold``;
- ``top_k``: keep the ``k`` entries of largest ``|w|`` of each postsynaptic neuron;
- ``keep_fraction``: keep that fraction of the non-zero entries, largest ``|w|`` first.

Zero entries are never exported. The number of kept synapses is counted
before the list is built, and :func:`check_memory` refuses (ValueError naming
the budget, the estimate and a pruning that fits) a network whose estimated
memory exceeds a budget, rather than letting Brian2 run out of memory.

The memory per synapse was measured with ``python benchmarks/bench_brian2.py
--memory`` (resident memory of a Brian2 ``Synapses`` object with ``w`` and
``delay``, after a short run, divided by the number of synapses).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hdsnn.io import file_kind, load_arrays, load_weights, save_arrays
from hdsnn.validation import check_int, check_real, check_weights, memory_budget

__all__ = ["SynapseList", "export_synapses", "count_kept", "estimate_memory", "check_memory",
           "default_budget", "BYTES_PER_SYNAPSE", "save_synapses", "load_synapses", "load_weights_or_synapses",
           "check_synapses", "SYNAPSE_DTYPES"]

#: Brian2 runtime targets (``cuda_standalone`` needs brian2cuda and a GPU).

#: Resident bytes per Brian2 synapse (indices, float32 weight, delay, spike
#: queue) under the numpy target: 47 to 53 bytes measured at 1 and 4 million
#: synapses (``bench_brian2.py memory``; 53 is the largest seen), plus the 16
#: bytes of the exported COO list held alongside. The full dense paper tensor
#: (43 M synapses) was estimated at 3.06 GiB and peaked at 2.93 GiB resident.
#: The C++ targets store the same arrays; the number is used for all targets.
BYTES_PER_SYNAPSE = 53 + 16

#: Fixed cost of a network (Brian2, code objects, neuron arrays), in bytes.
_BASE_BYTES = 300 * 2**20


@dataclass(frozen=True)
class SynapseList:
    """Synapses as a COO list, one entry per kept ``(post, pre, delay)``.

    Attributes
    ----------
    post, pre : int32 arrays ``(S,)``
        Postsynaptic and presynaptic neuron of each synapse.
    delay_steps : int32 arrays ``(S,)``
        Delay in steps, ``1 .. D`` (``W`` index ``delay_steps - 1``).
    weight : float32 array ``(S,)``
    N, D : int
        Size of the network the list came from.
    delay_ms : float64 array ``(S,)`` or None
        Real-valued delay of each synapse in ms, for simulators in continuous time and
        for learned delays (None: ``delay_steps`` steps of ``dt``). ``delay_steps`` is then
        the channel of the discrete contract the synapse stands for (its rounded delay).

    Examples
    --------
    >>> syn = SynapseList(np.array([1]), np.array([0]), np.array([3]), np.array([0.5], np.float32), N=2, D=4,
    ...                   delay_ms=np.array([2.7]))
    >>> len(syn), syn.delay_ms.tolist()
    (1, [2.7])
    >>> SynapseList(np.array([1]), np.array([0]), np.array([3]), np.array([0.5], np.float32), 2, 4,
    ...             delay_ms=np.array([2.7, 1.0]))
    Traceback (most recent call last):
    ...
    ValueError: delay_ms must have one entry per synapse (1); got shape (2,)
    """

    post: np.ndarray
    pre: np.ndarray
    delay_steps: np.ndarray
    weight: np.ndarray
    N: int
    D: int
    delay_ms: np.ndarray | None = None

    def __post_init__(self):
        if self.delay_ms is not None:
            delay = np.asarray(self.delay_ms, dtype=np.float64)
            if delay.shape != (len(self),):
                raise ValueError(f"delay_ms must have one entry per synapse ({len(self)}); got shape {delay.shape}")
            if not np.isfinite(delay).all() or (delay <= 0).any():
                raise ValueError("delay_ms must be finite and > 0 ms")
            object.__setattr__(self, "delay_ms", delay)

    def __len__(self) -> int:
        return int(self.weight.shape[0])

    def to_dense(self) -> torch.Tensor:
        """The weight tensor ``(N, N, D)`` these synapses stand for (pruned entries are 0).

        Synapses that share ``(post, pre, delay_steps)`` add up (their channel of the discrete
        contract, as in Brian2); real-valued delays (``delay_ms``) are binned to ``delay_steps``.

        Examples
        --------
        >>> W = torch.zeros(2, 2, 3); W[1, 0, 2] = 0.5
        >>> bool((export_synapses(W).to_dense() == W).all())
        True
        """
        W = torch.zeros(self.N, self.N, self.D, dtype=torch.float32)
        index = (torch.from_numpy(np.asarray(self.post)).long(), torch.from_numpy(np.asarray(self.pre)).long(),
                 torch.from_numpy(np.asarray(self.delay_steps)).long() - 1)
        W.index_put_(index, torch.from_numpy(np.asarray(self.weight, np.float32)), accumulate=True)
        return W


def _policy(threshold, top_k, keep_fraction):
    given = [name for name, v in (("threshold", threshold), ("top_k", top_k),
                                  ("keep_fraction", keep_fraction)) if v is not None]
    if len(given) > 1:
        raise ValueError(f"give at most one pruning policy (threshold, top_k or keep_fraction); got {given}")
    if threshold is not None:
        check_real("threshold", threshold, 0.0)
    if top_k is not None:
        check_int("top_k", top_k, minimum=1)
    if keep_fraction is not None:
        check_real("keep_fraction", keep_fraction, 0.0, 1.0, open_min=True)


def count_kept(W, *, threshold: float | None = None, top_k: int | None = None,
               keep_fraction: float | None = None) -> int:
    """Number of synapses :func:`export_synapses` would keep, without building the list.

    Examples
    --------
    >>> W = torch.tensor([[[0.0, 0.2], [0.5, -0.1]], [[0.3, 0.0], [0.0, 0.0]]])
    >>> count_kept(W), count_kept(W, threshold=0.25), count_kept(W, top_k=1)
    (4, 2, 2)
    """
    W = check_weights("W", W)
    _policy(threshold, top_k, keep_fraction)
    if threshold is not None:
        return int(((W.abs() >= threshold) & (W != 0)).sum())
    nonzero = (W != 0).reshape(W.shape[0], -1).sum(1)
    if top_k is not None:
        return int(nonzero.clamp(max=top_k).sum())
    total = int(nonzero.sum())
    return total if keep_fraction is None else math.ceil(keep_fraction * total)


def export_synapses(W, *, threshold: float | None = None, top_k: int | None = None,
                    keep_fraction: float | None = None, mask=None,
                    budget_bytes: float | None = None) -> SynapseList:
    """One synapse per kept non-zero entry of ``W``.

    Parameters
    ----------
    W : float tensor or array ``(N, N, D)``
        Weights, index ``[post, pre, delay-1]``.
    threshold : float, optional
        Keep entries with ``|w| >= threshold``.
    top_k : int, optional
        Keep the ``top_k`` entries of largest ``|w|`` of each postsynaptic neuron.
    keep_fraction : float in (0, 1], optional
        Keep this fraction of the non-zero entries, largest ``|w|`` first.
    mask : bool tensor ``(N, N, D)``, optional
        Existing synapses (see :mod:`hdsnn.models.connectivity`): entries outside it are dropped.
    budget_bytes : float, optional
        Refuse (ValueError) when the estimated Brian2 memory exceeds it; None:
        :func:`default_budget`. Use ``float('inf')`` to skip the check.

    Returns
    -------
    SynapseList

    Examples
    --------
    >>> W = torch.zeros(3, 3, 4); W[1, 0, 1] = 0.5; W[1, 0, 3] = 0.25; W[2, 1, 0] = -0.1
    >>> syn = export_synapses(W)
    >>> len(syn), syn.delay_steps.tolist()
    (3, [2, 4, 1])
    >>> len(export_synapses(W, top_k=1))
    2
    """
    W = check_weights("W", W)
    if mask is not None:
        mask = torch.as_tensor(mask)
        if tuple(mask.shape) != tuple(W.shape):
            raise ValueError(f"mask must have the shape of W {tuple(W.shape)}; got {tuple(mask.shape)}")
        W = W * mask.to(torch.bool)
    N, _, D = W.shape
    kept = count_kept(W, threshold=threshold, top_k=top_k, keep_fraction=keep_fraction)
    if kept == 0 and threshold is not None and bool((W != 0).any()):
        raise ValueError(f"threshold {threshold:g} keeps no synapse; the largest |w| is {float(W.abs().max()):g}")
    check_memory(kept, budget_bytes, N=N, available=count_kept(W))
    if threshold is not None:
        post, pre, d = torch.nonzero((W.abs() >= threshold) & (W != 0), as_tuple=True)
    elif top_k is not None:
        flat = W.reshape(N, N * D)
        k = min(top_k, N * D)
        _, cols = torch.topk(flat.abs(), k, dim=1)
        rows = torch.arange(N).repeat_interleave(k)
        cols = cols.reshape(-1)
        keep = flat[rows, cols] != 0
        rows, cols = rows[keep], cols[keep]
        order = torch.argsort(rows * (N * D) + cols)
        post, pre, d = rows[order], cols[order] // D, cols[order] % D
    else:
        post, pre, d = torch.nonzero(W, as_tuple=True)
        if keep_fraction is not None and kept < post.numel():
            values = W[post, pre, d].abs()
            best = torch.topk(values, kept, sorted=False).indices.sort().values
            post, pre, d = post[best], pre[best], d[best]
    weight = W[post, pre, d].to(torch.float32).numpy()
    return SynapseList(post.numpy().astype(np.int32), pre.numpy().astype(np.int32),
                       (d + 1).numpy().astype(np.int32), weight, N, D)


def estimate_memory(n_synapses: int, N: int = 0) -> int:
    """Estimated bytes of a Brian2 network with ``n_synapses`` synapses and ``N`` neurons.

    Examples
    --------
    >>> estimate_memory(10**6) // 2**20
    365
    """
    return int(_BASE_BYTES + BYTES_PER_SYNAPSE * n_synapses + 200 * N)


def default_budget() -> int:
    """The memory budget of a Brian2 network: :func:`hdsnn.validation.memory_budget` (half the available
    memory, or ``$HDSNN_MEMORY_BUDGET_GB``), the budget of every learner and simulator.

    Examples
    --------
    >>> default_budget() > 0
    True
    """
    return memory_budget()


def check_memory(n_synapses: int, budget_bytes: float | None = None, *, N: int = 0,
                 available: int | None = None) -> int:
    """Refuse a network whose estimated memory exceeds the budget.

    Parameters
    ----------
    n_synapses : int
        Synapses to build.
    budget_bytes : float, optional
        Budget; None: :func:`default_budget`.
    N : int
        Number of neurons (for the estimate and the suggestion).
    available : int, optional
        Non-zero entries before pruning, to phrase the suggestion as a kept fraction.

    Returns
    -------
    int
        The estimate, in bytes, when it fits.

    Raises
    ------
    ValueError
        Naming the budget, the estimate and a pruning that would fit.

    Examples
    --------
    >>> check_memory(1000, 1e9) < 1e9
    True
    """
    budget = default_budget() if budget_bytes is None else float(budget_bytes)
    estimate = estimate_memory(n_synapses, N)
    if estimate <= budget:
        return estimate
    fits = max(int((budget - _BASE_BYTES - 200 * N) // BYTES_PER_SYNAPSE), 0)
    if fits < max(N, 1):                      # not even one synapse per neuron: no pruning can fit
        least = estimate_memory(max(N, 1), N)
        raise ValueError(
            f"the memory budget of {budget / 2**30:.2f} GiB cannot hold a Brian2 network of N={N} neurons "
            f"even with one synapse each (about {least / 2**30:.2f} GiB); raise the budget (budget_gb) to at "
            f"least {math.ceil(least / 2**30 * 100) / 100:.2f} GiB")
    hint = f"top_k={fits // N} per postsynaptic neuron" if N else f"at most {fits} synapses"
    fraction = math.floor(fits / available * 1e4) / 1e4 if available else 0.0
    if fraction > 0:
        hint = f"keep_fraction={fraction:g} or " + hint
    raise ValueError(
        f"the Brian2 network would need about {estimate / 2**30:.2f} GiB for {n_synapses} synapses "
        f"({BYTES_PER_SYNAPSE} bytes each), above the memory budget of {budget / 2**30:.2f} GiB "
        f"(budget_bytes); prune the weights to fit, e.g. {hint}, or raise budget_bytes")


# --------------------------------------------------------------------------------------------
# Synapse files

#: The arrays of a synapse file and their dtypes (``delay_ms`` is optional).
SYNAPSE_DTYPES = {"post": np.int32, "pre": np.int32, "delay_steps": np.int32, "weight": np.float32,
                  "delay_ms": np.float64}


def check_synapses(synapses: SynapseList, where: str = "synapses") -> SynapseList:
    """Check a synapse list: dtypes, one entry per synapse in every array, ``0 <= post, pre < N``,
    ``delay_steps`` in ``1 .. D``, finite weights, finite positive ``delay_ms``; returns it.

    Raises
    ------
    ValueError
        Naming ``where``, the field, what is allowed and what was found.

    Examples
    --------
    >>> syn = SynapseList(np.array([0, 2], np.int32), np.array([1, 0], np.int32), np.array([1, 3], np.int32),
    ...                   np.ones(2, np.float32), N=2, D=3)
    >>> check_synapses(syn)
    Traceback (most recent call last):
    ...
    ValueError: synapses: post must be in [0, N-1] = [0, 1]; found values in [0, 2]
    """
    if not isinstance(synapses, SynapseList):
        raise ValueError(f"{where} must be a SynapseList; got {type(synapses).__name__}")
    N, D = synapses.N, synapses.D
    for name, value in (("N", N), ("D", D)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{where}: {name} must be an integer >= 1; got {value!r}")
    S = None
    for name, dtype in SYNAPSE_DTYPES.items():
        a = getattr(synapses, name)
        if a is None and name == "delay_ms":
            continue
        if not isinstance(a, np.ndarray) or a.dtype != dtype or a.ndim != 1:
            found = f"{a.dtype} array of shape {a.shape}" if isinstance(a, np.ndarray) else type(a).__name__
            raise ValueError(f"{where}: {name} must be a 1-d {np.dtype(dtype).name} array; found {found}")
        S = a.shape[0] if S is None else S
        if a.shape[0] != S:
            raise ValueError(f"{where}: every array must have one entry per synapse ({S}); {name} has {a.shape[0]}")
    if S:
        for name, lo, hi, what in (("post", 0, N - 1, "[0, N-1]"), ("pre", 0, N - 1, "[0, N-1]"),
                                   ("delay_steps", 1, D, "[1, D]")):
            a = getattr(synapses, name)
            if int(a.min()) < lo or int(a.max()) > hi:
                raise ValueError(f"{where}: {name} must be in {what} = [{lo}, {hi}]; found values in "
                                 f"[{int(a.min())}, {int(a.max())}]")
        if not np.isfinite(synapses.weight).all():
            raise ValueError(f"{where}: weight must be finite; found {int((~np.isfinite(synapses.weight)).sum())} "
                             f"NaN or inf")
        if synapses.delay_ms is not None:
            _check_delays(synapses.delay_ms, where)
    return synapses


def _check_delays(d: np.ndarray, where: str) -> None:
    bad = d[~np.isfinite(d) | (d <= 0)]
    if bad.size:
        raise ValueError(f"{where}: delay_ms must be finite and > 0 ms; found {bad.size} value(s) such as "
                         f"{float(bad[0])!r}")


def save_synapses(path, synapses: SynapseList, **meta) -> Path:
    """Write a synapse list (with its real-valued delays, if any) atomically to a ``.npz`` synapse file.

    The file holds the arrays ``post``, ``pre``, ``delay_steps`` (int32), ``weight`` (float32) and, when
    the synapses have them, ``delay_ms`` (float64), bit for bit, and ``meta``: the network size
    (``synapse_list``: ``N``, ``D``, ``count``, ``real_delays``) and the metadata given (what the
    weights were learned for: method, neuron model, delays, ``dt_ms``, ``delay_shift_ms``...).

    Parameters
    ----------
    path : str or Path
        Destination, ending in ``.npz``.
    synapses : SynapseList
    **meta
        JSON-serialisable metadata (``synapse_list`` is written by the file itself).

    Returns
    -------
    Path

    Raises
    ------
    ValueError
        Ill-formed synapses (:func:`check_synapses`), a reserved metadata key or a bad path.

    Examples
    --------
    >>> import tempfile, os
    >>> syn = SynapseList(np.array([1], np.int32), np.array([0], np.int32), np.array([3], np.int32),
    ...                   np.array([0.5], np.float32), N=2, D=4, delay_ms=np.array([2.7]))
    >>> f = save_synapses(os.path.join(tempfile.mkdtemp(), "syn.npz"), syn, method="example")
    >>> back, meta = load_synapses(f)
    >>> back.delay_ms.tolist(), back.N, meta["method"]
    ([2.7], 2, 'example')
    """
    check_synapses(synapses)
    if "synapse_list" in meta:
        raise ValueError("metadata key 'synapse_list' is reserved (the synapse file writes it); rename it")
    arrays = {name: getattr(synapses, name) for name in SYNAPSE_DTYPES if getattr(synapses, name) is not None}
    head = {"N": int(synapses.N), "D": int(synapses.D), "count": len(synapses),
            "real_delays": synapses.delay_ms is not None}
    return save_arrays(path, "synapses", arrays, {**meta, "synapse_list": head}, main="weight")


def load_synapses(path) -> tuple[SynapseList, dict]:
    """Read a synapse file of :func:`save_synapses`; returns ``(SynapseList, metadata)``.

    Checks the kind of file, the arrays it must hold, their dtypes and lengths, the recorded
    ``N`` and ``D``, the index ranges (``0 <= post, pre < N``, ``delay_steps`` in ``1..D``), finite
    weights and finite positive ``delay_ms``.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        A damaged or ill-formed file; the message names the file, the field, what is allowed
        and what was found.

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "w.npz")
    >>> from hdsnn.io import save_weights
    >>> _ = save_weights(f, torch.ones(2, 2, 1))
    >>> load_synapses(f)
    Traceback (most recent call last):
    ...
    ValueError: '...w.npz' holds a 'weights' file, expected a 'synapses' file
    """
    names = ("post", "pre", "delay_steps", "weight")
    arrays, meta = load_arrays(path, "synapses", names, optional=("delay_ms",))
    where = f"synapse file {str(path)!r}"
    head = meta.get("synapse_list")
    if not isinstance(head, dict) or not all(isinstance(head.get(k), int) and not isinstance(head.get(k), bool)
                                             for k in ("N", "D")):
        raise ValueError(f"{where}: its metadata must record synapse_list with integers N and D; found {head!r}")
    if head.get("real_delays") and "delay_ms" not in arrays:
        raise ValueError(f"{where}: its metadata records real-valued delays but the file holds no delay_ms array")
    for name, a in arrays.items():
        if a.dtype != SYNAPSE_DTYPES[name]:
            raise ValueError(f"{where}: {name} must be {np.dtype(SYNAPSE_DTYPES[name]).name}; found {a.dtype}")
    d = arrays.get("delay_ms")
    if d is not None and d.ndim == 1 and d.shape[0] == arrays["weight"].shape[0]:
        _check_delays(d, where)                        # before SynapseList checks them without the file's name
    try:
        syn = SynapseList(arrays["post"], arrays["pre"], arrays["delay_steps"], arrays["weight"], head["N"],
                          head["D"], delay_ms=d)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    check_synapses(syn, where)
    if head.get("count") is not None and head["count"] != len(syn):
        raise ValueError(f"{where}: its metadata records {head['count']} synapses but the arrays hold {len(syn)}")
    return syn, meta


def load_weights_or_synapses(path) -> tuple[str, torch.Tensor | SynapseList, dict]:
    """Read a weight file (dense ``W``) or a synapse file, whichever ``path`` is.

    Returns
    -------
    (kind, weights, meta)
        ``('weights', W, meta)`` with ``W`` float32 ``(N, N, D)``, or ``('synapses', SynapseList, meta)``.

    Raises
    ------
    FileNotFoundError
        No such file.
    ValueError
        Neither kind of file, or a damaged one (see :func:`hdsnn.io.load_weights`, :func:`load_synapses`).

    Examples
    --------
    >>> import tempfile, os
    >>> syn = SynapseList(np.array([1], np.int32), np.array([0], np.int32), np.array([3], np.int32),
    ...                   np.array([0.5], np.float32), N=2, D=4)
    >>> f = save_synapses(os.path.join(tempfile.mkdtemp(), "syn.npz"), syn)
    >>> kind, got, _ = load_weights_or_synapses(f)
    >>> kind, len(got)
    ('synapses', 1)
    """
    kind = file_kind(path)
    if kind == "synapses":
        return ("synapses", *load_synapses(path))
    if kind == "weights":
        return ("weights", *load_weights(path))
    raise ValueError(f"{str(path)!r} holds a {kind!r} file, expected a 'weights' file (dense W) or a "
                     f"'synapses' file (a synapse list)")
