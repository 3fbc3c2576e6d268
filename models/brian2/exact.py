"""The discrete-equivalent Brian2 network: the torch simulator's contract, spike for spike.

The network is the model contract of DESIGN.md written for Brian2, with
``dt = 1 ms`` and one synapse per kept ``(post, pre, delay)`` entry of ``W``
(:func:`hdsnn.models.export.export_synapses`). The equations, as Brian2 reads
them (:data:`EQUATIONS`)::

    u : 1                  # membrane potential (threshold theta)
    I : 1                  # input arriving at this step (a buffer)
    beta : 1 (shared, constant)    # leak per step, float32
    theta : 1 (shared, constant)   # threshold, float32
    clamped = trial_clamp(t) : 1 (constant over dt)     # 1 on clamped steps
    forced = trial_inputs(t, i) : 1 (constant over dt)  # 1 where a spike is imposed

    every step, before thresholds:   u = (1 - clamped) * (beta * u + I);  I = 0
    threshold:                       u >= theta or forced == 1
    reset:                           u = 0          (reset='zero')
                                     u = u - theta  (reset='subtract')
    synapse, on a presynaptic spike: I_post += w,  delay = (d - 1) * dt

Scheduling recipe (measured; ``tests/test_brian2_exact.py`` checks it):

1. The membrane has no differential equation. One ``run_regularly`` in the
   ``before_thresholds`` slot applies ``u = beta * u + I`` and empties the
   buffer ``I``: the reset of the previous step (``u = 0`` or ``u - theta``)
   has already acted, so this is ``u(t) = beta u(t-1) (1 - s(t-1)) + I(t)``.
2. The synaptic pathway stays in Brian2's default ``synapses`` slot, after the
   thresholds: a spike emitted at step ``t`` is added to ``I`` at the end of
   step ``t + delay/dt`` and so acts at step ``t + delay/dt + 1``. The contract's
   delay of ``d`` steps is therefore ``delay = (d - 1) * dt``
   (``delay = d * dt`` gives one step too late, and extra or missing spikes).
3. Trigger and external spikes are forced through the threshold condition
   (``forced == 1``) so that they reset the membrane and travel along the same
   synapses as the network's own spikes; on clamped steps the membrane is held
   at 0 by ``(1 - clamped)``.
4. The trials of a batch run one after the other in a single Brian2 run,
   separated by ``D`` clamped silent steps: every spike in flight arrives
   within them, so each trial starts, as in torch, from ``u = 0``, no spike
   and an empty delay line.
5. Bitwise identity of the membrane with torch's float32: ``u``, ``I`` and
   ``w`` are float32, and so are ``beta`` and ``theta``: shared variables of
   the group (with float32 constants in the namespace, the cython membrane
   differed from torch by one ulp here and there: they are doubles in C++).
   The C++ targets are compiled with
   :data:`hdsnn.models.brian2.context.COMPILE_ARGS`: without ``-ffast-math``
   and with ``-ffp-contract=off``. Measured on the cython target with
   ``-march=native``: without ``-ffp-contract=off`` (fused multiply-add) about
   30 % of the membrane values differ in their last bits from torch (spikes
   were still identical on the test networks); with it, none.

Targets: ``'numpy'`` (default), ``'cython'``, ``'cpp_standalone'`` (built in a
temporary folder unless ``build_dir`` is given) and ``'cuda_standalone'``
(needs brian2cuda and a GPU); :func:`hdsnn.models.brian2.context.brian2_context`
owns the settings and restores the user's afterwards. The built
``brian2.Network`` is returned, and ``on_build`` lets a user add objects
(monitors) to it before it runs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from hdsnn.config import NetworkConfig
from hdsnn.validation import check_raster

from ..export import SynapseList, check_memory, export_synapses
from .context import brian2_context, check_target

__all__ = ["EQUATIONS", "Brian2Simulation", "simulate_brian2"]

#: The neuron and synapse of the contract, as Brian2 strings.
EQUATIONS = {
    "model": """
