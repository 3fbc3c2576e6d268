"""Weights carried between neuron models through their efficacy at rest, and the exact-time score."""
import numpy as np
import pytest
import torch

from hdsnn.models import (SynapseList, linearised_synapses, psp_peak, rest_scale, simulate_replica,
                          spike_time_score, threshold_distance)
from hdsnn.models.brian2 import NEURON_MODELS


@pytest.mark.parametrize("model", list(NEURON_MODELS))
def test_mapped_weight_moves_each_model_as_far_as_lif_current(model):
    """After the mapping, one synapse deflects the model's membrane at rest by the same fraction of its
    distance to threshold as lif_current's, for both signs: measured here on a separate run at another
    weight (0.05, not the probe's 0.01), so a wrong factor or sign fails."""
    scale = rest_scale(model)
    for sign in (1.0, -1.0):
        w = 0.05 * sign
        syn = SynapseList(np.array([1], np.int32), np.array([0], np.int32), np.array([1], np.int32),
                          np.array([w], np.float32), 2, 1)
        ref, own = (_peak(name, s) for name, s in (("lif_current", syn),
                                                     (model, linearised_synapses(syn, model))))
        assert np.isclose(own / threshold_distance(model), ref / threshold_distance("lif_current"), rtol=0.03)
    assert scale[1.0] > 0 and scale[-1.0] > 0


def _peak(model, syn):
    x = torch.zeros(2, 2, 30, dtype=torch.bool)
    x[1, 0, 1] = True
    dv = []
    simulate_replica(model, syn, x, delay_shift_ms=0.0, max_rate_hz=None,
                     on_step=lambda n, s: dv.append((s.v[1, 1] - s.v[0, 1]).item()))
    dv = np.asarray(dv)
    return dv[np.argmax(np.abs(dv))]


def test_conductance_inhibition_is_scaled_apart_from_excitation():
    """E_i is 15 mV below rest against E_e 65 mV above, tau_i twice tau_e: inhibition needs the larger factor."""
    s = rest_scale("lif_conductance")
    assert s[-1.0] > 2 * s[1.0]
    assert psp_peak("lif_conductance", -1.0) < 0 < psp_peak("lif_conductance", 1.0)


def test_lif_current_maps_to_itself_and_delays_are_kept():
    syn = SynapseList(np.array([1, 0]), np.array([0, 1]), np.array([1, 3]), np.array([0.7, -0.2], np.float32), 2, 3,
                      delay_ms=np.array([1.3, 2.9]))
    same = linearised_synapses(syn, "lif_current")
    assert np.array_equal(same.weight, syn.weight) and np.array_equal(same.delay_ms, syn.delay_ms)
    assert np.array_equal(linearised_synapses(syn, "adex").delay_steps, syn.delay_steps)


def test_bad_inputs_name_the_parameter():
    with pytest.raises(ValueError, match="neuron must be one of"):
        psp_peak("hodgkin_huxley")
    with pytest.raises(ValueError, match="sign must be"):
        psp_peak("adex", 0.0)
    with pytest.raises(ValueError, match="synapses must be a SynapseList"):
        linearised_synapses(np.zeros(3), "adex")


def test_spike_time_score_matches_exact_times_one_to_one():
    tgt = np.zeros((2, 2, 50), bool)
    tgt[0, 0, [10, 20, 30]] = True
    tgt[1, 1, 40] = True
    spikes = (np.array([0, 0, 0, 0, 1]), np.array([0, 0, 0, 1, 1]), np.array([10.0, 20.4, 31.2, 15.0, 39.6]))
    half = spike_time_score(tgt, spikes, 5, 0.5)
    assert half.tp.tolist() == [2, 1] and half.fp.tolist() == [2, 0] and half.fn.tolist() == [1, 0]
    assert spike_time_score(tgt, spikes, 5, 1.5).tp.tolist() == [3, 1]
    assert spike_time_score(tgt, spikes, 25, 1.5).tp.tolist() == [1, 1]       # the window starts at D
    exact = spike_time_score(tgt, spikes, 5, 0.0)
    assert exact.tp.tolist() == [1, 0]
    with pytest.raises(ValueError, match="tolerance_ms must be >= 0"):
        spike_time_score(tgt, spikes, 5, -1.0)
