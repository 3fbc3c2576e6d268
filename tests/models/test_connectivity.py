"""Biological connectivity masks, masked learning and masked export."""
import numpy as np
import pytest
import torch

from hdsnn.config import NetworkConfig
from hdsnn.learning import hebbian_init
from hdsnn.models import make_trials, simulate
from hdsnn.models.brian2 import simulate_brian2
from hdsnn.learning import masked_hebbian_init
from hdsnn.models.connectivity import (DelayDistribution, delay_histogram, dense_mask,
                                       random_mask)
from hdsnn.models.export import export_synapses


def test_random_mask_pairs_synapses_and_delays():
    m = random_mask(60, 15, p_connect=0.3, synapses_per_pair=3, seed=4)
    per_pair = m.sum(2)
    connected = per_pair > 0
    assert 0.25 < float(connected.float().mean()) < 0.35
    assert int(per_pair.max()) == 3 and float(per_pair[connected].float().mean()) > 2.5
    assert torch.equal(m, random_mask(60, 15, p_connect=0.3, synapses_per_pair=3, seed=4))
    assert not torch.equal(m, random_mask(60, 15, p_connect=0.3, synapses_per_pair=3, seed=5))
    assert not random_mask(20, 5, self_connections=False).diagonal().any()


def test_default_delays_cover_the_paper_channels_evenly():
    hist = delay_histogram(random_mask(80, 10, synapses_per_pair=4, seed=0))
    assert hist.shape == (10,) and hist.min() > 0.8 * hist.mean()


def test_lognormal_and_exponential_delays_are_discretised_to_dt():
    logn = DelayDistribution("lognormal", median_ms=6.0, sigma=0.3)
    hist = delay_histogram(random_mask(80, 40, delays=logn, seed=1))
    assert int(np.argmax(hist)) + 1 in (5, 6, 7) and hist[20:].sum() == 0
    # with dt = 0.5 ms the same delays take twice as many steps
    hist2 = delay_histogram(random_mask(80, 40, delays=logn, dt_ms=0.5, seed=1))
    assert int(np.argmax(hist2)) + 1 in (11, 12, 13)
    expo = delay_histogram(random_mask(80, 40, delays=DelayDistribution("exponential", mean_ms=4.0), seed=2))
    assert (np.diff(expo[1:12]) <= 0.15 * expo.max()).all() and expo[0] > expo[10]


def test_delay_distribution_is_validated():
    with pytest.raises(ValueError, match="kind"):
        DelayDistribution("gamma")
    with pytest.raises(ValueError, match="mean_ms"):
        DelayDistribution("exponential", mean_ms=0.5)
    with pytest.raises(ValueError, match="p_connect"):
        random_mask(5, 3, p_connect=0.0)


def test_masked_hebbian_is_hebbian_inside_the_mask(small_patterns):
    P = small_patterns[:2, :64, :120]
    mask = random_mask(64, 9, p_connect=0.5, seed=3)
    W = masked_hebbian_init(P, mask)
    full = hebbian_init(P, D=9)
    density = float(mask.float().mean())
    assert (W[~mask] == 0).all()
    assert torch.allclose(W[mask], full[mask] / density)
    assert torch.equal(masked_hebbian_init(P, dense_mask(64, 9)), full)


def test_masked_network_is_identical_in_torch_and_brian2(small_patterns):
    P = small_patterns[:2, :, :150]
    D = 11
    mask = random_mask(P.shape[1], D, p_connect=0.6, synapses_per_pair=4,
                       delays=DelayDistribution("lognormal", median_ms=5.0, sigma=0.5), seed=0)
    W = masked_hebbian_init(P, mask)
    syn = export_synapses(W, mask=mask)
    assert len(syn) == int((W != 0).sum()) and set(np.unique(syn.delay_steps)) <= set(range(1, D + 1))
    tr = make_trials(P, D)
    net = NetworkConfig(N=P.shape[1], D=D)
    ref = simulate(W, tr.inputs, tr.clamp, net, max_rate=None).raster
    assert int((ref & ~tr.inputs).sum()) > 50
    assert torch.equal(simulate_brian2(syn, tr.inputs, tr.clamp, net).raster, ref)
