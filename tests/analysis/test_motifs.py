"""SPADE wrapper: a planted motif is found with its neurons, lags and occurrences."""
import numpy as np
import pytest

from hdsnn.analysis.motifs import SpadeConfig, concatenate_trials, estimate_spade_memory, find_motifs


def _planted(seed=0):
    rng = np.random.default_rng(seed)
    r = rng.random((5, 16, 300)) < 0.01                  # background, about 10 Hz
    onsets = [(m, o) for m in range(5) for o in (40, 170)]
    for m, o in onsets:
        r[m, [9, 2, 13], [o, o + 4, o + 9]] = True          # neuron 9, then 2 after 4 steps, 13 after 9
    return r, onsets


def test_planted_motif_is_found_with_neurons_lags_and_occurrences():
    r, onsets = _planted()
    out = find_motifs(r, D=12, config=SpadeConfig(min_spikes=3, min_occ=8))
    best = out["motifs"][0]
    assert best["neurons"] == [9, 2, 13] and best["lags_steps"] == [0, 4, 9]
    assert best["occurrences"] == [[m, o] for m, o in onsets]
    assert all(x["n_occurrences"] < 8 or set(x["neurons"]) <= {9, 2, 13} for x in out["motifs"])
    late = find_motifs(r, D=12, start=100, config=SpadeConfig(min_spikes=3, min_occ=4))["motifs"][0]
    assert late["neurons"] == [9, 2, 13] and late["occurrences"] == [[m, o] for m, o in onsets if o > 100]


def test_trials_do_not_merge_across_the_gap():
    r = np.zeros((2, 3, 50), bool)
    r[0, 0, 48] = True                                   # end of trial 0 ...
    r[1, 1, 1] = True                                    # ... and start of trial 1: no motif across
    trains, stride = concatenate_trials(r, gap=10)
    assert stride == 60 and trains[1].magnitude.tolist() == [61.0]
    out = find_motifs(np.concatenate([r] * 3), D=10, config=SpadeConfig(min_occ=2))
    assert out["motifs"] == []


def test_refuses_runs_over_the_memory_budget():
    r = np.random.default_rng(1).random((2, 16, 200)) < 0.05
    estimate = estimate_spade_memory(int(r.sum()), 41) / 1e9
    with pytest.raises(ValueError, match="memory_budget_gb"):
        find_motifs(r, D=41, memory_budget_gb=estimate / 2)
    assert find_motifs(r, D=41, memory_budget_gb=estimate * 2)["estimated_memory_gb"] == pytest.approx(estimate)
