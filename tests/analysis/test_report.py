"""The analyze pipeline and the `hdsnn analyze` command on a small benchmark."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from hdsnn.analysis import read_nix, read_nwb, score
from hdsnn.analysis.timing import match_spikes
from hdsnn.cli import main

# the whole report (statistics, SPADE, groups, files): seconds per test
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory):
    d = tmp_path_factory.mktemp("analyze")
    pat, w, rec, out = d / "p.npz", d / "w.npz", d / "r.npz", d / "report"
    assert main(["patterns", "--out", str(pat), "--N", "96", "--M", "3", "--T", "150", "--p-A", "0.02"]) == 0
    assert main(["init", "--patterns", str(pat), "--out", str(w), "--D", "15"]) == 0
    assert main(["recall", "--weights", str(w), "--patterns", str(pat), "--out", str(rec), "--p-flip", "0.2"]) == 0
    assert main(["analyze", "--patterns", str(pat), "--recall", str(rec), "--out", str(out),
                 "--tolerance", "0", "2"]) == 0
    return pat, rec, out


def test_report_json_holds_the_scores_of_the_rasters(analyzed):
    from hdsnn.io import load_raster

    pat, rec, out = analyzed
    P, _ = load_raster(pat)
    R, _ = load_raster(rec)
    report = json.loads((out / "report.json").read_text())
    assert report["scores"]["exact"] == json.loads(json.dumps(score(P, R, 15).to_dict()))
    tol = match_spikes(P, R, 15, 2).per_pattern().pooled()
    assert report["scores"]["tolerant"]["2"]["pooled"] == pytest.approx(tol)
    assert report["shape"] == {"M": 3, "N": 96, "T": 150, "D": 15, "dt_ms": 1.0}
    spikes = int(R[:, :, 15:].sum())
    assert report["statistics"]["recall"]["rate_hz"]["mean"] == pytest.approx(spikes / (3 * 96 * 0.135))
    assert sum(report["statistics"]["cross_correlogram"]["counts"]) > 0
    assert report["groups"]["statistics"]["n_groups"] > 0          # weights were found through the recall file
    assert set(report["wall_time_s"]) >= {"scores", "distances", "statistics", "motifs (SPADE)",
                                          "polychronous groups", "figures", "files (NIX, NWB)", "total"}


def test_report_folder_has_figures_and_files_that_read_back(analyzed):
    pat, rec, out = analyzed
    from hdsnn.io import load_raster

    P, _ = load_raster(pat)
    R, _ = load_raster(rec)
    for stem in ("recall_overlay", "sliding_f1", "pattern_scores", "timing_errors", "isi_cv",
                 "cross_correlogram", "motifs", "weights", "groups"):
        assert (out / f"{stem}.png").stat().st_size > 1000 and (out / f"{stem}.svg").exists()
    nix, config = read_nix(out / "rasters.nix")
    assert torch.equal(nix["target"], P) and torch.equal(nix["recall"], R)
    assert config["network"]["D"] == 15
    nwb, _, columns = read_nwb(out / "rasters.nwb")
    assert torch.equal(nwb["recall"], R)
    report = json.loads((out / "report.json").read_text())
    np.testing.assert_allclose(columns["recall_f1"], np.asarray(report["scores"]["tolerant"]["0"]["per_neuron"]["f1"]))


def test_analyze_reports_user_errors(tmp_path, capsys):
    from hdsnn.io import save_raster

    r = torch.zeros(2, 8, 40, dtype=torch.bool)
    save_raster(tmp_path / "p.npz", r)
    save_raster(tmp_path / "r.npz", r)                 # no network metadata: D must be given
    assert main(["analyze", "--patterns", str(tmp_path / "p.npz"), "--recall", str(tmp_path / "r.npz"),
                 "--out", str(tmp_path / "o")]) == 2
    assert "--D is needed" in capsys.readouterr().err


def test_analyze_a_silent_recall(tmp_path):
    from hdsnn import bernoulli_patterns
    from hdsnn.analysis.report import analyze

    P = bernoulli_patterns(M=2, N=32, T=100, p_A=0.02, seed=1)
    rep = analyze(P, torch.zeros_like(P), D=10, out=tmp_path, progress=False)
    pooled = rep["scores"]["exact"]["pooled"]
    assert pooled["tp"] == 0 and pooled["fn"] == int(P[:, :, 10:].sum()) and pooled["f1"] == 0.0
    assert rep["motifs"]["motifs"] == [] and rep["scores"]["timing_errors"]["n"] == 0
    assert rep["statistics"]["recall"]["rate_hz"]["max"] == 0.0
    assert (tmp_path / "rasters.nix").exists() and "groups" not in rep


def test_report_folder_appears_whole_or_not_at_all(tmp_path, monkeypatch):
    import hdsnn.analysis.report as report_module
    from hdsnn.analysis import analyze
    from hdsnn.models import bernoulli_patterns

    P = bernoulli_patterns(1, 20, 60, 0.05, seed=0)

    def broken(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(report_module, "write_nwb", broken)
    with pytest.raises(OSError, match="disk full"):
        analyze(P, P, D=5, out=tmp_path / "rep", progress=False)
    assert not (tmp_path / "rep").exists() and list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    rep = analyze(P, P, D=5, out=tmp_path / "rep", progress=False)
    assert all(Path(f).exists() for f in rep["files"]) and sorted(p.name for p in tmp_path.iterdir()) == ["rep"]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "mine.txt").write_text("keep")
    with pytest.raises(ValueError, match="holds files and is not an hdsnn report"):
        analyze(P, P, D=5, out=tmp_path / "data", progress=False)
    assert (tmp_path / "data" / "mine.txt").read_text() == "keep"
