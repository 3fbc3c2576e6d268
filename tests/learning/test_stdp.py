"""STDP on delayed synapses: Brian2 and torch agree, and the narrow mirrored rule is the analytic one."""
import numpy as np
import pytest
import torch

from hdsnn.config import NetworkConfig
import hdsnn
from hdsnn.learning import STDPConfig, hebbian_init, masked_hebbian_init, stdp_closed_form, stdp_event_loop
from hdsnn.learning.stdp_brian2 import stdp_brian2
from hdsnn.models import bernoulli_patterns, random_mask, simulate, make_trials
from hdsnn.models.brian2 import simulate_brian2

N, D, T, M = 20, 5, 100, 2


@pytest.fixture(scope="module")
def patterns():
    return bernoulli_patterns(M, N, T, 0.05, seed=3)


@pytest.fixture(scope="module")
def mask():
    return random_mask(N, D, p_connect=0.5, synapses_per_pair=2, seed=1)


def pearson(a, b):
    return float(np.corrcoef(a.double().flatten().numpy(), b.double().flatten().numpy())[0, 1])


CONFIGS = {
    "narrow-mirrored": STDPConfig(n_replays=2),
    "wide-exponential": STDPConfig(n_replays=2, tau_plus=3.0, depression="exponential", tau_minus=2.0),
    "narrow-clipped": STDPConfig(n_replays=3, w_min=-0.4, w_max=0.6),
    "wide-clipped": STDPConfig(n_replays=2, tau_plus=4.0, depression="exponential", tau_minus=3.0, a_minus=0.3,
                               w_min=-0.3, w_max=0.5),
    "narrow-multiplicative": STDPConfig(n_replays=3, update="multiplicative", w_min=-0.5, w_max=1.0),
    "wide-multiplicative": STDPConfig(n_replays=3, tau_plus=2.0, depression="exponential", tau_minus=4.0,
                                      update="multiplicative", w_min=-0.5, w_max=1.0),
}


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("masked", [False, True], ids=["dense", "mask"])
def test_torch_matches_brian2(patterns, mask, name, masked):
    cfg = CONFIGS[name]
    m = mask if masked else None
    Wb = stdp_brian2(patterns, D, cfg, mask=m)
    Wt = stdp_event_loop(patterns, D, cfg, mask=m, dtype=torch.float64)
    assert float(Wb.abs().max()) > 0.1                                   # something was learned
    torch.testing.assert_close(Wt, Wb, rtol=1e-9, atol=1e-12)
    if not cfg.bounded:
        torch.testing.assert_close(stdp_closed_form(patterns, D, cfg, mask=m, dtype=torch.float64), Wb,
                                   rtol=1e-9, atol=1e-12)
    if cfg.bounded:                                                      # the bounds did act
        assert float(Wb.max()) <= cfg.w_max + 1e-12 and float(Wb.min()) >= cfg.w_min - 1e-12


def test_narrow_mirrored_is_the_analytic_rule(patterns, mask):
    H = hebbian_init(patterns, D=D, dtype=torch.float64)
    for W in (stdp_brian2(patterns, D, STDPConfig(n_replays=3)),
              stdp_event_loop(patterns, D, STDPConfig(n_replays=3)),
              stdp_closed_form(patterns, D, STDPConfig(n_replays=3), dtype=torch.float64)):
        assert pearson(W, H) >= 0.99
        torch.testing.assert_close(W, H, rtol=1e-9, atol=1e-12)
    Hm = masked_hebbian_init(patterns, mask).double()
    Wm = stdp_brian2(patterns, D, STDPConfig(), mask=mask)
    torch.testing.assert_close(Wm, Hm, rtol=1e-6, atol=1e-7)            # masked_hebbian_init is float32


def test_wider_window_departs_from_the_analytic_rule(patterns):
    H = hebbian_init(patterns, D=D)
    r = {tau: pearson(stdp_closed_form(patterns, D, STDPConfig(tau_plus=tau)), H) for tau in (0.5, 2.0, 10.0)}
    assert 0.99 < r[0.5] < 1.0 and r[0.5] > r[2.0] > r[10.0]


def _pair(t_pre, t_post, d, extra_post=()):
    """One synapse pre 0 -> post 1 on delay d: a raster with the given spike steps."""
    r = torch.zeros(1, 2, 30, dtype=torch.bool)
    r[0, 0, t_pre] = True
    r[0, 1, t_post] = True
    for t in extra_post:
        r[0, 1, t] = True
    return r


