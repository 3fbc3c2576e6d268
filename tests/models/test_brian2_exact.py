"""The discrete-equivalent Brian2 network against the torch simulator, spike for spike."""
import pytest
import torch

from conftest import dyadic_weights
from hdsnn.config import NetworkConfig, TrialConfig
from hdsnn.learning import hebbian_init
from hdsnn.models import bernoulli_patterns, lif_step, make_trials, simulate
from hdsnn.models.brian2 import EQUATIONS, simulate_brian2

pytestmark = pytest.mark.brian2

N, D, T, M = 40, 6, 80, 3


def reference_membrane(W, inputs, clamp, net):
    """The contract step by step with lif_step: membrane after each step (0 on clamped steps)."""
    B, n, L = inputs.shape
    u = torch.zeros(B, n)
    s = torch.zeros(B, n, dtype=torch.bool)
    history = torch.zeros(B, L, n, dtype=torch.bool)
    out = torch.zeros(B, n, L)
    for t in range(L):
        current = torch.zeros(B, n)
        for d in range(1, W.shape[2] + 1):
            if t - d >= 0:
                current += history[:, t - d].float() @ W[:, :, d - 1].T
        u, s_new = lif_step(u, s, current, net.beta, net.theta, net.reset)
        c = clamp[:, t, None]
        u = torch.where(c, torch.zeros_like(u), u)
        s = torch.where(c, inputs[:, :, t], s_new | inputs[:, :, t])
        history[:, t] = s
        out[:, :, t] = u
    return out


def busy_network(reset, seed=1):
    """Dyadic weights (sums exact in float32) that keep the network active after the trigger."""
    W = dyadic_weights(N, D, density=0.3, seed=seed) * 1.5
    P = bernoulli_patterns(M, N, T, 0.05, seed=seed + 1)
    trials = make_trials(P, D, TrialConfig(pretime=5, posttime=7, cue="clamp"))
    return W, trials, NetworkConfig(N=N, D=D, reset=reset)


@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_numpy_target_is_identical_to_torch(reset):
    W, tr, net = busy_network(reset)
    ref = simulate(W, tr.inputs, tr.clamp, net, max_rate=None).raster
    free = ref & ~tr.inputs
    assert int(free.sum()) > 500                # the network does most of the spiking itself
    sim = simulate_brian2(W, tr.inputs, tr.clamp, net, target="numpy", record_membrane=True)
    assert torch.equal(sim.raster, ref)
    assert torch.equal(sim.membrane, reference_membrane(W, tr.inputs, tr.clamp, net))   # bitwise


@pytest.mark.brian2
@pytest.mark.compiled
def test_cython_target_is_identical_to_torch():
    W, tr, net = busy_network("subtract", seed=3)
    ref = simulate(W, tr.inputs, tr.clamp, net, max_rate=None).raster
    # (the membrane is compared bitwise on numpy and cpp_standalone; one monitor less to compile here)
    sim = simulate_brian2(W, tr.inputs, tr.clamp, net, target="cython")
    assert torch.equal(sim.raster, ref) and sim.target == "cython"


@pytest.mark.brian2
@pytest.mark.compiled
def test_cpp_standalone_target_is_identical_to_torch(tmp_path):
    W, tr, net = busy_network("zero", seed=5)
    ref = simulate(W, tr.inputs, tr.clamp, net, max_rate=None).raster
    sim = simulate_brian2(W, tr.inputs, tr.clamp, net, target="cpp_standalone",
                          record_membrane=True, build_dir=str(tmp_path / "build"))
    assert torch.equal(sim.raster, ref)
    assert torch.equal(sim.membrane, reference_membrane(W, tr.inputs, tr.clamp, net))
    assert (tmp_path / "build" / "main").exists()


def test_or_cue_and_spontaneous_inputs_are_identical():
    W, _, net = busy_network("zero", seed=7)
    P = bernoulli_patterns(2, N, T, 0.05, seed=9)
    tr = make_trials(P, D, TrialConfig(pretime=4, posttime=6, cue="or", p_flip=0.2, seed=2))
    ref = simulate(W * 0.5, tr.inputs, tr.clamp, net, max_rate=None).raster
    assert torch.equal(simulate_brian2(W * 0.5, tr.inputs, tr.clamp, net).raster, ref)


def test_hebbian_weights_recall_identically(small_patterns):
    P = small_patterns[:2, :, :200]
    W = hebbian_init(P, D=11)
    tr = make_trials(P, 11)
    net = NetworkConfig(N=P.shape[1], D=11)
    ref = simulate(W, tr.inputs, tr.clamp, net, max_rate=None).raster
    sim = simulate_brian2(W, tr.inputs, tr.clamp, net)
    assert int((ref & ~tr.inputs).sum()) > 100
    assert torch.equal(sim.raster, ref)
    assert sim.n_synapses == int((W != 0).sum())


def test_equations_are_readable_strings():
    assert EQUATIONS["threshold"] == "u >= theta or forced == 1"
    assert "beta * u + I" in EQUATIONS["step"]
    assert EQUATIONS["reset"]["subtract"] == "u = u - theta"


def test_bad_target_and_shapes_are_refused():
    W, tr, net = busy_network("zero")
    with pytest.raises(ValueError, match="target"):
        simulate_brian2(W, tr.inputs, tr.clamp, net, target="gpu")
    with pytest.raises(ValueError, match="clamp"):
        simulate_brian2(W, tr.inputs, tr.clamp[:, :-1], net)
    with pytest.raises(ValueError, match="N=40"):
        simulate_brian2(W[:30, :30], tr.inputs, tr.clamp, net)
