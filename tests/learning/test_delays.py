"""Learned real-valued synaptic delays: the kernel's gradient, the two-neuron example, storage, bad input."""
import numpy as np
import pytest
import torch

from hdsnn.config import NetworkConfig
from hdsnn.learning import learn
from hdsnn.learning.delay_lif import delay_lif_counts, delay_lif_dense
from hdsnn.learning.delays import DelayConfig, learn_delays, rounded_weights, spread_synapses, tap_kernel
from hdsnn.learning.surrogate import Surrogate
from hdsnn.models import SynapseList, bernoulli_patterns, make_trials, random_mask, recall, simulate


def _soft_network(W, x, clamp, beta, theta, alpha):
    """The smoothed forward the gradient is defined for: spikes ``s = phi(u - theta)`` with
    ``phi(v) = v / (1 + alpha |v|)``, whose derivative is the fast-sigmoid surrogate; nothing detached."""
    B, N, L = x.shape
    D = W.shape[2]
    u = torch.zeros(B, N, dtype=W.dtype)
    s = torch.zeros(B, N, dtype=W.dtype)
    history = [torch.zeros(B, N, dtype=W.dtype)] * D
    out = []
    for t in range(L):
        context = torch.stack(history[::-1], dim=2)                   # [b, pre, k-1] = s_pre(t - k)
        current = torch.einsum("bik,jik->bj", context, W)
        u = beta * u * (1 - s) + current
        v = u - theta
        soft = v / (1 + alpha * v.abs())
        c = clamp[:, t, None]
        s = torch.where(c, x[:, :, t].to(W.dtype), soft)
        u = torch.where(c, torch.zeros_like(u), u)
        out.append(s)
        history = history[1:] + [s]
    return torch.stack(out, dim=2)


def _small_synapses(seed=0):
    g = torch.Generator().manual_seed(seed)
    N, D, S = 4, 6, 9
    post = torch.randint(0, N, (S,), generator=g)
    pre = torch.randint(0, N, (S,), generator=g)
    weight = (torch.rand(S, generator=g, dtype=torch.float64) - 0.3) * 1.5
    delay = 1.3 + torch.rand(S, generator=g, dtype=torch.float64) * 3.4
    return N, D, post, pre, weight, delay, g


@pytest.mark.parametrize("sigma", [0.0, 0.6, 2.3])
def test_delay_and_weight_gradients_match_finite_differences(sigma):
    """dL/dd and dL/dw through the kernel's custom backward, in the smoothed network, at float64."""
    N, D, post, pre, weight, delay, g = _small_synapses()
    B, L = 2, 24
    x = torch.rand(B, N, L, generator=g) < 0.3
    clamp = torch.zeros(B, L, dtype=torch.bool)
    clamp[:, :D] = True
    coef = torch.rand(B, N, L, generator=g, dtype=torch.float64) - 0.4

    def loss(w, d):
        W = spread_synapses(w, d, post, pre, N, D, sigma)
        return (_soft_network(W, x, clamp, 0.7, 0.5, 3.0) * coef).sum()

    w = weight.clone().requires_grad_(True)
    d = delay.clone().requires_grad_(True)
    loss(w, d).backward()
    h = 1e-6
    fd_w = torch.stack([(loss(weight + h * e, delay) - loss(weight - h * e, delay)) / (2 * h)
                        for e in torch.eye(len(weight), dtype=torch.float64)])
    fd_d = torch.stack([(loss(weight, delay + h * e) - loss(weight, delay - h * e)) / (2 * h)
                        for e in torch.eye(len(delay), dtype=torch.float64)])
    assert fd_d.abs().max() > 1e-2 and fd_w.abs().max() > 1e-2      # the gradients are not trivially zero
    torch.testing.assert_close(d.grad, fd_d, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(w.grad, fd_w, rtol=1e-5, atol=1e-7)


def test_kernel_sums_to_one_inside_and_interpolates_at_sigma_zero():
    d = torch.tensor([3.0, 3.25, 4.5], dtype=torch.float64)
    taps, kappa, slope = tap_kernel(d, 0.0, 9)
    centre = (kappa * taps).sum(1)                                 # two-tap interpolation: the mean tap is d
    torch.testing.assert_close(centre, d)
    for sigma in (1.0, 2.0):                                       # integer half-widths: the triangle has area 1
        _, kappa, _ = tap_kernel(d, sigma, 9)
        torch.testing.assert_close(kappa.sum(1), torch.ones(3, dtype=torch.float64))


def test_training_gradient_equals_autograd_of_the_dense_network():
    """The learner's path (spread, then the lean adjoint of delay_lif_counts) against plain autograd
    through the dense reference network, with the trainer's surrogate convention (reset detached)."""
    g = torch.Generator().manual_seed(3)
    N, D, B, L = 12, 6, 2, 60
    syn, delay = _random_list(N, D, g)
    x = torch.rand(B, N, L, generator=g) < 0.15
    clamp = torch.zeros(B, L, dtype=torch.bool)
    clamp[:, :D] = True
    target = (torch.rand(B, N, L, generator=g) < 0.1) & ~clamp[:, None, :]
    scored = ~clamp
    net = NetworkConfig(N=N, D=D, theta=0.6)
    sur = Surrogate("fast_sigmoid", 5.0)
    grads = []
    for lean in (True, False):
        w = torch.from_numpy(syn.weight).double().requires_grad_(True)
        d = delay.clone().requires_grad_(True)
        W = spread_synapses(w, d, syn.post, syn.pre, N, D, 0.7)
        if lean:
            counts = delay_lif_counts(W, x, target, scored, clamp, net, sur)
        else:
            s = delay_lif_dense(W, x, clamp, net, sur)
            counts = torch.stack([(s * target).sum((1, 2)), (s * scored[:, None, :]).sum((1, 2))], 1)
        (1 - 2 * counts[:, 0].sum() / (counts[:, 1].sum() + target.sum())).backward()
        grads.append((w.grad, d.grad))
    assert grads[1][1].abs().max() > 1e-4
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-10)


