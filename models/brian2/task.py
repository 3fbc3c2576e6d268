"""The task network (:mod:`hdsnn.models.task_network`) replayed in Brian2, spike for spike.

The network of :func:`hdsnn.models.task_network.run_task_network` at
``dt = 1 ms``, written as Brian2 objects: a recurrent ``NeuronGroup`` of ``N``
neurons, a ``SpikeGeneratorGroup`` of ``n_in`` input channels, a readout
``NeuronGroup`` of ``K`` units, and three ``Synapses``: one Brian2 synapse per
nonzero input weight, per kept ``(post, pre, delay)`` entry of the recurrent
mask and per nonzero readout weight. The equations, as Brian2 reads them
(:data:`EQUATIONS`)::

    recurrent group
    u : 1                  # membrane potential
    I_in : 1               # input arriving at this step from the input channels (a buffer)
    I_rec : 1              # input arriving at this step from the recurrent synapses (a buffer)
    alpha : 1 (constant)   # leak per step, exp(-dt / tau_i)
    theta : 1 (constant)   # threshold
    b : 1 (constant)       # bias
    clamped = trial_clamp(t) : 1 (constant over dt)    # 1 on the silent steps between trials

    every step, before thresholds:  u = (1 - clamped) * (alpha * u + (I_in + b) + I_rec);  I_in = 0;  I_rec = 0
    threshold:                      clamped == 0 and u >= theta
    reset:                          u = u - theta              (subtract reset)
    input synapse, on a spike:      I_in_post += w,   delay 0
    recurrent synapse, on a spike:  I_rec_post += w,  delay (d - 1) * dt

    readout group
    y : 1                  # readout
    J : 1                  # readout drive of this step (a buffer)
    kappa : 1 (shared, constant)   # leak per step, exp(-dt / tau_out)
    c : 1 (constant)       # readout bias

    readout synapse, on a recurrent spike:  J_post += w,  delay 0
    every step, after synapses:     y = (1 - clamped) * (kappa * y + (J + c));  J = 0

which is, per step ``t`` of a trial, ``u[t] = alpha u[t-1] + W_in x[t] + b +
sum_d W^(d) z[t-d]``, ``z[t] = (u[t] >= theta)``, ``u[t] -= theta z[t]`` and
``y[t] = kappa y[t-1] + W_out z[t] + c``.

Scheduling recipe (the recipe of :mod:`hdsnn.models.brian2.exact`;
``tests/models/test_task_brian2.py`` checks it, and fails on ``delay = d * dt``
or on a readout updated before the synapses):

1. The membrane has no differential equation: one ``run_regularly`` in the
   ``before_thresholds`` slot applies the leak and the inputs of the step and
   empties the buffers; the subtract reset of the previous step has already acted.
2. The synapses stay in Brian2's default ``synapses`` slot, after the
   thresholds: a spike emitted at step ``t`` is added to a buffer at the end of
   step ``t + delay/dt`` and acts at step ``t + delay/dt + 1``, so a recurrent
   delay of ``d`` steps is ``delay = (d - 1) * dt``.
3. Inputs are real Brian2 spikes: an input spike of channel ``j`` at step ``t``
   is emitted by the generator at step ``t - 1`` (for ``t = 0`` inside the
   silent gap before the trial), reaches ``I_in`` at the end of that step and so
   acts at step ``t``. Brian2 replays spikes only, so the inputs must be 0/1.
4. The readout is fed with delay 0 in the ``synapses`` slot, and its
   ``run_regularly`` runs in the ``after_synapses`` slot: ``y[t]`` includes
   the spikes ``z[t]`` of the same step; a ``StateMonitor`` reads ``y`` in the
   ``before_resets`` slot.
5. The trials of a batch run one after the other in a single Brian2 run, each
   preceded by ``D + 1`` silent steps (``D`` the largest delay) on which the
   membrane and the readout are held at 0 and no neuron fires: every
   recurrent spike in flight arrives within them, and each trial starts, as in
   torch, from rest with an empty delay line.
6. Everything is float64 (``alpha`` and ``kappa`` are computed by torch, as
   :func:`~hdsnn.models.task_network.run_task_network` does), and ``I_in + b``
   is added before ``I_rec`` as torch adds its input drive before the
   recurrent input, so that the spikes are identical to torch's in float64.
   The readout agrees to rounding (torch sums it as one product with the
   kernel ``kappa^(t - s)``).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from ..task_network import TaskParameters
from .context import brian2_context, check_target

__all__ = ["EQUATIONS", "TaskBrian2Result", "simulate_task_brian2"]

#: The recurrent neuron, the readout and their synapses, as Brian2 strings.
EQUATIONS = {
    "model": """
