"""Teacher-forced margin learning: the membrane it constrains, its gradient, its guarantee, its partitions."""
import re

import pytest
import torch

from hdsnn.config import NetworkConfig, TrialConfig
from hdsnn.learning import dense_context, hebbian_init
from hdsnn.learning.margin import (MarginConfig, count_violations, margin_init, margin_loss,
                                   teacher_forced_membrane)
from hdsnn.models import bernoulli_patterns, make_trials, simulate
from hdsnn.models.simulate import lif_step

# a load at which the Hebbian weights recall nothing exactly, and margin learning reaches zero violations
M, N, T, D, P_A = 8, 64, 200, 11, 0.02
FAST = dict(kappa=0.2, epochs=300, lr=0.05)


@pytest.fixture(scope="module")
def patterns():
    return bernoulli_patterns(M, N, T, P_A, seed=3)


def dyadic(N, D, seed, scale=16.0, density=0.3, low=-6, high=10):
    """Weights that are multiples of 1/scale: every sum of them is exact in float32."""
    g = torch.Generator().manual_seed(seed)
    W = torch.randint(low, high, (N, N, D), generator=g).float() / scale
    return W * (torch.rand(N, N, D, generator=g) < density)


def lif_loop(W, cue, D, T, net, forced=None):
    """Hand-written recall: clamp the first D steps to ``cue``, then run (own spikes, or ``forced`` spikes)."""
    Mb, Nn, _ = cue.shape
    s = torch.zeros(Mb, Nn, T, dtype=torch.bool)
    s[:, :, :D] = cue[:, :, :D]
    u_all = torch.zeros(Mb, Nn, T)
    u = torch.zeros(Mb, Nn)
    for t in range(D, T):
        past = (forced if forced is not None else s)[:, :, t - D:t].flip(-1).float()     # [:, i, d-1] = s_i(t-d)
        current = torch.einsum("jid,mid->mj", W, past)
        prev = (forced if forced is not None else s)[:, :, t - 1]
        u, spikes = lif_step(u, prev, current, net.beta, net.theta, net.reset)
        s[:, :, t] = spikes
        u_all[:, :, t] = u
    return u_all, s


@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_membrane_is_the_lif_step_loop_fed_with_the_targets(reset):
    net = NetworkConfig(N=48, D=7, reset=reset)
    targets = bernoulli_patterns(3, 48, 120, 0.05, seed=1)
    W = dyadic(48, 7, seed=2)
    u_ref, _ = lif_loop(W, targets, 7, 120, net, forced=targets)
    assert torch.equal(teacher_forced_membrane(W, targets, 7, net), u_ref)


@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_membrane_is_the_simulators_when_its_spikes_are_the_targets(reset):
    """Closed loop: the raster the network produces, taken as targets, gives back the loop's membrane."""
    net = NetworkConfig(N=48, D=7, reset=reset)
    cue = bernoulli_patterns(3, 48, 120, 0.1, seed=4)
    W = dyadic(48, 7, seed=5, scale=8.0, density=0.1, low=-8, high=8)
    u_loop, raster = lif_loop(W, cue, 7, 120, net)
    free = raster[:, :, 7:]
    assert 0.03 < free[:, :, -20:].float().mean() < 0.2                     # activity that is neither dead nor saturated
    tr = make_trials(raster, 7)
    assert torch.equal(simulate(W, tr.inputs, tr.clamp, net=net, max_rate=None).raster, raster)
    assert torch.equal(teacher_forced_membrane(W, raster, 7, net), u_loop)


def dense_objective(W, targets, D, net, kappa, loss, l2):
    """The objective through the dense unfolded context and autograd (float64)."""
    Mb, Nn, Tt = targets.shape
    ctx = dense_context(targets, D).double()                               # (M, T-D, N D)
    I = ctx @ W.reshape(Nn, -1).T                                          # (M, T-D, N)
    s = targets.double()
    u, us = torch.zeros(Mb, Nn, dtype=torch.float64), []
    for k in range(Tt - D):
        prev = s[:, :, D + k - 1]
        if net.reset == "zero":
            u = net.beta * u * (1 - prev) + I[:, k]
        else:
            u = net.beta * (u - net.theta * prev) + I[:, k]
        us.append(u)
    u = torch.stack(us, dim=2)
    own = targets[:, :, D:]
    v = torch.where(own, net.theta + kappa - u, u - net.theta + kappa).clamp_min(0)
    h = v if loss == "hinge" else v ** 2
    return h.sum() / Mb + 0.5 * l2 * (W ** 2).sum()


