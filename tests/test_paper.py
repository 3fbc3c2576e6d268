"""Every paper script runs in --quick mode and says what the paper's experiment says."""
import json

from hdsnn.cli import main


def test_robustness_quick(tmp_path):
    assert main(["paper", "robustness", "--quick", "--jobs", "2", "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "robustness_quick.json").read_text())
    rows = {(r["cue"], r["kind"], r["value"]): r for r in res["rows"]}
    assert rows[("clamp", "redraw", 0.0)]["f1"] > 0.99
    assert rows[("clamp", "redraw", 1.0)]["f1"] < 0.5            # the cue is gone
    assert rows[("clamp", "trigger_steps", 0)]["f1"] < 0.05       # no trigger, no recall
    assert rows[("clamp", "silenced", 256)]["f1"] < 0.05          # everyone silenced
    assert (tmp_path / "robustness_quick.png").exists() and (tmp_path / "robustness_quick.svg").exists()


def test_sequential_quick(tmp_path):
    assert main(["paper", "sequential", "--quick", "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "sequential_quick.json").read_text())
    assert res["sliding_f1_inside_patterns_mean"] > 0.95
    assert res["sliding_f1_outside_patterns_mean"] < 0.6
    assert len(res["sliding_f1"]) == 4 * 400


def test_scans_quick(tmp_path):
    assert main(["paper", "scans", "--quick", "--jobs", "2", "--only", "D", "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "scans_quick.json").read_text())
    loss = {r["value"]: r["loss_mean"] for r in res["scans"]["D"]}
    assert loss[3] > 0.5 > loss[21]                               # too few delays cannot hold the patterns
