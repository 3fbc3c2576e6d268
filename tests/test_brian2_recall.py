"""recall_brian2 and `hdsnn recall --simulator brian2`."""
import json

import pytest
import torch

import hdsnn
from hdsnn.cli import main
from hdsnn.config import TrialConfig
from hdsnn.io import load_raster, save_raster, save_weights
from hdsnn.learning import hebbian_init
from hdsnn.models import recall_brian2


@pytest.fixture(scope="module")
def benchmark(small_patterns):
    P = small_patterns[:, :, :160]
    return P, hebbian_init(P, D=11)


def test_recall_brian2_matches_torch_recall(benchmark):
    P, W = benchmark
    trial = TrialConfig(pretime=3, posttime=4)
    ref = hdsnn.recall(W, P, trial=trial, max_rate=None)
    r = recall_brian2(W, P, trial=trial)
    assert torch.equal(r.raster, ref.raster) and torch.equal(r.full, ref.full)
    assert r.scores.to_dict() == ref.scores.to_dict()
    assert r.run_seconds > 0 and r.n_synapses == int((W != 0).sum())


def test_pruned_recall_differs_and_counts_synapses(benchmark):
    P, W = benchmark
    r = recall_brian2(W, P, top_k=20)
    nonzero = (W != 0).reshape(W.shape[0], -1).sum(1)
    assert r.n_synapses == int(nonzero.clamp(max=20).sum()) < int(nonzero.sum())
    assert not torch.equal(r.raster, hdsnn.recall(W, P, max_rate=None).raster)


def test_cli_recall_with_brian2(tmp_path, benchmark, capsys):
    P, W = benchmark
    save_raster(tmp_path / "p.npz", P)
    save_weights(tmp_path / "w.npz", W)
    out = tmp_path / "r.npz"
    assert main(["recall", "--weights", str(tmp_path / "w.npz"), "--patterns", str(tmp_path / "p.npz"),
                 "--out", str(out), "--simulator", "brian2", "--target", "numpy"]) == 0
    raster, meta = load_raster(out)
    assert torch.equal(raster, hdsnn.recall(W, P, max_rate=None).raster)
    scores = json.loads(out.with_suffix(".json").read_text())
    assert scores["simulator"] == "brian2" and scores["brian2"]["synapses"] == int((W != 0).sum())
    assert "Brian2 (numpy)" in capsys.readouterr().out


def test_cli_refuses_over_budget(tmp_path, benchmark, capsys):
    P, W = benchmark
    save_raster(tmp_path / "p.npz", P)
    save_weights(tmp_path / "w.npz", W)
    code = main(["recall", "--weights", str(tmp_path / "w.npz"), "--patterns", str(tmp_path / "p.npz"),
                 "--out", str(tmp_path / "r.npz"), "--simulator", "brian2", "--budget-gb", "0.1"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("hdsnn: error:") and "budget of 0.10 GiB" in err and "top_k=" in err


def test_cli_recall_with_a_richer_neuron(tmp_path, capsys):
    import json
    from hdsnn.cli import main
    from hdsnn.io import load_raster
    pat, w, rec = tmp_path / "p.npz", tmp_path / "w.npz", tmp_path / "r.npz"
    assert main(["patterns", "--out", str(pat), "--M", "2", "--N", "60", "--T", "80", "--p-A", "0.03"]) == 0
    assert main(["init", "--patterns", str(pat), "--out", str(w), "--D", "10"]) == 0
    assert main(["recall", "--weights", str(w), "--patterns", str(pat), "--out", str(rec),
                 "--simulator", "brian2", "--neuron", "lif_current", "--efficacy", "2.0"]) == 0
    raster, meta = load_raster(rec)
    assert raster.shape == (2, 60, 80) and meta["brian2"]["neuron"] == "lif_current"
    scores = json.loads(rec.with_suffix(".json").read_text())
    assert scores["brian2"]["efficacy"] == 2.0 and "brian2 run" in scores["wall_time_s"]
    pooled = scores["scores"]["pooled"]
    assert pooled["tp"] > 10 and pooled["tp"] + pooled["fn"] == int(load_raster(pat)[0][:, :, 10:].sum())
    assert main(["recall", "--weights", str(w), "--patterns", str(pat), "--out", str(rec), "--simulator", "brian2",
                 "--neuron", "adex", "--target", "cpp_standalone"]) == 2
    assert "--target must be 'numpy' or 'cython' with --neuron adex" in capsys.readouterr().err
