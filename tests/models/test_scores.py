"""Scores: counts, ratios, pooling and the sliding-window F1."""
import numpy as np
import torch

from hdsnn.analysis import confusion, score, sliding_f1


def _r(rows):
    return torch.tensor(rows, dtype=torch.bool)


def test_counts_and_ratios_over_free_run():
    target = _r([[[1, 1, 0, 1, 0, 1]], [[0, 0, 1, 0, 0, 0]]])
    recall = _r([[[1, 0, 1, 1, 1, 0]], [[0, 0, 0, 0, 0, 0]]])
    s = score(target, recall, D=2)           # steps 2..5 only
    assert s.tp.tolist() == [1, 0] and s.fp.tolist() == [2, 0] and s.fn.tolist() == [1, 1]
    np.testing.assert_allclose(s.precision, [1 / 3, 1.0])
    np.testing.assert_allclose(s.recall, [0.5, 0.0])
    np.testing.assert_allclose(s.f1, [2 / 5, 0.0])
    pooled = s.pooled()
    assert (pooled["tp"], pooled["fp"], pooled["fn"]) == (1, 2, 2)
    assert abs(pooled["f1"] - 2 / 6) < 1e-12


def test_empty_rasters_score_one():
    z = torch.zeros(1, 3, 10, dtype=torch.bool)
    assert score(z, z, D=2).pooled()["f1"] == 1.0


def test_sliding_f1_rises_and_falls():
    target = torch.zeros(1, 5, 100, dtype=torch.bool)
    target[0, :, 10:90:3] = True
    recall = target.clone()
    recall[0, :, 50:] = False                 # recall stops half-way
    f = sliding_f1(target, recall, width=10)[0]
    assert f[45] == 1.0 and f[75] == 0.0
    assert 0 < f[55] < 1


def test_confusion_start():
    t = _r([[[1, 1, 1]]])
    assert [int(x[0]) for x in confusion(t, t, start=1)] == [2, 0, 0]
