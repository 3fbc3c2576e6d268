"""NWB files by the book: nwbinspector and pynwb's validator are clean, the layout is the documented one."""
import re
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
import torch
from pynwb import NWBHDF5IO

from hdsnn.analysis.files import SYNTHETIC_CONSTRUCT, read_nwb, write_nwb
from hdsnn.analysis.files import read_rasters
from hdsnn.config import NetworkConfig

M, N, T = 3, 12, 80


def _rasters(seed=0):
    g = torch.Generator().manual_seed(seed)
    return {"target": torch.rand(M, N, T, generator=g) < 0.05, "recall": torch.rand(M, N, T, generator=g) < 0.05}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A file like the report's: targets and recall, the model configuration, per-neuron columns."""
    config = {**NetworkConfig(N=N, D=5).to_dict(), "training": {"method": "bptt", "lr": 0.01, "tags": ["a", "b"]}}
    rasters = _rasters()
    path = write_nwb(tmp_path_factory.mktemp("nwb") / "rasters.nwb", rasters, 1.0, config, unit_columns={
        "recall_f1": (np.linspace(0, 1, N), "F1 of the neuron's recall"),
        "target_rate_hz": (np.full(N, 2.5), "mean firing rate in the targets")})
    return path, rasters, config


def test_nwbinspector_reports_no_critical_and_no_best_practice_violation(demo):
    from nwbinspector import Importance, inspect_nwbfile

    messages = list(inspect_nwbfile(nwbfile_path=str(demo[0])))
    bad = [f"{m.importance.name} {m.check_function_name}: {m.message}" for m in messages
           if m.importance in (Importance.CRITICAL, Importance.BEST_PRACTICE_VIOLATION, Importance.ERROR,
                               Importance.PYNWB_VALIDATION)]
    assert bad == []


def test_pynwb_validator_is_clean(demo):
    from pynwb.validation import validate

    assert list(validate(path=str(demo[0]))) == []


def test_layout_subject_units_trials_and_configuration(demo):
    path, rasters, config = demo
    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        subject = nwb.subject
        assert subject.species == SYNTHETIC_CONSTRUCT and subject.subject_id.startswith("hdsnn-")
        assert "in-silico" in subject.description.lower() and subject.age == "P0D"
        # the recalled network in nwbfile.units, the targets in their own named table
        target = nwb.processing["misc"]["target_units"]
        for table, kind in ((nwb.units, "recall"), (target, "target")):
            assert table.resolution == 1e-3
            assert table.description.startswith(f"hdsnn kind '{kind}'")
            assert table["neuron"].data[:].tolist() == list(range(N))
            for n in (0, 7):
                m, t = np.nonzero(rasters[kind][:, n].numpy())
                np.testing.assert_allclose(table.get_unit_spike_times(n), np.sort(m * T + t) * 1e-3, rtol=0, atol=1e-12)
                # trials end to end: the one observed interval is exactly the simulated time
                np.testing.assert_allclose(table.get_unit_obs_intervals(n), [[0.0, M * T * 1e-3]], rtol=0, atol=1e-15)
        assert "recall_f1" in nwb.units.colnames and "recall_f1" not in target.colnames
        trials = nwb.trials.to_dataframe()
        assert trials["pattern"].tolist() == list(range(M))
        np.testing.assert_allclose(trials["stop_time"] - trials["start_time"], T * 1e-3, rtol=0, atol=1e-12)
        # the configuration as key/value rows, not a JSON string in notes
        table = nwb.processing["misc"]["model_configuration"].to_dataframe()
        rows = dict(zip(table["key"], table["value"]))
        assert rows["beta"] == "0.7" and rows["training.method"] == '"bptt"' and rows["training.tags"] == '["a", "b"]'
        assert nwb.notes is None
    back, cfg, columns = read_nwb(path)
    assert cfg == config
    assert all(torch.equal(back[k], rasters[k]) for k in rasters)
    np.testing.assert_array_equal(columns["target_rate_hz"], np.full(N, 2.5))


