"""Background noise of the continuous-time neurons, drawn once and fed to Brian2 and to the torch replica.

Both simulators of the neuron models (:func:`hdsnn.models.brian2.simulate_neurons`
and :func:`hdsnn.models.replica.simulate_replica`) read the same pre-drawn
array, so a noisy run is still identical in the two. The noise is an input
``I_noise`` (a voltage, the membrane shift it would cause at steady state),
held for one integration step and entering every membrane as
``dv/dt = ... + I_noise / tau_m``. Its amplitude ``noise_mV`` is the standard
deviation of the membrane fluctuation it causes in the passive membrane
(time constant ``tau_m``):

- white noise (``tau_ms = 0``): independent values of standard deviation
  ``noise_mV * sqrt(2 tau_m / dt)`` per step, which is the Euler-Maruyama
  step of ``dv/dt = ... + noise_mV * sqrt(2 / tau_m) * xi``;
- Ornstein-Uhlenbeck (``tau_ms > 0``): ``x(n+1) = a x(n) + s sqrt(1 - a^2) z(n+1)``
  with ``a = exp(-dt / tau_ms)``, started from its stationary law ``x(0) = s z(0)``,
  of standard deviation ``s = noise_mV * sqrt((tau_ms + tau_m) / tau_ms)``
  (an input of correlation time ``tau_ms`` filtered by the membrane has
  variance ``s^2 tau_ms / (tau_ms + tau_m)``).

Trial ``b`` draws from ``numpy.random.default_rng([seed, b])``: a trial's
noise does not depend on the other trials of the batch.
"""
from __future__ import annotations

import math

import numpy as np

from hdsnn.validation import check_allocation, check_int, check_real

__all__ = ["background_noise"]


def background_noise(B: int, N: int, steps: int, *, noise_mV: float, tau_ms: float = 0.0, dt_ms: float = 0.1,
                     tau_m_ms: float, seed: int = 0) -> np.ndarray:
    """Background input ``I_noise`` of a batch of trials, in mV.

    Parameters
    ----------
    B, N, steps : int
        Trials, neurons and integration steps per trial.
    noise_mV : float
        Standard deviation of the membrane fluctuation (>= 0; 0 gives zeros).
    tau_ms : float
        Correlation time of the Ornstein-Uhlenbeck input (0: white noise).
    dt_ms : float
        Integration step.
    tau_m_ms : float
        Membrane time constant that sets the scale.
    seed : int

    Returns
    -------
    float64 array ``(B, steps, N)``

    Examples
    --------
    >>> x = background_noise(1, 2000, 3, noise_mV=2.0, tau_ms=5.0, dt_ms=0.1, tau_m_ms=2.8)
    >>> x.shape, round(float(x.std() * np.sqrt(5.0 / 7.8)), 1)
    ((1, 3, 2000), 2.0)
    """
    B, N, steps = (check_int(name, v, minimum=1) for name, v in (("B", B), ("N", N), ("steps", steps)))
    noise_mV = check_real("noise_mV", noise_mV, 0.0)
    tau_ms = check_real("tau_ms", tau_ms, 0.0)
    dt_ms = check_real("dt_ms", dt_ms, 0.0, open_min=True)
    tau_m_ms = check_real("tau_m_ms", tau_m_ms, 0.0, open_min=True)
    seed = check_int("seed", seed, minimum=0)
    check_allocation(f"the background noise of B={B} trials x {steps} steps x N={N} neurons (float64)",
                     8 * B * steps * N, hint="use fewer or shorter trials per call")
    out = np.zeros((B, steps, N))
    if noise_mV == 0.0:
        return out
    for b in range(B):
        z = np.random.default_rng([seed, b]).standard_normal((steps, N))
        if tau_ms == 0.0:
            out[b] = noise_mV * math.sqrt(2.0 * tau_m_ms / dt_ms) * z
            continue
        a = math.exp(-dt_ms / tau_ms)
        s = noise_mV * math.sqrt((tau_ms + tau_m_ms) / tau_ms)
        out[b, 0] = s * z[0]
        kick = s * math.sqrt(1.0 - a * a)
        for n in range(1, steps):
            out[b, n] = a * out[b, n - 1] + kick * z[n]
    return out
