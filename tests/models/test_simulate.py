"""The event-driven simulator against the dense reference, and its guard."""
import pytest
import torch

from hdsnn.config import NetworkConfig
from hdsnn.models import lif_step, simulate, simulate_dense

from conftest import dyadic_weights


def _drive(B, N, L, p=0.03, clamp_steps=10, seed=1):
    g = torch.Generator().manual_seed(seed)
    inputs = torch.rand(B, N, L, generator=g) < p
    clamp = torch.zeros(B, L, dtype=torch.bool)
    clamp[:, :clamp_steps] = True
    clamp[1:, clamp_steps:clamp_steps + 5] = True      # trials clamped differently ...
    inputs[:, :, clamp_steps + 2] = False              # ... one of those steps without any input
    return inputs, clamp


@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize("sparse", [True, False])
def test_event_driven_equals_dense_exactly(reset, sparse):
    N, D, B, L = 48, 7, 3, 300
    W = dyadic_weights(N, D, density=0.25, seed=3)
    inputs, clamp = _drive(B, N, L)
    net = NetworkConfig(N=N, D=D, beta=0.75, theta=1.0, reset=reset)
    ev = simulate(W, inputs, clamp, net, max_rate=None, sparse=sparse, progress=False)
    ref = simulate_dense(W, inputs, clamp, net, progress=False)
    free = ev.raster[:, :, 20:] & ~inputs[:, :, 20:]
    assert free.sum() > 200, "the network must be active on its own for the test to mean something"
    assert free.float().mean() < 0.5
    assert torch.equal(ev.raster, ref.raster)


def test_event_driven_equals_dense_float64_random():
    N, D, B, L = 40, 9, 2, 250
    g = torch.Generator().manual_seed(5)
    W = (torch.randn(N, N, D, generator=g, dtype=torch.float64) * 0.35)
    inputs, clamp = _drive(B, N, L, p=0.02, seed=7)
    net = NetworkConfig(N=N, D=D, reset="zero")
    ev = simulate(W, inputs, clamp, net, max_rate=None, progress=False)
    ref = simulate_dense(W, inputs, clamp, net, progress=False)
    assert (ev.raster & ~inputs).sum() > 100
    assert torch.equal(ev.raster, ref.raster)


def test_delays_are_exact_on_a_chain():
    W = torch.zeros(4, 4, 5)
    W[1, 0, 4] = 1.0          # 0 -> 1 after 5 steps
    W[2, 1, 0] = 1.0          # 1 -> 2 after 1 step
    W[3, 2, 2] = 0.6          # sub-threshold alone: 3 never fires
    x = torch.zeros(1, 4, 20, dtype=torch.bool)
    x[0, 0, 0] = True
    sim = simulate(W, x, net=NetworkConfig(N=4, D=5), progress=False)
    assert torch.nonzero(sim.raster[0]).tolist() == [[0, 0], [1, 5], [2, 6]]


def test_coincident_arrivals_sum():
    W = torch.zeros(3, 3, 4)
    W[2, 0, 3] = 0.6          # 0 -> 2 after 4 steps
    W[2, 1, 0] = 0.6          # 1 -> 2 after 1 step
    x = torch.zeros(1, 3, 10, dtype=torch.bool)
    x[0, 0, 0] = True
    x[0, 1, 3] = True         # both arrive at step 4
    sim = simulate(W, x, net=NetworkConfig(N=3, D=4), progress=False)
    assert sim.raster[0, 2].nonzero().flatten().tolist() == [4]
    x[0, 1, 3], x[0, 1, 2] = False, True   # 1 now arrives at 3: leak 0.7*0.6 + 0.6 = 1.02 >= 1 at step 4
    sim = simulate(W, x, net=NetworkConfig(N=3, D=4), progress=False)
    assert sim.raster[0, 2].nonzero().flatten().tolist() == [4]


def test_clamp_forces_spikes_and_holds_membrane():
    W = torch.full((2, 2, 2), 2.0)     # strongly excitatory: would fire every step
    x = torch.zeros(1, 2, 8, dtype=torch.bool)
    clamp = torch.zeros(1, 8, dtype=torch.bool)
    clamp[0, :4] = True                # clamped to silence for 4 steps
    x[0, 0, 1] = True                  # one forced spike at t=1
    sim = simulate(W, x, clamp, NetworkConfig(N=2, D=2), max_rate=None, progress=False)
    assert sim.raster[0, :, :4].nonzero().tolist() == [[0, 1]]
    # the forced spike at t=1 arrives at t=2 and t=3, both clamped: lost; nothing arrives at t=4
    assert not sim.raster[0, :, 4:].any()
    clamp[0, 3] = False                # now t=3 is free: the spike arriving there fires both neurons
    sim = simulate(W, x, clamp, NetworkConfig(N=2, D=2), max_rate=None, progress=False)
    assert sim.raster[0, :, 3:].all()


def test_runaway_guard_stops_and_reports():
    N, D = 64, 5
    W = torch.full((N, N, D), 0.5)
    x = torch.zeros(2, N, 200, dtype=torch.bool)
    x[0, :, 0] = True                  # trial 0 ignites, trial 1 stays silent
    sim = simulate(W, x, net=NetworkConfig(N=N, D=D), max_rate=0.05, progress=False)
    assert sim.runaway.tolist() == [True, False]
    stop = int(sim.stopped_at[0])
    assert 0 < stop < 20
    assert not sim.raster[0, :, stop:].any()       # silent from the step it was stopped
    unguarded = simulate(W, x, net=NetworkConfig(N=N, D=D), max_rate=None, progress=False)
    assert unguarded.raster[0, :, 100:].any() and not unguarded.runaway.any()


def test_lif_step_reset_modes():
    u = torch.tensor([0.5, 1.5])
    s = torch.tensor([False, True])
    cur = torch.tensor([0.2, 0.2])
    uz, _ = lif_step(u, s, cur, 0.5, 1.0, "zero")
    us, _ = lif_step(u, s, cur, 0.5, 1.0, "subtract")
    assert torch.allclose(uz, torch.tensor([0.45, 0.2]))
    assert torch.allclose(us, torch.tensor([0.45, 0.45]))
