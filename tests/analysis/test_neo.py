"""Rasters to neo.Block and back."""
import neo
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


def test_hdsnn_nix_file_reads_back_through_neo_nixio(tmp_path):
    from hdsnn.analysis.files import write_nix

    rasters = _rasters()
    path = write_nix(tmp_path / "r.nix", rasters, dt_ms=1.0, config={"D": 5})
    io = neo.NixIO(str(path), mode="ro")
    try:
        back, cfg = block_to_rasters(io.read_block())
    finally:
        io.close()
    assert cfg == {"D": 5}
    assert all(torch.equal(back[k], rasters[k]) for k in rasters)


@pytest.mark.parametrize("dt_ms", [1.0, 0.5])
def test_nix_trains_have_the_sampling_rate_and_elephant_gives_hz(tmp_path, dt_ms):
    from elephant.statistics import mean_firing_rate

    from hdsnn.analysis.files import write_nix

    rasters = _rasters(T=400)
    path = write_nix(tmp_path / "r.nix", rasters, dt_ms=dt_ms)
    io = neo.NixIO(str(path), mode="ro")
    try:
        block = io.read_block()
    finally:
        io.close()
    seg = [s for s in block.segments if (s.annotations["kind"], s.annotations["pattern"]) == ("recall", 2)][0]
    (train,) = seg.spiketrains
    assert train.sampling_rate.rescale(pq.kHz) == (1 / dt_ms) * pq.kHz
    assert (train.t_start, train.t_stop) == (0 * pq.ms, 400 * dt_ms * pq.ms)
    duration_s = 400 * dt_ms / 1000
    for n in (0, 3):
        one = train[train.array_annotations["neuron"] == n]          # one neuron's train
        assert one.sampling_rate == train.sampling_rate and one.t_stop == train.t_stop
        rate = mean_firing_rate(one).rescale(pq.Hz)
        expected = rasters["recall"][2, n].sum().item() / duration_s
        assert rate.magnitude == pytest.approx(expected, rel=1e-12) and expected > 0
