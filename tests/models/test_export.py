"""Export of W to synapses: pruning policies, memory estimate and refusal."""
import numpy as np
import pytest
import torch

from conftest import dyadic_weights
from hdsnn.models.export import (BYTES_PER_SYNAPSE, check_memory, count_kept, estimate_memory,
                                 SynapseList, export_synapses)


def test_export_round_trips_every_nonzero_entry():
    W = dyadic_weights(12, 5, density=0.4, seed=2)
    syn = export_synapses(W)
    assert len(syn) == int((W != 0).sum())
    assert torch.equal(syn.to_dense(), W)
    assert syn.delay_steps.min() >= 1 and syn.delay_steps.max() <= 5
    # several synapses per pair, one per delay
    pairs = set(zip(syn.post.tolist(), syn.pre.tolist()))
    assert len(pairs) < len(syn)


def test_threshold_keeps_large_entries_only():
    W = dyadic_weights(10, 4, density=0.5, seed=3)
    syn = export_synapses(W, threshold=0.25)
    kept = W.abs() >= 0.25
    assert len(syn) == int((kept & (W != 0)).sum()) == count_kept(W, threshold=0.25)
    assert torch.equal(syn.to_dense(), W * kept)


def test_top_k_per_postsynaptic_neuron():
    W = torch.randn(8, 8, 3)
    W[0] = 0
    W[0, 1, 2] = 0.5                        # neuron 0 has a single non-zero input
    syn = export_synapses(W, top_k=5)
    counts = torch.bincount(torch.from_numpy(syn.post).long(), minlength=8)
    assert counts[0] == 1 and (counts[1:] == 5).all()
    assert len(syn) == count_kept(W, top_k=5)
    for j in range(1, 8):
        kept = syn.weight[syn.post == j]
        assert abs(kept).min() >= W[j].abs().flatten().sort(descending=True).values[4].item()


def test_keep_fraction_keeps_the_largest():
    W = torch.randn(10, 10, 4)
    syn = export_synapses(W, keep_fraction=0.1)
    assert len(syn) == 40 == count_kept(W, keep_fraction=0.1)
    cut = W.abs().flatten().sort(descending=True).values[39].item()
    assert abs(syn.weight).min() >= cut


def test_mask_drops_entries_outside():
    W = torch.ones(6, 6, 3)
    mask = torch.zeros(6, 6, 3, dtype=torch.bool)
    mask[2, 1, 0] = mask[3, 4, 2] = True
    syn = export_synapses(W, mask=mask)
    assert sorted(zip(syn.post.tolist(), syn.pre.tolist(), syn.delay_steps.tolist())) == [(2, 1, 1), (3, 4, 3)]


def test_policies_are_validated():
    W = torch.ones(3, 3, 2)
    with pytest.raises(ValueError, match="at most one pruning policy"):
        export_synapses(W, threshold=0.1, top_k=2)
    with pytest.raises(ValueError, match="keep_fraction"):
        export_synapses(W, keep_fraction=1.5)
    with pytest.raises(ValueError, match="top_k"):
        export_synapses(W, top_k=0)


def test_memory_estimate_grows_per_synapse():
    assert estimate_memory(2_000_000) - estimate_memory(1_000_000) == 1_000_000 * BYTES_PER_SYNAPSE


def test_full_dense_tensor_is_refused_with_a_clear_message():
    # N=1024, D=41: 43 million synapses, refused before anything is allocated
    n = 1024 * 1024 * 41
    with pytest.raises(ValueError) as err:
        check_memory(n, budget_bytes=2 * 2**30, N=1024, available=n)
    message = str(err.value)
    assert "budget of 2.00 GiB" in message and f"{n} synapses" in message
    assert "keep_fraction=" in message and "top_k=" in message
    # the suggestion fits the budget
    fraction = float(message.split("keep_fraction=")[1].split()[0])
    assert estimate_memory(int(fraction * n), 1024) <= 2 * 2**30


def test_export_refuses_above_budget_before_building():
    W = torch.ones(64, 64, 8)
    with pytest.raises(ValueError, match="budget"):
        export_synapses(W, budget_bytes=estimate_memory(1000, 64))
    assert len(export_synapses(W, top_k=10, budget_bytes=estimate_memory(1000, 64))) == 640


def test_a_budget_that_no_pruning_fits_says_so():
    import re

    from hdsnn.models.export import check_memory, estimate_memory

    least = estimate_memory(1024, 1024) / 2**30
    with pytest.raises(ValueError, match=re.escape(
            f"the memory budget of 0.00 GiB cannot hold a Brian2 network of N=1024 neurons even with one synapse "
            f"each (about {least:.2f} GiB); raise the budget (budget_gb) to at least")):
        check_memory(10**6, 1000.0, N=1024, available=10**6)


def test_to_dense_adds_synapses_that_share_a_channel():
    """Several synapses of one pair on one delay add up (as in Brian2); one must not overwrite the other."""
    syn = SynapseList(np.array([1, 1, 0], np.int32), np.array([0, 0, 1], np.int32), np.array([2, 2, 1], np.int32),
                      np.array([0.5, 0.25, 1.0], np.float32), N=2, D=3)
    W = syn.to_dense()
    assert W[1, 0].tolist() == [0.0, 0.75, 0.0] and W[0, 1, 0] == 1.0 and float(W.sum()) == 1.75
