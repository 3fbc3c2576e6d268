"""Early, specific input validation shared by every part of the package.

Each checker raises :class:`ValueError` whose message names the parameter, the
allowed values and the value that was given, so that a user can fix the call
without reading the source.
"""
from __future__ import annotations

import math
import os
from numbers import Integral, Real
from typing import Iterable

import numpy as np
import torch

__all__ = [
    "check_device",
    "check_int",
    "check_real",
    "check_probability",
    "check_choice",
    "check_raster",
    "check_weights",
    "check_allocation",
    "memory_budget",
    "format_bytes",
]

#: Environment variable that sets the memory budget of :func:`check_allocation`, in GiB.
BUDGET_ENV = "HDSNN_MEMORY_BUDGET_GB"


def check_int(name: str, value, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int`` after checking type and range.

    Examples
    --------
    >>> check_int("N", 8, minimum=1)
    8
    """
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an integer; got {value!r} ({type(value).__name__})")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}; got {value}")
    return value


def check_real(
    name: str,
    value,
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    open_min: bool = False,
    open_max: bool = False,
) -> float:
    """Return ``value`` as a finite ``float`` after checking its range.

    Examples
    --------
    >>> check_real("beta", 0.7, 0.0, 1.0, open_max=True)
    0.7
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a real number; got {value!r} ({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    lo = "(" if open_min else "["
    hi = ")" if open_max else "]"
    rng = f"{lo}{'-inf' if minimum is None else minimum}, {'inf' if maximum is None else maximum}{hi}"
    if minimum is not None and (value < minimum or (open_min and value == minimum)):
        raise ValueError(f"{name} must be in {rng}; got {value}")
    if maximum is not None and (value > maximum or (open_max and value == maximum)):
        raise ValueError(f"{name} must be in {rng}; got {value}")
    return value


def check_probability(name: str, value, *, open_interval: bool = True) -> float:
    """Check a probability: in (0, 1) by default, in [0, 1] with ``open_interval=False``.

    Examples
    --------
    >>> check_probability("p_A", 1e-3)
    0.001
    """
    return check_real(name, value, 0.0, 1.0, open_min=open_interval, open_max=open_interval)


def check_choice(name: str, value, choices: Iterable[str]) -> str:
    """Check that ``value`` is one of ``choices``.

    Examples
    --------
    >>> check_choice("reset", "zero", ("zero", "subtract"))
    'zero'
    """
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_device(name: str, device) -> "torch.device":
    """Check a torch device: ``'cpu'``, or ``'cuda'`` / ``'cuda:K'`` where CUDA is available.

    Examples
    --------
    >>> check_device("device", "cpu")
    device(type='cpu')
    >>> check_device("device", "foo")
    Traceback (most recent call last):
    ...
    ValueError: device must be 'cpu', 'cuda' or 'cuda:K'; got 'foo'
    """
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"{name} must be 'cpu', 'cuda' or 'cuda:K'; got {device!r}") from None
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"{name} must be 'cpu', 'cuda' or 'cuda:K'; got {device!r}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{name} {device!r} needs a CUDA GPU, and torch finds none here (torch "
                         f"{torch.__version__}); use {name} 'cpu'")
    return dev


def check_raster(name: str, raster, *, ndim: int = 3) -> torch.Tensor:
    """Return a boolean tensor view of a spike raster after checking it.

    A raster holds only 0/1 (or ``False``/``True``) values; its axes are
    ``(pattern, neuron, time)`` for ``ndim=3`` and ``(neuron, time)`` for
    ``ndim=2``.
    """
    if isinstance(raster, np.ndarray):
        raster = torch.from_numpy(raster)
    if not isinstance(raster, torch.Tensor):
        raise ValueError(f"{name} must be a numpy array or torch tensor; got {type(raster).__name__}")
    axes = "(M patterns, N neurons, T steps)" if ndim == 3 else "(N neurons, T steps)"
    if raster.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions {axes}; got shape {tuple(raster.shape)}")
    if any(s == 0 for s in raster.shape):
        raise ValueError(f"{name} must not be empty; got shape {tuple(raster.shape)}")
    if raster.dtype != torch.bool:
        if raster.is_floating_point() and not torch.isfinite(raster).all():
            raise ValueError(f"{name} must hold only 0 and 1; it contains NaN or inf")
        if not ((raster == 0) | (raster == 1)).all():
            raise ValueError(f"{name} must hold only 0 and 1 (spike or no spike); got other values")
        raster = raster != 0
    return raster


def check_raster_pair(targets, recalled) -> tuple[torch.Tensor, torch.Tensor]:
    """Check target rasters and their recall: both ``(M, N, T)`` of the same shape; returns ``(targets, recalled)``.

    Examples
    --------
    >>> t = torch.zeros(2, 3, 10, dtype=torch.bool)
    >>> check_raster_pair(t, t[:1])
    Traceback (most recent call last):
    ...
    ValueError: targets and recalled must have the same shape (M, N, T); got (2, 3, 10) and (1, 3, 10)
    """
    targets = check_raster("targets", targets)
    recalled = check_raster("recalled", recalled)
    if recalled.shape != targets.shape:
        raise ValueError(f"targets and recalled must have the same shape (M, N, T); got "
                         f"{tuple(targets.shape)} and {tuple(recalled.shape)}")
    return targets, recalled


def check_weights(name: str, W, N: int | None = None, D: int | None = None) -> torch.Tensor:
    """Check a weight tensor of shape ``(N, N, D)`` (index ``[post, pre, delay-1]``).

    Returns it as a floating-point tensor (float32 unless it was float64).
    """
    if isinstance(W, np.ndarray):
        W = torch.from_numpy(W)
    if not isinstance(W, torch.Tensor):
        raise ValueError(f"{name} must be a numpy array or torch tensor; got {type(W).__name__}")
    if W.ndim != 3 or W.shape[0] != W.shape[1]:
        raise ValueError(
            f"{name} must have shape (N, N, D) indexed [post, pre, delay-1]; got shape {tuple(W.shape)}"
        )
    if N is not None and W.shape[0] != N:
        raise ValueError(f"{name} is for N={W.shape[0]} neurons but the patterns have N={N}")
    if D is not None and W.shape[2] != D:
        raise ValueError(f"{name} has D={W.shape[2]} delays but D={D} was asked for")
    if W.dtype not in (torch.float32, torch.float64):
        W = W.to(torch.float32)
    # One cheap pass first: a finite sum proves every entry finite.
    if not torch.isfinite(W.sum()) and not torch.isfinite(W).all():
        bad = int((~torch.isfinite(W)).sum())
        raise ValueError(f"{name} must be finite; it holds {bad} NaN or inf entries")
    return W


def format_bytes(n_bytes: float) -> str:
    """Bytes as a short human-readable size.

    Examples
    --------
    >>> format_bytes(3 * 2**30), format_bytes(1536 * 2**10), format_bytes(12)
    ('3.00 GiB', '1.50 MiB', '12 B')
    """
    n_bytes = float(n_bytes)
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n_bytes >= size:
            return f"{n_bytes / size:.2f} {unit}"
    return f"{int(n_bytes)} B"


def memory_budget() -> int:
    """The memory budget in bytes: ``$HDSNN_MEMORY_BUDGET_GB`` GiB if set, else half the available memory.

    The available memory is ``MemAvailable`` of ``/proc/meminfo``; where it
    cannot be read the budget is 4 GiB.

    Examples
    --------
    >>> memory_budget() > 0
    True
    """
    text = os.environ.get(BUDGET_ENV)
    if text is not None:
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"{BUDGET_ENV} must be a number of GiB; got {text!r}") from None
        return int(check_real(BUDGET_ENV, value, 0.0, open_min=True) * 2**30)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024 // 2
    except (OSError, ValueError, IndexError):
        pass
    return 4 * 2**30


def check_allocation(name: str, n_bytes: float, budget_bytes: float | None = None, hint: str = "") -> int:
    """Refuse, before allocating it, memory above the budget (default :func:`memory_budget`).

    Returns the estimate in bytes when it fits.

    Examples
    --------
    >>> check_allocation("patterns (M*N*T)", 2**20, 2**30)
    1048576
    >>> check_allocation("patterns (M*N*T)", 3 * 2**30, 2**30, hint="reduce N")
    Traceback (most recent call last):
    ...
    ValueError: patterns (M*N*T) would need about 3.00 GiB, above the memory budget of 1.00 GiB (half the available memory, or $HDSNN_MEMORY_BUDGET_GB); reduce N
    """
    n_bytes = int(n_bytes)
    budget = memory_budget() if budget_bytes is None else float(budget_bytes)
    if n_bytes <= budget:
        return n_bytes
    raise ValueError(f"{name} would need about {format_bytes(n_bytes)}, above the memory budget of "
                     f"{format_bytes(budget)} (half the available memory, or ${BUDGET_ENV})"
                     + (f"; {hint}" if hint else ""))
