"""`hdsnn analyze` on files from another tool (pynwb, Neo NIX) gives the numbers of the .npz inputs."""
import json
from datetime import datetime, timezone

import numpy as np
import pytest

from hdsnn.cli import main
from hdsnn.io import save_raster
from hdsnn.learning import hebbian_init
from hdsnn.models import bernoulli_patterns, recall

pytestmark = pytest.mark.slow                       # three analysis reports


def foreign_nwb(path, raster, dt_s=0.001, gap_s=0.5):
    """A raster written as another lab would: plain pynwb, one unit per neuron, spike times in s, one trial each."""
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.file import Subject

    M, N, T = raster.shape
    nwb = NWBFile(session_description="another tool", identifier=f"foreign-{path.stem}",
                  session_start_time=datetime(2024, 5, 6, tzinfo=timezone.utc),
                  subject=Subject(subject_id="sim", species="Mus musculus", sex="U", age="P1D"))
    starts = [1.0 + m * (T * dt_s + gap_s) for m in range(M)]
    for start in starts:
        nwb.add_trial(start_time=start, stop_time=start + T * dt_s)
    for n in range(N):
        m, t = np.nonzero(raster[:, n, :].numpy())
        nwb.add_unit(spike_times=np.sort(np.asarray(starts)[m] + (t + 0.5) * dt_s))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def test_analyze_foreign_nwb_equals_npz(tmp_path, capsys):
    P = bernoulli_patterns(3, 48, 150, 0.02, seed=5)
    R = recall(hebbian_init(P, D=12), P).raster
    save_raster(tmp_path / "p.npz", P)
    save_raster(tmp_path / "r.npz", R, network={"D": 12, "N": 48, "beta": 0.7, "theta": 1.0, "reset": "zero",
                                                 "dt_ms": 1.0})
    foreign_nwb(tmp_path / "p.nwb", P)
    foreign_nwb(tmp_path / "r.nwb", R)
    common = ["--no-weights", "--spade-budget-gb", "0.5"]
    assert main(["analyze", "--patterns", str(tmp_path / "p.npz"), "--recall", str(tmp_path / "r.npz"),
                 "--out", str(tmp_path / "npz"), *common]) == 0
    assert main(["analyze", "--patterns", str(tmp_path / "p.nwb"), "--recall", str(tmp_path / "r.nwb"),
                 "--out", str(tmp_path / "nwb"), "--D", "12", "--dt-ms", "1", *common]) == 0
    a, b = (json.loads((tmp_path / k / "report.json").read_text()) for k in ("npz", "nwb"))
    same = ("scores", "distances", "motifs", "shape", "sliding_f1", "statistics")
    assert {k: a[k] for k in same} == {k: b[k] for k in same} and a["scores"]["exact"]["pooled"]["tp"] > 0
    assert main(["analyze", "--patterns", str(tmp_path / "p.nwb"), "--recall", str(tmp_path / "r.nwb"),
                 "--out", str(tmp_path / "x"), "--D", "12", *common]) == 2
    assert "dt_ms must be given: the Units tables of" in capsys.readouterr().err


def test_analyze_reads_our_own_report_files(tmp_path):
    """The rasters.nwb and rasters.nix of a report are valid inputs of the next analysis."""
    P = bernoulli_patterns(2, 40, 120, 0.03, seed=2)
    R = recall(hebbian_init(P, D=10), P).raster
    save_raster(tmp_path / "p.npz", P)
    save_raster(tmp_path / "r.npz", R, network={"D": 10, "N": 40, "beta": 0.7, "theta": 1.0, "reset": "zero",
                                                 "dt_ms": 1.0})
    base = ["--no-weights", "--spade-budget-gb", "0.5"]
    assert main(["analyze", "--patterns", str(tmp_path / "p.npz"), "--recall", str(tmp_path / "r.npz"),
                 "--out", str(tmp_path / "first"), *base]) == 0
    first = json.loads((tmp_path / "first" / "report.json").read_text())
    for suffix in ("nwb", "nix"):
        f = tmp_path / "first" / f"rasters.{suffix}"
        assert main(["analyze", "--patterns", str(f), "--recall", str(f), "--out", str(tmp_path / suffix),
                     *base]) == 0
        again = json.loads((tmp_path / suffix / "report.json").read_text())
        assert again["scores"] == first["scores"]
