"""Synapse files (a SynapseList with its real-valued delays) and recall from them with the real delays.

The recall of a file must be the in-memory replay of the learner's result, spike for spike; the
learner here runs few epochs on purpose, so that the recalled rasters have errors to agree on.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from hdsnn.io import load_weights, save_arrays, save_weights
from hdsnn.learning import NeuronMarginConfig, neuron_margin_init, replay
from hdsnn.models import (DelayDistribution, SynapseList, bernoulli_patterns, load_synapses,
                          load_weights_or_synapses, random_synapses, recall, save_synapses)


def _synapses(real: bool = True) -> SynapseList:
    rng = np.random.default_rng(0)
    S = 50
    delay_ms = rng.uniform(0.3, 8.0, S) if real else None
    steps = np.clip(np.rint(delay_ms), 1, 8).astype(np.int32) if real else rng.integers(1, 9, S).astype(np.int32)
    return SynapseList(rng.integers(0, 6, S).astype(np.int32), rng.integers(0, 6, S).astype(np.int32), steps,
                       rng.normal(size=S).astype(np.float32), N=6, D=8, delay_ms=delay_ms)


@pytest.mark.parametrize("real", [True, False])
def test_round_trip_keeps_every_bit(tmp_path, real):
    syn = _synapses(real)
    path = save_synapses(tmp_path / "syn.npz", syn, method="example", learned_for={"neuron": "lif_current"})
    back, meta = load_synapses(path)
    for name in ("post", "pre", "delay_steps", "weight"):
        a, b = getattr(syn, name), getattr(back, name)
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), name
    assert (back.N, back.D) == (6, 8)
    if real:
        assert back.delay_ms.dtype == np.float64 and back.delay_ms.tobytes() == syn.delay_ms.tobytes()
    else:
        assert back.delay_ms is None
    assert meta["method"] == "example" and meta["learned_for"] == {"neuron": "lif_current"}
    assert meta["synapse_list"] == {"N": 6, "D": 8, "count": 50, "real_delays": real}
    kind, got, _ = load_weights_or_synapses(path)
    assert kind == "synapses" and len(got) == 50


def test_either_loader_reads_a_dense_file_and_the_dense_loader_refuses_a_synapse_file(tmp_path):
    dense = save_weights(tmp_path / "w.npz", torch.ones(3, 3, 2))
    kind, W, _ = load_weights_or_synapses(dense)
    assert kind == "weights" and W.shape == (3, 3, 2)
    syn_file = save_synapses(tmp_path / "s.npz", _synapses())
    with pytest.raises(ValueError, match="holds a 'synapses' file, expected a 'weights' file"):
        load_weights(syn_file)
    raster = tmp_path / "r.npz"
    save_arrays(raster, "raster", {"raster": np.zeros((1, 2, 3), bool)}, {}, main="raster")
    with pytest.raises(ValueError, match="expected a 'weights' file .* or a 'synapses' file"):
        load_weights_or_synapses(raster)


def _write(tmp_path, **change):
    """A synapse file written with save_arrays (no checks on write), one field changed."""
    syn = _synapses()
    arrays = {k: getattr(syn, k) for k in ("post", "pre", "delay_steps", "weight", "delay_ms")}
    head = {"N": 6, "D": 8, "count": 50, "real_delays": True}
    head.update(change.pop("head", {}))
    arrays.update(change)
    path = tmp_path / "bad.npz"
    save_arrays(path, "synapses", arrays, {"synapse_list": head}, main="weight")
    return path


@pytest.mark.parametrize("change, message", [
    ({"post": np.zeros(50, np.int64)}, r"post must be int32; found int64"),
    ({"weight": np.zeros(50, np.float64)}, r"weight must be float32; found float64"),
    ({"delay_ms": np.ones(50, np.float32)}, r"delay_ms must be float64; found float32"),
    ({"post": np.full(50, 6, np.int32)}, r"post must be in \[0, N-1\] = \[0, 5\]; found values in \[6, 6\]"),
    ({"pre": np.full(50, -1, np.int32)}, r"pre must be in \[0, N-1\] = \[0, 5\]; found values in \[-1, -1\]"),
    ({"delay_steps": np.full(50, 9, np.int32)}, r"delay_steps must be in \[1, D\] = \[1, 8\]; found values in \[9, 9\]"),
    ({"delay_steps": np.zeros(50, np.int32)}, r"delay_steps must be in \[1, D\] = \[1, 8\]; found values in \[0, 0\]"),
    ({"delay_ms": np.r_[np.inf, np.ones(49)]}, r"delay_ms must be finite and > 0 ms; found 1 value\(s\) such as inf"),
    ({"delay_ms": np.r_[np.nan, np.ones(49)]}, r"delay_ms must be finite and > 0 ms; found 1 value\(s\) such as nan"),
    ({"delay_ms": np.r_[-1.0, np.ones(49)]}, r"delay_ms must be finite and > 0 ms; found 1 value\(s\) such as -1.0"),
    ({"weight": np.r_[np.float32(np.nan), np.ones(49, np.float32)]}, r"weight must be finite; found 1 NaN or inf"),
    ({"pre": np.zeros(49, np.int32)}, r"one entry per synapse \(50\); pre has 49"),
    ({"head": {"count": 51}}, r"records 51 synapses but the arrays hold 50"),
    ({"head": {"N": "six"}}, r"must record synapse_list with integers N and D"),
])
def test_ill_formed_files_are_refused_naming_file_and_field(tmp_path, change, message):
    path = _write(tmp_path, **change)
    with pytest.raises(ValueError, match=message) as err:
        load_synapses(path)
    assert "bad.npz" in str(err.value)


def test_damaged_and_incomplete_files_are_refused(tmp_path):
    good = save_synapses(tmp_path / "s.npz", _synapses())
    cut = tmp_path / "cut.npz"
    cut.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ValueError, match="not a readable .npz file"):
        load_synapses(cut)
    partial = tmp_path / "partial.npz"
    syn = _synapses()
    save_arrays(partial, "synapses", {"post": syn.post, "pre": syn.pre, "weight": syn.weight},
                {"synapse_list": {"N": 6, "D": 8}}, main="weight")
    with pytest.raises(ValueError, match=r"is not an hdsnn synapses file: it holds .*expected"):
        load_synapses(partial)
    no_delays = tmp_path / "nodelays.npz"
    save_arrays(no_delays, "synapses", {k: getattr(syn, k) for k in ("post", "pre", "delay_steps", "weight")},
                {"synapse_list": {"N": 6, "D": 8, "real_delays": True}}, main="weight")
    with pytest.raises(ValueError, match="records real-valued delays but the file holds no delay_ms"):
        load_synapses(no_delays)


def test_saving_refuses_ill_formed_synapses(tmp_path):
    syn = _synapses()
    bad = SynapseList(syn.post + 6, syn.pre, syn.delay_steps, syn.weight, 6, 8, delay_ms=syn.delay_ms)
    with pytest.raises(ValueError, match=r"synapses: post must be in \[0, N-1\]"):
        save_synapses(tmp_path / "s.npz", bad)
    assert not (tmp_path / "s.npz").exists()
    with pytest.raises(ValueError, match="'synapse_list' is reserved"):
        save_synapses(tmp_path / "s.npz", syn, synapse_list=1)


def _learned(epochs: int = 100):
    """A small learner's result with real-valued delays, stopped early: recall has errors."""
    P = bernoulli_patterns(2, 40, 60, 0.02, seed=1)
    syn, d = random_synapses(40, 10, synapses_per_pair=6, delays=DelayDistribution("uniform", 1.0, 10.0), seed=2)
    res = neuron_margin_init(P, SynapseList(syn.post, syn.pre, syn.delay_steps, syn.weight, 40, 10, delay_ms=d),
                             NeuronMarginConfig(lr=0.05, epochs=epochs), progress=False)
    return P, res


