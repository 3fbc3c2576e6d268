"""The recall front door: every simulator, one result type, TrialConfig and the guard honoured or refused."""
import json

import numpy as np
import pytest
import torch

import hdsnn
from hdsnn.cli import main
from hdsnn.config import NetworkConfig, TrialConfig
from hdsnn.io import load_raster, save_raster, save_weights
from hdsnn.learning import hebbian_init
from hdsnn.models import apply_guard, make_trials, recall, simulate


@pytest.fixture(scope="module")
def benchmark(small_patterns):
    P = small_patterns[:, :, :160]
    return P, hebbian_init(P, D=11)


def runaway_weights(N=40, D=5):
    g = torch.Generator().manual_seed(0)
    return (torch.rand(N, N, D, generator=g) < 0.2).float() * 0.6


def test_dense_with_the_guard_equals_torch_on_a_runaway_network():
    P = hdsnn.bernoulli_patterns(3, 40, 120, 0.05, seed=2)
    W = runaway_weights()
    torch_r, dense_r = (recall(W, P, simulator=s, max_rate=0.05) for s in ("torch", "dense"))
    assert bool(torch_r.runaway.all())                  # the guard fires
    assert torch.equal(torch_r.full, dense_r.full) and torch.equal(torch_r.runaway, dense_r.runaway)
    unguarded = recall(W, P, simulator="dense", max_rate=None)
    assert unguarded.full.sum() > dense_r.full.sum()


def test_apply_guard_replays_the_torch_guard():
    P = hdsnn.bernoulli_patterns(2, 40, 100, 0.05, seed=4)
    W = runaway_weights()
    tr = make_trials(P, 5)
    guarded = simulate(W, tr.inputs, tr.clamp, NetworkConfig(N=40, D=5), max_rate=0.05)
    free = simulate(W, tr.inputs, tr.clamp, NetworkConfig(N=40, D=5), max_rate=None)
    after = apply_guard(free.raster, tr.clamp, 5, 0.05)
    assert torch.equal(after.raster, guarded.raster) and torch.equal(after.stopped_at, guarded.stopped_at)


@pytest.mark.brian2
def test_brian2_exact_matches_torch_with_trial_options_and_guard(benchmark):
    P, W = benchmark
    trial = TrialConfig(pretime=3, posttime=4, p_flip=0.1, seed=2)
    ref = recall(W, P, trial=trial)
    r = recall(W, P, simulator="brian2", trial=trial)
    assert torch.equal(r.raster, ref.raster) and torch.equal(r.full, ref.full)
    assert r.scores.to_dict() == ref.scores.to_dict() and r.simulator == "brian2"
    assert r.seconds["simulate"] > 0 and r.provenance["n_synapses"] == int((W != 0).sum())
    assert "neurons" in [obj.name for obj in r.network.objects]
    runaway = runaway_weights()
    Q = hdsnn.bernoulli_patterns(2, 40, 100, 0.05, seed=4)
    assert torch.equal(recall(runaway, Q, simulator="brian2").full, recall(runaway, Q).full)


@pytest.mark.brian2
def test_pruned_recall_differs_and_counts_synapses(benchmark):
    P, W = benchmark
    r = recall(W, P, simulator="brian2", top_k=20)
    nonzero = (W != 0).reshape(W.shape[0], -1).sum(1)
    assert r.provenance["n_synapses"] == int(nonzero.clamp(max=20).sum()) < int(nonzero.sum())
    assert not torch.equal(r.raster, recall(W, P).raster)


@pytest.mark.parametrize("simulator, option, message", [
    ("torch", {"top_k": 3}, "simulator 'torch' takes the options device, sparse; got top_k"),
    ("dense", {"neuron": "adex"}, "simulator 'dense' takes the options device, sparse; got neuron"),
    ("brian2", {"device": "cuda"}, "simulator 'brian2' takes the options budget_gb, build_dir"),
    ("torch", {"device": "foo"}, "device must be 'cpu', 'cuda' or 'cuda:K'; got 'foo'"),
    ("brian2", {"target": "cuda_standalone"}, "target 'cuda_standalone' needs the brian2cuda package"),
    ("gpu", {}, "simulator must be one of 'torch', 'dense', 'brian2', 'torch_neurons'; got 'gpu'"),
    ("torch_neurons", {"target": "cython"}, "simulator 'torch_neurons' takes the options calibration_patterns, "
                                            "delay_shift_ms, device, dt_ms, dtype, efficacy, keep_fraction, neuron, "
                                            "noise_mV, noise_tau_ms, seed, threshold, tolerance, top_k; got target"),
    ("torch_neurons", {"neuron": "exact"}, "neuron must be one of 'lif_current', 'lif_conductance', 'adex', "
                                           "'izhikevich'; got 'exact'"),
    ("torch_neurons", {"dtype": "float16"}, "dtype must be one of 'float64', 'float32'; got 'float16'"),
])
def test_refusals_before_any_work(benchmark, simulator, option, message):
    P, W = benchmark
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        recall(W, P, simulator=simulator, **option)


