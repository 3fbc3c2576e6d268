"""The task network replayed in Brian2 against the torch network, spike for spike."""
import pytest
import torch

from hdsnn.models.brian2.task import EQUATIONS, simulate_task_brian2
from hdsnn.models.task_network import TaskNetworkConfig, init_task_parameters, readout_trace, run_task_network

pytestmark = pytest.mark.brian2

B, N_IN, T = 3, 8, 60
WINDOW = (40, 60)


def lively_network(delay_side="pre", heterogeneous=False, seed=1):
    """27 neurons with delays 1, 5 and 9 steps, scaled so that the recurrence does much of the spiking.

    The readout bias puts the median trial of each class at 0, so that the decisions are not all equal.
    """
    cfg = TaskNetworkConfig(n_in=N_IN, n_rec=27, n_out=2, delays="lattice", mid_delay=5, long_delay=9,
                            delay_side=delay_side, heterogeneous=heterogeneous, tau_ms=20.0, theta=1.0,
                            input_scale=0.5, rec_scale=1.0)
    p = init_task_parameters(cfg, seed=seed, dtype=torch.float64)
    g = torch.Generator().manual_seed(seed + 10)
    p = p._replace(bias=0.05 * torch.randn(27, generator=g, dtype=torch.float64))
    if heterogeneous:
        p = p._replace(tau=10.0 + 30.0 * torch.rand(27, generator=g, dtype=torch.float64),
                       theta=0.7 + 0.6 * torch.rand(27, generator=g, dtype=torch.float64))
    x = (torch.rand(B, N_IN, T, generator=g) < 0.05).float()
    logits = run_task_network(p, x.double(), window=WINDOW).logits
    gain = readout_trace(p._replace(W_out=torch.zeros_like(p.W_out), bias_out=torch.ones(2, dtype=torch.float64)),
                         torch.zeros(1, 27, T, dtype=torch.float64), *WINDOW).mean(2)[0]
    p = p._replace(bias_out=-logits.median(0).values / gain)
    return p, x


def check_identical(p, x):
    pd = type(p)(*[t.double() if t.is_floating_point() else t for t in p])
    ref = run_task_network(pd, x.double(), window=WINDOW)
    rate_hz = float(ref.spikes.mean()) * 1000.0
    assert 5.0 < rate_hz < 300.0, rate_hz                              # lively, not saturated
    free = run_task_network(pd._replace(W_rec=torch.zeros_like(pd.W_rec)), x.double(), window=WINDOW)
    assert int((free.spikes != ref.spikes).sum()) > 200                # the recurrent synapses matter
    out = simulate_task_brian2(p, x, window=WINDOW, target="numpy")
    assert out.spikes.dtype == torch.bool and tuple(out.spikes.shape) == (B, 27, T)
    assert torch.equal(out.spikes, ref.spikes.bool())
    assert out.readout.dtype == torch.float64 and tuple(out.readout.shape) == (B, 2, WINDOW[1] - WINDOW[0])
    torch.testing.assert_close(out.readout, ref.readout, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(out.logits, ref.logits, rtol=1e-12, atol=1e-12)
    assert torch.equal(out.decisions, ref.logits.argmax(1))
    assert out.n_synapses == int(p.mask.sum())
    return out, ref


def test_shared_constants_presynaptic_delays():
    p, x = lively_network("pre")
    assert p.tau.shape == (1,) and p.theta.shape == (1,)
    out, ref = check_identical(p, x)
    assert len(set(ref.logits.argmax(1).tolist())) == 2                # both classes are decided
    assert out.build_seconds >= 0 and out.run_seconds > 0


def test_heterogeneous_constants():
    p, x = lively_network("pre", heterogeneous=True, seed=2)
    assert p.tau.shape == (27,) and float(p.tau.std()) > 1.0 and float(p.theta.std()) > 0.05
    check_identical(p, x)


def test_postsynaptic_delays():
    p, x = lively_network("post", seed=3)
    check_identical(p, x)


def test_non_binary_inputs_are_refused():
    p, x = lively_network("pre")
    with pytest.raises(ValueError, match="inputs.*spike inputs"):
        simulate_task_brian2(p, x * 0.5, window=WINDOW)
    with pytest.raises(ValueError, match="n_in=8"):
        simulate_task_brian2(p, x[:, :3], window=WINDOW)
    with pytest.raises(ValueError, match="window"):
        simulate_task_brian2(p, x, window=(50, 70))


def test_equations_are_brian2_strings():
    assert "(I_in + b) + I_rec" in EQUATIONS["step"] and EQUATIONS["reset"] == "u = u - theta"
