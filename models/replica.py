"""The torch replica of :func:`~hdsnn.models.brian2.simulate_neurons`: the same network, spike for spike.

A network of the neurons of :mod:`hdsnn.models.neurons` (the same equations,
method, parameters and step ``dt`` as Brian2), batched over trials on CPU or
CUDA, with what Brian2 does at each step, in its order:

- **protocol** (``'start'``): ``free = trial_free(t + shift + offset)``, the
  clamp of the trial read as Brian2's ``TimedArray`` reads it (1-ms entries,
  ``delay_shift_ms`` ahead), and the background input of :mod:`hdsnn.models.noise`;
- **groups, thresholds**: one step of the neuron model (:data:`~hdsnn.models.neurons.REPLICAS`);
  the input spikes of the trial (Brian2's ``SpikeGeneratorGroup``: a spike at
  ``t`` ms in step ``int((t + 1e-3 dt) / dt)``) are emitted in the same step, and
  are not network spikes;
- **synapses**: every spike (network or input) is delivered, event by event,
  through each synapse of its presynaptic neuron after ``int(delay / dt + 0.5)``
  steps (halves rounded up, as Brian2's C++ ``SpikeQueue``, ``cspikequeue.cpp``,
  which every target uses when it is built; Brian2's pure-Python fallback
  rounds halves to even instead), adding
  the synapse's jump (its ``on_pre`` evaluated for its weight) to the
  postsynaptic variable, which the next step integrates;
- **runaway guard** (every 10 ms, at the start of the step): a trial stops
  when it made more than ``max_rate_hz * N * 10 ms`` spikes since the last check
  (the spikes of the step that runs with the check are kept).

Examples
--------
>>> x = torch.zeros(1, 2, 20, dtype=torch.bool); x[0, 0, 2] = True
>>> syn = SynapseList(np.array([1]), np.array([0]), np.array([3]), np.array([2.0], np.float32), N=2, D=4)
>>> simulate_replica("lif_current", syn, x).raster[0].nonzero().tolist()   # as simulate_neurons
[[1, 5]]
"""
from __future__ import annotations

import re
import time

import numpy as np
import torch

from hdsnn.validation import check_allocation, check_choice, check_device

from .brian2.neurons import SI_UNITS, NeuronSimulation, check_run, evaluate_parameters, trial_steps
from .export import SynapseList
from .neurons import initial_state, model_parameters, replica_of
from .noise import background_noise

__all__ = ["simulate_replica", "synaptic_jumps", "free_flags", "DTYPES"]

#: Float types of the replica.
DTYPES = {"float64": torch.float64, "float32": torch.float32}


def synaptic_jumps(model, synapses: SynapseList, efficacy: float, beta: float = 0.7) -> tuple[np.ndarray, np.ndarray]:
    """Each synapse's jump, from the model's ``on_pre`` (``X_post += expression``) evaluated for its weight.

    Returns
    -------
    (variable, jump) : int array ``(S,)`` (index into the replica's synaptic variables) and float64 array ``(S,)``

    Examples
    --------
    >>> syn = SynapseList(np.array([1, 1]), np.array([0, 0]), np.array([1, 2]), np.array([1.0, -2.0], np.float32), 2, 2)
    >>> var, jump = synaptic_jumps("lif_conductance", syn, 1.0)
    >>> var.tolist(), (jump / jump[0]).tolist()
    ([0, 1], [1.0, 2.0])
    """
    model, replica = replica_of(model)
    ns = {**SI_UNITS, **evaluate_parameters(model, beta), "efficacy": efficacy, "w": synapses.weight.astype(np.float64),
          "clip": np.clip}
    variable, jump = np.zeros(len(synapses), np.int64), np.zeros(len(synapses))
    for line in filter(None, (x.strip() for x in model.on_pre.splitlines())):
        found = re.fullmatch(r"(\w+)_post\s*\+=\s*(.+)", line)
        if found is None or found.group(1) not in replica.synaptic:
            raise ValueError(f"on_pre of {model.name!r} must add to {' or '.join(replica.synaptic)} "
                             f"('X_post += ...'); got {line!r}")
        value = np.broadcast_to(eval(found.group(2), {"__builtins__": {}}, ns), (len(synapses),))
        if (value != 0).any() and (jump[value != 0] != 0).any():
            raise ValueError(f"on_pre of {model.name!r} must give each synapse one synaptic variable; "
                             f"got {model.on_pre!r}")
        variable[value != 0] = replica.synaptic.index(found.group(1))
        jump = np.where(value != 0, value, jump)
    return variable, jump


