"""The lean adjoint backward of delay_lif against plain autograd, and its forward against simulate."""
import pytest
import torch

from hdsnn.config import NetworkConfig
from hdsnn.learning import hebbian_init
from hdsnn.learning.delay_lif import delay_lif, delay_lif_dense
from hdsnn.learning.surrogate import Surrogate
from hdsnn.models import make_trials, simulate

from conftest import dyadic_weights


def _trial(B, N, L, D, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(B, N, L, generator=g) < 0.06
    clamp = torch.zeros(B, L, dtype=torch.bool)
    clamp[:, :D] = True                       # trigger window, then free run ...
    clamp[1, D + 4: D + 7] = True             # ... one trial clamped again for a few steps
    x[:, :, D + 10:] &= torch.rand(B, N, L - D - 10, generator=g) < 0.2   # sparse OR-ed input later on
    return x, clamp, g


@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize("dropout", [0.0, 0.37])
@pytest.mark.parametrize("surrogate", [Surrogate(), Surrogate("arctan", 10.0)])
@pytest.mark.parametrize("block", [1, 8, 9])
def test_adjoint_gradient_equals_autograd(reset, dropout, surrogate, block):
    B, N, D, L = 3, 24, 6, 70
    x, clamp, g = _trial(B, N, L, D, seed=2)
    W = torch.randn(N, N, D, generator=g, dtype=torch.float64) * 0.3
    keep = torch.rand(B, N, L, generator=g) >= dropout if dropout else None
    net = NetworkConfig(N=N, D=D, beta=0.7, theta=1.0, reset=reset)
    weight = torch.rand(B, N, L, generator=g, dtype=torch.float64) - 0.3   # a generic dL/ds
    grads, spikes = [], []
    for fn in (delay_lif, delay_lif_dense):
        Wg = W.clone().requires_grad_(True)
        extra = {"block": block} if fn is delay_lif else {}
        s = fn(Wg, x, clamp, net, surrogate, keep=keep, dropout=dropout, **extra)
        (s * weight).sum().backward()
        grads.append(Wg.grad)
        spikes.append(s.detach())
    assert torch.equal(spikes[0], spikes[1])
    free = spikes[0][:, :, D:].bool() & ~x[:, :, D:]
    assert 50 < int(free.sum()) < 0.4 * free.numel(), "the network must fire on its own, sparsely"
    assert grads[1].abs().max() > 1e-3
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-5, atol=1e-10 * float(grads[1].abs().max()))


@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize("sparse", [True, False])
def test_forward_spikes_equal_simulate(reset, sparse):
    N, D, B, L = 40, 7, 3, 200
    W = dyadic_weights(N, D, density=0.25, seed=4)
    x, clamp, _ = _trial(B, N, L, D, seed=5)
    net = NetworkConfig(N=N, D=D, beta=0.75, reset=reset)
    ref = simulate(W, x, clamp, net, max_rate=None, sparse=sparse, progress=False).raster
    s = delay_lif(W.requires_grad_(True), x, clamp, net)
    assert (ref[:, :, D:] & ~x[:, :, D:]).sum() > 100
    assert torch.equal(s.bool(), ref)


def test_forward_equals_simulate_on_hebbian_recall(small_patterns):
    D = 21
    W = hebbian_init(small_patterns, D=D)
    trials = make_trials(small_patterns, D)
    ref = simulate(W, trials.inputs, trials.clamp, NetworkConfig(N=256, D=D), max_rate=None, progress=False)
    s = delay_lif(W, trials.inputs, trials.clamp, NetworkConfig(N=256, D=D))
    assert ref.raster[:, :, D:].sum() > 100
    assert torch.equal(s.bool(), ref.raster)


def test_validation_names_the_parameter():
    x = torch.zeros(2, 4, 10, dtype=torch.bool)
    with pytest.raises(ValueError, match="clamp must be a bool tensor of shape"):
        delay_lif(torch.zeros(4, 4, 3), x, torch.zeros(2, 9, dtype=torch.bool))
    with pytest.raises(ValueError, match="W must have shape"):
        delay_lif(torch.zeros(5, 5, 3), x)
    with pytest.raises(ValueError, match="dropout"):
        delay_lif(torch.zeros(4, 4, 3), x, dropout=1.0)


