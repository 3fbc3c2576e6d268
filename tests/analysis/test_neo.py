"""Rasters to neo.Block and back."""
import numpy as np
import pytest
import quantities as pq
import torch

from hdsnn.analysis.neo_io import block_to_rasters, rasters_to_block, trains_from_raster


def _rasters(M=3, N=7, T=50, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"target": torch.rand(M, N, T, generator=g) < 0.1, "recall": torch.rand(M, N, T, generator=g) < 0.1}


@pytest.mark.parametrize("dt_ms", [1.0, 0.1])
def test_block_round_trip_is_exact(dt_ms):
    rasters = _rasters()
    config = {"N": 7, "D": 5, "beta": 0.7}
    block = rasters_to_block(rasters, dt_ms=dt_ms, config=config)
    back, cfg = block_to_rasters(block)
    assert cfg == config
    assert set(back) == {"target", "recall"}
    for kind in rasters:
        assert torch.equal(back[kind], rasters[kind])


def test_block_layout_and_annotations():
    rasters = _rasters()
    block = rasters_to_block(rasters, dt_ms=0.5, config={"D": 5})
    assert len(block.segments) == 2 * 3
    seg = block.segments[3 + 1]                     # recall, pattern 1
    assert seg.annotations == {"pattern": 1, "kind": "recall"}
    for n, train in enumerate(seg.spiketrains):
        a = train.annotations
        assert (a["neuron"], a["pattern"], a["kind"], a["dt_ms"]) == (n, 1, "recall", 0.5)
        assert train.t_stop == 25.0 * pq.ms
        steps = np.flatnonzero(rasters["recall"][1, n].numpy())
        np.testing.assert_array_equal(train.magnitude, steps * 0.5)


def test_trains_from_raster_matches_per_neuron_nonzero():
    r = _rasters(M=2, N=5, T=40, seed=3)["target"].numpy()
    steps = trains_from_raster(r)
    for m in range(2):
        for n in range(5):
            np.testing.assert_array_equal(steps[m][n], np.flatnonzero(r[m, n]))


def test_block_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        rasters_to_block({"target": torch.zeros(1, 2, 5, dtype=torch.bool),
                          "recall": torch.zeros(1, 3, 5, dtype=torch.bool)})