def test_identifier_is_unique_and_session_start_time_real(tmp_path):
    before = datetime.now(timezone.utc)
    a = write_nwb(tmp_path / "a.nwb", _rasters())
    b = write_nwb(tmp_path / "b.nwb", _rasters())
    start = datetime(2024, 5, 1, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    c = write_nwb(tmp_path / "c.nwb", _rasters(), identifier="run-42", session_start_time=start)
    seen = []
    for path in (a, b, c):
        with NWBHDF5IO(str(path), "r") as io:
            nwb = io.read()
            seen.append((nwb.identifier, nwb.session_start_time))
    assert seen[0][0] != seen[1][0] and re.fullmatch(r"[0-9a-f-]{36}", seen[0][0])
    assert before - timedelta(seconds=1) <= seen[0][1] <= datetime.now(timezone.utc)
    assert seen[2] == ("run-42", start)


def test_naive_session_start_time_is_refused(tmp_path):
    naive = datetime(2024, 5, 1, 12, 30)
    msg = ("session_start_time must be a timezone-aware datetime (for instance datetime.now(timezone.utc)); "
           f"got {naive!r}")
    with pytest.raises(ValueError, match=re.escape(msg)):
        write_nwb(tmp_path / "a.nwb", _rasters(), session_start_time=naive)


def _foreign_file(path, with_resolution=False):
    """An NWB file written with plain pynwb: 3 units, spike times in s, two trials of 50 ms from 1.0 s and 2.0 s."""
    from pynwb import NWBFile
    from pynwb.file import Subject

    nwb = NWBFile(session_description="foreign", identifier="foreign-1",
                  session_start_time=datetime(2023, 1, 2, tzinfo=timezone.utc),
                  subject=Subject(subject_id="m1", species="Mus musculus", sex="F", age="P90D"))
    if with_resolution:
        from pynwb.misc import Units
        nwb.units = Units(name="units", description="sorted units", resolution=0.002)
    nwb.add_trial(start_time=1.0, stop_time=1.05)
    nwb.add_trial(start_time=2.0, stop_time=2.05)
    nwb.add_unit(spike_times=[1.0, 1.0123, 2.049, 3.5])         # 3.5 s is outside every trial
    nwb.add_unit(spike_times=[])
    nwb.add_unit(spike_times=[0.2, 2.0001])
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def test_foreign_nwb_file_reads_into_the_expected_raster(tmp_path):
    path = _foreign_file(tmp_path / "foreign.nwb")
    msg = f"dt_ms must be given: the Units tables of {str(path)!r} state no resolution"
    with pytest.raises(ValueError, match=re.escape(msg)):
        read_rasters(path)
    rasters, meta = read_rasters(path, dt_ms=1.0)
    expected = torch.zeros(2, 3, 50, dtype=torch.bool)
    expected[0, 0, [0, 12]] = True                  # 1.0 s and 1.0123 s in trial 0
    expected[1, 0, 49] = True                       # 2.049 s in trial 1
    expected[1, 2, 0] = True                        # 2.0001 s in trial 1
    assert set(rasters) == {"units"} and torch.equal(rasters["units"], expected)
    assert meta["dt_ms"] == 1.0 and meta["trials"] == 2 and meta["config"] == {}


def test_foreign_nwb_file_with_a_resolution_needs_no_dt(tmp_path):
    rasters, meta = read_rasters(_foreign_file(tmp_path / "foreign.nwb", with_resolution=True))
    assert meta["dt_ms"] == 2.0 and tuple(rasters["units"].shape) == (2, 3, 25)
    assert torch.nonzero(rasters["units"]).tolist() == [[0, 0, 0], [0, 0, 6], [1, 0, 24], [1, 2, 0]]


def test_configuration_with_dotted_keys_and_empty_dicts_round_trips(tmp_path):
    config = {"a.b": {"c\\d": 1, "e": {}}, "f": [1, 2], "g": None, "h": "x.y"}
    path = write_nwb(tmp_path / "r.nwb", _rasters(), config=config)
    assert read_nwb(path)[1] == config
    with NWBHDF5IO(str(path), "r") as io:
        table = io.read().processing["misc"]["model_configuration"].to_dataframe()
    assert table["key"].tolist() == ["a\\.b.c\\\\d", "a\\.b.e", "f", "g", "h"]