@pytest.mark.parametrize("reset", ["zero", "subtract"])
@pytest.mark.parametrize("loss", ["hinge", "squared_hinge"])
@pytest.mark.parametrize("scale", [1.0, 0.3])       # 0.3: sparse violations, adjoints carried far back
def test_gradient_matches_autograd_through_the_dense_formulation(reset, loss, scale):
    net = NetworkConfig(N=12, D=4, reset=reset)
    targets = bernoulli_patterns(2, 12, 150, 0.04, seed=6)      # long silent stretches
    g = torch.Generator().manual_seed(7)
    W = ((torch.rand(12, 12, 4, generator=g, dtype=torch.float64) * 0.9 - 0.2) * scale).requires_grad_(True)
    value = dense_objective(W, targets, 4, net, 0.3, loss, 1e-2)
    value.backward()
    value = value.item()
    mine, grad = margin_loss(W.detach(), targets, 4, net, kappa=0.3, loss=loss, l2=1e-2)
    assert value > 0.5 and int((grad != 0).sum()) > 100        # violated constraints
    assert mine == pytest.approx(value, rel=1e-12)
    assert torch.allclose(grad, W.grad, rtol=1e-10, atol=1e-12)


def pooled_errors(W, targets, net):
    tr = make_trials(targets, D)
    recalled = tr.extract(simulate(W, tr.inputs, tr.clamp, net=net).raster)
    return int((recalled[:, :, D:] ^ targets[:, :, D:]).sum())


@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_zero_violations_guarantee_exact_recall(patterns, reset):
    net = NetworkConfig(N=N, D=D, reset=reset)
    res = margin_init(patterns, D, MarginConfig(**FAST), net=net)
    assert res.violations == 0 and int(res.violations_per_neuron.sum()) == 0
    assert count_violations(res.W, patterns, D, net, kappa=0.2) == 0
    tr = make_trials(patterns, D)
    recalled = tr.extract(simulate(res.W, tr.inputs, tr.clamp, net=net).raster)
    assert torch.equal(recalled, patterns)
    assert res.history[0]["violations"] > 1000 and res.history[-2]["violations"] > 0      # it had work to do
    assert res.history[-1]["violations"] == 0 and len(res.history) == res.epochs_run
    assert res.W.dtype == torch.float32 and res.W.shape == (N, N, D)


STEPS = dict(kappa=0.2, epochs=300, lr=0.3, optimizer="sgd", step_patterns=3)


def test_perceptron_steps_from_zero_guarantee_exact_recall(patterns):
    # minibatch steps (3 patterns, a seeded order) from W = 0: a neuron stops after a clean epoch
    res = margin_init(patterns, D, MarginConfig(**STEPS), W0=torch.zeros(N, N, D))
    assert res.violations == 0 == count_violations(res.W, patterns, D, kappa=0.2)
    tr = make_trials(patterns, D)
    assert torch.equal(tr.extract(simulate(res.W, tr.inputs, tr.clamp).raster), patterns)
    assert res.history[0]["violations"] > 100 and res.history[-1]["violations"] == 0


def test_reported_counts_are_those_of_the_returned_weights(patterns):
    # a neuron is stopped after an epoch without violations only because no step touched it in that epoch;
    # with a strong L2 a step taken anyway would shrink it off its feasible point unseen
    for epochs in (4, 300):
        res = margin_init(patterns, D, MarginConfig(**{**STEPS, "l2": 0.05, "epochs": epochs}),
                          W0=torch.zeros(N, N, D))
        assert torch.equal(res.violations_per_neuron, count_violations(res.W, patterns, D, kappa=0.2, per_neuron=True))
    assert res.violations == 0