@pytest.fixture(scope="module")
def learned():
    return _learned()


def test_the_learner_keeps_the_real_delays_in_its_synapses(learned):
    P, res = learned
    assert res.synapses.delay_ms is not None and res.W is None
    assert np.array_equal(res.delays_ms, (res.synapses.delay_ms - 0.1) * 1e-3 * 1e3)


def _compare(sim, recalled):
    """Spike for spike: the 1-ms rasters and the exact spike times."""
    assert torch.equal(sim.raster, recalled.raster)
    order = np.lexsort((sim.spikes[2], sim.spikes[1], sim.spikes[0]))
    mine = np.lexsort((recalled.spikes[2], recalled.spikes[1], recalled.spikes[0]))
    for a, b in zip(sim.spikes, recalled.spikes):
        assert np.array_equal(np.asarray(a)[order], np.asarray(b)[mine])


def test_recall_from_file_is_replay_spike_for_spike(tmp_path, learned):
    P, res = learned
    scores, sim = replay(res, P, tolerance=0, simulation=True, max_rate_hz=None)
    assert 0.2 < scores.pooled()["f1"] < 1.0 and not torch.equal(sim.raster, P)     # errors to agree on
    syn, _ = load_synapses(save_synapses(tmp_path / "syn.npz", res.synapses))
    recalled = recall(syn, P, simulator="torch_neurons", tolerance=0, max_rate=None, **res.recall_options)
    _compare(sim, recalled)
    assert recalled.scores.pooled() == scores.pooled()
    # the delays binned to whole ms (what recall did before the file kept delay_ms) give another raster
    binned = SynapseList(syn.post, syn.pre, syn.delay_steps, syn.weight, syn.N, syn.D)
    other = recall(binned, P, simulator="torch_neurons", tolerance=0, max_rate=None, **res.recall_options)
    assert not torch.equal(other.raster, recalled.raster)


def test_discrete_simulators_run_the_binned_dense_tensor(learned):
    P, res = learned
    syn = res.synapses
    a = recall(syn, P, simulator="torch")
    b = recall(syn.to_dense(), P, simulator="torch")
    assert torch.equal(a.raster, b.raster) and a.spikes is None
    W = syn.to_dense()
    expected = torch.zeros_like(W)
    for j, i, d, w in zip(syn.post, syn.pre, syn.delay_steps, syn.weight):
        expected[j, i, d - 1] += float(w)
    assert torch.allclose(W, expected, atol=1e-6)                  # synapses of one channel add up


def test_pruning_a_synapse_list_is_refused(learned):
    P, res = learned
    with pytest.raises(ValueError, match=r"pruning \(top_k\) applies to a dense W"):
        recall(res.synapses, P, simulator="torch_neurons", top_k=3, **res.recall_options)


@pytest.mark.brian2
@pytest.mark.slow
def test_brian2_recall_from_file_is_replay_spike_for_spike(tmp_path, learned):
    P, res = learned
    P = P[:1]
    _, sim = replay(res, P, simulator="brian2", tolerance=0, simulation=True, max_rate_hz=None)
    syn, _ = load_synapses(save_synapses(tmp_path / "syn.npz", res.synapses))
    recalled = recall(syn, P, simulator="brian2", tolerance=0, max_rate=None, **res.recall_options)
    _compare(sim, recalled)
    replica = recall(syn, P, simulator="torch_neurons", tolerance=0, max_rate=None, **res.recall_options)
    assert torch.equal(replica.raster, recalled.raster)
