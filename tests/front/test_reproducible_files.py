"""Identical seeds give identical bytes; a run folder is locked while a run writes into it."""
import subprocess
import sys

import pytest

from hdsnn.cli import main


def _small(tmp_path):
    pat = tmp_path / "p.npz"
    assert main(["patterns", "--out", str(pat), "--M", "2", "--N", "40", "--T", "120", "--p-A", "0.03"]) == 0
    return pat


@pytest.mark.slow
@pytest.mark.parametrize("method", ["hebbian", "lstsq", "margin"])
def test_identical_seeds_give_identical_bytes(tmp_path, method):
    """Weights and recalled rasters hold no wall time (timings go to the recall's .json only)."""
    pat = _small(tmp_path)
    files = []
    for k in (1, 2):
        w, r = tmp_path / f"w{k}.npz", tmp_path / f"r{k}.npz"
        assert main(["init", "--patterns", str(pat), "--out", str(w), "--D", "7", "--method", method]) == 0
        assert main(["recall", "--weights", str(tmp_path / "w1.npz"), "--patterns", str(pat), "--out", str(r)]) == 0
        files.append((w.read_bytes(), r.read_bytes()))
    assert files[0][0] == files[1][0]
    assert files[0][1] == files[1][1]


def test_a_run_folder_in_use_is_refused_and_a_dead_runs_lock_is_taken_over(tmp_path, capsys):
    pat = _small(tmp_path)
    run = tmp_path / "run"
    run.mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (run / ".hdsnn.lock").write_text(str(sleeper.pid))
        argv = ["train", "--patterns", str(pat), "--out", str(tmp_path / "w.npz"), "--D", "7", "--epochs", "1",
                "--run-dir", str(run), "--no-progress"]
        capsys.readouterr()
        assert main(argv) == 2
        assert (f"run folder {str(run)!r} is in use by process {sleeper.pid} (it holds .hdsnn.lock); wait for it "
                f"to end or choose another folder") in capsys.readouterr().err
        assert not (tmp_path / "w.npz").exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert main(argv) == 0                              # the lock of a dead process is taken over
    assert not (run / ".hdsnn.lock").exists() and (run / "history.json").exists()