u : 1                                               # membrane potential (threshold theta)
I : 1                                               # input arriving at this step (a buffer)
beta : 1 (shared, constant)                         # leak per step
theta : 1 (shared, constant)                        # threshold
clamped = trial_clamp(t) : 1 (constant over dt)     # 1 on clamped steps
forced = trial_inputs(t, i) : 1 (constant over dt)  # 1 where a spike is imposed
""",
    "step": "u = (1 - clamped) * (beta * u + I)\nI = 0",
    "threshold": "u >= theta or forced == 1",
    "reset": {"zero": "u = 0", "subtract": "u = u - theta"},
    "on_pre": "I_post += w",
}


@dataclass(frozen=True)
class Brian2Simulation:
    """Result of :func:`simulate_brian2`.

    Attributes
    ----------
    raster : bool tensor ``(B, N, L)``
        Spikes of every trial, as :func:`hdsnn.models.simulate` returns them.
    membrane : float32 tensor ``(B, N, L)`` or None
        Membrane potential after each step's update (before reset), if recorded.
    n_synapses : int
    target : str
    build_seconds, run_seconds : float
        Wall time to build the Brian2 objects, and of ``Network.run`` (code
        generation and compilation included).
    network : brian2.Network
        The network that ran (groups ``'neurons'``, ``'recurrent'``, monitor
        ``'spikes'``, and whatever ``on_build`` added); its monitors hold their data.
    """

    raster: torch.Tensor
    membrane: torch.Tensor | None
    n_synapses: int
    target: str
    build_seconds: float
    run_seconds: float
    network: object = None


def _schedule(inputs: torch.Tensor, clamp: torch.Tensor, gap: int):
    """Trials one after the other, each preceded by ``gap`` clamped silent steps."""
    B, N, L = inputs.shape
    span = L + gap
    forced = np.zeros((B, span, N), dtype=np.float32)
    clamped = np.ones((B, span), dtype=np.float32)
    forced[:, gap:] = inputs.permute(0, 2, 1).numpy()
    clamped[:, gap:] = clamp.numpy()
    return forced.reshape(B * span, N), clamped.reshape(B * span), span


def simulate_brian2(W, inputs, clamp=None, net: NetworkConfig | None = None, *, target: str = "numpy",
                    threshold: float | None = None, top_k: int | None = None,
                    keep_fraction: float | None = None, mask=None, budget_bytes: float | None = None,
                    record_membrane: bool = False, build_dir: str | None = None,
                    on_build=None) -> Brian2Simulation:
    """Simulate a batch of trials in the discrete-equivalent Brian2 network.

    Parameters
    ----------
    W : float tensor ``(N, N, D)`` or SynapseList
        Weights (exported with the pruning arguments) or synapses already exported.
    inputs, clamp : bool tensors ``(B, N, L)`` and ``(B, L)``
        As for :func:`hdsnn.models.simulate` (from :func:`hdsnn.models.make_trials`).
    net : NetworkConfig, optional
        ``beta``, ``theta`` and ``reset``.
    target : {'numpy', 'cython', 'cpp_standalone', 'cuda_standalone'}
    threshold, top_k, keep_fraction, mask, budget_bytes
        Pruning and memory budget of :func:`hdsnn.models.export.export_synapses`.
    record_membrane : bool
        Also return the membrane potential (memory ``B * N * L`` floats).
    build_dir : str, optional
        Folder of the standalone project (default: a temporary folder, removed afterwards).
    on_build : callable, optional
        Called as ``on_build(network)`` with the built ``brian2.Network`` before it
        runs: add your own monitors there (time runs over all trials one after the
        other, each preceded by ``D`` silent clamped steps).

    Returns
    -------
    Brian2Simulation

    Examples
    --------
    A chain 0 -> 1 -> 2 with delays 2 and 3, as in :func:`hdsnn.models.simulate`:

    >>> W = torch.zeros(3, 3, 3); W[1, 0, 1] = 1.0; W[2, 1, 2] = 1.0
    >>> x = torch.zeros(1, 3, 10, dtype=torch.bool); x[0, 0, 0] = True
    >>> sim = simulate_brian2(W, x, net=NetworkConfig(N=3, D=3))
    >>> torch.nonzero(sim.raster[0]).tolist()
    [[0, 0], [1, 2], [2, 5]]

    Your own monitor on the built network:

    >>> import brian2
    >>> def watch(network):
    ...     network.add(brian2.StateMonitor(network["neurons"], "u", record=[2], name="watch"))
    >>> sim = simulate_brian2(W, x, net=NetworkConfig(N=3, D=3), on_build=watch)
    >>> sim.network["watch"].u.shape
    (1, 13)
    """
    target = check_target(target)
    net = net if net is not None else NetworkConfig()
    if not isinstance(net, NetworkConfig):
        raise ValueError(f"net must be a NetworkConfig; got {type(net).__name__}")
    inputs = check_raster("inputs", inputs)
    B, N, L = inputs.shape
    if clamp is None:
        clamp = torch.zeros((B, L), dtype=torch.bool)
    if not isinstance(clamp, torch.Tensor) or tuple(clamp.shape) != (B, L):
        raise ValueError(f"clamp must be a bool tensor of shape (B={B}, L={L}); "
                         f"got {tuple(getattr(clamp, 'shape', ())) or type(clamp).__name__}")
    if isinstance(W, SynapseList):
        syn = W
        check_memory(len(syn), budget_bytes, N=syn.N)
    else:
        syn = export_synapses(W, threshold=threshold, top_k=top_k, keep_fraction=keep_fraction,
                              mask=mask, budget_bytes=budget_bytes)
    if syn.N != N:
        raise ValueError(f"the weights are for N={syn.N} neurons but inputs have N={N}")
    forced, clamped, span = _schedule(inputs, clamp.to(torch.bool), gap=syn.D)
    with brian2_context(target, build_dir=build_dir) as b2:
        start = time.perf_counter()
        ms = b2.ms
        clock = b2.Clock(dt=1 * ms, name="steps")
        trial_inputs = b2.TimedArray(forced, dt=1 * ms)
        trial_clamp = b2.TimedArray(clamped, dt=1 * ms)
        namespace = {"trial_inputs": trial_inputs, "trial_clamp": trial_clamp}
        group = b2.NeuronGroup(N, EQUATIONS["model"], threshold=EQUATIONS["threshold"],
                               reset=EQUATIONS["reset"][net.reset], clock=clock, namespace=namespace,
                               dtype={"u": np.float32, "I": np.float32, "beta": np.float32,
                                      "theta": np.float32}, name="neurons")
        group.beta, group.theta = net.beta, net.theta
        group.run_regularly(EQUATIONS["step"], when="before_thresholds", name="membrane_step")
        synapses = b2.Synapses(group, group, "w : 1", on_pre=EQUATIONS["on_pre"], clock=clock,
                               dtype={"w": np.float32}, name="recurrent")
        synapses.connect(i=syn.pre.astype(np.int32), j=syn.post.astype(np.int32))
        synapses.w = syn.weight
        synapses.delay = (syn.delay_steps - 1).astype(np.float64) * ms
        spikes = b2.SpikeMonitor(group, name="spikes")
        objects = [group, synapses, spikes]
        if record_membrane:
            state = b2.StateMonitor(group, "u", record=True, when="thresholds", order=-1, name="membrane")
            objects.append(state)
        network = b2.Network(*objects)
        if on_build is not None:
            on_build(network)
        build = time.perf_counter() - start
        start = time.perf_counter()
        network.run(B * span * ms, namespace=namespace)
        run = time.perf_counter() - start
        steps = np.rint(np.asarray(spikes.t / ms)).astype(np.int64)
        neurons = np.asarray(spikes.i).astype(np.int64)
        u = np.asarray(state.u, dtype=np.float32) if record_membrane else None
    raster = np.zeros((B, N, L), dtype=bool)
    trial, step = np.divmod(steps, span)
    inside = step >= syn.D
    raster[trial[inside], neurons[inside], step[inside] - syn.D] = True
    membrane = None
    if u is not None:
        membrane = torch.from_numpy(u.reshape(N, B, span)[:, :, syn.D:].transpose(1, 0, 2).copy())
    return Brian2Simulation(torch.from_numpy(raster), membrane, len(syn), target, build, run, network)
