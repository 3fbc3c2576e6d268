"""Spike-train statistics (through Elephant) against direct counts."""
import numpy as np
import pytest

from hdsnn.analysis.statistics import cross_correlograms, fano_factors, firing_rates, isi_statistics


def _raster(M=4, N=6, T=200, p=0.05, seed=0):
    return np.random.default_rng(seed).random((M, N, T)) < p


def test_firing_rates_in_hz():
    r = _raster()
    rates = firing_rates(r, dt_ms=0.5, start=40)
    np.testing.assert_allclose(rates, r[:, :, 40:].sum(2) / (160 * 0.5e-3))


def test_isi_pooled_within_trials_only():
    r = _raster(seed=1)
    s = isi_statistics(r, dt_ms=2.0, start=10)
    for n in range(r.shape[1]):
        expected = np.concatenate([np.diff(np.flatnonzero(r[m, n, 10:])) * 2.0 for m in range(r.shape[0])])
        np.testing.assert_array_equal(np.sort(s["per_neuron"][n]), np.sort(expected))
        if expected.size >= 2:
            assert s["cv"][n] == pytest.approx(expected.std() / expected.mean())
        else:
            assert np.isnan(s["cv"][n])
    assert s["isi_ms"].size == s["n_intervals"].sum()


def test_fano_factor_across_trials():
    r = _raster(M=8, seed=2)
    counts = r.sum(2)                                   # (M, N)
    np.testing.assert_allclose(fano_factors(r), counts.var(0) / counts.mean(0))


def test_cross_correlogram_counts_every_pair_within_the_window():
    rng = np.random.default_rng(3)
    tgt = rng.random((3, 5, 120)) < 0.06
    rec = rng.random((3, 5, 120)) < 0.06
    c = cross_correlograms(tgt, rec, start=20, window=6)
    for n in range(5):
        expected = np.zeros(13, int)
        for m in range(3):
            tr, tg = np.flatnonzero(rec[m, n, 20:]), np.flatnonzero(tgt[m, n, 20:])
            lag = (tr[:, None] - tg[None, :]).ravel()
            np.add.at(expected, lag[np.abs(lag) <= 6] + 6, 1)
        np.testing.assert_array_equal(c["per_neuron"][n], expected)
    np.testing.assert_array_equal(c["counts"], c["per_neuron"].sum(0))
