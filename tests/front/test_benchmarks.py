import pytest
"""The benchmark scripts run (quick sizes) and compare like with like; no timing is asserted."""
import json

from benchmarks import bench_init, bench_recall


def test_recall_benchmark_compares_identical_rasters(tmp_path):
    out = tmp_path / "recall.json"
    res = bench_recall.main(["--quick", "--repeat", "1", "--out", str(out)])
    assert res["identical_rasters"] == {"entries_vs_dense": True, "columns_vs_dense": True}
    assert res["spikes"] > 1000
    assert json.loads(out.read_text())["speedup"].keys() == {"event_driven_entries", "event_driven_columns"}


def test_init_benchmark_compares_equal_weights(tmp_path):
    res = bench_init.main(["--quick", "--repeat", "1", "--out", str(tmp_path / "init.json")])
    assert res["agree"] and res["max_abs_difference"] == 0.0 and res["nonzero_weights"] > 1000


@pytest.mark.slow
def test_bptt_benchmark_runs_the_same_training_step_both_ways(tmp_path):
    from benchmarks import bench_bptt

    res = bench_bptt.main(["--quick", "--epochs", "2", "--out", str(tmp_path / "bptt.json")])
    assert res["same_losses"] and res["same_weights_after"]
    assert 0.0 < res["runs"]["lean"]["losses"][0] < 1.0
    assert res["runs"]["lean"]["saved_for_backward_MiB"] < res["runs"]["naive"]["saved_for_backward_MiB"]
