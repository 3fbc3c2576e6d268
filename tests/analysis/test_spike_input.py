"""Spikes of any form to rasters: as_raster, read_rasters, and the statistics on Neo input."""
import json
import re

import neo
import numpy as np
import pytest
import quantities as pq
import torch

from hdsnn.analysis.files import write_nix, write_nwb
from hdsnn.analysis.files import read_rasters
from hdsnn.analysis.neo_io import as_raster, rasters_to_block
from hdsnn.analysis.statistics import cross_correlograms, fano_factors, firing_rates, isi_statistics
from hdsnn.io import save_raster

ALLOWED = ("a bool array or tensor (N, T) or (M, N, T), a list of neo.SpikeTrain (one trial), a list of lists of "
           "neo.SpikeTrain (trials x neurons), a neo.Segment, a neo.Block or a pynwb Units table")


def _raster(M=3, N=6, T=200, seed=0, p=0.05):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(M, N, T, generator=g) < p


def _user_trains(r, dt_ms=1.0):
    """What a user would build: one SpikeTrain per neuron per trial, in seconds, without hdsnn annotations."""
    M, N, T = r.shape
    return [[neo.SpikeTrain(np.flatnonzero(r[m, n].numpy()) * dt_ms / 1000 * pq.s, t_stop=T * dt_ms / 1000 * pq.s)
             for n in range(N)] for m in range(M)]


def test_arrays_pass_through_and_a_2d_raster_is_one_trial():
    r = _raster()
    assert torch.equal(as_raster(r), r) and torch.equal(as_raster(r.numpy()), r)
    assert torch.equal(as_raster(r[1].numpy().astype(np.uint8)), r[1:2])


@pytest.mark.parametrize("dt_ms", [1.0, 0.5])
def test_neo_forms_give_the_raster(dt_ms):
    r = _raster()
    trials = _user_trains(r, dt_ms)
    assert torch.equal(as_raster(trials, dt_ms=dt_ms), r)
    assert torch.equal(as_raster(trials[2], dt_ms=dt_ms), r[2:3])
    block = neo.Block()
    for trial in trials:
        seg = neo.Segment()
        seg.spiketrains.extend(trial)
        block.segments.append(seg)
    assert torch.equal(as_raster(block, dt_ms=dt_ms), r)
    assert torch.equal(as_raster(block.segments[1], dt_ms=dt_ms), r[1:2])
    # hdsnn's own block: dt from the block, the kind chosen
    own = rasters_to_block({"target": r, "recall": ~r}, dt_ms=dt_ms)
    assert torch.equal(as_raster(own, kind="recall"), ~r)


def test_continuous_trains_cut_into_trials():
    r = _raster(M=2, T=50)
    long = torch.cat([r[0], r[1]], dim=1)[None]                  # one recording of 100 steps
    trains = _user_trains(long)[0]
    assert torch.equal(as_raster(trains, trials=[[0.0, 50.0], [50.0, 100.0]]), r)
    epoch = neo.Epoch([0.0, 50.0] * pq.ms, durations=[50.0, 50.0] * pq.ms)
    assert torch.equal(as_raster(trains, trials=epoch), r)


def test_as_raster_errors_name_the_parameter_types_and_type_given():
    with pytest.raises(ValueError, match=re.escape(f"data must be {ALLOWED}; got dict")):
        as_raster({"a": 1})
    with pytest.raises(ValueError, match=re.escape(f"data must be {ALLOWED}; got list of float, int")):
        as_raster([1, 2.0])
    with pytest.raises(ValueError, match=re.escape(
            "data must have 2 dimensions (N neurons, T steps) or 3 (M patterns, N neurons, T steps); got shape (5,)")):
        as_raster(np.zeros(5, bool))
    own = rasters_to_block({"target": _raster(), "recall": _raster(seed=1)})
    with pytest.raises(ValueError, match=re.escape("kind must name one of the block's rasters ['recall', 'target']; "
                                                   "got None")):
        as_raster(own)
    train = neo.SpikeTrain([3.0, 12.0] * pq.ms, t_stop=20 * pq.ms)
    with pytest.raises(ValueError, match=re.escape(
            "data has a spike at 12.0 ms, outside the trial [0.0, 10.0) ms (T = 10 steps of 1.0 ms)")):
        as_raster([train], T=10)
    with pytest.raises(ValueError, match=re.escape(f"raster must be {ALLOWED}; got str")):
        firing_rates("spikes.nwb")