@pytest.mark.slow
@pytest.mark.parametrize("simulator", ["torch", "brian2"])
def test_pairing_uses_arrival_times(simulator):
    """An input acting in the step of the spike is potentiated, one step after it depressed, others not."""
    cfg = STDPConfig(a_plus=1.0)
    learn = (lambda r: stdp_brian2(r, 8, cfg)) if simulator == "brian2" else \
        (lambda r: stdp_event_loop(r, 8, cfg))
    d = 4
    t_pre = 10                                                      # acts at step 14 on delay 4
    assert float(learn(_pair(t_pre, t_pre + d, d))[1, 0, d - 1]) == pytest.approx(1.0)
    assert float(learn(_pair(t_pre, t_pre + d - 1, d))[1, 0, d - 1]) == pytest.approx(-0.7)
    assert float(learn(_pair(t_pre, t_pre + d + 1, d))[1, 0, d - 1]) == 0.0
    assert float(learn(_pair(t_pre, t_pre + d - 2, d))[1, 0, d - 1]) == 0.0
    # a wider window: lag Delta = q - r between arrival r = t_pre + d - 1 and spike q weighs exp(-(Delta - 1) / tau)
    wide = STDPConfig(a_plus=1.0, tau_plus=2.0)
    w = stdp_brian2(_pair(t_pre, t_pre + d + 2, d), 8, wide) if simulator == "brian2" else \
        stdp_event_loop(_pair(t_pre, t_pre + d + 2, d), 8, wide)
    assert float(w[1, 0, d - 1]) == pytest.approx(np.exp(-2 / 2.0))
    # inputs acting in the trigger window (before step D = 8) are not counted
    assert float(learn(_pair(2, 2 + d, d))[1, 0, d - 1]) == 0.0


def test_replays_and_bounds(patterns):
    one = stdp_closed_form(patterns, D, STDPConfig(n_replays=1))
    many = stdp_closed_form(patterns, D, STDPConfig(n_replays=16))
    torch.testing.assert_close(one, many)                 # default amplitude / n_replays: additive is invariant
    soft = [stdp_event_loop(patterns, D, STDPConfig(n_replays=R, update="multiplicative", w_min=-0.5, w_max=1.0))
            for R in (1, 4)]
    assert float((soft[0] - soft[1]).abs().max()) > 1e-3           # soft bounds make the replays matter
    assert float(soft[1].max()) < 1.0 and float(soft[1].min()) > -0.5


def test_learn_stdp_dispatch_and_brian2_recall(patterns):
    """Weights learned in Brian2, recalled with plasticity off: the exact Brian2 network equals torch."""
    r_torch = hdsnn.learn(patterns, "stdp", D=D, n_replays=2)
    r_b2 = hdsnn.learn(patterns, "stdp", D=D, n_replays=2, simulator="brian2")
    assert r_torch.details["implementation"] == "closed_form" and r_b2.details["implementation"] == "brian2"
    assert hdsnn.learn(patterns, "stdp", D=D, w_max=1.0).details["implementation"] == "event_loop"
    torch.testing.assert_close(r_torch.W, r_b2.W, rtol=1e-6, atol=1e-7)
    trials = make_trials(patterns, D)
    net = NetworkConfig(N=N, D=D)
    a = simulate(r_b2.W, trials.inputs, trials.clamp, net, max_rate=None).raster
    b = simulate_brian2(r_b2.W, trials.inputs, trials.clamp, net).raster
    assert torch.equal(a, b) and int(a[:, :, D:].sum()) > 0


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_replays=0), "n_replays must be >= 1; got 0"),
    (dict(tau_plus=-1.0), "tau_plus must be in (0.0, inf]; got -1.0"),
    (dict(depression="hebb"), "depression must be one of 'mirrored', 'exponential'; got 'hebb'"),
    (dict(update="soft"), "update must be one of 'additive', 'multiplicative'; got 'soft'"),
    (dict(update="multiplicative", w_min=0.0, w_max=1.0), "needs finite bounds w_min < w_init < w_max"),
    (dict(w_min=0.1), "w_init must be in [w_min, w_max]"),
])
def test_config_errors(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
                       .replace("]", r"\]")):
        STDPConfig(**kwargs)


def test_input_errors(patterns):
    with pytest.raises(ValueError, match="stdp_closed_form needs update='additive' and no bounds"):
        stdp_closed_form(patterns, D, STDPConfig(w_max=1.0))
    with pytest.raises(ValueError, match=r"the number of delays disagrees: D=5, mask=6"):
        hdsnn.learn(patterns, "stdp", D=D, mask=torch.ones(N, N, D + 1, dtype=torch.bool))
    with pytest.raises(ValueError, match="simulator must be one of 'torch', 'brian2'; got 'nest'"):
        hdsnn.learn(patterns, "stdp", D=D, simulator="nest")
    with pytest.raises(ValueError, match="config must be a StdpOptions for method 'stdp'; got dict"):
        hdsnn.learn(patterns, "stdp", D=D, config={"n_replays": 2})
    with pytest.raises(ValueError, match="method 'stdp' takes the options a_minus, a_plus, beta"):
        hdsnn.learn(patterns, "stdp", D=D, epochs=3)
