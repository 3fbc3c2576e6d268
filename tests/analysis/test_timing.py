"""Tolerant scores, timing errors and spike-train distances."""
import numpy as np
import pytest
import torch
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

from hdsnn.analysis import score
from hdsnn.analysis.timing import match_spikes, spike_train_distances, timing_error_stats, tolerant_score


def _pair(M=3, N=20, T=120, p=0.05, jitter=0.3, seed=0):
    rng = np.random.default_rng(seed)
    tgt = rng.random((M, N, T)) < p
    rec = np.zeros_like(tgt)
    m, n, t = np.nonzero(tgt)
    keep = rng.random(t.size) < 0.85
    shift = np.where(rng.random(t.size) < jitter, rng.integers(-2, 3, t.size), 0)
    rec[m[keep], n[keep], np.clip(t + shift, 0, T - 1)[keep]] = True
    rec |= rng.random((M, N, T)) < p / 5
    return torch.from_numpy(rec), torch.from_numpy(tgt)


def test_k0_equals_exact_score():
    rec, tgt = _pair()
    exact = score(tgt, rec, D=15)
    tol = tolerant_score(tgt, rec, D=15, k=0)
    for name in ("tp", "fp", "fn"):
        np.testing.assert_array_equal(getattr(tol, name), getattr(exact, name))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_matching_is_maximum_and_one_to_one(k):
    rec, tgt = _pair(M=2, N=8, T=80, p=0.15, seed=k)
    match = match_spikes(tgt, rec, D=5, k=k)
    r, g = rec.numpy(), tgt.numpy()
    for m in range(2):
        for n in range(8):
            rt, gt = np.flatnonzero(r[m, n, 5:]) + 5, np.flatnonzero(g[m, n, 5:]) + 5
            adj = csr_matrix((np.abs(gt[:, None] - rt[None, :]) <= k).astype(int))
            best = (maximum_bipartite_matching(adj, perm_type="column") >= 0).sum() if gt.size and rt.size else 0
            assert match.tp[m, n] == best
            assert match.fp[m, n] == rt.size - best and match.fn[m, n] == gt.size - best
    sel = (match.pattern, match.neuron)
    assert np.all(np.abs(match.errors) <= k)
    assert r[sel + (match.recall_step,)].all() and g[sel + (match.target_step,)].all()
    pairs_r = set(zip(match.pattern.tolist(), match.neuron.tolist(), match.recall_step.tolist()))
    pairs_g = set(zip(match.pattern.tolist(), match.neuron.tolist(), match.target_step.tolist()))
    assert len(pairs_r) == len(pairs_g) == match.errors.size      # each spike used once


def test_matching_prefers_exact_pairs_among_maximum_matchings():
    tgt = np.zeros((1, 2, 40), bool)
    rec = np.zeros((1, 2, 40), bool)
    tgt[0, 0, [20, 21]], rec[0, 0, 21] = True, True          # a doublet recalled as one spike
    tgt[0, 1, [20, 21]], rec[0, 1, [21, 22]] = True, True    # two matches need two shifts
    match = match_spikes(tgt, rec, D=5, k=1)
    assert match.tp.tolist() == [[1, 2]]
    assert sorted(zip(match.neuron.tolist(), match.errors.tolist())) == [(0, 0), (1, 1), (1, 1)]


def test_per_neuron_and_per_pattern_sum_to_the_same_totals():
    rec, tgt = _pair(seed=4)
    match = match_spikes(tgt, rec, D=10, k=2)
    assert match.per_neuron().pooled() == match.per_pattern().pooled()
    assert match.per_neuron().tp.shape == (20,) and match.per_pattern().tp.shape == (3,)


def test_timing_error_stats_on_known_shifts():
    tgt = np.zeros((1, 3, 60), bool)
    rec = np.zeros((1, 3, 60), bool)
    tgt[0, 0, 20], rec[0, 0, 22] = True, True      # +2
    tgt[0, 1, 30], rec[0, 1, 29] = True, True      # -1
    tgt[0, 2, 40], rec[0, 2, 40] = True, True      # 0
    s = timing_error_stats(match_spikes(tgt, rec, D=10, k=2), dt_ms=0.5)
    assert s["n"] == 3
    assert s["mean_ms"] == pytest.approx(0.5 * 1 / 3)
    assert s["mean_abs_ms"] == pytest.approx(0.5)
    assert s["max_abs_ms"] == 1.0 and s["fraction_exact"] == pytest.approx(1 / 3)
    assert s["histogram"] == {-2: 0, -1: 1, 0: 1, 1: 0, 2: 1}


def test_distances_match_elephant_per_pattern_sums():
    import neo
    import quantities as pq
    from elephant.spike_train_dissimilarity import van_rossum_distance, victor_purpura_distance

    rec, tgt = _pair(M=2, N=4, T=100, p=0.08, seed=7)
    d = spike_train_distances(tgt, rec, D=10, cost_per_ms=0.5, progress=False)
    r, g = rec.numpy(), tgt.numpy()
    for n in range(4):
        total = 0.0
        for m in range(2):
            pair = [neo.SpikeTrain(np.flatnonzero(x[m, n, 10:]) + 10.0, units="ms", t_stop=100 * pq.ms) for x in (r, g)]
            total += victor_purpura_distance(pair, cost_factor=0.5 / pq.ms)[0, 1]
        assert d["victor_purpura"][n] == pytest.approx(total)
        squares = sum(van_rossum_distance([neo.SpikeTrain(np.flatnonzero(x[m, n, 10:]) + 10.0, units="ms",
                                                          t_stop=100 * pq.ms) for x in (r, g)],
                                          time_constant=5 * pq.ms)[0, 1] ** 2 for m in range(2))
        assert d["van_rossum"][n] == pytest.approx(np.sqrt(squares), rel=1e-6, abs=1e-9)
    same = spike_train_distances(tgt, tgt, D=10, progress=False)
    assert not same["van_rossum"].any() and not same["victor_purpura"].any()
    assert (d["van_rossum"] > 0).sum() > 0