@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_runaway_guard_as_in_simulate(reset):
    """With the guard, spikes equal simulate's; gradients equal the reference with silenced steps clamped."""
    B, N, D, L = 3, 30, 5, 120
    g = torch.Generator().manual_seed(8)
    W = torch.randn(N, N, D, generator=g, dtype=torch.float64) * 0.25 + 0.06     # excitable: runs away
    x = torch.rand(B, N, L, generator=g) < 0.1
    x[:, :, D:] = False
    x[2] = False                                                                     # one trial stays silent
    clamp = torch.zeros(B, L, dtype=torch.bool)
    clamp[:, :D] = True
    net = NetworkConfig(N=N, D=D, reset=reset)
    ref = simulate(W, x, clamp, net, max_rate=0.1, progress=False)
    assert ref.runaway[:2].all() and not ref.runaway[2]
    Wg = W.clone().requires_grad_(True)
    s = delay_lif(Wg, x, clamp, net, max_rate=0.1)
    assert torch.equal(s.bool(), ref.raster)
    silenced = (torch.arange(L)[None, :] >= ref.stopped_at[:, None]) & ref.runaway[:, None]
    Wd = W.clone().requires_grad_(True)
    sd = delay_lif_dense(Wd, x, clamp | silenced, net)
    assert torch.equal(sd, s.detach())
    weight = torch.rand(B, N, L, generator=g, dtype=torch.float64)
    (s * weight).sum().backward()
    (sd * weight).sum().backward()
    assert Wd.grad.abs().max() > 1e-3
    torch.testing.assert_close(Wg.grad, Wd.grad, rtol=1e-5, atol=1e-10 * float(Wd.grad.abs().max()))


def test_gradient_reaches_weights_held_as_pre_delay_post():
    """The trainer holds P = [pre, delay-1, post] and passes the view W = P.permute(2, 0, 1): no copy,
    and P receives the same gradient, in its own layout, as a plain W of the package's layout."""
    B, N, D, L = 2, 16, 5, 60
    x, clamp, g = _trial(B, N, L, D, seed=5)
    W = torch.randn(N, N, D, generator=g, dtype=torch.float64) * 0.3
    net = NetworkConfig(N=N, D=D)
    weight = torch.rand(B, N, L, generator=g, dtype=torch.float64) - 0.3
    Wg = W.clone().requires_grad_(True)
    (delay_lif(Wg, x, clamp, net) * weight).sum().backward()
    P = W.permute(1, 2, 0).contiguous().requires_grad_(True)
    (delay_lif(P.permute(2, 0, 1), x, clamp, net) * weight).sum().backward()
    assert P.grad.shape == (N, D, N) and P.grad.is_contiguous()
    assert Wg.grad.abs().max() > 1e-3
    torch.testing.assert_close(P.grad.permute(2, 0, 1), Wg.grad, rtol=1e-12, atol=0.0)


@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize("dropout", [0.0, 0.37])
def test_count_loss_gradient_equals_autograd_of_f1(reset, dropout):
    """delay_lif_counts + f1_loss_from_counts (what train uses) against autograd through the dense
    network and f1_loss on the scored steps: same loss, same gradient (float64, rtol 1e-5)."""
    from hdsnn.learning import f1_loss, f1_loss_from_counts
    from hdsnn.learning.delay_lif import delay_lif_counts

    B, N, D, L = 3, 24, 6, 70
    x, clamp, g = _trial(B, N, L, D, seed=4)
    W = torch.randn(N, N, D, generator=g, dtype=torch.float64) * 0.3
    keep = torch.rand(B, N, L, generator=g) >= dropout if dropout else None
    net = NetworkConfig(N=N, D=D, reset=reset)
    scored = torch.zeros(B, L, dtype=torch.bool)
    scored[:, D + 2: L - 3] = True
    target = (torch.rand(B, N, L, generator=g) < 0.15) & scored[:, None, :]
    Wc = W.clone().requires_grad_(True)
    counts = delay_lif_counts(Wc, x, target, scored, clamp, net, keep=keep, dropout=dropout, block=8)
    loss_c = f1_loss_from_counts(counts, target.sum())
    loss_c.backward()
    Wd = W.clone().requires_grad_(True)
    s = delay_lif_dense(Wd, x, clamp, net, keep=keep, dropout=dropout)
    region = scored[:, None, :].expand(B, N, L)
    loss_d = f1_loss(s[region], target[region])
    loss_d.backward()
    assert 0.05 < loss_d.item() < 0.95
    assert loss_c.item() == pytest.approx(loss_d.item(), abs=1e-12)
    assert Wd.grad.abs().max() > 1e-4
    torch.testing.assert_close(Wc.grad, Wd.grad, rtol=1e-5, atol=1e-10 * float(Wd.grad.abs().max()))