def _random_list(N, D, g, k=2):
    post = torch.arange(N).repeat_interleave(N * k)
    pre = torch.arange(N).repeat(N).repeat_interleave(k)
    keep = torch.rand(post.numel(), generator=g) < 0.5
    post, pre = post[keep], pre[keep]
    weight = (torch.randn(post.numel(), generator=g) * 0.4).float().numpy()
    delay = 1 + torch.rand(post.numel(), generator=g, dtype=torch.float64) * (D - 1)
    syn = SynapseList(post.numpy().astype(np.int32), pre.numpy().astype(np.int32),
                      np.clip(np.rint(delay.numpy()), 1, D).astype(np.int32), weight, N, D)
    return syn, delay


def _pair(delay, D=5):
    """Neurons 0 and 1 coupled both ways by one synapse each (weight above threshold), both with ``delay``."""
    steps = int(round(delay))
    return SynapseList(np.array([1, 0], np.int32), np.array([0, 1], np.int32), np.array([steps, steps], np.int32),
                       np.array([1.5, 1.5], np.float32), N=2, D=D, delay_ms=np.array([delay, delay], float))


def _run(synapses, targets, net):
    trials = make_trials(targets, net.D)
    return trials.extract(simulate(rounded_weights(synapses), trials.inputs, trials.clamp, net,
                                   max_rate=None).raster)


def test_two_neurons_learn_the_delay_of_the_rhythm():
    """DelRec's Figure 1 in the discrete contract. The cue (first D = 5 steps, clamped) holds spikes of
    neuron 0 at step 0 and neuron 1 at step 3. With both recurrent delays at 1 step, every spike of the
    cue reaches its partner while the cue still holds the membrane, and the pair falls silent after it;
    with 3 steps, the last cue spike is still in flight and the pair sustains a rhythm of period 6
    (0, 1, 0, 1 every 3 steps). Starting from delay 1, learning the delays alone (weights fixed) finds
    3, and the rounded delays give the target raster exactly."""
    D, T = 5, 40
    net = NetworkConfig(N=2, D=D, beta=0.7, theta=1.0)
    target = torch.zeros(1, 2, T, dtype=torch.bool)
    target[0, 0, 0::6] = True
    target[0, 1, 3::6] = True
    assert torch.equal(_run(_pair(3.0), target, net), target)           # delay 3: the rhythm, sustained
    silent = _run(_pair(1.0), target, net)
    assert not silent[0, :, D:].any()                                    # delay 1: silent after the cue
    config = DelayConfig(learn="delays", epochs=60, lr_delay=0.2, sigma_init=2.0, sigma_decay=0.7, sigma_steps=8,
                         dropout=0.0, alpha=5.0, warmup=0, lr=1.0, lr_min=0.1, stop_f1=None, delay_max=float(D))
    result = learn_delays(target, _pair(1.0), config, net, progress=False)
    assert result.synapses.delay_steps.tolist() == [3, 3]
    assert np.abs(result.last.delay_ms - 3.0).max() < 0.5                # and it stays there
    assert result.best_f1 == 1.0
    assert torch.equal(_run(result.synapses, target, net), target)
    assert np.allclose(result.initial.delay_ms, 1.0)


