"""``hdsnn task``: the quick cue-accumulation run learns above chance; bad options exit 2 before any work."""
import json
import subprocess
import sys

import pytest

from hdsnn.cli import main


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "hdsnn.cli", *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.slow
def test_task_cue_accumulation_quick_rises_above_chance(tmp_path):
    run = _cli("task", "cue-accumulation", "--quick", "--out", str(tmp_path), "--threads", "1", "--no-progress")
    assert run.returncode == 0, run.stderr
    result = json.loads((tmp_path / "cue-accumulation_quick.json").read_text())
    assert result["chance"] == 0.5 and result["trials"]["test"] == 256
    # 256 test trials: chance gives 0.5 +- 0.031; the quick run reaches about 0.75
    assert result["test_accuracy"] >= 0.62, result["test_accuracy"]
    assert result["history"][0]["val_accuracy"] < result["best_validation_accuracy"]
    for key in ("settings", "accuracy_vs_wait", "accuracy_vs_cues", "spectrum", "learned"):
        assert key in result
    assert result["settings"]["network"]["tau_max_ms"] <= 50.0
    for stem in ("trial", "curves", "spectrum"):
        assert (tmp_path / f"cue-accumulation_quick_{stem}.png").stat().st_size > 1000
    assert "test accuracy" in run.stdout
    # a second stage from the trained network starts where the first ended (the same validation trials)
    again = _cli("task", "cue-accumulation", "--quick", "--out", str(tmp_path / "stage2"), "--threads", "1",
                 "--no-progress", "--init", str(tmp_path / "cue-accumulation_quick_network.npz"), "--epochs", "1",
                 "--sweep-trials", "0", "--test-trials", "32")
    assert again.returncode == 0, again.stderr
    second = json.loads((tmp_path / "stage2" / "cue-accumulation_quick.json").read_text())
    assert second["history"][0]["val_accuracy"] == result["best_validation_accuracy"]
    assert second["init"].endswith("cue-accumulation_quick_network.npz")
    wrong = _cli("task", "sequential-digits", "--quick", "--out", str(tmp_path / "stage3"), "--init",
                 str(tmp_path / "cue-accumulation_quick_network.npz"))
    assert wrong.returncode == 2 and "is a network for 'cue-accumulation'" in wrong.stderr


@pytest.mark.parametrize("args, message", [
    (["task", "cue-accumulation", "--variant", "bogus"], "invalid choice: 'bogus'"),
    (["task", "cue-accumulation", "--n-cues", "4", "--quick"], "n_cues must be odd"),
    (["task", "sequential-digits", "--wait-ms", "600"], "wait_ms and n_cues apply to the cue-accumulation task only"),
    (["task", "cue-accumulation", "--mnist-images", "x.npz"], "--mnist-images applies to the sequential-digits"),
    (["task", "cue-accumulation", "--test-trials", "0", "--quick"], "test_trials must be"),
])
def test_task_bad_options_exit_2(tmp_path, capsys, args, message):
    """In process (no interpreter start): status 2 and one line naming the problem, before any work."""
    try:
        status = main([*args, "--out", str(tmp_path / "o")])
    except SystemExit as stop:                       # argparse refuses unknown choices itself
        status = stop.code
    err = capsys.readouterr().err
    assert status == 2 and message in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").glob("*.json"))
