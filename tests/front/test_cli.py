"""The command line: demo, the patterns -> init -> recall pipeline, and user errors."""
import json
import subprocess
import sys

import pytest

from hdsnn.cli import main
from hdsnn.io import load_raster, load_weights
from hdsnn.models import load_weights_or_synapses

SMALL = ["--M", "3", "--N", "400", "--T", "200", "--p-A", "0.004", "--seed", "2"]


def test_demo_writes_results_and_figures(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", *SMALL, "--D", "21", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "pooled" in printed and "hebbian init" in printed
    results = json.loads((out / "results.json").read_text())
    assert results["scores"]["pooled"]["f1"] > 0.95
    assert len(results["scores"]["per_pattern"]["f1"]) == 3
    assert set(results["wall_time_s"]) == {"patterns", "hebbian init", "recall", "total"}
    assert (out / "recall_pattern0.png").stat().st_size > 10_000
    assert (out / "recall_pattern0.svg").read_text().lstrip().startswith("<?xml")


@pytest.mark.parametrize("method", ["hebbian", "lstsq"])
def test_pipeline_patterns_init_recall(tmp_path, method, capsys):
    pat, w, rec = tmp_path / "p.npz", tmp_path / "w.npz", tmp_path / "rec.npz"
    assert main(["patterns", "--out", str(pat), *SMALL]) == 0
    assert main(["init", "--patterns", str(pat), "--out", str(w), "--D", "21", "--method", method]) == 0
    assert main(["recall", "--weights", str(w), "--patterns", str(pat), "--out", str(rec),
                 "--pretime", "10", "--posttime", "5"]) == 0
    raster, meta = load_raster(rec)
    targets, _ = load_raster(pat)
    assert raster.shape == targets.shape and meta["trial"]["pretime"] == 10
    assert load_weights(w)[1]["method"] == method
    scores = json.loads(rec.with_suffix(".json").read_text())["scores"]["pooled"]
    assert scores["f1"] > 0.95


def _help(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    return capsys.readouterr().out


def _run(*args):
    return subprocess.run([sys.executable, "-m", "hdsnn.cli", *args], capture_output=True, text=True)


@pytest.mark.slow            # a fresh interpreter
def test_user_errors_exit_2_without_traceback(tmp_path, capsys):
    res = _run("recall", "--weights", str(tmp_path / "missing.npz"), "--patterns", "x.npz", "--out", "y.npz")
    assert res.returncode == 2
    assert "hdsnn: error: weights file not found" in res.stderr and "Traceback" not in res.stderr
    assert main(["patterns", "--out", str(tmp_path / "p.npz"), "--p-A", "2"]) == 2
    assert capsys.readouterr().err == "hdsnn: error: p_A must be in (0.0, 1.0); got 2.0\n"


def test_mismatched_weights_and_patterns(tmp_path, capsys):
    a, b, w = tmp_path / "a.npz", tmp_path / "b.npz", tmp_path / "w.npz"
    main(["patterns", "--out", str(a), "--M", "1", "--N", "30", "--T", "60", "--p-A", "0.05"])
    main(["patterns", "--out", str(b), "--M", "1", "--N", "40", "--T", "60", "--p-A", "0.05"])
    main(["init", "--patterns", str(a), "--out", str(w), "--D", "5"])
    capsys.readouterr()
    assert main(["recall", "--weights", str(w), "--patterns", str(b), "--out", str(tmp_path / "r.npz")]) == 2
    assert "are for N=30 neurons but patterns" in capsys.readouterr().err


def test_help_states_units_and_defaults(capsys):
    text = " ".join(_help("recall", capsys).split())
    assert "steps of spontaneous activity before the trigger (default: 0)" in text
    assert "stop a trial above this firing probability per neuron per step (default: 0.05)" in text


def test_help_defaults_match_the_code(capsys):
    from hdsnn.learning import DEFAULT_GAIN, LSTSQ_GAIN
    text = " ".join(_help("init", capsys).split())
    assert f"[hebbian: {DEFAULT_GAIN}, lstsq: {LSTSQ_GAIN}]" in text
    assert "(default: None)" not in text


@pytest.mark.slow
def test_train_stdp_narrow_mirrored_equals_init(tmp_path, capsys):
    """`hdsnn train --method stdp` with the narrow window and mirrored depression writes the Hebbian weights."""
    pat, hebb, stdp, b2 = (tmp_path / f"{n}.npz" for n in ("p", "hebb", "stdp", "b2"))
    small = ["--M", "2", "--N", "30", "--T", "120", "--p-A", "0.03", "--seed", "1"]
    assert main(["patterns", "--out", str(pat), *small]) == 0
    assert main(["init", "--patterns", str(pat), "--out", str(hebb), "--D", "7"]) == 0
    assert main(["train", "--method", "stdp", "--patterns", str(pat), "--out", str(stdp), "--D", "7",
                 "--n-replays", "4"]) == 0
    assert main(["train", "--method", "stdp", "--patterns", str(pat), "--out", str(b2), "--D", "7",
                 "--n-replays", "2", "--simulator", "brian2", "--update", "multiplicative",
                 "--w-min", "-1", "--w-max", "2"]) == 0
    W_h, _ = load_weights(hebb)
    W_s, meta = load_weights(stdp)
    assert meta["method"] == "stdp" and meta["options"]["n_replays"] == 4 and meta["implementation"] == "closed_form"
    assert (W_s - W_h).abs().max() < 1e-6
    W_b, meta_b = load_weights(b2)
    assert meta_b["options"]["simulator"] == "brian2" and meta_b["options"]["update"] == "multiplicative"
    assert 0 < float(W_b.max()) < 2.0 and float(W_b.min()) > -1.0
    assert main(["train", "--method", "stdp", "--patterns", str(pat), "--out", str(stdp), "--D", "7",
                 "--update", "multiplicative"]) == 2
    assert "update='multiplicative' needs finite bounds" in capsys.readouterr().err


def test_outputs_are_checked_before_any_work_and_never_overwrite_inputs(tmp_path, capsys):
    pat, w = tmp_path / "p.npz", tmp_path / "w.npz"
    assert main(["patterns", "--out", str(pat), "--M", "1", "--N", "30", "--T", "60", "--p-A", "0.05"]) == 0
    assert main(["init", "--patterns", str(pat), "--out", str(w), "--D", "5"]) == 0
    before = pat.read_bytes()
    capsys.readouterr()
    for argv in (["recall", "--weights", str(w), "--patterns", str(pat), "--out", str(pat)],
                 ["init", "--patterns", str(pat), "--out", str(pat), "--D", "5"],
                 ["train", "--patterns", str(pat), "--out", str(pat), "--D", "5", "--epochs", "1"]):
        assert main(argv) == 2
        assert f"--out {str(pat)!r} is also an input file: it would be overwritten" in capsys.readouterr().err
    assert pat.read_bytes() == before
    assert main(["recall", "--weights", str(w), "--patterns", str(pat), "--out", str(tmp_path / "r.txt")]) == 2
    assert "--out must end in .npz; got" in capsys.readouterr().err
    (tmp_path / "afile").write_text("x")
    assert main(["demo", "--out", str(tmp_path / "afile"), "--M", "1", "--N", "30", "--T", "60"]) == 2
    assert "--out must be a folder;" in capsys.readouterr().err


def test_devices_and_targets_that_are_not_there_exit_2(tmp_path, capsys):
    import torch

    pat, w = tmp_path / "p.npz", tmp_path / "w.npz"
    main(["patterns", "--out", str(pat), "--M", "1", "--N", "30", "--T", "60", "--p-A", "0.05"])
    main(["init", "--patterns", str(pat), "--out", str(w), "--D", "5"])
    capsys.readouterr()
    base = ["recall", "--weights", str(w), "--patterns", str(pat), "--out", str(tmp_path / "r.npz")]
    if not torch.cuda.is_available():
        assert main(base + ["--device", "cuda"]) == 2
        assert "device 'cuda' needs a CUDA GPU, and torch finds none here" in capsys.readouterr().err
    assert main(base + ["--device", "foo"]) == 2
    assert "device must be 'cpu', 'cuda' or 'cuda:K'; got 'foo'" in capsys.readouterr().err
    assert main(base + ["--simulator", "brian2", "--target", "cuda_standalone"]) == 2
    assert "target 'cuda_standalone' needs the brian2cuda package" in capsys.readouterr().err
    assert main(base + ["--top-k", "3"]) == 2                    # a Brian2 option given to torch is refused
    assert "--top-k do(es) not apply to --simulator 'torch'" in capsys.readouterr().err
    assert not (tmp_path / "r.npz").exists()


def test_margin_from_the_command_line(tmp_path, capsys):
    pat, w = tmp_path / "p.npz", tmp_path / "w.npz"
    main(["patterns", "--out", str(pat), "--M", "2", "--N", "40", "--T", "150", "--p-A", "0.03"])
    assert main(["init", "--patterns", str(pat), "--out", str(w), "--D", "7", "--method", "margin",
                 "--kappa", "0.2", "--lr", "0.05", "--epochs", "100"]) == 0
    W, meta = load_weights(w)
    assert meta["method"] == "margin" and meta["options"]["kappa"] == 0.2 and meta["violations"] == 0
    assert main(["init", "--patterns", str(pat), "--out", str(w), "--D", "7", "--method", "margin",       # the alias
                 "--margin", "0.25", "--init", "zero", "--optimizer", "sgd", "--lr", "0.3", "--step-patterns", "1",
                 "--epochs", "100"]) == 0
    W, meta = load_weights(w)
    assert meta["options"]["kappa"] == 0.25 and meta["options"]["init"] == "zero" and meta["violations"] == 0
    assert main(["init", "--patterns", str(pat), "--out", str(w), "--method", "hebbian", "--kappa", "1"]) == 2
    assert "--kappa do(es) not apply to --method 'hebbian'" in capsys.readouterr().err


def test_train_delays_from_the_generated_options(tmp_path, capsys):
    """`hdsnn train --method delays --synapses-per-pair K --p-connect P --learn both` reaches the delays
    learner with those options; the mask flags of bptt/stdp are refused for it."""
    pat, w = tmp_path / "p.npz", tmp_path / "w.npz"
    assert main(["patterns", "--out", str(pat), "--M", "1", "--N", "12", "--T", "40", "--p-A", "0.05"]) == 0
    assert main(["train", "--method", "delays", "--patterns", str(pat), "--out", str(w), "--D", "6",
                 "--synapses-per-pair", "2", "--p-connect", "0.5", "--learn", "both", "--epochs", "2",
                 "--init", "hebbian", "--dropout", "0", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "synapses, delays" in printed
    kind, syn, meta = load_weights_or_synapses(w)                      # the learned object: a synapse file
    assert kind == "synapses" and syn.delay_ms is not None and len(syn) == meta["n_synapses"]
    assert meta["method"] == "delays" and meta["options"]["synapses_per_pair"] == 2
    assert meta["options"]["p_connect"] == 0.5 and meta["options"]["learn"] == "both"
    W = syn.to_dense()
    assert 0 < int((W != 0).sum()) <= meta["n_synapses"]                 # duplicates on one channel sum
    assert (tmp_path / "w_run" / "history.json").exists()
    assert main(["train", "--method", "delays", "--patterns", str(pat), "--out", str(w), "--D", "6",
                 "--mask-seed", "3", "--epochs", "1"]) == 2
    assert "--mask-seed does not apply to --method 'delays'" in capsys.readouterr().err
    assert main(["train", "--method", "bptt", "--patterns", str(pat), "--out", str(w), "--D", "6",
                 "--learn", "both", "--epochs", "1"]) == 2
    assert "--learn do(es) not apply to --method 'bptt'" in capsys.readouterr().err
