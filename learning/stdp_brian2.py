"""The STDP rule of :mod:`hdsnn.learning.stdp` as a plastic Brian2 network.

One ``NeuronGroup`` replays the patterns (spikes forced through the
threshold, as in :mod:`hdsnn.models.brian2_exact`) and one ``Synapses`` object
holds one plastic synapse per ``(post, pre, delay)`` of the mask (every delay
``1..D`` by default), ``delay = (d - 1) * dt``, ``dt = 1 ms``. Recurrent
transmission is off: ``on_pre`` and ``on_post`` update traces and weights only.
The equations, as Brian2 reads them (:data:`EQUATIONS`)::

    neurons:  forced = replay_spikes(t, i) : 1 (constant over dt)
              y : 1                 # postsynaptic trace, as of its last spike
              spike_step : integer   # step of its last spike
              threshold: forced == 1
              reset (moved to 'after_thresholds'):
                  y = 1 + y * decay_minus ** (n - spike_step) * same(spike_step)
                  spike_step = n
    synapses: w : 1,  x : 1 (presynaptic trace, as of its last arrival),  last_arr : integer
              on_post (potentiation, post spike at step n):
                  kp = x * decay_plus ** (n - 1 - last_arr) * same(last_arr)
                  w = clip(w + a_plus * kp [* (w_max - w) / (w_max - w_init)], w_min, w_max)
              on_pre (arrival at step n; g = 1 if D-1 <= n mod T <= T-2):
                  km = y_post * decay_minus ** (n - spike_step_post) * same(spike_step_post)
                  w = clip(w - g * a_minus * km [* (w - w_min) / (w_init - w_min)], w_min, w_max)
                  x = g * (1 + x * decay_plus ** (n - last_arr) * same(last_arr)) + (1 - g) * x
                  last_arr = (arrival step if g else unchanged)

with ``n = t_in_timesteps`` and ``same(k) = int(k >= n - n mod T)`` (the event
``k`` belongs to the current replay; replays are ``T`` steps, back to back).
A decay of 0 keeps only the nearest step (``0 ** 0 = 1``): the narrow window
and the mirrored depression.

Scheduling recipe (measured; ``tests/test_stdp.py`` checks it against the
torch rule and the analytic rule, and breaks when a step is off):

1. A spike emitted at step ``t0`` on a synapse of delay ``d`` arrives (its
   ``on_pre`` runs) in the ``synapses`` slot of step ``t0 + d - 1``, after the
   thresholds: the discrete model's input acts at step ``t0 + d``. So an
   arrival *one step before* a postsynaptic spike is the analytic ``+1`` pair,
   and an arrival *in the step of* a postsynaptic spike is the ``-beta`` pair.
2. Brian2 runs the ``pre`` pathway (order -1) before the ``post`` pathway
   (order +1) in the ``synapses`` slot. We set ``pre.order = 2``: the post
   pathway runs first, so a potentiation at step ``n`` sees only arrivals of
   steps before ``n`` (``n - 1 - last_arr >= 0``), and an arrival at ``n``
   comes after the spike of step ``n``.
3. The postsynaptic trace is updated by the reset code, moved from the
   ``resets`` slot (after the synapses) to ``after_thresholds``: the
   depression of an arrival at step ``n`` sees the spike of step ``n``.
4. Integer step counters (``t_in_timesteps``, ``last_arr``, ``spike_step``)
   keep the exponents exact, which ``0 ** 0`` needs.

Memory: the replay is a ``TimedArray`` of ``n_replays * M * T * N`` float32
values, plus three state variables per synapse (``w``, ``x``, ``last_arr``) besides
Brian2's indices and delays; the numpy target's time goes mostly
into per-step overhead (about 1 ms a step at small sizes).
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from hdsnn.models.brian2.context import brian2_context, check_target

from .stdp import check_stdp_inputs, mask_density

__all__ = ["EQUATIONS", "stdp_brian2"]

#: The plastic network, as Brian2 strings ({update} picks the weight updates).
EQUATIONS = {
    "neurons": """
forced = replay_spikes(t, i) : 1 (constant over dt)   # 1 where the pattern spikes
y : 1                                                 # postsynaptic trace, as of the last spike
spike_step : integer                                   # step of the last spike
""",
    "threshold": "forced == 1",
    "reset": """
y = 1 + y * decay_minus ** (t_in_timesteps - spike_step) * int(spike_step >= t_in_timesteps - t_in_timesteps % T_steps)
spike_step = t_in_timesteps
""",
    "synapses": """
w : 1
x : 1                  # presynaptic trace (gated arrivals of this replay), as of the last arrival
last_arr : integer     # step of the last gated arrival
""",
    "on_post": {
        "additive": """
kp = x * decay_plus ** (t_in_timesteps - 1 - last_arr) * int(last_arr >= t_in_timesteps - t_in_timesteps % T_steps)
w = clip(w + a_plus * kp, w_min, w_max)
""",
        "multiplicative": """
kp = x * decay_plus ** (t_in_timesteps - 1 - last_arr) * int(last_arr >= t_in_timesteps - t_in_timesteps % T_steps)
w = clip(w + a_plus * kp * (w_max - w) / (w_max - w_init), w_min, w_max)
""",
    },
    "on_pre": {
        "additive": """