def test_synapse_list_of_the_result_and_the_front_door():
    P = bernoulli_patterns(M=1, N=12, T=40, p_A=0.05, seed=0)
    learned = learn(P, "delays", D=6, epochs=2, synapses_per_pair=2, p_connect=0.5, dropout=0.0, stop_f1=None,
                    init="hebbian", progress=False)
    syn = learned.synapses
    assert isinstance(syn, SynapseList) and syn.delay_ms is not None
    assert np.array_equal(syn.delay_steps, np.clip(np.round(syn.delay_ms), 1, 6))
    assert torch.equal(learned.W, rounded_weights(syn))
    pairs = set(zip(syn.post.tolist(), syn.pre.tolist()))
    assert len(syn) == 2 * len(pairs) and 0.3 * 144 < len(pairs) < 0.7 * 144      # K=2 synapses per pair, p=0.5
    assert "synapses" not in learned.metadata() and learned.metadata()["n_synapses"] == len(syn)
    assert learned.details["memory"]["tap_tensor_bytes"] == 12 * 6 * 12 * 4


def test_axonal_delays_are_shared_by_the_synapses_of_a_neuron():
    P = bernoulli_patterns(M=1, N=10, T=40, p_A=0.08, seed=2)
    config = DelayConfig(axonal=True, epochs=3, lr_delay=0.5, dropout=0.0, stop_f1=None, init="hebbian",
                         alpha=2.0)
    r = learn_delays(P, config=config, net=NetworkConfig(D=6), progress=False)
    for syn in (r.last, r.initial):
        for i in range(10):
            assert np.unique(syn.delay_ms[syn.pre == i]).size == 1
    assert not np.allclose(r.last.delay_ms, r.initial.delay_ms)            # they moved


def test_weights_only_keeps_the_delays_and_delays_only_keeps_the_weights():
    P = bernoulli_patterns(M=1, N=10, T=40, p_A=0.08, seed=2)
    base = dict(epochs=3, dropout=0.0, stop_f1=None, init="hebbian", alpha=2.0, lr=0.05, lr_delay=0.5)
    net = NetworkConfig(D=6)
    w = learn_delays(P, config=DelayConfig(learn="weights", **base), net=net, progress=False)
    assert np.array_equal(w.last.delay_ms, w.initial.delay_ms) and not np.array_equal(w.last.weight, w.initial.weight)
    d = learn_delays(P, config=DelayConfig(learn="delays", **base), net=net, progress=False)
    assert np.array_equal(d.last.weight, d.initial.weight) and not np.array_equal(d.last.delay_ms, d.initial.delay_ms)
    assert d.last.delay_ms.min() >= 1.0 and d.last.delay_ms.max() <= 6.0


@pytest.mark.parametrize("options, message", [
    ({"synapses_per_pair": 0}, "synapses_per_pair must be >= 1"),
    ({"p_connect": 0.0}, "p_connect must be in (0.0, 1.0]"),
    ({"p_connect": 1.5}, "p_connect must be in (0.0, 1.0]"),
    ({"learn": "all"}, "learn must be one of 'weights', 'delays', 'both'"),
    ({"delay_min": 0.5}, "delay_min must be in [1.0, inf]; got 0.5"),
    ({"delay_max": 12.0}, "delay_max must be in (delay_min=1.0, D=6]"),
    ({"delay_min": 3.0, "delay_max": 2.0}, "delay_max must be > delay_min"),
    ({"delay_min": 6.5}, "delay_min must be in [1, 6.0)"),
])
def test_bad_options_are_refused_naming_the_parameter(options, message):
    P = bernoulli_patterns(M=1, N=8, T=30, p_A=0.05, seed=0)
    with pytest.raises(ValueError) as err:
        learn(P, "delays", D=6, epochs=1, progress=False, **options)
    assert message in str(err.value)


