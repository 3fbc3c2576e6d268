"""Hostile input (issue 13): every user error exits 2 with one clear line before any work, or works.

Each case is checked against its full message. The memory budget is fixed at
8 GiB (``$HDSNN_MEMORY_BUDGET_GB``) so that the size messages are exact.
"""
import json
import os
import re
import zipfile

import numpy as np
import pytest
import torch

import hdsnn.api
from hdsnn.cli import main
from hdsnn.config import PatternConfig, TrialConfig
from hdsnn.io import load_weights, save_raster, save_weights
from hdsnn.learning import hebbian_init, least_squares_init
from hdsnn.models import bernoulli_patterns, make_patterns, make_trials
from hdsnn.validation import check_allocation

BUDGET = "(half the available memory, or $HDSNN_MEMORY_BUDGET_GB)"


@pytest.fixture(autouse=True)
def no_gpu(monkeypatch):
    """Every case runs as on a machine without CUDA, whatever this one has."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture(autouse=True)
def _budget(monkeypatch):
    monkeypatch.setenv("HDSNN_MEMORY_BUDGET_GB", "8")


def _npz_with_header(path, key, shape, descr, version=(1, 0)):
    """An .npz whose array header declares ``shape`` but holds only a few bytes of data."""
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    with zipfile.ZipFile(path, "w") as z:
        with z.open(f"{key}.npy", "w") as f:
            write = {(1, 0): np.lib.format.write_array_header_1_0,
                     (2, 0): np.lib.format.write_array_header_2_0}[version]
            write(f, header)
            f.write(b"\0" * 64)
        with z.open("meta.npy", "w") as f:
            np.lib.format.write_array(f, np.array(json.dumps({"kind": "weights", "shape": list(shape)})))
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    old = os.environ.get("HDSNN_MEMORY_BUDGET_GB")
    os.environ["HDSNN_MEMORY_BUDGET_GB"] = "8"
    try:
        P = bernoulli_patterns(2, 30, 60, 0.05, seed=0)
        save_raster(d / "p.npz", P, config={})
        save_raster(d / "q.npz", bernoulli_patterns(2, 30, 60, 0.05, seed=1), config={})
        save_raster(d / "big.npz", bernoulli_patterns(1, 20000, 50, 0.01, seed=0), config={})
        save_weights(d / "w.npz", hebbian_init(P, D=5))
        save_weights(d / "w40.npz", torch.ones(40, 40, 5))
        save_weights(d / "w7.npz", hebbian_init(P, D=7))
        assert main(["recall", "--weights", str(d / "w.npz"), "--patterns", str(d / "p.npz"),
                     "--out", str(d / "r.npz")]) == 0
        _npz_with_header(d / "huge_w.npz", "W", (100000, 100000, 41), "<f4")
        _npz_with_header(d / "huge_r.npz", "raster", (64, 1000000, 100000), "|b1", version=(2, 0))
    finally:
        if old is None:
            del os.environ["HDSNN_MEMORY_BUDGET_GB"]
        else:
            os.environ["HDSNN_MEMORY_BUDGET_GB"] = old
    (d / "afile").write_text("x")
    (d / "dir.npz").mkdir()
    (d / "r2.json").mkdir()
    return d


def _max_w(d):
    return f"{float(load_weights(d / 'w.npz')[0].abs().max()):g}"


P_ = lambda d: str(d / "p.npz")                        # noqa: E731
W_ = lambda d: str(d / "w.npz")                        # noqa: E731
R_ = lambda d: str(d / "r.npz")                        # noqa: E731


def recall(d, *extra, out="new_r.npz"):
    return ["recall", "--weights", W_(d), "--patterns", P_(d), "--out", str(d / out), *extra]


def init(d, *extra, out="new_w.npz", patterns="p.npz"):
    return ["init", "--patterns", str(d / patterns), "--out", str(d / out), "--D", "5", *extra]


def train(d, *extra, out="new_t.npz"):
    return ["train", "--patterns", P_(d), "--out", str(d / out), "--D", "5", "--epochs", "1", *extra]


def analyze(d, *extra, out="report"):
    return ["analyze", "--patterns", P_(d), "--recall", R_(d), "--out", str(d / out), *extra]


def patterns(d, *extra, out="new_p.npz"):
    return ["patterns", "--out", str(d / out), *extra]


def overwrite(name, path):
    return f"{name} {str(path)!r} is also an input file: it would be overwritten; choose another name"


# (id, argv from the files folder d, full message from d)
CLI_CASES = [
    # 1. outputs never overwrite inputs, wrong kinds of output, wrong suffixes
    ("recall out is patterns", lambda d: recall(d, out="p.npz"), lambda d: overwrite("--out", d / "p.npz")),
    ("recall out is weights", lambda d: recall(d, out="w.npz"), lambda d: overwrite("--out", d / "w.npz")),
    ("init out is patterns", lambda d: init(d, out="p.npz"), lambda d: overwrite("--out", d / "p.npz")),
    ("init lstsq out is patterns", lambda d: init(d, "--method", "lstsq", out="p.npz"),
     lambda d: overwrite("--out", d / "p.npz")),
    ("train bptt out is patterns", lambda d: train(d, out="p.npz"), lambda d: overwrite("--out", d / "p.npz")),
    ("train stdp out is patterns", lambda d: ["train", "--method", "stdp", "--patterns", P_(d), "--out", P_(d)],
     lambda d: overwrite("--out", d / "p.npz")),
    ("train out is init weights", lambda d: train(d, "--init-weights", W_(d), out="w.npz"),
     lambda d: overwrite("--out", d / "w.npz")),
    ("recall out is a folder", lambda d: recall(d, out="dir.npz"),
     lambda d: f"--out must be a file name; {str(d / 'dir.npz')!r} is a folder"),
    ("init out is a folder", lambda d: init(d, out="dir.npz"),
     lambda d: f"--out must be a file name; {str(d / 'dir.npz')!r} is a folder"),
    ("patterns out is a folder", lambda d: patterns(d, out="dir.npz"),
     lambda d: f"--out must be a file name; {str(d / 'dir.npz')!r} is a folder"),
    ("recall scores out is a folder", lambda d: recall(d, out="r2.npz"),
     lambda d: f"--out (scores) must be a file name; {str(d / 'r2.json')!r} is a folder"),
    ("recall out under a file", lambda d: recall(d, out="afile/r.npz"),
     lambda d: f"--out: {str(d / 'afile')!r} is a file, so {str(d / 'afile')!r} cannot be created"),
    ("init out under a file", lambda d: init(d, out="afile/sub/w.npz"),
     lambda d: f"--out: {str(d / 'afile')!r} is a file, so {str(d / 'afile/sub')!r} cannot be created"),
    ("patterns out under a file", lambda d: patterns(d, out="afile/p.npz"),
     lambda d: f"--out: {str(d / 'afile')!r} is a file, so {str(d / 'afile')!r} cannot be created"),
    ("train run-dir is a file", lambda d: train(d, "--run-dir", str(d / "afile")),
     lambda d: f"--run-dir must be a folder; {str(d / 'afile')!r} is a file"),
    ("train run-dir under a file", lambda d: train(d, "--run-dir", str(d / "afile" / "run")),
     lambda d: f"--run-dir: {str(d / 'afile')!r} is a file, so {str(d / 'afile/run')!r} cannot be created"),
    ("analyze out is a file", lambda d: analyze(d, out="afile"),
     lambda d: f"--out must be a folder; {str(d / 'afile')!r} is a file"),
    ("analyze out is the recall file", lambda d: analyze(d, out="r.npz"),
     lambda d: f"--out must be a folder; {str(d / 'r.npz')!r} is a file"),
    ("analyze out under a file", lambda d: analyze(d, out="afile/report"),
     lambda d: f"--out: {str(d / 'afile')!r} is a file, so {str(d / 'afile/report')!r} cannot be created"),
    ("demo out under a file", lambda d: ["demo", "--out", str(d / "afile" / "demo"), "--M", "1", "--N", "30",
                                         "--T", "60"],
     lambda d: f"--out: {str(d / 'afile')!r} is a file, so {str(d / 'afile/demo')!r} cannot be created"),
    ("recall out .txt", lambda d: recall(d, out="r.txt"), lambda d: f"--out must end in .npz; got {str(d / 'r.txt')!r}"),
    ("init out .json", lambda d: init(d, out="w.json"), lambda d: f"--out must end in .npz; got {str(d / 'w.json')!r}"),
    ("patterns out .npy", lambda d: patterns(d, out="p.npy"),
     lambda d: f"--out must end in .npz; got {str(d / 'p.npy')!r}"),
    ("train out without suffix", lambda d: train(d, out="weights"),
     lambda d: f"--out must end in .npz; got {str(d / 'weights')!r}"),
    # 2. tolerances
    ("analyze tolerance -1", lambda d: analyze(d, "--tolerance", "-1"), lambda d: "tolerances must be >= 0; got -1"),
    ("analyze tolerance 1 -2", lambda d: analyze(d, "--tolerance", "1", "-2"),
     lambda d: "tolerances must be >= 0; got -2"),
    # 3. mismatched analyze inputs
    ("analyze weights for other N", lambda d: analyze(d, "--weights", str(d / "w40.npz")),
     lambda d: f"weights {str(d / 'w40.npz')!r} are for N=40 neurons but the rasters have N=30"),
    ("analyze weights for other D", lambda d: analyze(d, "--weights", str(d / "w7.npz")),
     lambda d: f"weights {str(d / 'w7.npz')!r} have D=7 delays but the recall has D=5"),
    ("analyze D contradicts the recall", lambda d: analyze(d, "--D", "7"),
     lambda d: f"--D 7 contradicts the recall file {R_(d)!r}, whose network has D=5; leave --D out or give --D 5"),
    ("analyze other patterns file", lambda d: ["analyze", "--patterns", str(d / "q.npz"), "--recall", R_(d),
                                               "--out", str(d / "report")],
     lambda d: f"the recall file {R_(d)!r} was made from the patterns {P_(d)!r}, not from --patterns "
               f"{str(d / 'q.npz')!r}, and their rasters differ: refused; give --patterns {P_(d)!r}"),
    ("analyze recall is a weights file", lambda d: ["analyze", "--patterns", P_(d), "--recall", W_(d),
                                                    "--out", str(d / "report")],
     lambda d: f"{W_(d)!r} holds a 'weights' file, expected a 'raster' file"),
    # 9. analyze options
    ("analyze group-mothers -1", lambda d: analyze(d, "--group-mothers", "-1"),
     lambda d: "--group-mothers must be >= 1; got -1"),
    ("analyze group-mothers 0", lambda d: analyze(d, "--group-mothers", "0"),
     lambda d: "--group-mothers must be >= 1; got 0"),
    ("analyze group-mothers above N", lambda d: analyze(d, "--group-mothers", "31"),
     lambda d: "group_mothers must be <= 29; got 30"),
    ("analyze spade budget -1", lambda d: analyze(d, "--spade-budget-gb", "-1"),
     lambda d: "spade_budget_gb must be in (0.0, inf]; got -1.0"),
    ("analyze spade budget nan", lambda d: analyze(d, "--spade-budget-gb", "nan"),
     lambda d: "spade_budget_gb must be finite; got nan"),
    ("analyze sliding width 0", lambda d: analyze(d, "--sliding-width", "0"),
     lambda d: "sliding_width must be >= 1; got 0"),
    # 4. sizes before allocating
    ("patterns N 1e10", lambda d: patterns(d, "--N", "10000000000"),
     lambda d: "bernoulli patterns of M=16 x N=10000000000 x T=1000 would need about 727.60 TiB, above the memory "
               f"budget of 8.00 GiB {BUDGET}; reduce M, N or T"),
    ("patterns N 200000 M 16", lambda d: patterns(d, "--N", "200000", "--M", "16"),
     lambda d: "bernoulli patterns of M=16 x N=200000 x T=1000 would need about 14.90 GiB, above the memory "
               f"budget of 8.00 GiB {BUDGET}; reduce M, N or T"),
    ("sparse patterns N 200000", lambda d: patterns(d, "--kind", "sparse", "--N", "200000", "--M", "4"),
     lambda d: "sparse patterns of M=4 x N=200000 x T=1000 would need about 14.16 GiB, above the memory "
               f"budget of 8.00 GiB {BUDGET}; reduce M, N or T"),
    ("recall pretime 1e9", lambda d: recall(d, "--pretime", "1000000000"),
     lambda d: "the trials of M=2 patterns x N=30 neurons x L=1000000060 steps (pretime 1000000000 + T 60 + "
               f"posttime 0) would need about 279.40 GiB, above the memory budget of 8.00 GiB {BUDGET}; reduce "
               "pretime or posttime (bool inputs and float32 draws, 5 bytes per entry)"),
    ("recall posttime 1e9", lambda d: recall(d, "--posttime", "1000000000"),
     lambda d: "the trials of M=2 patterns x N=30 neurons x L=1000000060 steps (pretime 0 + T 60 + "
               f"posttime 1000000000) would need about 279.40 GiB, above the memory budget of 8.00 GiB {BUDGET}; "
               "reduce pretime or posttime (bool inputs and float32 draws, 5 bytes per entry)"),
    ("hebbian init N 20000", lambda d: init(d, "--D", "41", patterns="big.npz"),
     lambda d: "Hebbian weights W of N=20000 x N=20000 x D=41 (torch.float32) and their work arrays would need "
               f"about 66.97 GiB, above the memory budget of 8.00 GiB {BUDGET}; reduce N or D, or learn on a "
               "mask (hdsnn train --p-connect)"),
    ("lstsq init N 20000", lambda d: init(d, "--D", "41", "--method", "lstsq", patterns="big.npz"),
     lambda d: "least-squares weights W of N=20000 x N=20000 x D=41 (torch.float32) and their work arrays would "
               f"need about 427.67 GiB, above the memory budget of 8.00 GiB {BUDGET}; reduce N or D, or learn on a "
               "mask (hdsnn train --p-connect)"),
    # 5. readers
    ("weights /dev/zero", lambda d: ["recall", "--weights", "/dev/zero", "--patterns", P_(d), "--out",
                                     str(d / "x.npz")],
     lambda d: "weights file '/dev/zero' is not a regular file (a device, pipe or socket?)"),
    ("patterns /dev/zero", lambda d: ["init", "--patterns", "/dev/zero", "--out", str(d / "x.npz")],
     lambda d: "raster file '/dev/zero' is not a regular file (a device, pipe or socket?)"),
    ("patterns a folder", lambda d: ["init", "--patterns", str(d / "dir.npz"), "--out", str(d / "x.npz")],
     lambda d: f"raster file {str(d / 'dir.npz')!r} is a folder, not a .npz file"),
    ("weights missing", lambda d: ["recall", "--weights", str(d / "nope.npz"), "--patterns", P_(d), "--out",
                                   str(d / "x.npz")],
     lambda d: f"weights file not found: {str(d / 'nope.npz')!r}"),
    ("weights declare 1.5 TiB", lambda d: ["recall", "--weights", str(d / "huge_w.npz"), "--patterns", P_(d),
                                           "--out", str(d / "x.npz")],
     lambda d: f"weights file {str(d / 'huge_w.npz')!r}: array 'W' of shape (100000, 100000, 41) (float32) would "
               f"need about 1.49 TiB, above the memory budget of 8.00 GiB {BUDGET}; the file is damaged or was not "
               "written by hdsnn"),
    ("patterns declare 6 TiB (npy 2.0)", lambda d: ["init", "--patterns", str(d / "huge_r.npz"), "--out",
                                                    str(d / "x.npz")],
     lambda d: f"raster file {str(d / 'huge_r.npz')!r}: array 'raster' of shape (64, 1000000, 100000) (bool) would "
               f"need about 5.82 TiB, above the memory budget of 8.00 GiB {BUDGET}; the file is damaged or was not "
               "written by hdsnn"),
    # 6. devices and targets
    ("recall device foo", lambda d: recall(d, "--device", "foo"),
     lambda d: "device must be 'cpu', 'cuda' or 'cuda:K'; got 'foo'"),
    ("recall device tpu", lambda d: recall(d, "--device", "tpu"),
     lambda d: "device must be 'cpu', 'cuda' or 'cuda:K'; got 'tpu'"),
    pytest.param("recall device cuda", lambda d: recall(d, "--device", "cuda"),
                 lambda d: f"device 'cuda' needs a CUDA GPU, and torch finds none here (torch {torch.__version__}); "
                           "use device 'cpu'"),
    pytest.param("recall device cuda:0", lambda d: recall(d, "--device", "cuda:0"),
                 lambda d: f"device 'cuda:0' needs a CUDA GPU, and torch finds none here (torch "
                           f"{torch.__version__}); use device 'cpu'"),
    ("demo device foo", lambda d: ["demo", "--out", str(d / "demo"), "--M", "1", "--N", "30", "--T", "60",
                                   "--device", "foo"],
     lambda d: "device must be 'cpu', 'cuda' or 'cuda:K'; got 'foo'"),
    ("brian2 target cuda_standalone", lambda d: recall(d, "--simulator", "brian2", "--target", "cuda_standalone"),
     lambda d: "target 'cuda_standalone' needs the brian2cuda package and a CUDA GPU, and brian2cuda is not "
               "installed; use target 'numpy', 'cython' or 'cpp_standalone'"),
    # 7. Brian2 memory budget and pruning
    ("brian2 budget -1", lambda d: recall(d, "--simulator", "brian2", "--budget-gb", "-1"),
     lambda d: "budget_gb must be in (0.0, inf]; got -1.0"),
    ("brian2 budget nan", lambda d: recall(d, "--simulator", "brian2", "--budget-gb", "nan"),
     lambda d: "budget_gb must be finite; got nan"),
    ("brian2 budget 0", lambda d: recall(d, "--simulator", "brian2", "--budget-gb", "0"),
     lambda d: "budget_gb must be in (0.0, inf]; got 0.0"),
    ("brian2 threshold 1e9", lambda d: recall(d, "--simulator", "brian2", "--threshold", "1e9"),
     lambda d: f"threshold 1e+09 keeps no synapse; the largest |w| is {_max_w(d)}"),
    ("brian2 threshold -1", lambda d: recall(d, "--simulator", "brian2", "--threshold", "-1"),
     lambda d: "threshold must be in [0.0, inf]; got -1.0"),
    ("brian2 keep-fraction 0", lambda d: recall(d, "--simulator", "brian2", "--keep-fraction", "0"),
     lambda d: "keep_fraction must be in (0.0, 1.0]; got 0.0"),
    ("brian2 keep-fraction 1.5", lambda d: recall(d, "--simulator", "brian2", "--keep-fraction", "1.5"),
     lambda d: "keep_fraction must be in (0.0, 1.0]; got 1.5"),
    ("brian2 top-k 0", lambda d: recall(d, "--simulator", "brian2", "--top-k", "0"),
     lambda d: "top_k must be >= 1; got 0"),
    ("brian2 two pruning policies", lambda d: recall(d, "--simulator", "brian2", "--threshold", "0.1",
                                                     "--top-k", "3"),
     lambda d: "give at most one pruning policy (threshold, top_k or keep_fraction); got ['threshold', 'top_k']"),
    # 9. masks
    ("synapses per pair above D", lambda d: ["train", "--method", "stdp", "--patterns", P_(d), "--out",
                                             str(d / "t.npz"), "--D", "5", "--p-connect", "0.5",
                                             "--synapses-per-pair", "9"],
     lambda d: "--synapses-per-pair must be <= 5; got 9"),
    ("synapses per pair 0", lambda d: ["train", "--method", "stdp", "--patterns", P_(d), "--out", str(d / "t.npz"),
                                       "--D", "5", "--p-connect", "0.5", "--synapses-per-pair", "0"],
     lambda d: "--synapses-per-pair must be >= 1; got 0"),
    ("p-connect 2", lambda d: ["train", "--method", "stdp", "--patterns", P_(d), "--out", str(d / "t.npz"),
                               "--D", "5", "--p-connect", "2"],
     lambda d: "p_connect must be in [0.0, 1.0]; got 2.0"),
    ("p-connect 0", lambda d: ["train", "--method", "stdp", "--patterns", P_(d), "--out", str(d / "t.npz"),
                               "--D", "5", "--p-connect", "0"],
     lambda d: "p_connect must be in (0, 1]; got 0.0"),
]


def _id(case):
    return case.values[0] if hasattr(case, "values") else case[0]


@pytest.mark.parametrize("name, argv, message", CLI_CASES, ids=[_id(c) for c in CLI_CASES])
def test_cli_refuses_hostile_input_in_one_line(name, argv, message, files, capsys):
    before = sorted(p.name for p in files.iterdir())
    assert main(argv(files)) == 2
    captured = capsys.readouterr()
    assert captured.err == f"hdsnn: error: {message(files)}\n"
    assert sorted(p.name for p in files.iterdir()) == before          # nothing written


@pytest.mark.parametrize("value, message", [
    ("abc", "HDSNN_MEMORY_BUDGET_GB must be a number of GiB; got 'abc'"),
    ("-1", "HDSNN_MEMORY_BUDGET_GB must be in (0.0, inf]; got -1.0"),
    ("nan", "HDSNN_MEMORY_BUDGET_GB must be finite; got nan"),
])
def test_bad_budget_variable(value, message, files, monkeypatch, capsys):
    monkeypatch.setenv("HDSNN_MEMORY_BUDGET_GB", value)
    assert main(patterns(files, "--N", "30", "--M", "1", "--T", "60")) == 2
    assert capsys.readouterr().err == f"hdsnn: error: {message}\n"


def test_file_larger_than_the_budget_on_disk(files, monkeypatch, capsys):
    monkeypatch.setenv("HDSNN_MEMORY_BUDGET_GB", str(512 / 2**30))           # 512 bytes
    size = (files / "p.npz").stat().st_size
    assert size > 512
    assert main(["init", "--patterns", P_(files), "--out", str(files / "x.npz")]) == 2
    assert capsys.readouterr().err == (
        f"hdsnn: error: raster file {P_(files)!r} is {size} B on disk, above the memory budget of "
        f"512 B {BUDGET}\n")


def test_read_only_output_folder(files, tmp_path, capsys, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o500)
    real_access = os.access
    # root ignores folder permissions: answer for the read-only folder as the kernel would for a user
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(ro) else real_access(p, mode))
    try:
        assert main(recall(files, out=str(ro / "r.npz"))) == 2
        assert capsys.readouterr().err == f"hdsnn: error: --out: the folder {str(ro)!r} is not writable\n"
    finally:
        os.chmod(ro, 0o700)


P = bernoulli_patterns(2, 10, 50, 0.1, seed=0)
RESERVED = "'dtype', 'dtypes', 'format', 'hdsnn_version', 'kind', 'shape', 'shapes'"

API_CASES = [
    ("hebbian dtype int32", lambda t: hebbian_init(P, D=5, dtype=torch.int32),
     "dtype must be a floating torch dtype (torch.float32, torch.float64, torch.float16, torch.bfloat16); "
     "got torch.int32"),
    ("hebbian dtype string", lambda t: hebbian_init(P, D=5, dtype="float32"),
     "dtype must be a floating torch dtype (torch.float32, torch.float64, torch.float16, torch.bfloat16); "
     "got 'float32'"),
    ("lstsq dtype bool", lambda t: least_squares_init(P, D=5, dtype=torch.bool, progress=False),
     "dtype must be a floating torch dtype (torch.float32, torch.float64, torch.float16, torch.bfloat16); "
     "got torch.bool"),
    *[(f"raster meta {key}", lambda t, key=key: save_raster(t / "r.npz", P, **{key: 1}),
       f"metadata keys {key!r} are reserved (the file writes {RESERVED} itself); rename them")
      for key in ("shape", "kind", "dtype", "format", "hdsnn_version")],
    ("weights meta kind", lambda t: save_weights(t / "w.npz", torch.zeros(3, 3, 2), kind="mine"),
     f"metadata keys 'kind' are reserved (the file writes {RESERVED} itself); rename them"),
    ("weights meta shape and format", lambda t: save_weights(t / "w.npz", torch.zeros(3, 3, 2), shape=[3],
                                                             format=2),
     f"metadata keys 'format', 'shape' are reserved (the file writes {RESERVED} itself); rename them"),
    ("make_patterns too large", lambda t: make_patterns(PatternConfig(M=64, N=100000, T=1000)),
     f"bernoulli patterns of M=64 x N=100000 x T=1000 would need about 29.80 GiB, above the memory budget of "
     f"8.00 GiB {BUDGET}; reduce M, N or T"),
    ("make_trials too long", lambda t: make_trials(P, 5, TrialConfig(posttime=10**9)),
     "the trials of M=2 patterns x N=10 neurons x L=1000000050 steps (pretime 0 + T 50 + posttime 1000000000) "
     f"would need about 93.13 GiB, above the memory budget of 8.00 GiB {BUDGET}; reduce pretime or posttime "
     "(bool inputs and float32 draws, 5 bytes per entry)"),
    ("check_allocation with a budget", lambda t: check_allocation("a thing", 3 * 2**20, 2**20, hint="make it smaller"),
     f"a thing would need about 3.00 MiB, above the memory budget of 1.00 MiB {BUDGET}; make it smaller"),
]


@pytest.mark.parametrize("case", API_CASES, ids=[c[0] for c in API_CASES])
def test_api_refuses_hostile_input(case, tmp_path):
    _, call, message = case
    with pytest.raises(ValueError, match=re.escape(message) + "$"):
        call(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_there_are_at_least_sixty_cases():
    assert len(CLI_CASES) + len(API_CASES) + 3 >= 60


# 2. a list of tolerances without 0 works: k=0 is added to the report
@pytest.mark.slow            # a whole report
def test_analyze_with_tolerance_1_only(files, capsys):
    out = files.parent / "tol1_report"
    assert main(analyze(files, "--tolerance", "1", "--no-weights", out=str(out))) == 0
    report = json.loads((out / "report.json").read_text())
    assert sorted(report["scores"]["tolerant"]) == ["0", "1"]
    assert "(±1)" in capsys.readouterr().out


# 10. paired outputs whole or not at all; stale temporary files; file modes
def test_recall_removes_the_scores_when_the_raster_cannot_be_written(files, tmp_path, monkeypatch, capsys):
    def fail(*args, **kw):
        raise OSError("disk full")

    monkeypatch.setattr(hdsnn.api, "save_raster", fail)
    out = tmp_path / "r.npz"
    assert main(["recall", "--weights", W_(files), "--patterns", P_(files), "--out", str(out)]) == 2
    assert capsys.readouterr().err == "hdsnn: error: disk full\n"
    assert list(tmp_path.iterdir()) == []


def test_stale_temporary_files_are_removed_on_the_next_write(tmp_path):
    stale = tmp_path / ".r.npz.abc123.tmp"
    fresh = tmp_path / ".r.npz.def456.tmp"                 # young: maybe another process's write
    other = tmp_path / ".q.npz.abc123.tmp"                 # another file's: left alone
    for f in (stale, fresh, other):
        f.write_bytes(b"half")
    os.utime(stale, (0, 0))
    os.utime(other, (0, 0))
    save_raster(tmp_path / "r.npz", P)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([fresh.name, other.name, "r.npz"])


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_file_modes_follow_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        path = save_raster(tmp_path / "r.npz", P)
    finally:
        os.umask(old)
    assert os.stat(path).st_mode & 0o777 == mode
