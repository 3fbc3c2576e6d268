"""Continuous-time neuron models in Brian2 (dt = 0.1 ms) behind recall(simulator='brian2', neuron=...)."""
import numpy as np
import pytest
import torch

from hdsnn.config import TrialConfig
from hdsnn.learning import hebbian_init
from hdsnn.models import bernoulli_patterns, export_synapses, recall
from hdsnn.models.brian2 import NEURON_MODELS, calibrate_efficacy, simulate_neurons

pytestmark = pytest.mark.brian2


def one_synapse():
    """Neuron 0 (cue spike at 7 ms, in the trigger window of D = 8 steps) -> neuron 1, weight 1, delay 5 ms."""
    W = torch.zeros(2, 2, 8)
    W[1, 0, 4] = 1.0
    target = torch.zeros(1, 2, 30, dtype=torch.bool)
    target[0, 0, 7] = target[0, 1, 12] = True
    return W, target


def neuron_recall(W, targets, model="lif_current", **kw):
    return recall(W, targets, simulator="brian2", neuron=model, max_rate=kw.pop("max_rate", None), **kw)


@pytest.mark.parametrize("model", [m if m == "lif_current" else pytest.param(m, marks=pytest.mark.slow)
                                   for m in sorted(NEURON_MODELS)])
def test_a_strong_synapse_fires_its_target_at_the_delay(model):
    W, target = one_synapse()
    strong = neuron_recall(W, target, model, efficacy=4.0)
    assert strong.raster[0, 0].sum() == 0                  # the cue is not a network spike
    times = torch.nonzero(strong.raster[0, 1]).flatten().tolist()
    assert len(times) == 1 and abs(times[0] - 12) <= 1
    assert strong.scores.pooled()["f1"] == 1.0             # tolerant score, k = 1
    pattern, neuron, t_ms = strong.spikes                  # the exact time is kept beside the 1-ms bin
    assert neuron.tolist() == [1] and int(np.floor(t_ms[0] + 1e-9)) == times[0] and t_ms.dtype == np.float64
    weak = neuron_recall(W, target, model, efficacy=0.3)
    assert weak.raster.sum() == 0 and weak.scores.pooled()["recall"] == 0.0


def test_network_is_held_at_rest_during_the_trigger():
    W = torch.zeros(2, 2, 8)
    W[1, 0, 0] = 5.0                                       # delay 1 ms, far above threshold
    target = torch.zeros(1, 2, 30, dtype=torch.bool)
    target[0, 0, 0] = True
    r = neuron_recall(W[:, :, :6], target, efficacy=2.0)
    assert r.raster[0, :, :5].sum() == 0


@pytest.mark.slow
def test_trial_config_is_honoured():
    """Pretime, noise and silenced neurons change what the neuron model receives (they were ignored before)."""
    W, target = one_synapse()
    clean = neuron_recall(W, target, efficacy=4.0)
    silenced = neuron_recall(W, target, efficacy=4.0, trial=TrialConfig(silenced=1))
    assert clean.raster[0, 1].sum() == 1 and silenced.raster[0, 1].sum() == 0
    shifted = neuron_recall(W, target, efficacy=4.0, trial=TrialConfig(pretime=10))
    assert torch.equal(shifted.raster, clean.raster) and shifted.full.shape[2] == 40


@pytest.mark.slow
def test_runaway_guard_stops_a_trial():
    W = torch.full((30, 30, 3), 2.0)
    P = bernoulli_patterns(1, 30, 200, 0.2, seed=0)
    r = neuron_recall(W, P, efficacy=4.0, max_rate=0.05)   # 50 Hz over 10 ms
    assert r.runaway.tolist() == [True]
    assert r.raster[0, :, 150:].sum() == 0


@pytest.mark.slow
def test_noise_is_seeded():
    W, target = one_synapse()
    a, b, c = (neuron_recall(W, target, efficacy=0.8, noise_mV=10.0, seed=s).raster for s in (1, 1, 2))
    assert torch.equal(a, b) and a.sum() > 0 and not torch.equal(a, c)


def test_calibration_picks_the_best_efficacy():
    P = bernoulli_patterns(1, 60, 120, 0.03, seed=3)
    syn = export_synapses(hebbian_init(P, D=10))
    e, shift, table = calibrate_efficacy("adex", syn, P, 10, efficacies=(0.3, 2.0))
    assert (e, shift) == (2.0, 0.5)
    assert table[(2.0, 0.5)] > 0.2 and table[(0.3, 0.5)] == 0.0


def test_user_monitor_on_the_built_network():
    import brian2

    W, target = one_synapse()
    seen = {}

    def watch(network):
        seen["monitor"] = brian2.StateMonitor(network["neurons"], "v", record=[1], name="watch")
        network.add(seen["monitor"])
    from hdsnn.models import make_trials
    trials = make_trials(target, 8)
    sim = simulate_neurons("lif_current", export_synapses(W), trials.inputs, trials.clamp, efficacy=4.0,
                           on_build=watch)
    assert sim.network["watch"].v.shape == (1, 300) and sim.raster[0, 1].sum() == 1


def test_arguments_are_validated():
    W, target = one_synapse()
    with pytest.raises(ValueError, match="neuron must be one of 'exact', 'lif_current'"):
        neuron_recall(W, target, "hodgkin_huxley")
    with pytest.raises(ValueError, match=r"efficacy must be in \(0.0, inf\]; got 0.0"):
        neuron_recall(W, target, "adex", efficacy=0.0)
    with pytest.raises(ValueError, match="synapses must be a SynapseList"):
        simulate_neurons("adex", torch.zeros(2, 2, 8), target)
    with pytest.raises(ValueError, match="target must be 'numpy' or 'cython' with neuron 'adex'; got 'cpp_standalone'"):
        neuron_recall(W, target, "adex", target="cpp_standalone")