@pytest.mark.parametrize("k", [pytest.param(1, marks=pytest.mark.slow), 6])
def test_constraints_for_a_shorter_trigger_guarantee_recall_from_it(patterns, k):
    res = margin_init(patterns, D, MarginConfig(**STEPS, trigger_steps=k), W0=torch.zeros(N, N, D))
    assert res.violations == 0 == count_violations(res.W, patterns, D, kappa=0.2, trigger_steps=k)
    tr = make_trials(patterns, D, TrialConfig(trigger_steps=k))
    assert torch.equal(tr.extract(simulate(res.W, tr.inputs, tr.clamp).raster), patterns)
    # the membrane constrained is the simulator's under teacher forcing from step k
    u = teacher_forced_membrane(res.W, patterns, D, trigger_steps=k)
    assert torch.equal(u[:, :, :k], torch.zeros_like(u[:, :, :k])) and bool((u[:, :, k:] != 0).any())
    # weights written for the full trigger do not carry the early free-run steps
    full = margin_init(patterns, D, MarginConfig(**STEPS), W0=torch.zeros(N, N, D))
    assert count_violations(full.W, patterns, D, kappa=0.2, trigger_steps=k) > 0


def test_trigger_steps_longer_than_the_delays_is_refused(patterns):
    with pytest.raises(ValueError, match=re.escape(f"trigger_steps must be in [1, D={D}]; got {D + 1}")):
        margin_init(patterns, D, MarginConfig(trigger_steps=D + 1))
    with pytest.raises(ValueError, match=re.escape("trigger_steps must be >= 1; got 0")):
        count_violations(torch.zeros(N, N, D), patterns, D, trigger_steps=0)


def test_nonzero_violations_are_reported_and_recall_is_not_exact(patterns):
    net = NetworkConfig(N=N, D=D)
    for epochs in (0, 5):
        res = margin_init(patterns, D, MarginConfig(**{**FAST, "epochs": epochs}), net=net)
        assert res.violations > 0 and len(res.history) == epochs
        assert res.violations == count_violations(res.W, patterns, D, net, kappa=0.2)
        assert torch.equal(res.violations_per_neuron, count_violations(res.W, patterns, D, net, 0.2, per_neuron=True))
        assert pooled_errors(res.W, patterns, net) > 0
    assert torch.equal(margin_init(patterns, D, MarginConfig(epochs=0), net=net).W, hebbian_init(patterns, D=D))


def test_mask_is_respected(patterns):
    mask = torch.rand(N, N, D, generator=torch.Generator().manual_seed(8)) < 0.6
    res = margin_init(patterns, D, MarginConfig(**FAST), mask=mask)
    assert torch.equal(res.W[~mask], torch.zeros(int((~mask).sum())))
    assert int((res.W[mask] != 0).sum()) > 0.3 * int(mask.sum())
    assert res.violations == count_violations(res.W, patterns, D, kappa=0.2)


def test_deterministic(patterns):
    a = margin_init(patterns, D, MarginConfig(**{**FAST, "epochs": 20}))
    b = margin_init(patterns, D, MarginConfig(**{**FAST, "epochs": 20}))
    assert torch.equal(a.W, b.W) and a.history == b.history


PARTITION = {**FAST, "epochs": 30}


@pytest.fixture(scope="module")
def reference(patterns):
    return margin_init(patterns, D, MarginConfig(**PARTITION))


@pytest.mark.parametrize("options", [dict(block_size=24), dict(block_size=20), dict(batch_patterns=3),
                                     pytest.param(dict(block_size=32, batch_patterns=2), marks=pytest.mark.slow)])
def test_blocks_and_minibatches_give_identical_weights(patterns, reference, options):
    res = margin_init(patterns, D, MarginConfig(**PARTITION, **options))
    assert torch.equal(res.W, reference.W)
    assert torch.equal(res.violations_per_neuron, reference.violations_per_neuron)
    assert [h["violations"] for h in res.history] == [h["violations"] for h in reference.history]