def free_flags(clamp: np.ndarray, steps: int, dt: float, shift: float) -> np.ndarray:
    """``(B, steps)`` free flags, as Brian2's ``trial_free(t + shift + offset)`` reads them (TimedArray of 1 ms).

    ``clamp`` is ``(B, L)`` (1-ms entries), ``dt`` and ``shift`` in seconds. A step ``n`` is free (1.0) when
    the 1-ms entry at ``n dt + shift`` is not clamped; the learners in continuous time read the first free
    step of a trial from here, so that they and the simulators agree on it.

    Examples
    --------
    >>> clamp = np.zeros((1, 3), bool); clamp[0, :2] = True          # a 2-ms clamp
    >>> int(free_flags(clamp, 30, 1e-4, 1e-4)[0].argmax())           # first free step with a 0.1-ms shift
    19
    """
    B, L = clamp.shape
    flat = np.ones((B, L + 1))
    flat[:, :L] = 1.0 - clamp
    flat = flat.reshape(-1)
    K = max(int(2 ** np.ceil(np.log2(8 / dt * 1e-3))), 1)
    offset = (np.arange(B) * (L + 1))[:, None] * 1e-3
    t = (offset + shift) + np.arange(steps)[None, :] * dt
    return flat[np.clip(np.int_(np.round(t / (1e-3 / K)) / K), 0, flat.size - 1)]


def _guard_checks(steps: int, dt: float) -> list[tuple[int, bool]]:
    """``(step, with_step)`` of each 10-ms check: it runs at the start of ``step``, together with it
    (``with_step``: the step then completes) or alone just before it (Brian2's clocks)."""
    out, k = [], 1
    while True:
        t = k * 0.01
        n = int(np.ceil(t / dt - 1e-4))
        if n >= steps:
            return out
        out.append((n, abs(n * dt - t) / min(dt, 0.01) < 1e-4))
        k += 1