def test_statistics_accept_a_users_trains_and_block():
    r = _raster(seed=4, p=0.08)
    trials = _user_trains(r)
    block = neo.Block()
    for trial in trials:
        seg = neo.Segment()
        seg.spiketrains.extend(trial)
        block.segments.append(seg)
    expected = firing_rates(r)
    np.testing.assert_array_equal(firing_rates(trials), expected)
    np.testing.assert_array_equal(firing_rates(block), expected)
    np.testing.assert_array_equal(firing_rates(trials[0]), expected[:1])
    assert firing_rates(trials[0])[0, 0] == r[0, 0].sum().item() / 0.2          # Hz: count over 200 ms
    np.testing.assert_array_equal(isi_statistics(block)["cv"], isi_statistics(r)["cv"])
    np.testing.assert_array_equal(fano_factors(block), fano_factors(r))
    c = cross_correlograms(block, r, window=3)
    np.testing.assert_array_equal(c["counts"], cross_correlograms(r, r, window=3)["counts"])


@pytest.mark.slow            # three file formats
def test_read_rasters_npz_nix_nwb_give_identical_rasters(tmp_path):
    rasters = {"target": _raster(seed=5), "recall": _raster(seed=6)}
    save_raster(tmp_path / "r.npz", rasters["recall"], note="x")
    back, meta = read_rasters(tmp_path / "r.npz", kind="recall")
    assert torch.equal(back["recall"], rasters["recall"]) and meta["note"] == "x"
    for path in (write_nix(tmp_path / "r.nix", rasters, dt_ms=0.5, config={"D": 3}),
                 write_nwb(tmp_path / "r.nwb", rasters, dt_ms=0.5, config={"D": 3})):
        back, meta = read_rasters(path)
        assert set(back) == set(rasters) and meta["dt_ms"] == 0.5 and meta["config"] == {"D": 3}
        assert all(torch.equal(back[k], rasters[k]) for k in rasters)
        (only,) = read_rasters(path, kind="target")[0].values()
        assert torch.equal(only, rasters["target"])
    with pytest.raises(ValueError, match=re.escape(
            f"kind must be one of ['recall', 'target'] (the rasters in {str(path)!r}); got 'spikes'")):
        read_rasters(path, kind="spikes")
    with pytest.raises(ValueError, match=re.escape("path must end in .npz, .nwb or .nix; got 'r.h5'")):
        read_rasters("r.h5")


def test_read_rasters_reads_a_foreign_neo_nix_file(tmp_path):
    r = _raster(M=2, seed=7)
    block = neo.Block(name="session")
    for trial in _user_trains(r):
        seg = neo.Segment()
        seg.spiketrains.extend(trial)
        block.segments.append(seg)
    io = neo.NixIO(str(tmp_path / "f.nix"), mode="ow")
    io.write_block(block)
    io.close()
    back, meta = read_rasters(tmp_path / "f.nix", dt_ms=1.0)
    assert set(back) == {"session"} and torch.equal(back["session"], r)


@pytest.mark.slow            # a whole report
def test_scores_and_the_report_take_a_users_neo_objects(tmp_path):
    """score, match_spikes, tolerant_score, sliding_f1 and analyze accept SpikeTrains and Blocks."""
    import neo
    import quantities as pq

    from hdsnn.analysis import analyze, match_spikes, score, sliding_f1, tolerant_score

    tgt = np.zeros((2, 3, 40), bool)
    tgt[0, 0, [10, 20]] = tgt[1, 2, 30] = True
    rec = tgt.copy()
    rec[0, 0, 20] = False
    rec[0, 1, 25] = True
    block = neo.Block()
    for m in range(2):
        seg = neo.Segment()
        for n in range(3):
            seg.spiketrains.append(neo.SpikeTrain(np.nonzero(rec[m, n])[0] * pq.ms, t_stop=40 * pq.ms))
        block.segments.append(seg)
    ref = score(tgt, rec, D=5).to_dict()
    assert score(tgt, block, D=5, dt_ms=1.0).to_dict() == ref
    assert ref["pooled"]["tp"] == 2 and ref["pooled"]["fp"] == 1 and ref["pooled"]["fn"] == 1
    assert tolerant_score(tgt, block, D=5, k=0, dt_ms=1.0).to_dict() == ref
    assert int(match_spikes(tgt, block, D=5, dt_ms=1.0).tp.sum()) == 2
    assert np.array_equal(sliding_f1(tgt, block, width=5, dt_ms=1.0), sliding_f1(tgt, rec, width=5))
    report = analyze(tgt, block, D=5, out=tmp_path / "rep", progress=False, spade_budget_gb=0.1)
    assert report["scores"]["exact"] == json.loads(json.dumps(ref))