u : 1                                               # membrane potential
I_in : 1                                            # input from the input channels at this step (a buffer)
I_rec : 1                                           # input from the recurrent synapses at this step (a buffer)
alpha : 1 (constant)                                # leak per step, exp(-dt / tau)
theta : 1 (constant)                                # threshold
b : 1 (constant)                                    # bias
clamped = trial_clamp(t) : 1 (constant over dt)     # 1 on the silent steps between trials
""",
    "step": "u = (1 - clamped) * (alpha * u + (I_in + b) + I_rec)\nI_in = 0\nI_rec = 0",
    "threshold": "clamped == 0 and u >= theta",
    "reset": "u = u - theta",
    "on_pre_input": "I_in_post += w",
    "on_pre_recurrent": "I_rec_post += w",
    "readout": """
y : 1                                               # readout
J : 1                                               # readout drive of this step (a buffer)
kappa : 1 (shared, constant)                        # leak per step, exp(-dt / tau_out)
c : 1 (constant)                                    # readout bias
clamped = trial_clamp(t) : 1 (constant over dt)     # 1 on the silent steps between trials
""",
    "readout_step": "y = (1 - clamped) * (kappa * y + (J + c))\nJ = 0",
    "on_pre_readout": "J_post += w",
}


@dataclass(frozen=True)
class TaskBrian2Result:
    """Result of :func:`simulate_task_brian2`.

    Attributes
    ----------
    spikes : bool tensor ``(B, N, T)``
        Spikes of the recurrent neurons in every trial.
    readout : float64 tensor ``(B, K, stop - start)``
        The readout ``y[t]`` over the window.
    logits : float64 tensor ``(B, K)``
        The readout averaged over the window.
    decisions : int64 tensor ``(B,)``
        ``argmax`` of the logits.
    n_synapses : int
        Recurrent synapses (one per kept ``(post, pre, delay)`` entry of the mask).
    build_seconds, run_seconds : float
        Wall time to build the Brian2 objects, and of ``Network.run`` (code
        generation and compilation included).
    """

    spikes: torch.Tensor
    readout: torch.Tensor
    logits: torch.Tensor
    decisions: torch.Tensor
    n_synapses: int
    build_seconds: float
    run_seconds: float


def _numpy(x: torch.Tensor) -> np.ndarray:
    return x.detach().cpu().to(torch.float64).numpy()


def _per_neuron(name: str, x: torch.Tensor, N: int) -> torch.Tensor:
    """A parameter of shape ``(N,)`` or ``(1,)`` as ``(N,)``."""
    if x.ndim != 1 or x.shape[0] not in (1, N):
        raise ValueError(f"params.{name} must have shape ({N},) or (1,); got {tuple(x.shape)}")
    return x.expand(N)


def _check_parameters(p: TaskParameters) -> tuple[int, int, int, int]:
    """Shapes of the parameters: ``(N, n_in, K, D)``."""
    if getattr(p, "_fields", None) != TaskParameters._fields:    # (a NamedTuple: duck-typed, import-mode safe)
        raise ValueError(f"params must be a TaskParameters; got {type(p).__name__}")
    N, n_in = p.W_in.shape
    K = p.W_out.shape[0]
    D = p.mask.shape[2]
    shapes = {"W_rec": (N, N, D), "mask": (N, N, D), "bias": (N,), "W_out": (K, N), "bias_out": (K,),
              "tau_out": (1,)}
    for name, shape in shapes.items():
        if tuple(getattr(p, name).shape) != shape:
            raise ValueError(f"params.{name} must have shape {shape}; got {tuple(getattr(p, name).shape)}")
    if p.mask.dtype != torch.bool:
        raise ValueError(f"params.mask must be a bool tensor; got {p.mask.dtype}")
    return N, n_in, K, D


def _check_inputs(inputs, n_in: int) -> torch.Tensor:
    if not isinstance(inputs, torch.Tensor) or inputs.ndim != 3:
        raise ValueError(f"inputs must be a tensor (B, n_in, T); got "
                         f"{tuple(getattr(inputs, 'shape', ())) or type(inputs).__name__}")
    if inputs.shape[1] != n_in:
        raise ValueError(f"inputs have {inputs.shape[1]} channels but the network has n_in={n_in}")
    if inputs.shape[0] == 0 or inputs.shape[2] == 0:
        raise ValueError(f"inputs must not be empty; got shape {tuple(inputs.shape)}")
    if inputs.dtype != torch.bool and not bool(((inputs == 0) | (inputs == 1)).all()):
        raise ValueError("inputs must hold only 0 and 1: the Brian2 replay needs spike inputs "
                         "(a SpikeGeneratorGroup replays spikes, not real-valued currents)")
    return inputs != 0


def simulate_task_brian2(params: TaskParameters, inputs: torch.Tensor, *, window: tuple[int, int],
                         target: str = "numpy", dt_ms: float = 1.0) -> TaskBrian2Result:
    """Run the task network on a batch of spike inputs in Brian2.

    Parameters
    ----------
    params : TaskParameters
        The network (from :func:`~hdsnn.models.task_network.init_task_parameters`
        or a trained one); cast to float64.
    inputs : tensor ``(B, n_in, T)``
        Input spikes: 0/1 values (float or bool).
    window : (int, int)
        Steps ``[start, stop)`` averaged for the decision.
    target : {'numpy', 'cython', 'cpp_standalone', 'cuda_standalone'}
    dt_ms : float
        Time step (ms); the leaks are ``exp(-dt / tau)``.

    Returns
    -------
    TaskBrian2Result

    Raises
    ------
    ValueError
        For inputs that are not 0/1, shapes that do not fit, or a bad window or target.

    Examples
    --------
    The same spikes and decisions as :func:`~hdsnn.models.task_network.run_task_network`:

    >>> from hdsnn.models.task_network import TaskNetworkConfig, init_task_parameters, run_task_network
    >>> cfg = TaskNetworkConfig(n_in=3, n_rec=8, n_out=2, delays="lattice", mid_delay=2, long_delay=3)
    >>> p = init_task_parameters(cfg, seed=0, dtype=torch.float64)
    >>> x = (torch.rand(2, 3, 25, generator=torch.Generator().manual_seed(0)) < 0.3).double()
    >>> out = simulate_task_brian2(p, x, window=(15, 25))
    >>> ref = run_task_network(p, x, window=(15, 25))
    >>> torch.equal(out.spikes, ref.spikes.bool()), torch.equal(out.decisions, ref.logits.argmax(1))
    (True, True)
    >>> tuple(out.readout.shape), out.n_synapses == int(p.mask.sum())
    ((2, 2, 10), True)
    """
    target = check_target(target)
    if not (isinstance(dt_ms, (int, float)) and not isinstance(dt_ms, bool) and dt_ms > 0):
        raise ValueError(f"dt_ms must be a positive number; got {dt_ms!r}")
    N, n_in, K, D = _check_parameters(params)
    spikes_in = _check_inputs(inputs, n_in)
    B, _, T = spikes_in.shape
    start, stop = window
    if not 0 <= start < stop <= T:
        raise ValueError(f"window must satisfy 0 <= start < stop <= T={T}; got {window}")
    p = TaskParameters(*[t.detach().cpu().double() if t.is_floating_point() else t.detach().cpu() for t in params])
    alpha = _numpy(_per_neuron("tau", torch.exp(-dt_ms / p.tau), N))
    theta = _numpy(_per_neuron("theta", p.theta, N))
    kappa = float(torch.exp(-dt_ms / p.tau_out)[0])

    # the schedule: every trial preceded by gap clamped silent steps
    gap = D + 1
    span = gap + T
    clamped = np.ones((B, span), dtype=np.float64)
    clamped[:, gap:] = 0.0
    trial, channel, step = (np.asarray(a, dtype=np.int64) for a in torch.nonzero(spikes_in, as_tuple=True))
    emit = trial * span + gap + step - 1                     # one step early: acts at its own step
    post_in, pre_in = np.nonzero(_numpy(p.W_in))
    post, pre, delay = (np.asarray(a, dtype=np.int64) for a in torch.nonzero(p.mask, as_tuple=True))
    w_rec = _numpy(p.W_rec[p.mask])
    k_out, n_out = np.nonzero(_numpy(p.W_out))
    f64 = np.float64
    with brian2_context(target) as b2:
        begin = time.perf_counter()
        ms = b2.ms
        clock = b2.Clock(dt=dt_ms * ms, name="task_steps")
        namespace = {"trial_clamp": b2.TimedArray(clamped.reshape(-1), dt=dt_ms * ms)}
        group = b2.NeuronGroup(N, EQUATIONS["model"], threshold=EQUATIONS["threshold"], reset=EQUATIONS["reset"],
                               clock=clock, namespace=namespace, name="neurons",
                               dtype={"u": f64, "I_in": f64, "I_rec": f64, "alpha": f64, "theta": f64, "b": f64})
        group.alpha, group.theta, group.b = alpha, theta, _numpy(p.bias)
        group.run_regularly(EQUATIONS["step"], when="before_thresholds", name="membrane_step")
        source = b2.SpikeGeneratorGroup(n_in, channel.astype(np.int32), emit.astype(f64) * dt_ms * ms,
                                        clock=clock, name="inputs")
        objects = [group, source]

        def connect(source_group, target_group, pre_index, post_index, weights, on_pre, name):
            if len(pre_index):
                syn = b2.Synapses(source_group, target_group, "w : 1", on_pre=on_pre, clock=clock,
                                  dtype={"w": f64}, name=name)
                syn.connect(i=pre_index.astype(np.int32), j=post_index.astype(np.int32))
                syn.w = weights
                objects.append(syn)
                return syn
            return None

        connect(source, group, pre_in, post_in, _numpy(p.W_in)[post_in, pre_in], EQUATIONS["on_pre_input"],
                "input_synapses")
        recurrent = connect(group, group, pre, post, w_rec, EQUATIONS["on_pre_recurrent"], "recurrent")
        if recurrent is not None:
            recurrent.delay = delay.astype(f64) * dt_ms * ms   # delay index d - 1: (d - 1) * dt
        readout = b2.NeuronGroup(K, EQUATIONS["readout"], clock=clock, namespace=namespace, name="readout",
                                 dtype={"y": f64, "J": f64, "kappa": f64, "c": f64})
        readout.kappa, readout.c = kappa, _numpy(p.bias_out)
        readout.run_regularly(EQUATIONS["readout_step"], when="after_synapses", name="readout_step")
        objects.append(readout)
        connect(group, readout, n_out, k_out, _numpy(p.W_out)[k_out, n_out], EQUATIONS["on_pre_readout"],
                "readout_synapses")
        spikes = b2.SpikeMonitor(group, name="spikes")
        trace = b2.StateMonitor(readout, "y", record=True, when="before_resets", name="readout_trace")
        network = b2.Network(*objects, spikes, trace)
        build = time.perf_counter() - begin
        begin = time.perf_counter()
        network.run(B * span * dt_ms * ms, namespace=namespace)
        run = time.perf_counter() - begin
        steps = np.rint(np.asarray(spikes.t / ms) / dt_ms).astype(np.int64)
        neurons = np.asarray(spikes.i).astype(np.int64)
        y = np.asarray(trace.y, dtype=f64)                    # (K, B * span)
    raster = np.zeros((B, N, T), dtype=bool)
    trial, step = np.divmod(steps, span)
    inside = step >= gap                                      # (the clamped steps are silent anyway)
    raster[trial[inside], neurons[inside], step[inside] - gap] = True
    window_y = y.reshape(K, B, span)[:, :, gap + start:gap + stop].transpose(1, 0, 2)
    trace_y = torch.from_numpy(np.ascontiguousarray(window_y))
    logits = trace_y.mean(dim=2)
    return TaskBrian2Result(torch.from_numpy(raster), trace_y, logits, logits.argmax(dim=1), len(post), build, run)