def test_cuda_without_a_gpu_is_a_clear_error(benchmark, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)      # the same on a machine with a GPU
    P, W = benchmark
    with pytest.raises(ValueError, match="device 'cuda' needs a CUDA GPU, and torch finds none here"):
        recall(W, P, device="cuda")


@pytest.mark.brian2
def test_cli_recall_with_brian2(tmp_path, benchmark):
    P, W = benchmark
    save_raster(tmp_path / "p.npz", P)
    save_weights(tmp_path / "w.npz", W)
    out = tmp_path / "r.npz"
    assert main(["recall", "--weights", str(tmp_path / "w.npz"), "--patterns", str(tmp_path / "p.npz"),
                 "--out", str(out), "--simulator", "brian2", "--target", "numpy"]) == 0
    raster, meta = load_raster(out)
    assert torch.equal(raster, recall(W, P).raster)
    scores = json.loads(out.with_suffix(".json").read_text())
    assert scores["simulator"] == "brian2" and scores["n_synapses"] == int((W != 0).sum())


@pytest.mark.brian2
def test_cli_refuses_over_budget(tmp_path, benchmark, capsys):
    P, W = benchmark
    save_raster(tmp_path / "p.npz", P)
    save_weights(tmp_path / "w.npz", W)
    base = ["recall", "--weights", str(tmp_path / "w.npz"), "--patterns", str(tmp_path / "p.npz"),
            "--out", str(tmp_path / "r.npz"), "--simulator", "brian2"]
    assert main(base + ["--budget-gb", "0.1"]) == 2           # below what N neurons alone need
    err = capsys.readouterr().err
    assert err.startswith("hdsnn: error: the memory budget of 0.10 GiB cannot hold a Brian2 network of N=")
    assert "raise the budget (budget_gb) to at least" in err and "top_k=" not in err
    assert main(base + ["--budget-gb", "0.2935"]) == 2        # room for some synapses: a pruning that fits
    err = capsys.readouterr().err
    assert "above the memory budget of 0.29 GiB" in err and "top_k=" in err
    k = int(err.split("top_k=")[1].split()[0])
    assert k >= 1
    assert main(base + ["--budget-gb", "0.2935", "--top-k", str(k)]) == 0     # the advice fits


@pytest.mark.slow
@pytest.mark.brian2
def test_cli_recall_with_a_richer_neuron_honours_the_trial(tmp_path, capsys):
    pat, w, rec, rec2 = (tmp_path / n for n in ("p.npz", "w.npz", "r.npz", "r2.npz"))
    assert main(["patterns", "--out", str(pat), "--M", "2", "--N", "60", "--T", "80", "--p-A", "0.03"]) == 0
    assert main(["init", "--patterns", str(pat), "--out", str(w), "--D", "10"]) == 0
    base = ["recall", "--weights", str(w), "--patterns", str(pat), "--simulator", "brian2", "--neuron",
            "lif_current", "--efficacy", "2.0"]
    assert main(base + ["--out", str(rec)]) == 0
    raster, meta = load_raster(rec)
    assert raster.shape == (2, 60, 80) and meta["options"]["neuron"] == "lif_current"
    assert len(meta["spike_times"]["time_ms"]) == int(raster.sum())
    scores = json.loads(rec.with_suffix(".json").read_text())
    assert scores["efficacy"] == 2.0 and "simulate" in scores["wall_time_s"]
    pooled = scores["scores"]["pooled"]
    assert pooled["tp"] > 10 and pooled["tp"] + pooled["fn"] == int(load_raster(pat)[0][:, :, 10:].sum())
    assert main(base + ["--out", str(rec2), "--p-flip", "0.9", "--pretime", "50"]) == 0
    assert not torch.equal(load_raster(rec2)[0], raster)       # the options reach the neuron model
    assert main(base + ["--out", str(rec2), "--target", "cpp_standalone"]) == 2
    assert "target must be 'numpy' or 'cython' with neuron 'lif_current'" in capsys.readouterr().err