def test_bad_initial_synapses_are_refused():
    P = bernoulli_patterns(M=1, N=8, T=30, p_A=0.05, seed=0)
    net = NetworkConfig(D=6)
    with pytest.raises(ValueError, match="synapses are for N=2"):
        learn_delays(P, _pair(2.0, D=6), DelayConfig(epochs=1), net, progress=False)
    with pytest.raises(ValueError, match="not both"):
        learn_delays(P, _pair(2.0, D=6), DelayConfig(epochs=1), net, mask=torch.ones(8, 8, 6, dtype=torch.bool))
    far = SynapseList(np.array([1], np.int32), np.array([0], np.int32), np.array([5], np.int32),
                      np.array([1.0], np.float32), N=8, D=6, delay_ms=np.array([5.5]))
    with pytest.raises(ValueError, match=r"initial delays must be in \[delay_min, delay_max\] = \[1, 4\]"):
        learn_delays(P, far, DelayConfig(epochs=1, delay_max=4.0), net)
    with pytest.raises(ValueError, match="delay must be in"):
        spread_synapses(torch.ones(1), torch.tensor([7.0]), [0], [0], N=1, D=6, sigma=0.0)


@pytest.mark.slow
def test_storage_learned_delays_reach_f1_one_where_fixed_delays_do_not():
    """Two patterns on 64 neurons with 4 synapses per pair: margin weights on the fixed random delays
    miss spikes; weights and delays learned together (then the margin refit on the learned delays)
    recall both patterns exactly through the discrete simulator, at the same synapse count."""
    M, N, T, p_A, D, K = 1, 64, 100, 0.02, 9, 4
    P = bernoulli_patterns(M=M, N=N, T=T, p_A=p_A, seed=1)
    net = NetworkConfig(N=N, D=D)
    mask = random_mask(N, D, synapses_per_pair=K, seed=0)                 # the same draws as the learner's
    fixed = recall(learn(P, "margin", D=D, mask=mask, progress=False).W, P, net=net).scores.pooled()["f1"]
    options = dict(D=D, synapses_per_pair=K, seed=0, epochs=80, lr=1e-3, lr_min=1e-3, lr_delay=0.1, alpha=5.0,
                   dropout=0.0, clip=None, sigma_init=0.0, progress=False)
    both = learn(P, "delays", learn="both", **options)
    syn = both.synapses
    assert len(syn) == N * N * K and int(mask.sum()) <= len(syn)
    f1 = recall(syn, P, net=net).scores.pooled()["f1"]
    assert f1 == 1.0 == both.details["best_f1"]
    weights_only = learn(P, "delays", learn="weights", **options).details["best_f1"]
    assert fixed < 0.9 and weights_only < 0.9                          # fixed delays: measured 0.862 both
    assert np.mean(syn.delay_steps != both.details["initial_synapses"].delay_steps) > 0.01


@pytest.mark.brian2
@pytest.mark.slow
def test_learned_delays_replay_in_brian2_spike_for_spike():
    """The learned synapse list (real-valued delays, rounded for the discrete network) runs in the
    discrete-equivalent Brian2 network and gives the torch raster spike for spike."""
    P = bernoulli_patterns(M=2, N=24, T=60, p_A=0.05, seed=3)
    learned = learn(P, "delays", D=6, epochs=4, synapses_per_pair=2, dropout=0.0, stop_f1=None, init="hebbian",
                    lr_delay=0.5, seed=1, progress=False)
    syn = learned.synapses
    assert not np.allclose(syn.delay_ms, np.round(syn.delay_ms))          # real-valued delays were learned
    net = NetworkConfig(N=24, D=6)
    torch_run = recall(syn, P, net=net, simulator="torch")
    brian2_run = recall(syn, P, net=net, simulator="brian2")
    assert int(torch_run.raster.sum()) > 20                               # the network is active
    assert torch.equal(torch_run.raster, brian2_run.raster)