g = int(t_in_timesteps % T_steps >= D_steps - 1 and t_in_timesteps % T_steps <= T_steps - 2)
km = y_post * decay_minus ** (t_in_timesteps - spike_step_post) * int(spike_step_post >= t_in_timesteps - t_in_timesteps % T_steps)
w = clip(w - g * a_minus * km, w_min, w_max)
x = g * (1 + x * decay_plus ** (t_in_timesteps - last_arr) * int(last_arr >= t_in_timesteps - t_in_timesteps % T_steps)) + (1 - g) * x
last_arr = g * t_in_timesteps + (1 - g) * last_arr
""",
        "multiplicative": """
g = int(t_in_timesteps % T_steps >= D_steps - 1 and t_in_timesteps % T_steps <= T_steps - 2)
km = y_post * decay_minus ** (t_in_timesteps - spike_step_post) * int(spike_step_post >= t_in_timesteps - t_in_timesteps % T_steps)
w = clip(w - g * a_minus * km * (w - w_min) / (w_init - w_min), w_min, w_max)
x = g * (1 + x * decay_plus ** (t_in_timesteps - last_arr) * int(last_arr >= t_in_timesteps - t_in_timesteps % T_steps)) + (1 - g) * x
last_arr = g * t_in_timesteps + (1 - g) * last_arr
""",
    },
}

_NEVER = -(10 ** 9)


def stdp_brian2(raster, D: int, config=None, *, mask=None, target: str = "numpy",
                return_seconds: bool = False):
    """Learn weights with the plastic Brian2 network (see the module docstring).

    Parameters
    ----------
    raster : bool array ``(M, N, T)``
        Patterns, each replayed ``config.n_replays`` times (epochs of M patterns).
    D : int
        Number of delays.
    config : hdsnn.learning.STDPConfig, optional
    mask : bool array ``(N, N, D)``, optional
        Existing synapses (default: all ``N * N * D``).
    target : {'numpy', 'cython'}
        Brian2 runtime target.
    return_seconds : bool
        Also return ``(build_seconds, run_seconds)``.

    Returns
    -------
    torch.Tensor
        float64 weights ``(N, N, D)`` read back from the synapses (zero outside the mask).

    Examples
    --------
    >>> from hdsnn.models import bernoulli_patterns
    >>> from hdsnn.learning import hebbian_init
    >>> P = bernoulli_patterns(1, 8, 30, 0.1, seed=0)
    >>> W = stdp_brian2(P, 4)
    >>> torch.allclose(W.float(), hebbian_init(P, D=4), atol=1e-6)
    True
    """
    raster, D, config, mask = check_stdp_inputs(raster, D, config, mask)
    target = check_target(target, ("numpy", "cython"))
    M, N, T = raster.shape
    a_plus, a_minus = config.amplitudes(raster, D, mask_density(mask))
    if mask is None:
        post, pre, d = (x.numpy() for x in torch.nonzero(torch.ones(N, N, D, dtype=torch.bool), as_tuple=True))
    else:
        post, pre, d = (x.numpy() for x in torch.nonzero(mask, as_tuple=True))
    R = config.n_replays
    # epochs of M patterns, back to back: (R*M*T, N)
    replay = np.tile(raster.permute(0, 2, 1).numpy().astype(np.float32).reshape(M * T, N), (R, 1))
    with brian2_context(target) as b2:
        start = time.perf_counter()
        ms = b2.ms
        clock = b2.Clock(dt=1 * ms, name="stdp_steps")
        ns = {"replay_spikes": b2.TimedArray(replay, dt=1 * ms), "T_steps": T, "D_steps": D,
              "decay_plus": config.decay_plus, "decay_minus": config.decay_minus,
              "a_plus": a_plus, "a_minus": a_minus, "w_init": config.w_init,
              "w_min": -math.inf if config.w_min is None else config.w_min,
              "w_max": math.inf if config.w_max is None else config.w_max}
        group = b2.NeuronGroup(N, EQUATIONS["neurons"], threshold=EQUATIONS["threshold"], reset=EQUATIONS["reset"],
                               clock=clock, namespace=ns, name="replay")
        group.resetter["spike"].when = "after_thresholds"       # recipe 3
        group.spike_step = _NEVER
        synapses = b2.Synapses(group, group, EQUATIONS["synapses"], on_pre=EQUATIONS["on_pre"][config.update],
                               on_post=EQUATIONS["on_post"][config.update], clock=clock, namespace=ns,
                               name="plastic")
        synapses.connect(i=pre.astype(np.int32), j=post.astype(np.int32))
        synapses.delay = d.astype(np.float64) * ms                # (d_index + 1 - 1) * dt: recipe 1
        synapses.pre.order = 2                                    # recipe 2: post pathway first
        synapses.w = config.w_init
        synapses.last_arr = _NEVER
        network = b2.Network(group, synapses)
        build = time.perf_counter() - start
        start = time.perf_counter()
        network.run(R * M * T * ms, namespace=ns)
        run = time.perf_counter() - start
        w = np.asarray(synapses.w[:], dtype=np.float64)
        i_pre = np.asarray(synapses.i[:]).astype(np.int64)
        j_post = np.asarray(synapses.j[:]).astype(np.int64)
        delay = np.rint(np.asarray(synapses.delay[:] / ms)).astype(np.int64)     # = d - 1
    W = torch.zeros(N, N, D, dtype=torch.float64)
    W[torch.from_numpy(j_post), torch.from_numpy(i_pre), torch.from_numpy(delay)] = torch.from_numpy(w)
    return (W, (build, run)) if return_seconds else W
