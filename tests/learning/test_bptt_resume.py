import pytest
"""`hdsnn train`: a run killed for real and resumed ends with exactly the weights of an uninterrupted run."""
import os
import signal
import subprocess
import sys
import time

import torch

from hdsnn.cli import main
from hdsnn.io import load_weights, save_raster
from hdsnn.learning.checkpoint import load_checkpoint
from hdsnn.models import bernoulli_patterns

EPOCHS = 40


def _args(patterns, out, *extra):
    return ["train", "--patterns", str(patterns), "--out", str(out), "--D", "9", "--epochs", str(EPOCHS),
            "--lr", "5e-3", "--warmup", "2", "--dropout", "0.3", "--checkpoint-every", "1", "--seed", "5",
            "--stop-f1", "none", "--threads", "1", "--no-progress", *extra]


@pytest.mark.slow
def test_killed_run_resumes_to_identical_weights(tmp_path, capsys):
    patterns = tmp_path / "patterns.npz"
    save_raster(patterns, bernoulli_patterns(2, 64, 100, 0.02, seed=4))
    before = torch.get_num_threads()
    try:
        assert main(_args(patterns, tmp_path / "ref.npz")) == 0
        reference, _ = load_weights(tmp_path / "ref_run" / "weights_last.npz")

        out = tmp_path / "cut.npz"
        ckpt = tmp_path / "cut_run" / "checkpoint.npz"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        proc = subprocess.Popen([sys.executable, "-m", "hdsnn.cli", *_args(patterns, out)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        killed_at = None
        deadline = time.time() + 120
        while proc.poll() is None and time.time() < deadline:
            if ckpt.exists():
                epoch = load_checkpoint(ckpt)["epoch"]
                if epoch >= 3:
                    proc.send_signal(signal.SIGKILL)
                    killed_at = epoch
                    break
            time.sleep(0.01)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL, "the run must be killed before it finishes"
        saved = load_checkpoint(ckpt)["epoch"]
        assert killed_at <= saved < EPOCHS
        assert not (tmp_path / "cut_run" / "weights_last.npz").exists()

        assert main(_args(patterns, out, "--resume")) == 0
        resumed, _ = load_weights(tmp_path / "cut_run" / "weights_last.npz")
    finally:
        torch.set_num_threads(before)
    assert load_checkpoint(ckpt)["epoch"] == EPOCHS
    assert torch.equal(resumed, reference)


def test_train_cli_user_errors(tmp_path, capsys):
    patterns = tmp_path / "p.npz"
    save_raster(patterns, bernoulli_patterns(2, 16, 50, 0.05, seed=1))
    assert main(["train", "--patterns", str(patterns), "--out", str(tmp_path / "w.txt")]) == 2
    assert "--out must end in .npz" in capsys.readouterr().err
    assert main(["train", "--patterns", str(patterns), "--out", str(tmp_path / "w.npz"), "--lr", "-1"]) == 2
    assert "lr must be in" in capsys.readouterr().err
    assert main(["train", "--patterns", str(tmp_path / "missing.npz"), "--out", str(tmp_path / "w.npz")]) == 2
    assert "not found" in capsys.readouterr().err