def simulate_replica(model, synapses: SynapseList, inputs, clamp=None, *, efficacy: float = 1.0, beta: float = 0.7,
                     delay_shift_ms: float = 0.5, delays_ms=None, noise_mV: float = 0.0, noise_tau_ms: float = 0.0,
                     dt_ms: float = 0.1, max_rate_hz: float | None = 100.0, seed: int = 0, dtype: str = "float64",
                     device="cpu", on_step=None) -> NeuronSimulation:
    """Simulate a batch of trials with the torch replica: the arguments and the result of
    :func:`~hdsnn.models.brian2.simulate_neurons`.

    Parameters
    ----------
    model, synapses, inputs, clamp, efficacy, beta, delay_shift_ms, delays_ms, noise_mV, noise_tau_ms, dt_ms, \
max_rate_hz, seed
        As :func:`~hdsnn.models.brian2.simulate_neurons`.
    dtype : {'float64', 'float32'}
        Float type of the state (float64: Brian2's, spike for spike).
    device : str
        Torch device (``'cpu'``, ``'cuda'``).
    on_step : callable, optional
        ``on_step(step, state)`` after every step (a monitor; ``state`` as in :mod:`hdsnn.models.neurons`).

    Returns
    -------
    NeuronSimulation
        With ``network`` None and ``seconds`` the wall time of the time loop.

    Raises
    ------
    ValueError
        A bad argument, naming it, the allowed values and the value given.
    """
    model, replica = replica_of(model)
    inputs, clamp, efficacy, delay_shift_ms, delays, dt_ms, noise_mV, noise_tau_ms, max_rate_hz = check_run(
        synapses, inputs, clamp, efficacy, delay_shift_ms, delays_ms, dt_ms, noise_mV, noise_tau_ms, max_rate_hz)
    B, N, L = inputs.shape
    dtype = DTYPES[check_choice("dtype", dtype, tuple(DTYPES))]
    device = check_device("device", device)
    p = model_parameters(model, beta)
    dt, steps, V = dt_ms * 1e-3, trial_steps(L, dt_ms), len(replica.synaptic)

    # synapses by presynaptic neuron, with their delay (steps), variable and jump
    variable, jump = synaptic_jumps(model, synapses, efficacy, beta)
    lag = (delays / dt + 0.5).astype(np.int64)              # delays >= 0: truncation is floor
    R = int(lag.max()) + 1 if len(synapses) else 1
    check_allocation(f"the replica's spikes in flight ({R} steps x B={B} x N={N}, {V} variable(s))",
                     R * V * B * N * torch.finfo(dtype).bits // 8, hint="shorten the delays or batch fewer trials")
    order = np.argsort(synapses.pre, kind="stable")
    as_t = {"device": device}
    first = torch.as_tensor(np.searchsorted(synapses.pre[order], np.arange(N + 1)), **as_t)
    post, lag_t, var_t = (torch.as_tensor(a[order].astype(np.int64), **as_t) for a in (synapses.post, lag, variable))
    jump_t = torch.as_tensor(jump[order], dtype=dtype, **as_t)

    # the protocol: free flags, input spikes by step, background input
    free = torch.as_tensor(free_flags(clamp.numpy(), steps, dt, delay_shift_ms * 1e-3), dtype=dtype, **as_t)
    b_in, i_in, t_in = np.nonzero(inputs.numpy())
    bins = ((t_in * 1e-3 + 1e-3 * dt) / dt).astype(np.int32)
    by_step = np.argsort(bins, kind="stable")
    b_in, i_in, bins = (torch.as_tensor(a[by_step].astype(np.int64), **as_t) for a in (b_in, i_in, bins))
    cue_at = np.searchsorted(bins.cpu().numpy(), np.arange(steps + 1))
    noise = None
    if noise_mV > 0:
        tau_m_ms = evaluate_parameters(model, beta)["tau_m"] * 1e3
        noise = torch.as_tensor(background_noise(B, N, steps, noise_mV=noise_mV, tau_ms=noise_tau_ms, dt_ms=dt_ms,
                                                 tau_m_ms=tau_m_ms, seed=seed) * 1e-3, dtype=dtype, **as_t)

    state = initial_state(model, B, N, dtype=dtype, device=device)
    pending = torch.zeros((R, V, B, N), dtype=dtype, **as_t)
    carry = torch.zeros((V, B, N), dtype=dtype, **as_t)
    alive = torch.ones(B, dtype=torch.bool, **as_t)
    count = torch.zeros(B, dtype=torch.int64, **as_t)
    last = torch.zeros_like(count)
    checks = dict(_guard_checks(steps, dt)) if max_rate_hz is not None else {}
    limit = max_rate_hz * N * 0.010 if max_rate_hz is not None else None
    recorded = []
    start = time.perf_counter()
    for n in range(steps):
        stop_after = None
        if n in checks:
            over = alive & (count - last > limit)
            last = count.clone()
            if checks[n]:
                stop_after = over
            else:
                alive &= ~over
        state, spikes = replica.step(state, carry, p, dt=dt, free=free[:, n, None],
                                     noise=None if noise is None else noise[:, n])
        spikes &= alive[:, None]
        sources = spikes.to(dtype)
        if cue_at[n + 1] > cue_at[n]:
            sl = slice(int(cue_at[n]), int(cue_at[n + 1]))
            sources.index_put_((b_in[sl], i_in[sl]), torch.ones(sl.stop - sl.start, dtype=dtype, **as_t),
                               accumulate=True)
            sources *= alive[:, None]
        fired = spikes.nonzero()
        if fired.numel():
            recorded.append(torch.cat([fired, torch.full_like(fired[:, :1], n)], 1))
            count += torch.bincount(fired[:, 0], minlength=B)
        _deliver(pending, sources, first, post, lag_t, var_t, jump_t, n)
        carry = pending[n % R].clone()
        pending[n % R].zero_()
        if stop_after is not None:
            alive &= ~stop_after
        if on_step is not None:
            on_step(n, state)
    seconds = time.perf_counter() - start
    return _result(recorded, alive, B, N, L, dt, seconds)


def _deliver(pending, sources, first, post, lag, var, jump, n):
    """Add the jumps of every synapse of every source of this step to the slots of their arrival steps."""
    events = sources.nonzero()
    if not events.numel():
        return
    R, V, B, N = pending.shape
    b, i = events[:, 0], events[:, 1]
    length = first[i + 1] - first[i]
    total = int(length.sum())
    if not total:
        return
    event = torch.repeat_interleave(torch.arange(len(i), device=i.device), length)
    syn = first[i][event] + torch.arange(total, device=i.device) - (torch.cumsum(length, 0) - length)[event]
    slot = (n + lag[syn]) % R
    flat = ((slot * V + var[syn]) * B + b[event]) * N + post[syn]
    pending.view(-1).index_add_(0, flat, jump[syn] * sources[b, i][event])


def _result(recorded, alive, B, N, L, dt, seconds) -> NeuronSimulation:
    """Raster and spike times as :func:`simulate_neurons` gives them (times as Brian2 computes them)."""
    found = torch.cat(recorded).cpu().numpy() if recorded else np.zeros((0, 3), np.int64)
    order = np.lexsort((found[:, 1], found[:, 2], found[:, 0]))      # trial, step, neuron
    b, i, n = found[order, 0], found[order, 1], found[order, 2]
    t_ms = (n * dt) / 1e-3
    ok = t_ms < L
    b, i, t_ms = b[ok], i[ok], t_ms[ok]
    raster = np.zeros((B, N, L), dtype=bool)
    raster[b, i, np.floor(t_ms + 1e-9).astype(np.int64)] = True
    stopped = [int(x) for x in np.nonzero(~alive.cpu().numpy())[0]]
    return NeuronSimulation(torch.from_numpy(raster), (b.astype(np.int64), i.astype(np.int64), t_ms), stopped,
                            seconds, None)