@pytest.mark.slow
def test_steps_give_identical_weights_whatever_the_partition(patterns):
    cfg = {**PARTITION, "optimizer": "sgd", "lr": 0.3, "step_patterns": 4}
    ref = margin_init(patterns, D, MarginConfig(**cfg), W0=torch.zeros(N, N, D))
    assert ref.violations > 0 and ref.history[-1]["violations"] < ref.history[0]["violations"]
    for options in (dict(block_size=20), dict(batch_patterns=3), dict(block_size=24, batch_patterns=2)):
        res = margin_init(patterns, D, MarginConfig(**cfg, **options), W0=torch.zeros(N, N, D))
        assert torch.equal(res.W, ref.W) and res.history == ref.history
    other = margin_init(patterns, D, MarginConfig(**cfg, seed=1), W0=torch.zeros(N, N, D))
    assert not torch.equal(other.W, ref.W)                      # the seed orders the steps


@pytest.mark.slow
def test_dask_threads_give_identical_weights(patterns, reference):
    res = margin_init(patterns, D, MarginConfig(**PARTITION, block_size=20), executor="threads:2")
    assert torch.equal(res.W, reference.W)


@pytest.mark.slow
def test_dask_processes_give_identical_weights(patterns, reference):
    from hdsnn.parallel import get_executor

    with get_executor("processes:2") as ex:
        res = margin_init(patterns, D, MarginConfig(**PARTITION, block_size=16), executor=ex)
    assert torch.equal(res.W, reference.W)
    assert torch.equal(res.violations_per_neuron, reference.violations_per_neuron)


def test_negative_kappa_is_refused():
    with pytest.raises(ValueError, match=re.escape("kappa must be in [0.0, inf]; got -0.1")):
        MarginConfig(kappa=-0.1)


def test_mask_of_wrong_shape_is_refused(patterns):
    msg = ("mask must be a bool tensor of shape (N, N, D) = (64, 64, 11) indexed [post, pre, delay-1]; "
           "got torch.bool of shape (64, 64, 10)")
    with pytest.raises(ValueError, match=re.escape(msg)):
        margin_init(patterns, D, mask=torch.ones(N, N, D - 1, dtype=torch.bool))


def test_memory_budget_too_small_for_one_pattern(patterns):
    msg = ("memory_gb=0.001 is too small: a block of 64 postsynaptic neurons with one pattern per minibatch "
           "needs 0.00229 GB (lower block_size or raise memory_gb)")
    with pytest.raises(ValueError, match=re.escape(msg)):
        margin_init(patterns, D, MarginConfig(memory_gb=0.001))


def test_time_budget_stops_and_reports_the_start(patterns):
    res = margin_init(patterns, D, MarginConfig(**FAST, max_seconds=1e-9))
    assert res.history == [] and res.epochs_run == 0
    assert torch.equal(res.W, hebbian_init(patterns, D=D))
    assert res.violations == count_violations(res.W, patterns, D, kappa=0.2) > 0


@pytest.mark.parametrize("method", ["bptt", "stdp", "margin"])
def test_learners_refuse_networks_above_the_memory_budget_before_any_work(method, monkeypatch):
    import hdsnn
    from hdsnn.models import bernoulli_patterns

    monkeypatch.setenv("HDSNN_MEMORY_BUDGET_GB", "0.001")
    P = bernoulli_patterns(1, 200, 60, 0.05, seed=0)
    need = {"bptt": "16.05", "stdp": "19.23", "margin": "12.82"}[method]
    with pytest.raises(ValueError, match=re.escape(
            f"method {method!r}: weights W of N=200 x N=200 x D=21 (torch.float32) and their work arrays would need "
            f"about {need} MiB, above the memory budget of 1.02 MiB (half the available memory, or "
            f"$HDSNN_MEMORY_BUDGET_GB); reduce N or D, or learn on a mask (hdsnn train --p-connect)") + "$"):
        hdsnn.learn(P, method, D=21)
