"""Files: round trips, atomic writes, no pickle, damaged files."""
import json
import os
import zipfile

import numpy as np
import pytest
import torch

from hdsnn.io import load_raster, load_weights, save_raster, save_weights


def test_raster_round_trip_with_metadata(tmp_path):
    r = torch.rand(3, 7, 20) < 0.2
    path = save_raster(tmp_path / "r.npz", r, config={"M": 3}, note="x")
    back, meta = load_raster(path)
    assert torch.equal(back, r) and back.dtype == torch.bool
    assert meta["kind"] == "raster" and meta["config"] == {"M": 3} and meta["shape"] == [3, 7, 20]
    assert "hdsnn_version" in meta


def test_weights_round_trip_float32(tmp_path):
    W = torch.randn(5, 5, 3, dtype=torch.float64)
    back, meta = load_weights(save_weights(tmp_path / "w.npz", W, method="test"))
    assert back.dtype == torch.float32 and torch.equal(back, W.float())
    assert meta["method"] == "test"


def test_files_load_without_pickle(tmp_path):
    path = save_raster(tmp_path / "r.npz", torch.zeros(1, 2, 3, dtype=torch.bool))
    with np.load(path, allow_pickle=False) as data:     # raises if anything needs pickle
        assert data["raster"].dtype == np.bool_
        json.loads(str(data["meta"]))


def test_atomic_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "r.npz"
    save_raster(target, torch.ones(1, 2, 3, dtype=torch.bool))
    before = target.read_bytes()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(np, "savez_compressed", broken)
    with pytest.raises(RuntimeError):
        save_raster(target, torch.zeros(1, 2, 3, dtype=torch.bool))
    assert target.read_bytes() == before                 # the old file is intact
    assert os.listdir(tmp_path) == ["r.npz"]             # and no temporary file is left


def test_truncated_file_is_reported(tmp_path):
    path = save_weights(tmp_path / "w.npz", torch.ones(4, 4, 2))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="corrupted or truncated"):
        load_weights(path)


def test_file_with_pickled_object_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    meta = json.dumps({"kind": "raster", "shape": [1]})
    np.savez(path, raster=np.array([{"a": 1}], dtype=object), meta=np.array(meta))
    with pytest.raises(ValueError, match="without pickle"):
        load_raster(path)


def test_shape_disagreeing_with_metadata(tmp_path):
    path = tmp_path / "r.npz"
    meta = json.dumps({"kind": "raster", "shape": [2, 2, 2]})
    np.savez(path, raster=np.zeros((1, 2, 2), dtype=bool), meta=np.array(meta))
    with pytest.raises(ValueError, match=r"metadata says \[2, 2, 2\]"):
        load_raster(path)


def test_zip_without_expected_arrays(tmp_path):
    path = tmp_path / "r.npz"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("other.npy", b"")
    with pytest.raises(ValueError, match="is not an hdsnn file: it holds \\['other'\\], no 'meta'"):
        load_raster(path)
