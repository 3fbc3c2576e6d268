"""Polychronous groups (Izhikevich 2006), adapted to the delay-recurrent LIF network.

A polychronous group is a set of spikes, time-locked by the synaptic delays,
that one network produces whenever a few of them (the anchors) fire with the
right relative timing. The search is structural, as in Izhikevich (2006):

1. for each neuron ``j`` (the mother), take its ``candidates`` strongest
   excitatory inputs ``(pre i, delay d)`` from distinct presynaptic neurons
   (the strongest delay of each);
2. for each combination of ``n_anchors`` of them, fire anchor ``i`` at step
   ``max(d) - d_i`` so that all their spikes arrive at ``j`` together;
3. simulate the otherwise quiet network (:func:`hdsnn.models.simulate`,
   batched over combinations);
4. link every evoked spike ``(n, t)`` to the earlier spikes ``(i, t_i)`` whose
   input arrives within ``window`` steps before it through a positive weight
   (``W[n, i, d-1] > 0`` with ``t - window < t_i + d <= t``);
5. a spike's depth is 0 for anchors and 1 + the largest depth of its causes;
   keep the spikes reachable from the anchors, and the group if its longest
   causal path (largest depth) is at least ``min_path``.

Identical groups (same spikes up to a shift in time) are kept once.
:func:`detect_activations` finds a group's activations in a raster by
template matching within a tolerance.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import combinations

import numpy as np
import torch
from tqdm.auto import tqdm

from hdsnn.config import NetworkConfig
from hdsnn.validation import check_int, check_real, check_weights

from .neo_io import raster_array

__all__ = ["SearchConfig", "Group", "find_groups", "detect_activations", "group_statistics"]


@dataclass(frozen=True)
class SearchConfig:
    """Parameters of the polychronous-group search.

    Parameters
    ----------
    n_anchors : int or None
        Anchor spikes fired together (>= 1; Izhikevich used 3). None: for each
        mother, the fewest of its strongest inputs whose weights reach ``theta``
        (the Hebbian rule gives weights of about 0.06 to 0.18, so 8 to 17 anchors
        at the paper's size, where 3 anchors never fire a neuron).
    candidates : int
        Strongest presynaptic partners considered per mother neuron (>= n_anchors).
    extra_candidates : int
        With ``n_anchors=None``: partners considered beyond the fewest that reach
        threshold (0: one combination per mother).
    window : int
        An input counts as a cause if it arrives at most ``window - 1`` steps
        before the spike (>= 1; with beta = 0.7 an input loses half its effect in 2 steps).
    min_path : int
        Shortest longest-causal-path kept (>= 1 link).
    horizon : int or None
        Steps simulated after the anchors' arrival (default 4 D).
    batch : int
        Combinations simulated together (>= 1).
    max_spikes : int
        A trial with more spikes than this is runaway activity, not a group.

    Examples
    --------
    >>> SearchConfig(n_anchors=2, candidates=4).min_path
    3
    """

    n_anchors: int | None = 3
    candidates: int = 5
    extra_candidates: int = 0
    window: int = 2
    min_path: int = 3
    horizon: int | None = None
    batch: int = 256
    max_spikes: int = 500

    def __post_init__(self):
        if self.n_anchors is not None:
            check_int("n_anchors", self.n_anchors, minimum=1)
            check_int("candidates", self.candidates, minimum=self.n_anchors)
        check_int("extra_candidates", self.extra_candidates, minimum=0)
        check_int("window", self.window, minimum=1)
        check_int("min_path", self.min_path, minimum=1)
        if self.horizon is not None:
            check_int("horizon", self.horizon, minimum=1)
        check_int("batch", self.batch, minimum=1)
        check_int("max_spikes", self.max_spikes, minimum=1)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Group:
    """One polychronous group.

    Attributes
    ----------
    neurons, times : int arrays ``(size,)``
        Its spikes, sorted by time; times in steps from the first spike.
    depth : int array ``(size,)``
        Causal depth of each spike (0: anchor).
    parents : list of int arrays
        Indices (into ``neurons``) of the causes of each spike.
    mother : int
        The neuron whose inputs were the anchors.
    """

    neurons: np.ndarray
    times: np.ndarray
    depth: np.ndarray
    parents: list
    mother: int

    @property
    def size(self) -> int:
        return int(self.neurons.size)

    @property
    def span(self) -> int:
        return int(self.times[-1] - self.times[0])

    @property
    def path_length(self) -> int:
        return int(self.depth.max())

    def to_dict(self) -> dict:
        return {"mother": self.mother, "neurons": self.neurons.tolist(), "times": self.times.tolist(),
                "depth": self.depth.tolist(), "size": self.size, "span": self.span,
                "path_length": self.path_length, "n_neurons": int(np.unique(self.neurons).size)}


def _anchor_sets(W: torch.Tensor, mothers, cfg: SearchConfig, theta: float) -> list[tuple[int, list[tuple[int, int]]]]:
    """(mother, [(pre, delay), ...]) for every combination of strong inputs from distinct neurons."""
    out = []
    for j in mothers:
        value, delay = W[j].max(dim=1)               # the strongest delay of each presynaptic neuron
        value[j] = 0                                 # no self-anchor
        order = torch.argsort(value, descending=True, stable=True)
        value = value[order]
        positive = int((value > 0).sum())
        if cfg.n_anchors is None:                    # fewest strongest inputs that reach threshold
            reach = torch.nonzero(torch.cumsum(value.clamp(min=0), 0) >= theta)
            if reach.numel() == 0:
                continue
            k = int(reach[0]) + 1
            pool = min(k + cfg.extra_candidates, positive)
        else:
            k, pool = cfg.n_anchors, min(cfg.candidates, positive)
        chosen = [(int(i), int(delay[i]) + 1) for i in order[:pool].tolist()]
        for combo in combinations(chosen, k):
            out.append((j, list(combo)))
    return out


def _causal_links(W_pos: np.ndarray, n: np.ndarray, t: np.ndarray, n_anchor: int, window: int) -> list:
    """Parents of each spike (spikes sorted by time; anchors first, they have none)."""
    N, _, D = W_pos.shape
    lag = t[:, None] - t[None, :]                    # [child, parent]
    linked = np.zeros(lag.shape, dtype=bool)
    for o in range(window):                          # arrival o steps before the child's spike
        d = lag - o
        ok = (d >= 1) & (d <= D)
        c, p = np.nonzero(ok)
        linked[c, p] |= W_pos[n[c], n[p], d[c, p] - 1]
    linked[:n_anchor] = False
    return [np.flatnonzero(row) for row in linked]


def _group_from_trial(W_pos, spikes_n, spikes_t, anchors, mother, cfg) -> Group | None:
    is_anchor = np.zeros(spikes_n.size, dtype=bool)
    anchor_set = {(i, t) for i, t in anchors}
    for k, (i, t) in enumerate(zip(spikes_n.tolist(), spikes_t.tolist())):
        is_anchor[k] = (i, t) in anchor_set
    order = np.lexsort((spikes_t, ~is_anchor))       # anchors at the front, then by time
    n, t, is_anchor = spikes_n[order], spikes_t[order], is_anchor[order]
    k_anchor = int(is_anchor.sum())
    parents = _causal_links(W_pos, n, t, k_anchor, cfg.window)
    depth = np.full(n.size, -1)
    depth[:k_anchor] = 0
    for k in np.argsort(t, kind="stable"):
        if k < k_anchor:
            continue
        reached = [p for p in parents[k] if depth[p] >= 0]
        if reached:
            depth[k] = 1 + max(depth[p] for p in reached)
            parents[k] = np.asarray(reached)
    keep = depth >= 0
    if depth.max() < cfg.min_path:
        return None
    index = np.cumsum(keep) - 1
    n, t, depth = n[keep], t[keep], depth[keep]
    parents = [index[p] for p, k in zip(parents, keep) if k]
    order = np.lexsort((n, t))
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return Group(n[order], t[order] - t[order][0], depth[order], [np.sort(rank[parents[i]]) for i in order], mother)


def find_groups(W, net: NetworkConfig | None = None, config: SearchConfig | None = None, *,
                mothers=None, device: str = "cpu", threads: int | None = 1,
                progress: bool | None = None) -> list[Group]:
    """Search the polychronous groups of a network.

    Parameters
    ----------
    W : float tensor ``(N, N, D)``
        Weights, index ``[post, pre, delay-1]``.
    net : NetworkConfig, optional
        beta, theta and reset of the neurons (N and D come from ``W``).
    config : SearchConfig, optional
    mothers : iterable of int, optional
        Neurons whose inputs are tried as anchors (default: all).
    device : str
        Torch device of the simulations.
    threads : int or None
        Torch CPU threads during the search (restored afterwards); None keeps the
        current setting. The per-step tensors are small, and on a shared 2-core
        machine one thread was 5 times faster than two (2.3 s against 12 s for
        256 mothers of the demo's Hebbian weights).
    progress : bool or None
        Progress bar (None: on a terminal only).

    Returns
    -------
    list of Group
        Distinct groups, in the order found.

    Examples
    --------
    Three inputs that must coincide to fire neuron 3, which drives a chain 3 -> 4 -> 5:

    >>> W = torch.zeros(6, 6, 6)
    >>> W[3, 0, 5] = W[3, 1, 3] = W[3, 2, 1] = 0.4
    >>> W[4, 3, 2] = W[5, 4, 4] = 1.5
    >>> groups = find_groups(W, NetworkConfig(N=6, D=6), SearchConfig(candidates=3, min_path=2), progress=False)
    >>> [(g.neurons.tolist(), g.times.tolist(), g.path_length) for g in groups]
    [([0, 1, 2, 3, 4, 5], [0, 2, 4, 6, 9, 14], 3)]
    """
    from dataclasses import replace

    cfg = config if config is not None else SearchConfig()
    if not isinstance(cfg, SearchConfig):
        raise ValueError(f"config must be a SearchConfig; got {type(cfg).__name__}")
    W = check_weights("W", W).detach().cpu().float()
    N, _, D = W.shape
    net = replace(net if net is not None else NetworkConfig(N=N, D=D), N=N, D=D)
    mothers = range(N) if mothers is None else [check_int("mothers", int(j), 0, N - 1) for j in mothers]
    horizon = cfg.horizon if cfg.horizon is not None else 4 * D
    L = D + horizon
    sets = _anchor_sets(W, mothers, cfg, net.theta)
    W_pos = (W > 0).numpy()
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(check_int("threads", threads, minimum=1))
    try:
        return _search(W, W_pos, sets, net, cfg, L, device, progress)
    finally:
        torch.set_num_threads(before)


def _search(W, W_pos, sets, net, cfg, L, device, progress) -> list[Group]:
    from hdsnn.models import simulate

    N = W.shape[0]
    groups, seen = [], set()
    bar = tqdm(total=len(sets), desc="polychronous groups", unit="combination", leave=False,
               disable=None if progress is None else not progress)
    for start in range(0, len(sets), cfg.batch):
        chunk = sets[start:start + cfg.batch]
        inputs = torch.zeros(len(chunk), N, L, dtype=torch.bool)
        anchors = []
        for b, (_, combo) in enumerate(chunk):
            dmax = max(d for _, d in combo)
            spikes = [(pre, dmax - d) for pre, d in combo]
            for pre, t in spikes:
                inputs[b, pre, t] = True
            anchors.append(spikes)
        sim = simulate(W, inputs, None, net, max_rate=None, device=device, progress=False)
        b_idx, n_idx, t_idx = (x.numpy() for x in torch.nonzero(sim.raster, as_tuple=True))
        bounds = np.searchsorted(b_idx, np.arange(len(chunk) + 1))
        for b, (mother, _) in enumerate(chunk):
            lo, hi = bounds[b], bounds[b + 1]
            if hi - lo > cfg.max_spikes or hi - lo <= len(anchors[b]):
                continue
            group = _group_from_trial(W_pos, n_idx[lo:hi], t_idx[lo:hi], anchors[b], mother, cfg)
            if group is None:
                continue
            key = (tuple(group.neurons.tolist()), tuple(group.times.tolist()))
            if key not in seen:
                seen.add(key)
                groups.append(group)
        bar.update(len(chunk))
    bar.close()
    return groups


def detect_activations(raster, group: Group, tolerance: int = 1, min_fraction: float = 1.0) -> list:
    """Onsets at which a group's spike pattern appears in a raster, within ``±tolerance`` steps.

    Parameters
    ----------
    raster : bool array ``(M, N, T)`` (or ``(N, T)``)
    group : Group
    tolerance : int
        Each template spike may be found up to this many steps early or late.
    min_fraction : float
        Fraction of the group's spikes that must be present, in (0, 1].

    Returns
    -------
    list of (pattern, onset, matched) tuples
        ``onset`` is the step of the group's first spike; one per activation
        (of a run of neighbouring candidate onsets, the one with most spikes
        within the tolerance, then most spikes exactly in place); ``matched``
        is the number of template spikes found within the tolerance.

    Examples
    --------
    >>> g = Group(np.array([0, 1, 2]), np.array([0, 3, 7]), np.array([0, 1, 2]), [], 2)
    >>> r = np.zeros((1, 4, 60), bool); r[0, [0, 1, 2], [20, 23, 28]] = True
    >>> detect_activations(r, g, tolerance=1)
    [(0, 20, 3)]
    """
    r = np.asarray(raster.cpu().numpy() if isinstance(raster, torch.Tensor) else raster)
    r = raster_array("raster", r[None] if r.ndim == 2 else r)
    tolerance = check_int("tolerance", tolerance, minimum=0)
    min_fraction = check_real("min_fraction", min_fraction, 0.0, 1.0, open_min=True)
    M, N, T = r.shape
    if group.neurons.max() >= N:
        raise ValueError(f"group uses neuron {int(group.neurons.max())} but the raster has N={N} neurons")
    need = int(np.ceil(min_fraction * group.size - 1e-9))
    span = group.span
    onsets = T - span
    found = []
    if onsets <= 0:
        return found
    rows = r[:, group.neurons].astype(np.int32)                       # (M, size, T)
    c = np.pad(np.cumsum(rows, axis=2), ((0, 0), (0, 0), (1, 0)))
    hi = np.clip(np.arange(T) + tolerance + 1, 0, T)
    lo = np.clip(np.arange(T) - tolerance, 0, T)
    dilated = (c[:, :, hi] - c[:, :, lo]) > 0                        # any spike within ±tolerance
    count = np.zeros((M, onsets), dtype=np.int32)
    exact = np.zeros((M, onsets), dtype=np.int32)
    for k, dt in enumerate(group.times.tolist()):
        count += dilated[:, k, dt:dt + onsets]
        exact += rows[:, k, dt:dt + onsets]
    rank = count * (group.size + 1) + exact            # most spikes within tolerance, then most exact
    for m in range(M):
        cand = np.flatnonzero(count[m] >= need)
        if cand.size == 0:
            continue
        runs = np.split(cand, np.flatnonzero(np.diff(cand) > 2 * tolerance + 1) + 1)
        for run in runs:
            best = run[np.argmax(rank[m, run])]
            found.append((m, int(best), int(count[m, best])))
    return found


def group_statistics(groups: list[Group], N: int | None = None) -> dict:
    """Counts and distributions of group size, span, path length and neurons.

    Examples
    --------
    >>> g = Group(np.array([0, 1, 2]), np.array([0, 3, 7]), np.array([0, 1, 2]), [], 2)
    >>> group_statistics([g, g], N=10)["size"]["mean"]
    3.0
    """
    def describe(x):
        x = np.asarray(x, dtype=float)
        if x.size == 0:
            return {"mean": None, "median": None, "min": None, "max": None, "histogram": {}}
        values, counts = np.unique(x.astype(int), return_counts=True)
        return {"mean": float(x.mean()), "median": float(np.median(x)), "min": float(x.min()),
                "max": float(x.max()), "histogram": {int(v): int(c) for v, c in zip(values, counts)}}

    neurons = np.unique(np.concatenate([g.neurons for g in groups])) if groups else np.zeros(0, int)
    out = {"n_groups": len(groups), "size": describe([g.size for g in groups]),
           "span_steps": describe([g.span for g in groups]),
           "path_length": describe([g.path_length for g in groups]),
           "n_neurons": describe([np.unique(g.neurons).size for g in groups]),
           "n_mothers": int(len({g.mother for g in groups})), "neurons_in_groups": int(neurons.size)}
    if N is not None:
        out["fraction_of_neurons_in_groups"] = float(neurons.size / N)
    return out
