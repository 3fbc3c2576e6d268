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


def test_capacity_quick(tmp_path):
    assert main(["paper", "capacity", "--quick", "--methods", "hebbian", "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "capacity_quick.json").read_text())["rows"]
    cap = {(r["N"], r["D"]): r["capacity"] for r in rows}
    assert cap[(128, 21)] > cap[(64, 21)]                         # more neurons, more patterns
    for r in rows:                                                # the capacity passed, one more did not
        f1 = {int(k): v for k, v in r["f1_by_M"].items()}
        if r["capacity"]:
            assert f1[r["capacity"]] >= 0.99
        assert r["reached_M_max"] or any(v < 0.99 for m, v in f1.items() if m > r["capacity"])


def test_methods_quick(tmp_path):
    assert main(["paper", "methods", "--quick", "--out", str(tmp_path)]) == 0
    rows = {r["method"]: r for r in json.loads((tmp_path / "methods_quick.json").read_text())["rows"]}
    assert set(rows) == {"hebbian", "lstsq"}
    assert rows["lstsq"]["nonzero_fraction"] > rows["hebbian"]["nonzero_fraction"]   # dense vs pair-sparse
    for r in rows.values():
        assert r["clean"]["f1"] >= r["p_flip_0.25"]["f1"] - 1e-9


def test_biophysical_quick(tmp_path):
    assert main(["paper", "biophysical", "--quick", "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "biophysical_quick.json").read_text())
    assert res["setup"]["torch_discrete_f1"]["uniform"] > 0.3            # the small weights store the patterns (0.54)
    for key in ("uniform/lif_current", "uniform/lif_conductance", "uniform/adex", "uniform/izhikevich",
                "lognormal/adex"):
        r = res[key]
        assert 0.0 <= r["f1_exact"] <= r["f1"] <= r["f1_k2"] <= 1.0         # tolerance only adds matches
        chosen = r["calibration_f1"][f"efficacy={r['efficacy']:g} shift={r['delay_shift_ms']:g}ms"]
        assert chosen == max(r["calibration_f1"].values())                 # the best calibration is used
    assert res["uniform/lif_current"]["f1"] > 0.3                           # far above chance (about 0.02)
    assert (tmp_path / "biophysical_quick.png").exists()


def test_stdp_compare_quick(tmp_path):
    assert main(["paper", "stdp_compare", "--quick", "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "stdp_compare_quick.json").read_text())
    rows = {r["method"]: r for r in res["sizes"][0]["rows"]}
    analytic, narrow = rows["analytic"], rows["stdp mirrored tau+=narrow"]
    assert narrow["pearson_r_analytic"] >= 0.999                        # the narrow mirrored rule is the analytic one
    assert abs(narrow["f1"] - analytic["f1"]) <= 0.01 and analytic["f1"] > 0.99
    assert rows["stdp mirrored tau+=2"]["pearson_r_analytic"] < narrow["pearson_r_analytic"]
    assert rows["bptt"]["f1"] >= analytic["f1"] - 1e-9                   # BPTT keeps its best epoch (the init counts)
    for r in rows.values():
        assert r["robustness"]["0.5"] <= r["robustness"]["0.0"] + 1e-9 or r["f1"] < 0.5
    b2 = res["brian2"]["small"]
    assert all(v["max_abs_diff_torch_brian2"] < 1e-9 for v in b2["rules"].values())
    assert b2["recall"]["brian2_exact_equals_torch"] and b2["recall"]["torch_f1"] > 0.99
    assert (tmp_path / "stdp_compare_quick.png").exists() and (tmp_path / "stdp_compare_quick.svg").exists()
