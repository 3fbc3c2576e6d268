"""Richer neurons in continuous time (dt = 0.1 ms): timing, trigger, guard, calibration."""
import pytest
import torch

from hdsnn.learning import hebbian_init
from hdsnn.models import bernoulli_patterns
from hdsnn.models.brian2_neurons import NEURON_MODELS, calibrate_efficacy, recall_neurons
from hdsnn.models.export import export_synapses


def one_synapse():
    """Neuron 0 (cue spike at 0 ms) -> neuron 1 with weight 1 and a delay of 5 ms."""
    W = torch.zeros(2, 2, 8)
    W[1, 0, 4] = 1.0
    target = torch.zeros(1, 2, 30, dtype=torch.bool)
    target[0, 0, 0] = target[0, 1, 5] = True
    return export_synapses(W), target


@pytest.mark.parametrize("model", sorted(NEURON_MODELS))
def test_a_strong_synapse_fires_its_target_at_the_delay(model):
    syn, target = one_synapse()
    strong = recall_neurons(model, syn, target, D=3, efficacy=4.0)
    assert strong.raster[0, 0].sum() == 0                  # the cue is not a network spike
    times = torch.nonzero(strong.raster[0, 1]).flatten().tolist()
    assert len(times) == 1 and abs(times[0] - 5) <= 1
    assert strong.scores.pooled()["f1"] == 1.0             # tolerant score, k = 1
    weak = recall_neurons(model, syn, target, D=3, efficacy=0.3)
    assert weak.raster.sum() == 0 and weak.scores.pooled()["recall"] == 0.0


def test_network_is_held_at_rest_during_the_trigger():
    W = torch.zeros(2, 2, 8)
    W[1, 0, 0] = 5.0                                       # delay 1 ms, far above threshold
    target = torch.zeros(1, 2, 30, dtype=torch.bool)
    target[0, 0, 0] = True
    r = recall_neurons("lif_current", export_synapses(W), target, D=6, efficacy=2.0)
    assert r.raster[0, :, :5].sum() == 0


def test_runaway_guard_stops_a_trial():
    W = torch.full((30, 30, 3), 2.0)
    P = bernoulli_patterns(1, 30, 200, 0.2, seed=0)
    r = recall_neurons("lif_current", export_synapses(W), P, D=3, efficacy=4.0, max_rate_hz=50.0)
    assert r.stopped == [0]
    assert r.raster[0, :, 150:].sum() == 0


def test_noise_is_seeded():
    syn, target = one_synapse()
    a = recall_neurons("lif_current", syn, target, D=3, efficacy=0.8, noise_mV=6.0, seed=1).raster
    b = recall_neurons("lif_current", syn, target, D=3, efficacy=0.8, noise_mV=6.0, seed=1).raster
    c = recall_neurons("lif_current", syn, target, D=3, efficacy=0.8, noise_mV=6.0, seed=2).raster
    assert torch.equal(a, b) and a.sum() > 0 and not torch.equal(a, c)


def test_calibration_picks_the_best_efficacy():
    P = bernoulli_patterns(1, 60, 120, 0.03, seed=3)
    syn = export_synapses(hebbian_init(P, D=10))
    e, shift, table = calibrate_efficacy("adex", syn, P, 10, efficacies=(0.3, 2.0))
    assert (e, shift) == (2.0, 0.5)
    assert table[(2.0, 0.5)] > 0.2 and table[(0.3, 0.5)] == 0.0


def test_arguments_are_validated():
    syn, target = one_synapse()
    with pytest.raises(ValueError, match="model"):
        recall_neurons("hodgkin_huxley", syn, target, D=3)
    with pytest.raises(ValueError, match="efficacy"):
        recall_neurons("adex", syn, target, D=3, efficacy=0.0)
    with pytest.raises(ValueError, match="SynapseList"):
        recall_neurons("adex", torch.zeros(2, 2, 8), target, D=3)
