"""``hdsnn init --method margin_neurons`` writes a synapse file; ``hdsnn recall`` replays it with its real delays.

The recall of the file, from the command line with no replay option given, must be the learner's
in-memory replay spike for spike (the recorded neuron, efficacy, delay shift and step as defaults),
keep the exact spike times beside the 1-ms raster, and warn where a request differs from what the
weights were learned for.
"""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from hdsnn import api
from hdsnn.cli import main
from hdsnn.io import load_raster
from hdsnn.learning import NeuronMarginConfig, neuron_margin_init, replay
from hdsnn.models import SynapseConfig, load_synapses

PATTERNS = ["--M", "2", "--N", "40", "--T", "60", "--p-A", "0.02", "--seed", "1"]
INIT = ["--method", "margin_neurons", "--D", "10", "--lr", "0.05", "--epochs", "100"]
DELAYS = ["--delays", "uniform", "--delay-high-ms", "10", "--synapses-per-pair", "6", "--synapse-seed", "2"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("syn_cli")
    pat, syn = d / "p.npz", d / "syn.npz"
    assert main(["patterns", "--out", str(pat), *PATTERNS]) == 0
    assert main(["init", "--patterns", str(pat), "--out", str(syn), *INIT, *DELAYS]) == 0
    return d, pat, syn


@pytest.fixture(scope="module")
def in_memory(files):
    """The same draws and learner in memory (no file)."""
    targets, _ = load_raster(files[1])
    drawn = SynapseConfig(delays="uniform", delay_high_ms=10.0, synapses_per_pair=6, synapse_seed=2).draw(40, 10)
    return targets, neuron_margin_init(targets, drawn, NeuronMarginConfig(lr=0.05, epochs=100), progress=False)


def test_init_writes_a_synapse_file_with_what_it_was_learned_for(files, in_memory):
    d, pat, path = files
    syn, meta = load_synapses(path)
    assert syn.delay_ms is not None and syn.N == 40 and syn.D == 10
    lf = meta["learned_for"]
    assert {k: lf[k] for k in ("method", "neuron", "efficacy", "delay_shift_ms", "dt_ms", "D", "beta")} == {
        "method": "margin_neurons", "neuron": "lif_current", "efficacy": 1.0, "delay_shift_ms": 0.1, "dt_ms": 0.1,
        "D": 10, "beta": 0.7}
    assert lf["delays"] == {"source": "random_synapses", "kind": "uniform", "low_ms": 1.0, "high_ms": 10.0,
                            "p_connect": 1.0, "synapses_per_pair": 6, "seed": 2}
    _, res = in_memory                      # the same draws and learner in memory: the same synapses, bit for bit
    assert res.synapses.weight.tobytes() == syn.weight.tobytes()
    assert res.synapses.delay_ms.tobytes() == syn.delay_ms.tobytes()


def test_recall_of_the_file_is_the_replay_with_exact_spike_times(files, in_memory, capsys):
    d, pat, path = files
    rec = d / "rec.npz"
    assert main(["recall", "--weights", str(path), "--patterns", str(pat), "--out", str(rec),
                 "--simulator", "torch_neurons", "--tolerance", "0", "--max-rate", "none"]) == 0
    captured = capsys.readouterr()
    assert "warning" not in captured.err
    assert "lif_current: efficacy 1, delays shortened by 0.1 ms" in captured.out
    raster, meta = load_raster(rec)
    syn, _ = load_synapses(path)
    targets, res = in_memory
    scores, sim = replay(res, targets, tolerance=0, simulation=True, max_rate_hz=None)
    assert torch.equal(raster, sim.raster) and not torch.equal(raster, targets)     # errors, the same ones
    times = meta["spike_times"]
    order = np.lexsort((sim.spikes[2], sim.spikes[1], sim.spikes[0]))
    got = np.lexsort((times["time_ms"], times["neuron"], times["pattern"]))
    assert np.array_equal(np.asarray(times["pattern"])[got], sim.spikes[0][order])
    assert np.array_equal(np.asarray(times["neuron"])[got], sim.spikes[1][order])
    assert np.array_equal(np.asarray(times["time_ms"])[got], sim.spikes[2][order])     # exact floats
    report = json.loads(rec.with_suffix(".json").read_text())
    assert report["options"]["efficacy"] == 1.0 and report["options"]["delay_shift_ms"] == 0.1
    assert report["weights_kind"] == {"kind": "synapses", "count": len(syn), "real_delays": True}
    assert report["scores"]["pooled"]["f1"] == scores.pooled()["f1"]


@pytest.mark.parametrize("request_, expected", [
    (["--simulator", "torch_neurons", "--neuron", "adex"], "learned for neuron 'lif_current' (method margin_neurons); "
                                                           "recalling with neuron 'adex'"),
    (["--simulator", "torch_neurons", "--delay-shift-ms", "0.3"], "learned for delays shortened by 0.1 ms "
                                                                  "(method margin_neurons); recalling with 0.3 ms"),
    (["--simulator", "torch"], "simulator 'torch' runs the discrete neuron on the delays binned to whole steps"),
])
def test_a_request_that_differs_from_the_file_warns(files, capsys, request_, expected):
    d, pat, path = files
    assert main(["recall", "--weights", str(path), "--patterns", str(pat), "--out", str(d / "other.npz"),
                 *request_]) == 0
    err = capsys.readouterr().err
    assert f"hdsnn: warning: weights {str(path)!r} were learned for" in err and expected in err


def test_the_front_door_warns_and_the_recorded_settings_are_the_defaults(files):
    d, pat, path = files
    with pytest.warns(api.LearnedForWarning, match="recalling with neuron 'izhikevich'"):
        api.recall_file(path, pat, d / "izh.npz", simulator="torch_neurons", neuron="izhikevich")
    with warnings.catch_warnings():
        warnings.simplefilter("error", api.LearnedForWarning)          # the recorded settings: no warning
        res = api.recall_file(path, pat, d / "same.npz", simulator="torch_neurons", neuron="lif_current",
                              delay_shift_ms=0.1)
    assert res["recall"].provenance["efficacy"] == 1.0 and "calibration" not in res["recall"].seconds


def test_init_without_delays_writes_whole_ms_synapses(tmp_path):
    pat, path = tmp_path / "p.npz", tmp_path / "w.npz"
    assert main(["patterns", "--out", str(pat), "--M", "1", "--N", "20", "--T", "40", "--p-A", "0.03"]) == 0
    assert main(["init", "--patterns", str(pat), "--out", str(path), "--method", "margin_neurons", "--D", "6",
                 "--epochs", "5"]) == 0
    syn, meta = load_synapses(path)
    assert syn.delay_ms is None and len(syn) == 20 * 20 * 6
    assert meta["learned_for"]["delays"] == {"source": "whole_ms", "channels": "1..6 ms", "p_connect": 1.0}
    # the spelling, --method margin --neuron MODEL, is margin learning in that neuron: the same file
    same = tmp_path / "w2.npz"
    assert main(["init", "--patterns", str(pat), "--out", str(same), "--method", "margin", "--neuron", "lif_current",
                 "--D", "6", "--epochs", "5"]) == 0
    syn2, meta2 = load_synapses(same)
    assert meta2["learned_for"]["method"] == "margin_neurons" and syn2.weight.tobytes() == syn.weight.tobytes()


def test_synapse_options_are_refused_where_they_do_not_apply(tmp_path, capsys):
    pat = tmp_path / "p.npz"
    assert main(["patterns", "--out", str(pat), "--M", "1", "--N", "20", "--T", "40", "--p-A", "0.03"]) == 0
    out = str(tmp_path / "w.npz")
    assert main(["init", "--patterns", str(pat), "--out", out, "--method", "margin", "--delays", "lognormal"]) == 2
    assert "--delays apply to --method margin_neurons only; got --method margin" in capsys.readouterr().err
    assert main(["init", "--patterns", str(pat), "--out", out, "--method", "margin_neurons",
                 "--synapses-per-pair", "3"]) == 2
    assert "--synapses-per-pair need --delays uniform|lognormal|exponential" in capsys.readouterr().err


@pytest.mark.slow
def test_train_in_a_nonlinear_neuron_writes_weights_that_recall_exactly(tmp_path, capsys):
    """``hdsnn train --neuron lif_conductance``: the lif_current margin solution carried over at rest, fitted in
    the conductance neuron's dynamics to zero violations; ``hdsnn recall`` replays it in that neuron unasked."""
    pat, path, rec = tmp_path / "p.npz", tmp_path / "fit.npz", tmp_path / "r.npz"
    assert main(["patterns", "--out", str(pat), "--M", "1", "--N", "40", "--T", "50", "--p-A", "0.02",
                 "--seed", "1"]) == 0
    assert main(["train", "--patterns", str(pat), "--out", str(path), "--neuron", "lif_conductance",
                 "--D", "10"]) == 0
    assert "teacher-forced violations left: 0" in capsys.readouterr().out
    syn, meta = load_synapses(path)
    assert meta["learned_for"]["method"] == "neuron_fit" and meta["learned_for"]["neuron"] == "lif_conductance"
    assert main(["recall", "--weights", str(path), "--patterns", str(pat), "--out", str(rec),
                 "--simulator", "torch_neurons", "--tolerance", "0"]) == 0
    report = json.loads(rec.with_suffix(".json").read_text())
    assert report["options"]["neuron"] == "lif_conductance" and report["scores"]["pooled"]["f1"] == 1.0
