"""Surrogate gradients: a hard threshold forward, a smooth pseudo-derivative backward.

A spike is ``s = H(v)`` with ``v = u - theta`` and ``H`` the Heaviside step
(``H(0) = 1``, as in the simulator: ``s = u >= theta``). Its derivative is zero
almost everywhere; the backward pass replaces it by a bump of width about
``1 / alpha`` and height 1 at the threshold:

================  ==========================================
name              pseudo-derivative ``dH/dv``
================  ==========================================
``fast_sigmoid``  ``1 / (1 + alpha * |v|) ** 2`` (SuperSpike)
``arctan``        ``1 / (1 + (pi / 2 * alpha * v) ** 2)``
``triangle``      ``max(0, 1 - alpha * |v|)``
``ramp``          ``min(max(1 + alpha * v, 0), 1)`` (one-sided; DelayNet's with ``alpha = 1``)
================  ==========================================

All three peak at 1 for ``v = 0``, so that changing the surrogate does not
change the scale of the gradient. The default sharpness is ``alpha = 15`` (the
paper's code); the paper's sweep found 10 best.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from hdsnn.validation import check_choice, check_real

__all__ = ["Surrogate", "SURROGATES", "spike", "fast_sigmoid", "arctan", "triangle", "ramp"]


def fast_sigmoid(v: torch.Tensor, alpha: float = 15.0) -> torch.Tensor:
    """Pseudo-derivative ``1 / (1 + alpha |v|)^2`` (derivative of ``v / (1 + alpha |v|)``).

    Examples
    --------
    >>> fast_sigmoid(torch.tensor([0.0, 0.1]), alpha=10.0).tolist()
    [1.0, 0.25]
    """
    return 1.0 / (1.0 + alpha * v.abs()) ** 2


def arctan(v: torch.Tensor, alpha: float = 15.0) -> torch.Tensor:
    """Pseudo-derivative ``1 / (1 + (pi alpha v / 2)^2)`` (a rescaled arctan step).

    Examples
    --------
    >>> round(arctan(torch.tensor([2 / math.pi]), alpha=1.0).item(), 6)
    0.5
    """
    return 1.0 / (1.0 + (0.5 * math.pi * alpha * v) ** 2)


def triangle(v: torch.Tensor, alpha: float = 15.0) -> torch.Tensor:
    """Pseudo-derivative ``max(0, 1 - alpha |v|)`` (zero beyond ``|v| = 1 / alpha``).

    Examples
    --------
    >>> triangle(torch.tensor([0.0, 0.05, 0.2]), alpha=10.0).tolist()
    [1.0, 0.5, 0.0]
    """
    return torch.clamp(1.0 - alpha * v.abs(), min=0.0)


def ramp(v: torch.Tensor, alpha: float = 15.0) -> torch.Tensor:
    """Pseudo-derivative ``min(max(1 + alpha v, 0), 1)``: 1 above threshold, a ramp of width ``1 / alpha`` below.

    With ``alpha = 1`` and ``v = u - theta`` this is the wide surrogate of
    DelayNet (Balafrej et al.), ``min(max(u - theta + 1, 0), 1)``.

    Examples
    --------
    >>> ramp(torch.tensor([-1.5, -0.25, 0.0, 2.0]), alpha=1.0).tolist()
    [0.0, 0.75, 1.0, 1.0]
    """
    return torch.clamp(1.0 + alpha * v, min=0.0, max=1.0)


SURROGATES = {"fast_sigmoid": fast_sigmoid, "arctan": arctan, "triangle": triangle, "ramp": ramp}


@dataclass(frozen=True)
class Surrogate:
    """Which pseudo-derivative replaces ``dH/dv``, and how sharp it is.

    Parameters
    ----------
    name : {'fast_sigmoid', 'arctan', 'triangle', 'ramp'}
    alpha : float
        Sharpness (> 0): the bump has width about ``1 / alpha`` in units of the membrane potential.

    Examples
    --------
    >>> Surrogate("fast_sigmoid", alpha=10.0).derivative(torch.tensor([0.0])).item()
    1.0
    """

    name: str = "fast_sigmoid"
    alpha: float = 15.0

    def __post_init__(self):
        check_choice("surrogate", self.name, tuple(SURROGATES))
        object.__setattr__(self, "alpha", check_real("alpha", self.alpha, 0.0, open_min=True))

    def derivative(self, v: torch.Tensor) -> torch.Tensor:
        """``dH/dv`` as seen by the backward pass, at ``v = u - theta``."""
        return SURROGATES[self.name](v, self.alpha)


class _Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, v, surrogate):
        ctx.save_for_backward(v)
        ctx.surrogate = surrogate
        return (v >= 0).to(v.dtype)

    @staticmethod
    def backward(ctx, grad):
        (v,) = ctx.saved_tensors
        return grad * ctx.surrogate.derivative(v), None


def spike(v: torch.Tensor, surrogate: Surrogate | None = None) -> torch.Tensor:
    """Spikes ``H(v)`` (1.0 where ``v >= 0``) whose gradient is the surrogate's.

    Parameters
    ----------
    v : float tensor
        Membrane potential minus threshold.
    surrogate : Surrogate, optional
        Default: fast sigmoid with ``alpha = 15``.

    Examples
    --------
    >>> v = torch.tensor([-0.5, 0.0, 0.2], requires_grad=True)
    >>> s = spike(v, Surrogate("triangle", alpha=2.0))
    >>> s.tolist()
    [0.0, 1.0, 1.0]
    >>> s.sum().backward(); v.grad.tolist()
    [0.0, 1.0, 0.6000000238418579]
    """
    return _Spike.apply(v, surrogate if surrogate is not None else Surrogate())
