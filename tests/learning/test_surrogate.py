"""Surrogate gradients: forward is the hard threshold, backward the documented bump."""
import math

import pytest
import torch

from hdsnn.learning.surrogate import Surrogate, arctan, fast_sigmoid, spike, triangle


def _grad_of(primitive, v):
    v = v.clone().requires_grad_(True)
    primitive(v).sum().backward()
    return v.grad


V = torch.linspace(-2.0, 2.0, 401, dtype=torch.float64)


def test_fast_sigmoid_is_derivative_of_its_primitive():
    alpha = 15.0
    expect = _grad_of(lambda v: v / (1 + alpha * v.abs()), V)
    assert torch.allclose(fast_sigmoid(V, alpha), expect, rtol=1e-12, atol=0)


def test_arctan_is_rescaled_derivative_of_arctan():
    alpha = 10.0
    expect = _grad_of(lambda v: torch.atan(0.5 * math.pi * alpha * v) * 2 / (math.pi * alpha), V)
    assert torch.allclose(arctan(V, alpha), expect, rtol=1e-12, atol=0)


def test_triangle_support_and_peak():
    t = triangle(V, alpha=4.0)
    assert triangle(torch.zeros(1), 4.0).item() == 1.0 and t[V.abs() >= 0.25].abs().max() == 0.0
    assert torch.allclose(t[V.abs() < 0.25], 1 - 4.0 * V[V.abs() < 0.25].abs())


@pytest.mark.parametrize("name", ["fast_sigmoid", "arctan", "triangle"])
def test_spike_forward_hard_backward_surrogate(name):
    sur = Surrogate(name, alpha=7.0)
    v = V.clone().requires_grad_(True)
    w = torch.randn(V.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    s = spike(v, sur)
    assert torch.equal(s, (V >= 0).to(V.dtype))
    (s * w).sum().backward()
    assert torch.allclose(v.grad, w * sur.derivative(V), rtol=1e-14, atol=0)


def test_surrogate_validation():
    with pytest.raises(ValueError, match="surrogate must be one of"):
        Surrogate("sigmoid")
    with pytest.raises(ValueError, match="alpha"):
        Surrogate(alpha=0.0)
