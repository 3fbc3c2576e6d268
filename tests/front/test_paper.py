"""Every paper script runs in --quick mode and says what the paper's experiment says."""
import importlib
import json
import pkgutil

import pytest

import hdsnn.paper
from hdsnn.cli import PAPER_SCRIPTS, main

# every script's quick run: minutes together on 2 cores
pytestmark = pytest.mark.slow


def test_every_paper_script_runs_through_the_cli_with_quick_and_out(capsys):
    scripts = {m.name for m in pkgutil.iter_modules(hdsnn.paper.__path__) if not m.name.startswith("_")}
    assert scripts == set(PAPER_SCRIPTS)                              # `hdsnn paper NAME` for each
    for name in sorted(scripts):
        module = importlib.import_module(f"hdsnn.paper.{name}")
        with pytest.raises(SystemExit) as stop:
            module.main(["--help"])
        assert stop.value.code == 0
        usage = capsys.readouterr().out
        assert "--quick" in usage and "--out" in usage, name


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
    assert main(["paper", "capacity", "--quick", "--methods", "hebbian,margin", "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "capacity_quick.json").read_text())["rows"]
    cap = {(r["method"], r["N"], r["D"]): r["capacity"] for r in rows}
    assert cap[("hebbian", 128, 21)] > cap[("hebbian", 64, 21)]   # more neurons, more patterns
    assert cap[("margin", 64, 21)] > cap[("hebbian", 64, 21)]     # margin learning stores more
    for r in rows:
        assert r["fraction_of_bound"] == r["capacity"] / r["gardner_M_max"] and 0 <= r["fraction_of_bound"] < 1
    for r in rows:                                                # the capacity passed, one more did not
        f1 = {int(k): v for k, v in r["f1_by_M"].items()}
        if r["capacity"]:
            assert f1[r["capacity"]] >= 0.99
        assert r["reached_M_max"] or any(v < 0.99 for m, v in f1.items() if m > r["capacity"])


def test_methods_quick(tmp_path):
    assert main(["paper", "methods", "--quick", "--out", str(tmp_path)]) == 0
    rows = {r["method"]: r for r in json.loads((tmp_path / "methods_quick.json").read_text())["rows"]}
    assert set(rows) == {"hebbian", "lstsq", "bptt"}
    assert rows["bptt"]["clean"]["f1"] >= rows["hebbian"]["clean"]["f1"]   # trained from it, best epoch kept
    assert rows["bptt"]["nonzero_fraction"] > rows["hebbian"]["nonzero_fraction"]   # gradients densify W
    assert rows["lstsq"]["nonzero_fraction"] > rows["hebbian"]["nonzero_fraction"]   # dense vs pair-sparse
    for r in rows.values():
        assert r["clean"]["f1"] >= r["p_flip_0.25"]["f1"] - 1e-9


@pytest.mark.brian2
@pytest.mark.slow
def test_biophysical_quick(tmp_path):
    assert main(["paper", "biophysical", "--quick", "--baseline", "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "biophysical_quick.json").read_text())
    for kind in ("uniform", "lognormal"):
        learned = res[kind]
        assert learned["violations"] == 0                                    # the guarantee's premise
        assert learned["lif_current"]["f1_exact"] == 1.0                     # ... and its conclusion, in Brian2
        for model in ("lif_current", "lif_conductance", "adex", "izhikevich"):
            r = learned[model]
            assert 0.0 <= r["f1_exact"] <= r["f1"] <= 1.0                    # tolerance only adds matches
            assert r["brian2_run_s"] > 0 and set(r) >= {"f1_half_ms", "f1_noise_0.5mV", "f1_noise_1mV"}
            base = res[f"baseline/{kind}"][model]
            assert 0.0 <= base["f1_exact"] <= base["f1"] <= 1.0
    assert res["baseline/uniform"]["lif_current"]["f1"] > 0.3               # far above chance (about 0.02)
    assert (tmp_path / "biophysical_quick.png").exists()


def test_motif_example_quick(tmp_path):
    from hdsnn.paper.motif_example import PLANTED

    assert main(["paper", "motif_example", "--quick", "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "motif_example_quick.json").read_text())
    for name, (neurons, lags) in PLANTED.items():
        row = res["planted"][name]
        assert row["found"] and row["found_lags"] == lags                    # the planted lags, not just the set
        assert row["onsets_match"] and row["occurrences_found"] == row["occurrences_planted"] == 18
    planted_sets = [set(n) for n, _ in PLANTED.values()]
    assert all(any(set(x["neurons"]) <= s for s in planted_sets) for x in res["motifs"])   # nothing spurious
    assert (tmp_path / "motif_example_quick.png").exists()


def test_polychrony_compare_quick(tmp_path):
    assert main(["paper", "polychrony_compare", "--quick", "--out", str(tmp_path)]) == 0
    s = json.loads((tmp_path / "polychrony_compare_quick.json").read_text())["results"]["hebbian"]
    groups = s["groups"]
    assert s["n_groups"] == len(groups) == sum(s["size"]["histogram"].values()) > 0
    assert s["n_mothers"] == len({g["mother"] for g in groups}) <= 128
    for g in groups:
        assert g["size"] >= g["anchors"] + 1 and g["anchors"] >= 1      # the anchors fire at least the mother
        assert g["mother_fires"] and g["path_length"] >= 1
        assert g["span"] >= g["path_length"]                             # every causal link takes >= 1 step
    for k in ("2", "3", "5"):
        assert s["with_path_at_least"][k] == sum(g["path_length"] >= int(k) for g in groups)
    assert s["with_path_at_least"]["2"] >= s["with_path_at_least"]["3"] >= s["with_path_at_least"]["5"]
    half, full = s["active_in_patterns_min_fraction_0.5"], s["active_in_patterns_min_fraction_1.0"]
    assert s["n_groups"] >= half >= full
    assert half > s["n_groups"] / 2               # Hebbian groups are fragments of the stored patterns


def test_polychrony_compare_weight_files(tmp_path):
    from hdsnn import bernoulli_patterns, hebbian_init
    from hdsnn.io import save_raster, save_weights

    P = bernoulli_patterns(4, 128, 300, 4e-3, seed=0)
    save_weights(tmp_path / "w.npz", hebbian_init(P, D=21), method="hebbian")
    save_raster(tmp_path / "p.npz", P)
    assert main(["paper", "polychrony_compare", f"heb={tmp_path / 'w.npz'}", "--patterns", str(tmp_path / "p.npz"),
                 "--mothers", "16", "--name", "files", "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "files.json").read_text())
    s = res["results"]["heb"]
    assert res["mothers"] == 16 and 0 < s["n_mothers"] <= 16 and all(g["mother"] < 16 for g in s["groups"])
    assert "active_in_patterns_min_fraction_0.5" in s and (tmp_path / "files.png").exists()


def test_bptt_train_quick(tmp_path):
    assert main(["paper", "bptt_train", "--quick", "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "bptt_N128_M4_quick.json").read_text())
    assert (res["N"], res["M"], res["T"], res["D"], res["quick"]) == (128, 4, 300, 21, True)
    assert [r["epoch"] for r in res["per_epoch"]] == list(range(11))          # the init, then 10 epochs
    assert res["init_f1"] == res["per_epoch"][0]["f1"] and res["epochs_run"] == 10
    assert res["best_f1"] == max(r["f1"] for r in res["per_epoch"])
    assert res["best_f1"] > res["init_f1"] + 0.05                           # 0.861 -> 0.954 when measured
    folder = tmp_path / "bptt_N128_M4_quick"
    assert (folder / "training.png").exists() and (folder / "weights_best.npz").exists()
    assert not list(tmp_path.glob("bptt_N128_M4.json"))                       # never the full run's name


def test_gain_scan_quick(tmp_path):
    assert main(["paper", "gain_scan", "--quick", "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "gain_scan_quick.json").read_text())
    rows = {(r["M"], r["gain"]): r for r in res["rows"]}
    worst = {float(g): f for g, f in res["worst_f1_per_gain"].items()}
    assert worst[2.5] > 0.99 and worst[3.0] > 0.98                      # a middle gain stores both loads
    assert res["recommended_gain"] == 2.5 == max(worst, key=worst.get)  # measured: 0.997 against 0.990 at 3.0
    for M in (4, 8):
        low, good, high = rows[(M, 2.0)], rows[(M, 2.5)], rows[(M, 4.0)]
        assert low["precision"] == 1.0 and low["recall"] < good["recall"]   # too small: spikes missed, none extra
        assert high["runaway"] > 0 and high["precision"] < 0.6             # too large: runaway, extra spikes
        assert high["f1"] < 0.6 < good["f1"]
    assert not (tmp_path / "gain_scan.json").exists()                   # the full result is never overwritten


@pytest.mark.brian2
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


@pytest.mark.slow
def test_margin_load_quick(tmp_path):
    assert main(["paper", "margin_load", "--quick", "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "margin_load_N128_M32_quick.json").read_text())
    assert res["violations"] == 0 and res["pooled"]["f1"] == 1.0 and res["workers"] == 2
    assert res["peak_gb"] >= res["peak_gb_learning"] > 0 and res["history"][-1]["violations"] == 0


def test_margin_robustness_quick(tmp_path):
    assert main(["paper", "margin_robustness", "--quick", "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "margin_robustness_quick.json").read_text())
    rows = res["rows"]
    short = "margin kappa=0.3, trigger 10"                       # round(20 * 21 / 41) steps at D=21
    assert set(rows) == {"hebbian", "margin kappa=0.1", "margin kappa=0.5", short}
    assert rows["margin kappa=0.1"]["violations"] == 0 and rows["margin kappa=0.1"]["f1"]["clean"] == 1.0
    # constraints written for the short trigger: zero violations, so recall from it is exact
    assert rows[short]["violations"] == 0 and rows[short]["f1"]["trigger 10 steps"] == 1.0
    assert rows["hebbian"]["violations"] is None
    assert all(0.0 <= f <= 1.0 for row in rows.values() for f in row["f1"].values())
    assert (tmp_path / "margin_robustness_quick.png").exists()


def test_margin_neurons_quick(tmp_path):
    assert main(["paper", "margin_neurons", "--quick", "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "margin_neurons_quick.json").read_text())
    uniform, lognormal = res["uniform"], res["lognormal"]
    assert uniform["violations"] == 0                           # zero violations: exact recall in the replica
    assert uniform["torch_neurons/f1_exact"] == 1.0 and uniform["torch_neurons/f1_pm1ms"] == 1.0
    # real-valued lognormal delays at this small size stop a few violations short (measured: 2)
    assert lognormal["torch_neurons/f1_pm1ms"] >= 0.95
    assert lognormal["violations"] > 0 or lognormal["torch_neurons/f1_exact"] == 1.0


def test_scan_points_are_the_same_whatever_the_executor():
    """paper/ scans submit their points through hdsnn.parallel: in-process, a process pool and Dask agree."""
    from hdsnn.paper.robustness import scan

    size = (2, 128, 200, 15, 0.01)
    serial = scan(size, jobs=1, points=3)
    assert scan(size, jobs=2, points=3) == serial                     # the stdlib pool
    assert scan(size, jobs=1, points=3, executor="threads:2") == serial
