"""NIX and NWB files: what neo and pynwb read back equals what was written."""
import json

import neo
import numpy as np
import pytest
import torch

from hdsnn.analysis.files import read_nix, read_nwb, write_nix, write_nwb
from hdsnn.analysis.neo_io import as_raster


def _rasters(M=3, N=9, T=60, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"target": torch.rand(M, N, T, generator=g) < 0.08, "recall": torch.rand(M, N, T, generator=g) < 0.08}


def test_nix_round_trip_through_neo(tmp_path):
    rasters = _rasters()
    config = {"N": 9, "D": 5, "nested": {"beta": 0.7}}
    path = write_nix(tmp_path / "r.nix", rasters, dt_ms=0.5, config=config)
    back, cfg = read_nix(path)
    assert cfg == config
    for kind in rasters:
        assert torch.equal(back[kind], rasters[kind])
    # the layout, read by neo itself: one multiplexed train per segment with a per-spike neuron index
    io = neo.NixIO(str(path), mode="ro")
    block = io.read_block()
    io.close()
    assert len(block.segments) == 6
    seg = block.segments[4]                                   # recall, pattern 1
    assert (seg.annotations["kind"], seg.annotations["pattern"]) == ("recall", 1)
    (train,) = seg.spiketrains
    n, t = np.nonzero(rasters["recall"][1].numpy())
    order = np.lexsort((n, t))
    np.testing.assert_array_equal(train.rescale("ms").magnitude, t[order] * 0.5)
    np.testing.assert_array_equal(train.array_annotations["neuron"], n[order])
    assert json.loads(block.annotations["config"]) == config


def test_nwb_round_trip_through_pynwb_and_neo(tmp_path):
    rasters = _rasters(seed=1)
    rates = np.arange(9) * 1.5
    path = write_nwb(tmp_path / "r.nwb", rasters, dt_ms=1.0, config={"D": 5},
                     unit_columns={"rate_hz": (rates, "firing rate")})
    back, cfg, columns = read_nwb(path)
    assert cfg == {"D": 5}
    for kind in rasters:
        assert torch.equal(back[kind], rasters[kind])
    np.testing.assert_array_equal(columns["rate_hz"], rates)
    # neo.NWBIO reads nwbfile.units (the recall) as one train per unit on the file's time axis, trials end to end
    block = neo.NWBIO(str(path), mode="r").read_all_blocks()[0]
    trains = block.segments[0].spiketrains
    assert len(trains) == 9
    for n, train in enumerate(trains):
        assert (float(train.t_start), float(train.t_stop)) == (0.0, 3 * 60 / 1000)
        m, t = np.nonzero(rasters["recall"][:, n].numpy())
        expected = np.sort(m * 60 + t) / 1000.0
        np.testing.assert_allclose(train.rescale("s").magnitude, expected, rtol=0, atol=1e-12)
    # one train per unit per trial: cut at the trials' bounds
    assert torch.equal(as_raster(trains, dt_ms=1.0, trials=[[m * 60.0, (m + 1) * 60.0] for m in range(3)]),
                       rasters["recall"])


def test_nwb_with_gap_claims_only_the_trials_as_observed(tmp_path):
    from pynwb import NWBHDF5IO

    rasters = _rasters(seed=2)
    path = write_nwb(tmp_path / "r.nwb", rasters, dt_ms=0.5, gap=20)
    back, _, _ = read_nwb(path)
    for kind in rasters:
        assert torch.equal(back[kind], rasters[kind])
    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        expected = [[m * 80 * 0.5e-3, (m * 80 + 60) * 0.5e-3] for m in range(3)]
        for table in (nwb.units, nwb.processing["misc"]["target_units"]):
            np.testing.assert_allclose(table.get_unit_obs_intervals(4), expected, rtol=0, atol=1e-15)
        trials = nwb.trials.to_dataframe()
        np.testing.assert_allclose(trials[["start_time", "stop_time"]].to_numpy(), expected, rtol=0, atol=1e-15)
        assert trials["pattern"].tolist() == [0, 1, 2]


def test_files_refuse_wrong_suffix_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match=r"\.nix"):
        write_nix(tmp_path / "r.h5", _rasters())
    with pytest.raises(FileNotFoundError, match="NWB file not found"):
        read_nwb(tmp_path / "absent.nwb")
